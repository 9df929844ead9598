"""Serving the explorer: a small connection pool and the app on uvicorn, until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

import asyncpg

from ocppscope.explore.app import create_app
from proxy.admin import HttpServer
from proxy.apiguard import ApiGuard, api_token
from proxy.endpoints import http_url
from proxy.settings import Endpoint
from proxy.store.migrations import load_migrations, migrate

log = logging.getLogger("ocppscope.explore")

POOL_SIZE = 4
"""Connections at once: a page costs a handful of short queries, a live stream one every 0.5 s."""


@contextlib.asynccontextmanager
async def running_explorer(
    listen: Endpoint, database_url: str, guard: ApiGuard
) -> AsyncIterator[HttpServer]:
    """The explorer serving on `listen` (port 0: any free one, see the server's `port`). The
    migrations run first, as the proxy's and the CSMS's, so a database the proxy has not
    written to yet shows no stations instead of failing."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=POOL_SIZE, timeout=10)
    try:
        async with pool.acquire() as connection:
            await migrate(connection, load_migrations())
        http = HttpServer(create_app(pool, guard), listen, "--listen")
        await http.start()
        try:
            yield http
        finally:
            await http.stop()
    finally:
        await pool.close()


async def serve_explorer(listen: Endpoint, database_url: str) -> None:
    """Run until SIGINT or SIGTERM."""
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S", level=logging.INFO)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_explorer(listen, database_url, ApiGuard(api_token())) as http:
        url = http_url(Endpoint(listen.host, http.port))
        log.info("explore: stations and their conversations at %s/", url)
        await stop.wait()
