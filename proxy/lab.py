"""Where the parts of a running lab are: what `ocppscope up` prints and what scenarios, reports
and dashboard checks connect to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabEndpoints:
    """The addresses of one lab; the defaults are those of DESIGN.md."""

    database_url: str
    proxy_url: str = "ws://127.0.0.1:9000"
    """Chargers connect to `proxy_url/<stationId>`."""
    admin_url: str = "http://127.0.0.1:9464"
    """The proxy's admin API: /metrics, /healthz, /faults."""
    admin_token: str | None = None
    csms_url: str = "http://127.0.0.1:8080"
    """The reference CSMS's REST API, map and /metrics (absent with `--upstream`)."""
