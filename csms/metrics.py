"""The reference CSMS's Prometheus metrics, served on its HTTP port at `/metrics`: sessions,
power now, energy and money delivered (by site: a bounded label from charger_info), and REST
requests by route template.

Sessions and energy follow the usage records as the Fleet sees them move (one update per
TransactionEvent, O(1)); power is read from the Fleet at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from csms.fleet import Fleet
from csms.metering import Usage

NO_SITE = ""
"""The site label of a charger registered at its first boot (charger_info has no site for it)."""
UNMATCHED = "unmatched"
"""The route label of a request no route matched (a 404 on an unknown path)."""


class CsmsMetrics(Collector):
    """Every CSMS metric on one registry; registered with the Fleet, which reports each
    transaction's usage record as it moves."""

    def __init__(self, fleet: Fleet, registry: CollectorRegistry) -> None:
        self.fleet = fleet
        self.registry = registry
        self.running = Gauge(
            "ocppscope_csms_sessions_running",
            "Transactions started and not yet ended.",
            ["site"],
            registry=registry,
        )
        self.ended = Counter(
            "ocppscope_csms_sessions_ended",
            "Transactions ended (a repeated Ended counts once).",
            ["site"],
            registry=registry,
        )
        self.energy = Counter(
            "ocppscope_csms_energy_delivered_kwh",
            "Energy delivered, as charger_usage_log.energy_consumed grows.",
            ["site"],
            registry=registry,
        )
        self.revenue = Counter(
            "ocppscope_csms_revenue_krw",
            "Cost of the energy delivered, as charger_usage_log.cost grows.",
            ["site"],
            registry=registry,
        )
        self.requests = Counter(
            "ocppscope_csms_http_requests",
            "REST API and map requests by route template and status code.",
            ["route", "status"],
            registry=registry,
        )
        registry.register(self)
        ProcessCollector(registry=registry)
        self._usages: dict[tuple[str, str], Usage] = {}
        """The latest usage record counted, per charger and transaction: what the next adds to."""
        fleet.watchers.append(self.usage)

    def usage(self, charger_id: str, usage: Usage) -> None:
        charger = self.fleet.chargers.get(charger_id)
        site = (charger.site if charger else None) or NO_SITE
        key = (charger_id, usage.transaction_id)
        before = self._usages.get(key)
        self._usages[key] = usage
        was_running = before is not None and not before.ended
        if not usage.ended and not was_running:
            self.running.labels(site).inc()
        elif usage.ended and was_running:
            self.running.labels(site).dec()
        if usage.ended and (before is None or was_running):
            self.ended.labels(site).inc()
        # Counters only grow: a correction downwards (a meter going back) is not subtracted.
        energy, cost = (before.energy_kwh, before.cost) if before else (0.0, 0.0)
        self.energy.labels(site).inc(max(0.0, usage.energy_kwh - energy))
        self.revenue.labels(site).inc(max(0.0, usage.cost - cost))

    def collect(self) -> Iterator[Metric]:
        """Power now, summed at scrape time from the Fleet (what the map shows)."""
        by_site: dict[str, float] = {}
        for charger in list(self.fleet.chargers.values()):
            site = charger.site or NO_SITE
            by_site[site] = by_site.get(site, 0.0) + charger.power_kw
        yield GaugeMetricFamily(
            "ocppscope_csms_power_kw",
            "Power drawn now, every charger.",
            value=sum(by_site.values()),
        )
        site_power = GaugeMetricFamily(
            "ocppscope_csms_site_power_kw", "Power drawn now, by site.", labels=["site"]
        )
        for site, kw in sorted(by_site.items()):
            site_power.add_metric([site], kw)
        yield site_power


class RequestCounter:
    """ASGI middleware: counts each request by its route template (`/chargers/{charger_id}`, one
    series per route rather than per charger) and status, when the response starts (the event
    stream never ends); an exception that escapes is a 500."""

    def __init__(self, app: ASGIApp, counter: Counter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        def count(status: int) -> None:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.counter.labels(route, str(status)).inc()

        async def counted(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                count(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counted)
        except Exception:
            if not started:
                count(500)
            raise
