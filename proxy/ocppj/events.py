"""What the engine is fed: connection and frame events, each carrying its own timestamp."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from proxy.ocppj.actions import Direction


def station_from_path(path: str) -> str:
    """The station identity: the last path segment of the upgrade URL, percent-decoded (P4 §3.1.1)."""
    return unquote(path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])


@dataclass(frozen=True, slots=True)
class ConnectionOpened:
    """A WebSocket upgrade that the CSMS accepted."""

    timestamp: float
    station: str
    connection_id: str
    path: str = ""
    offered_subprotocols: tuple[str, ...] | None = None
    """None when the request had no Sec-WebSocket-Protocol header at all."""
    selected_subprotocol: str | None = None
    request_headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    response_headers: Mapping[str, str] = field(default_factory=dict)
    ref: object = None
    tls: bool | None = None
    """Whether the station's side of the connection was TLS (wss://); None when not recorded."""
    tls_version: str | None = None
    """The negotiated TLS version as OpenSSL names it ("TLSv1.2", "TLSv1.3"), when TLS."""
    client_certificate: bool | None = None
    """Whether the station presented a client certificate; None when not recorded."""
    client_certificate_cn: str | None = None
    """The subject CN of the station's client certificate, when it presented one with a CN."""


@dataclass(frozen=True, slots=True)
class HandshakeRefused:
    """A connection attempt that never became a WebSocket (CSMS down, 4xx/5xx on the upgrade)."""

    timestamp: float
    station: str
    status: int | None = None
    """HTTP status of the refusal; None for a TCP-level failure."""
    ref: object = None


@dataclass(frozen=True, slots=True)
class Frame:
    """One WebSocket data message: `str` for a text frame, `bytes` for a binary one."""

    timestamp: float
    station: str
    connection_id: str
    direction: Direction
    data: str | bytes
    ref: object = None
    after_close: bool = False
    """Sent after the receiver's Close (RFC 6455 §5.5.1 allows it until the sender answers the
    Close): it reached no one."""


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    timestamp: float
    station: str
    connection_id: str
    code: int | None = None
    """The close code; None or 1006 when the connection was lost without a Close frame."""
    closed_by: str | None = None
    """'charger', 'csms', 'proxy' (it refused a message it could not pass on), or None when
    nobody closed it cleanly (a lost connection)."""
    direction: Direction | None = None
    """Closed by the proxy: the direction of the message it refused."""
    ref: object = None


Event = ConnectionOpened | HandshakeRefused | Frame | ConnectionClosed
