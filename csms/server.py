"""The CSMS's OCPP-J endpoint: `ws://HOST:PORT/<path>/<stationId>` over `websockets`.

OCPP-J 2.0.1 §3.1.1: an identity longer than 48 characters is refused (400) before the upgrade.
The endpoint speaks ocpp1.6, ocpp2.0.1 and ocpp2.1 (csms/protocols.py). Of the subprotocols a
station offers, it takes the first one it speaks: the station lists them in its order of
preference (OCPP-J 2.0.1 §3.1.2, RFC 6455 §4.1), so `ocpp1.6, ocpp2.0.1` gets ocpp1.6 and
`ocpp2.0.1, ocpp1.6` gets ocpp2.0.1. (websockets' own choice would follow the server's list
instead, and the `ocpp` library's examples offer one version only.) A station that offers none
we speak gets a handshake without Sec-WebSocket-Protocol and the connection is then closed at
once (1002), as OCPP-J 2.0.1 §3.1.2 asks. A station with a password in charger_info must
present it with HTTP Basic auth (security profile 1) or gets 401.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from csms.fleet import Fleet
from csms.peer import Ledger, Peer, Policy
from csms.protocols import OCPP16, OCPP21, OCPP201, SUBPROTOCOLS
from csms.repository import Repository
from csms.station import Station, Station21
from csms.station16 import Station16
from proxy.ocppj.events import station_from_path

log = logging.getLogger("ocppscope.csms")
STATIONS: dict[str, type[Peer]] = {OCPP16: Station16, OCPP201: Station, OCPP21: Station21}
"""The ChargePoint of each version."""
MAX_IDENTITY = 48
"""OCPP-J 2.0.1 §3.1.1: the longest Charging Station identity."""


@dataclass
class OcppEndpoint:
    fleet: Fleet
    repository: Repository
    policy: Policy
    ledger: Ledger = field(default_factory=Ledger)
    stations: dict[str, Peer] = field(default_factory=dict)
    """The open connection of each station (the latest, if it has two)."""

    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Refuse before the upgrade: no station id, or a wrong password."""
        charger_id = station_from_path(request.path)
        if not charger_id:
            return _refusal(connection, HTTPStatus.NOT_FOUND, "no station id in the path")
        if len(charger_id) > MAX_IDENTITY:
            log.warning("refused a station identity of %d characters", len(charger_id))
            return _refusal(
                connection,
                HTTPStatus.BAD_REQUEST,
                f"a station identity is at most {MAX_IDENTITY} characters (OCPP-J 2.0.1 §3.1.1)",
            )
        expected = await self.repository.password_sha256(charger_id)
        if expected is not None and not _password_matches(request.headers, charger_id, expected):
            await self.repository.connection(
                charger_id, "refused", _peer(connection), reason="bad or missing credentials"
            )
            response = _refusal(connection, HTTPStatus.UNAUTHORIZED, "credentials required")
            response.headers["WWW-Authenticate"] = 'Basic realm="ocppscope csms"'
            return response
        return None

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        charger_id = station_from_path(connection.request.path)
        subprotocol = connection.subprotocol
        if subprotocol not in SUBPROTOCOLS:
            spoken = ", ".join(SUBPROTOCOLS)
            await self.repository.connection(
                charger_id, "refused", _peer(connection), reason=f"none of {spoken} offered"
            )
            await connection.close(1002, f"this CSMS speaks {spoken}")
            return
        station = STATIONS[subprotocol](
            charger_id, connection, self.fleet, self.repository, self.ledger, self.policy
        )
        self.stations[charger_id] = station
        await self.repository.connection(
            charger_id, "connected", _peer(connection), ocpp_version=subprotocol
        )
        self._set_online(charger_id, True, subprotocol)
        try:
            with contextlib.suppress(ConnectionClosed):
                await station.start()
        finally:
            latest = self.stations.get(charger_id) is station
            if latest:
                del self.stations[charger_id]
                self._set_online(charger_id, False)
            await self.repository.connection(
                charger_id,
                "disconnected",
                _peer(connection),
                close_code=connection.close_code,
                reason=connection.close_reason or None,
                sets_status=latest,
            )

    def _set_online(self, charger_id: str, online: bool, subprotocol: str | None = None) -> None:
        charger = self.fleet.chargers.get(charger_id)
        if charger is None:
            return
        charger.status = "Online" if online else "Offline"
        charger.ocpp_version = subprotocol or charger.ocpp_version
        if not online:
            charger.power_kw = 0.0
        self.fleet.changed()


@contextlib.asynccontextmanager
async def ocpp_server(endpoint: OcppEndpoint, host: str, port: int) -> AsyncIterator[Server]:
    server = await serve(
        endpoint.handle,
        host,
        port,
        subprotocols=list(SUBPROTOCOLS),
        process_request=endpoint.process_request,
        select_subprotocol=_select_subprotocol,
        ping_interval=None,  # stations keep the link alive with Heartbeat
        max_size=4 * 1024 * 1024,
    )
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()


def _select_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    """The first offered that we speak (the station's preference); else no subprotocol
    (websockets would answer 400), and `handle` closes the connection with 1002 as OCPP-J asks."""
    return next((Subprotocol(name) for name in offered if name in SUBPROTOCOLS), None)


def _password_matches(headers: Headers, charger_id: str, expected_sha256: str) -> bool:
    scheme, _, encoded = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    digest = hashlib.sha256(password.encode()).hexdigest()
    return user == charger_id and hmac.compare_digest(digest, expected_sha256.lower())


def _refusal(connection: ServerConnection, status: HTTPStatus, text: str) -> Response:
    return connection.respond(status, f"{text}\n")


def _peer(connection: ServerConnection) -> str | None:
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if address else None
