"""`ocppscope csms`: the OCPP endpoint and the REST API/map on one event loop, over the
domain tables in PostgreSQL (migrated at start, like the proxy's)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg

from csms.api import create_app
from csms.fleet import Fleet
from csms.peer import Policy
from csms.repository import Repository
from csms.server import OcppEndpoint, ocpp_server
from proxy.admin import HttpServer
from proxy.apiguard import ApiGuard
from proxy.settings import Endpoint
from proxy.store.migrations import load_migrations, migrate

log = logging.getLogger("ocppscope.csms")

POOL_SIZE = 20
"""PostgreSQL connections the CSMS uses at once: with 5, thousands of stations booting together
queued on the pool (bench simulate); the server allows 100."""


@dataclass(frozen=True, slots=True)
class CsmsSettings:
    ocpp: Endpoint
    http: Endpoint
    database_url: str
    api_token: str
    """What the REST API's changes (POST, PATCH) need as `Authorization: Bearer`."""
    policy: Policy = field(default_factory=Policy)
    command_timeout: float = 30.0


@dataclass
class RunningCsms:
    endpoint: OcppEndpoint
    ocpp_port: int
    http_port: int


@contextlib.asynccontextmanager
async def running_csms(settings: CsmsSettings) -> AsyncIterator[RunningCsms]:
    pool = await asyncpg.create_pool(
        settings.database_url, min_size=1, max_size=POOL_SIZE, timeout=10
    )
    try:
        async with pool.acquire() as connection:
            await migrate(connection, load_migrations())
            # Nobody is connected to a CSMS that is only starting.
            await connection.execute(
                "UPDATE charger_info SET status = 'Offline', current_power = 0"
            )
        repository = Repository(pool)
        fleet = Fleet()
        for charger in await repository.chargers():
            fleet.add(charger)
        endpoint = OcppEndpoint(fleet, repository, settings.policy)
        async with ocpp_server(endpoint, settings.ocpp.host, settings.ocpp.port) as server:
            http = HttpServer(
                create_app(endpoint, ApiGuard(settings.api_token), settings.command_timeout),
                settings.http,
                "--http",
            )
            await http.start()
            try:
                yield RunningCsms(endpoint, server.sockets[0].getsockname()[1], http.port)
            finally:
                await http.stop()
    finally:
        await pool.close()


async def serve_csms(settings: CsmsSettings) -> None:
    """Run until SIGINT or SIGTERM."""
    logging.getLogger("ocppscope").setLevel(logging.INFO)
    if not logging.getLogger("ocppscope").handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logging.getLogger("ocppscope").addHandler(handler)
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_csms(settings) as running:
        log.info(
            "CSMS: OCPP on ws://%s:%d/<stationId>, REST API and map on http://%s:%d "
            "(docs at /docs), %d chargers known",
            settings.ocpp.host,
            running.ocpp_port,
            settings.http.host,
            running.http_port,
            len(running.endpoint.fleet.chargers),
        )
        await stop.wait()
