"""Settings of the proxy and where ocppscope keeps its files; parsing only, no I/O beyond paths."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_LISTEN = "0.0.0.0:9000"
DEFAULT_UPSTREAM = "ws://127.0.0.1:9001"
DEFAULT_ADMIN = "127.0.0.1:9464"


def data_dir() -> Path:
    """`OCPPSCOPE_DATA_DIR`, else ~/.local/share/ocppscope (the proxy's CA lives here)."""
    configured = os.environ.get("OCPPSCOPE_DATA_DIR")
    return Path(configured) if configured else Path.home() / ".local" / "share" / "ocppscope"


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Upstream:
    secure: bool
    host: str
    port: int

    @property
    def mitmproxy_spec(self) -> str:
        """mitmproxy's reverse mode speaks of http/https; WebSocket upgrades ride on them."""
        return f"{'https' if self.secure else 'http'}://{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{'wss' if self.secure else 'ws'}://{self.host}:{self.port}"


LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def check_admin_exposure(settings: ProxySettings) -> None:
    """Anyone who reaches the admin API can break every charger's link: beyond loopback it
    needs a token."""
    admin = settings.admin
    if admin is not None and admin.host not in LOOPBACK_HOSTS and not settings.admin_token:
        raise ValueError(
            f"--admin {admin.host}:{admin.port} is reachable from other machines: give "
            "--admin-token (or OCPPSCOPE_ADMIN_TOKEN), or bind it to 127.0.0.1"
        )


def parse_listen(value: str) -> Endpoint:
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{value}' is not HOST:PORT (e.g. 0.0.0.0:9000)")
    return Endpoint(host.strip("[]") or "0.0.0.0", int(port))


def parse_upstream(value: str) -> Upstream:
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"'{value}' is not a ws:// or wss:// URL of the CSMS")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(
            f"'{value}' has a path: give only scheme, host and port; the charger's own path "
            "(e.g. /ocpp/CS01) is forwarded unchanged"
        )
    try:
        port = parts.port or (443 if parts.scheme == "wss" else 80)
    except ValueError:
        raise ValueError(f"'{value}' has an invalid port") from None
    return Upstream(parts.scheme == "wss", parts.hostname, port)


@dataclass(frozen=True, slots=True)
class ProxySettings:
    listen: Endpoint
    upstream: Upstream
    cert: Path | None = None
    """PEM certificate (and key, or `key`) for wss:// on the listening side; else mitmproxy's CA."""
    key: Path | None = None
    upstream_ca: Path | None = None
    upstream_insecure: bool = False
    client_cert: Path | None = None
    """PEM certificate + key the proxy presents to a CSMS that asks for one (security profile 3)."""
    message_timeout: float = 30.0
    retry_backoff: str = ""
    idle_timeout: float = 7200.0
    max_message_size: int = 4 * 1024 * 1024
    quiet: bool = False
    json_log: bool = False
    live_view: bool = True
    """Draw the live view when stdout is a terminal (off in workers, which share the terminal)."""
    confdir: Path = Path()
    store: bool = False
    """Store frames in PostgreSQL: `database_url`, or the embedded server when that is None."""
    database_url: str | None = None
    store_buffer: int = 100_000
    retention_days: int = 30
    instance: str = ""
    """This proxy's name in the tables (default: host name and listening port)."""
    admin: Endpoint | None = None
    """Where the admin HTTP API (/healthz, /faults) listens; None: nowhere."""
    admin_token: str | None = None
    """Bearer token the admin API's /faults needs; required when it listens beyond loopback."""
    fault_plan: Path | None = None
    """A fault plan to run from start-up."""
    worker_count: int = 1
    """With --workers: how many; /healthz says so, and `ocppscope fault` then talks to each
    worker's admin port (PORT, PORT+1, ...)."""

    @property
    def instance_name(self) -> str:
        return self.instance or f"{socket.gethostname()}:{self.listen.port}"
