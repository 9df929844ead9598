"""What `ocppscope up` runs: which children, with which options, and how to tell each is ready."""

from __future__ import annotations

from dataclasses import dataclass

from proxy.endpoints import LabEndpoints, http_url, reachable_host
from proxy.settings import Endpoint


@dataclass(frozen=True)
class ChildSpec:
    """One `ocppscope` child of the lab and how to tell that it is ready."""

    name: str
    args: tuple[str, ...]
    """The command line after `ocppscope`."""
    health_url: str | None = None
    """Ready when a GET of this answers 200."""
    listens: Endpoint | None = None
    """Ready when this accepts connections."""
    after_ready: bool = False
    """Started only once the children before it are ready."""


@dataclass(frozen=True)
class LabPlan:
    """What `ocppscope up` runs: the reference CSMS (unless `upstream` names another CSMS), the
    proxy in front of it, the session explorer when `explore` is given, and a simulated fleet
    when `fleet` is given (() for the seed's five, or `simulate`'s --fleet FILE / --count N)."""

    listen: Endpoint
    admin: Endpoint
    csms_ocpp: Endpoint
    csms_http: Endpoint
    control: Endpoint
    upstream: str | None = None
    fleet: tuple[str, ...] | None = None
    explore: Endpoint | None = None
    """Where the session explorer serves; None runs none."""

    def bound(self) -> list[tuple[str, Endpoint]]:
        """Each address a child will listen on, named by the option that sets it."""
        ports = [("--listen", self.listen), ("--admin", self.admin)]
        if self.upstream is None:
            ports += [("--csms-ocpp", self.csms_ocpp), ("--csms-http", self.csms_http)]
        if self.explore is not None:
            ports.append(("--explore", self.explore))
        if self.fleet is not None:
            ports.append(("--control", self.control))
        return ports

    def check(self) -> None:
        """ValueError when two options give the same port."""
        seen: dict[int, str] = {}
        for option, endpoint in self.bound():
            if endpoint.port in seen:
                raise ValueError(
                    f"{seen[endpoint.port]} and {option} both use port {endpoint.port}"
                )
            seen[endpoint.port] = option

    @property
    def proxy_url(self) -> str:
        return f"ws://{reachable_host(self.listen)}:{self.listen.port}"

    @property
    def upstream_url(self) -> str:
        if self.upstream is not None:
            return self.upstream
        return f"ws://{reachable_host(self.csms_ocpp)}:{self.csms_ocpp.port}"

    def children(self) -> list[ChildSpec]:
        """The children in start order; the fleet last, once the proxy is ready for it."""
        specs = []
        if self.upstream is None:
            specs.append(
                ChildSpec(
                    "csms",
                    (
                        "csms",
                        "--ocpp",
                        _address(self.csms_ocpp),
                        "--http",
                        _address(self.csms_http),
                    ),
                    health_url=http_url(self.csms_http, "/chargers"),
                )
            )
        specs.append(
            ChildSpec(
                "proxy",
                (
                    "proxy",
                    *("--listen", _address(self.listen)),
                    *("--upstream", self.upstream_url),
                    *("--admin", _address(self.admin)),
                ),
                health_url=http_url(self.admin, "/healthz"),
            )
        )
        if self.explore is not None:
            specs.append(
                ChildSpec(
                    "explore",
                    ("explore", "--listen", _address(self.explore)),
                    health_url=http_url(self.explore, "/api/stations"),
                )
            )
        if self.fleet is not None:
            specs.append(
                ChildSpec(
                    "fleet",
                    (
                        "simulate",
                        *("--url", self.proxy_url),
                        *("--control", _address(self.control)),
                        *self.fleet,
                    ),
                    listens=self.control,
                    after_ready=True,
                )
            )
        return specs

    def endpoints(self, database_url: str, admin_token: str | None = None) -> LabEndpoints:
        return LabEndpoints(
            database_url=database_url,
            proxy_url=self.proxy_url,
            admin_url=http_url(self.admin),
            admin_token=admin_token,
            csms_url=http_url(self.csms_http),
        )


def _address(endpoint: Endpoint) -> str:
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    return f"{host}:{endpoint.port}"
