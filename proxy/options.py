"""The proxy's options, declared once: the `ocppscope proxy` command's parameters, the defaults of
ProxySettings, the mitmproxy options the addons declare and docs/options.md are all made from
PROXY_OPTIONS (`make docs`, i.e. `python -m proxy.options > docs/options.md`, regenerates the
reference).

Pure data: no typer, no mitmproxy; the CLI (ocppscope/cli/options.py) and the addons
(addons/_ocpp.py) turn the rows into their own kind of option.
"""

from __future__ import annotations

import builtins
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxy.ocppj.session import Config

DEFAULT_LISTEN = "0.0.0.0:9000"
DEFAULT_UPSTREAM = "ws://127.0.0.1:9001"
DEFAULT_ADMIN = "127.0.0.1:9464"
MESSAGE_TIMEOUT: float = Config().message_timeout
"""The engine's own default (proxy/ocppj/session.py), shared by `proxy`, `check` and mitmdump."""


@dataclass(frozen=True, slots=True)
class ProxyOption:
    """One option of `ocppscope proxy`: `--name-with-dashes` on the command line, the
    ProxySettings field `name` (when it has one), and `mitmproxy` in the addons' options."""

    name: str
    type: type
    """Of the value as given: str, int, float, bool or Path (a default of None makes it optional)."""
    default: Any
    help: str
    envvar: str | None = None
    min: float | None = None
    max: float | None = None
    mitmproxy: str = ""
    """The mitmproxy option an addon declares for it (`mitmdump --set NAME=...`); empty: none."""
    mitmproxy_help: str = ""
    """The mitmproxy option's help when it means something else there than on the command line."""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def mitmproxy_type(self) -> builtins.type:
        """mitmproxy's options know no Path: a file is its name, and no file the empty one."""
        return str if self.type is Path else self.type

    def mitmproxy_value(self, value: Any) -> Any:
        """A setting's value as the mitmproxy option holds it."""
        if value is None:
            return ""
        return str(value) if self.type is Path else value


PROXY_OPTIONS: tuple[ProxyOption, ...] = (
    ProxyOption(
        "listen",
        str,
        DEFAULT_LISTEN,
        "HOST:PORT chargers connect to (ws:// and wss:// on the same port; point a charger at "
        "ws://HOST:PORT/<stationId>).",
        envvar="OCPPSCOPE_LISTEN",
    ),
    ProxyOption(
        "upstream",
        str,
        DEFAULT_UPSTREAM,
        "The CSMS: ws://HOST:PORT or wss://HOST:PORT. The charger's path is forwarded unchanged.",
        envvar="OCPPSCOPE_UPSTREAM",
    ),
    ProxyOption(
        "cert",
        Path,
        None,
        "PEM certificate for wss:// on the listening side (with its key in the same file, "
        "or --key). Without it, certificates are issued by ocppscope's CA (see 'ocppscope ca').",
    ),
    ProxyOption("key", Path, None, "PEM private key of --cert."),
    ProxyOption(
        "upstream_ca",
        Path,
        None,
        "PEM CA bundle to verify a wss:// CSMS with (default: the system's).",
    ),
    ProxyOption(
        "upstream_insecure",
        bool,
        False,
        "Do not verify the wss:// CSMS's certificate (test CSMSs with self-signed ones).",
    ),
    ProxyOption(
        "client_cert",
        Path,
        None,
        "PEM certificate and key the proxy presents when the CSMS asks for a client "
        "certificate (security profile 3). The CSMS sees this one, never the charger's.",
    ),
    ProxyOption(
        "message_timeout",
        float,
        MESSAGE_TIMEOUT,
        "Seconds before an unanswered CALL times out, until MessageTimeout is seen on the wire.",
        min=0.001,
        mitmproxy="ocpp_message_timeout",
    ),
    ProxyOption(
        "retry_backoff",
        str,
        None,
        "RetryBackOffWaitMinimum,RandomRange,RepeatTimes to assume until seen on the wire, "
        "e.g. 1,0,4.",
        mitmproxy="ocpp_retry_backoff",
    ),
    ProxyOption(
        "header_timeout",
        float,
        20.0,
        "Seconds a client has, from connecting, to send its whole WebSocket upgrade request; "
        "then it is dropped. Upgraded connections are not affected.",
        min=1,
    ),
    ProxyOption(
        "idle_timeout",
        float,
        7200.0,
        "Seconds without any traffic before a connection is cut (above the longest "
        "HeartbeatInterval of your chargers).",
        min=1,
    ),
    ProxyOption(
        "max_message_size",
        int,
        4 * 1024 * 1024,
        "Largest WebSocket message in bytes; a bigger one closes the connection with 1009.",
        min=1024,
    ),
    ProxyOption(
        "quiet",
        bool,
        False,
        "No live view; only ocppscope's own messages.",
        mitmproxy="ocpp_quiet",
    ),
    ProxyOption(
        "json_log",
        bool,
        False,
        "One JSON object per line for every connection, finding and message.",
        mitmproxy="ocpp_json_log",
    ),
    ProxyOption(
        "store",
        bool,
        True,
        "Store every frame, connection and finding in PostgreSQL "
        "(OCPPSCOPE_DATABASE_URL, or the embedded server).",
    ),
    ProxyOption(
        "database_url",
        str,
        None,
        "postgresql://USER:PASSWORD@HOST:PORT/DB (PostgreSQL 14+); unset: an embedded "
        "PostgreSQL under the data directory, started and stopped with the proxy.",
        envvar="OCPPSCOPE_DATABASE_URL",
        mitmproxy="ocpp_database_url",
        mitmproxy_help="PostgreSQL URL to store every frame in; empty: store nothing.",
    ),
    ProxyOption(
        "store_buffer",
        int,
        100_000,
        "Rows held in memory while PostgreSQL is unavailable; beyond that, rows are "
        "discarded, counted and recorded in store_discards. Frames are always forwarded.",
        min=1,
        mitmproxy="ocpp_store_buffer",
    ),
    ProxyOption(
        "retention_days",
        int,
        30,
        "Days of frames to keep; older daily partitions are dropped (0: keep all).",
        min=0,
        mitmproxy="ocpp_retention_days",
    ),
    ProxyOption(
        "instance",
        str,
        None,
        "This proxy's name in the tables (default: HOSTNAME:PORT).",
        mitmproxy="ocpp_instance",
        mitmproxy_help="Name of this proxy in the tables (default: the host name).",
    ),
    ProxyOption(
        "admin",
        str,
        DEFAULT_ADMIN,
        "HOST:PORT of the admin HTTP API (/healthz, /docs), or 'off'. With --workers, "
        "worker N listens on PORT+N.",
        envvar="OCPPSCOPE_ADMIN",
    ),
    ProxyOption(
        "admin_token",
        str,
        None,
        "Bearer token the admin API's changes (POST/DELETE /faults) require; default: the "
        "data directory's api-token, made at first start (docs/security.md).",
        envvar="OCPPSCOPE_API_TOKEN",
    ),
    ProxyOption(
        "fault_plan",
        Path,
        None,
        "Run this fault plan (YAML or TOML) from start-up; see docs/faults.md.",
        mitmproxy="ocpp_fault_plan",
    ),
    ProxyOption(
        "workers",
        int,
        1,
        "Proxy processes behind the one port; each station always lands on the same one (by "
        "station id, or the charger's address for wss://). With more than one, findings print "
        "as lines instead of the live view.",
        min=1,
        max=64,
    ),
)
_BY_NAME = {option.name: option for option in PROXY_OPTIONS}
_BY_MITMPROXY = {option.mitmproxy: option for option in PROXY_OPTIONS if option.mitmproxy}


def option(name: str) -> ProxyOption:
    """The row of `name` (KeyError for a name not in the table)."""
    return _BY_NAME[name]


def default(name: str) -> Any:
    """The table's default of `name`: ProxySettings takes its defaults from here."""
    return _BY_NAME[name].default


def mitmproxy_option(name: str) -> ProxyOption:
    """The row behind the mitmproxy option `name` (e.g. ocpp_message_timeout)."""
    return _BY_MITMPROXY[name]


def _shown_default(row: ProxyOption) -> str:
    if row.default is None:
        return "unset"
    if row.type is bool:
        return f"`{row.flag}`" if row.default else f"`--no-{row.flag[2:]}`"
    return f"`{row.default}`"


def reference() -> str:
    """docs/options.md: one line per option, in the order of `ocppscope proxy --help`."""
    lines = [
        "# `ocppscope proxy` options",
        "",
        "Generated from `proxy/options.py` by `make docs`; tests/test_options.py fails when this "
        "file is not what the table gives.",
        "The mitmproxy column names the option to `--set` when an addon runs in stock "
        "`mitmdump -s addons/<name>.py`.",
        "",
        "| option | environment | default | mitmproxy | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in PROXY_OPTIONS:
        bounds = [
            f"{word} {limit:g}"
            for word, limit in (("at least", row.min), ("at most", row.max))
            if limit is not None
        ]
        meaning = row.help.replace("|", "\\|").replace("<", "&lt;")
        meaning += f" ({', '.join(bounds)})" if bounds else ""
        cells = [
            f"`{row.flag}`",
            f"`{row.envvar}`" if row.envvar else "",
            _shown_default(row),
            f"`{row.mitmproxy}`" if row.mitmproxy else "",
            meaning,
        ]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference())
