"""Settings of the proxy and where ocppscope keeps its files; parsing only, no I/O beyond paths."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from proxy.options import PROXY_OPTIONS, default


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
    upstream_insecure: bool = default("upstream_insecure")
    client_cert: Path | None = None
    """PEM certificate + key the proxy presents to a CSMS that asks for one (security profile 3)."""
    message_timeout: float = default("message_timeout")
    retry_backoff: str = ""
    header_timeout: float = default("header_timeout")
    idle_timeout: float = default("idle_timeout")
    max_message_size: int = default("max_message_size")
    quiet: bool = default("quiet")
    json_log: bool = default("json_log")
    live_view: bool = True
    """Draw the live view when stdout is a terminal (off in workers, which share the terminal)."""
    confdir: Path = Path()
    store: bool = False
    """Store frames in PostgreSQL: `database_url`, or the embedded server when that is None. Off
    unless asked for, unlike `ocppscope proxy --store`: tests and benchmarks make settings too."""
    database_url: str | None = None
    store_buffer: int = default("store_buffer")
    retention_days: int = default("retention_days")
    instance: str = ""
    """This proxy's name in the tables (default: host name and listening port)."""
    admin: Endpoint | None = None
    """Where the admin HTTP API (/healthz, /faults) listens; None (unlike `ocppscope proxy`'s
    default): nowhere."""
    admin_token: str | None = None
    """Bearer token the admin API's changes need (`ocppscope proxy` always gives one: the
    shared API token, proxy/apiguard.py); None: none, for a test's own proxy."""
    fault_plan: Path | None = None
    """A fault plan to run from start-up."""
    worker_count: int = 1
    """With --workers: how many; /healthz says so, and `ocppscope fault` then talks to each
    worker's admin port (PORT, PORT+1, ...)."""

    @property
    def instance_name(self) -> str:
        return self.instance or f"{socket.gethostname()}:{self.listen.port}"


_FIELDS = frozenset(field.name for field in fields(ProxySettings))


def settings_from_options(values: Mapping[str, Any], **others: Any) -> ProxySettings:
    """The settings from PROXY_OPTIONS' values as given (`ocppscope proxy`'s): addresses parsed
    (ValueError), `--admin off` is None, an unset text is "" or None as the field wants. Options
    that are no setting (--workers) are left out; `others` are fields no option sets (confdir)."""
    given = {row.name: values[row.name] for row in PROXY_OPTIONS if row.name in _FIELDS}
    parsed = {
        "listen": parse_listen(given["listen"]),
        "upstream": parse_upstream(given["upstream"]),
        "admin": None if given["admin"] == "off" else parse_listen(given["admin"]),
        "retry_backoff": given["retry_backoff"] or "",
        "instance": given["instance"] or "",
        "database_url": given["database_url"] or None,
        "admin_token": given["admin_token"] or None,
    }
    return ProxySettings(**(given | parsed | others))
