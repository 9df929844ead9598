"""Where the parts of a running lab listen: the default addresses of the reference CSMS and the
simulator's control API, and the URLs a client on this machine reaches them at. What `ocppscope up`
prints and what scenarios, reports and dashboard checks connect to."""

from __future__ import annotations

from dataclasses import dataclass

from proxy.settings import Endpoint


@dataclass(frozen=True)
class LabEndpoints:
    """The addresses of one lab; the defaults are those of docs/lab.md."""

    database_url: str
    proxy_url: str = "ws://127.0.0.1:9000"
    """Chargers connect to `proxy_url/<stationId>`."""
    admin_url: str = "http://127.0.0.1:9464"
    """The proxy's admin API: /metrics, /healthz, /faults."""
    admin_token: str | None = None
    """The bearer token of the lab's APIs (the admin API's and the CSMS's, proxy/apiguard.py);
    None: OCPPSCOPE_API_TOKEN, else the data directory's."""
    csms_url: str = "http://127.0.0.1:8080"
    """The reference CSMS's REST API, map and /metrics (absent with `--upstream`)."""


DEFAULT_CSMS_OCPP = "127.0.0.1:9001"
DEFAULT_CSMS_HTTP = "127.0.0.1:8080"
DEFAULT_CONTROL = "127.0.0.1:9002"
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


def reachable_host(endpoint: Endpoint) -> str:
    """Where a process on this machine reaches a server bound to `endpoint` (a wildcard bind is
    reached on loopback); IPv6 literals bracketed for URLs."""
    host = "127.0.0.1" if endpoint.host in WILDCARD_HOSTS else endpoint.host
    return f"[{host}]" if ":" in host else host


def http_url(endpoint: Endpoint, path: str = "") -> str:
    return f"http://{reachable_host(endpoint)}:{endpoint.port}{path}"
