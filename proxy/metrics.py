"""The proxy's Prometheus metrics (addons/metrics.py feeds them) and the `/metrics` endpoint that
the proxy's admin API and the CSMS serve.

Each proxy has a registry of its own, so several proxies in one process (tests) do not collide.
Updates are O(1); the two made per frame (frames, round trips) are plain numbers without locks
(`FrameCounts`). Every label is bounded: direction, message type, action (the actions of OCPP
1.6, 2.0.1 and 2.1, else `other`), OCPP version (the three, else `unknown`), rule and severity,
fault kind, close reason, HTTP status, attempt number. Never a station: per-station detail lives
in PostgreSQL (a per-station histogram at 5,000 stations made each scrape 8 MB and 2.4 s,
docs/metrics.md).
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from itertools import accumulate
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from proxy.faults.kinds import Kind
from proxy.frame import Frame
from proxy.ocppj.actions import Direction
from proxy.ocppj.findings import Finding
from proxy.ocppj.versions import ALL_ACTIONS, UNKNOWN

disable_created_metrics()  # a `_created` series beside every counter would double each scrape

CALL_SECONDS_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
"""0.5 ms (a CSMS on the same host) to 30 s (OCPP's default MessageTimeout)."""
_CALL_SECONDS_LE = [*(floatToGoString(bound) for bound in CALL_SECONDS_BUCKETS), "+Inf"]
RECONNECT_SECONDS_BUCKETS = (0.1, 0.5, 0.75, 1.5, 3.0, 6.0, 12.0, 24.0, 48.0, 96.0, 192.0, 384.0)
"""Bounds halfway between doublings: back-off waits of 1, 2, 4, 8, 16 s (±10 %) each land in a
bucket of their own, and a station reconnecting at once lands below 0.5 s."""
ATTEMPTS_LABELLED = 6
"""Attempt numbers kept apart; later attempts share the label `6+` (the wait stops doubling
after RetryBackOffRepeatTimes anyway)."""
OTHER = "other"
TIMEOUT_RULE = "RPC-008"
SEQNO_RULE = "TX-003"


def bounded_action(action: str | None) -> str:
    """An OCPP action as a label value: `""` for frames without one, `other` for names outside
    OCPP 1.6, 2.0.1 and 2.1 (a station could otherwise make up a series per frame)."""
    if action is None:
        return ""
    return action if action in ALL_ACTIONS else OTHER


def version_label(version: str | None) -> str:
    """A `known_version` (Frame.version, Finding.version) as a label value."""
    return version or UNKNOWN


def close_label(code: int | None) -> str:
    """WebSocket close codes of RFC 6455 (1000-1015) as themselves, `none` when the link was
    lost without a Close frame, and the application range as `other`."""
    if code is None:
        return "none"
    return str(code) if 1000 <= code <= 1015 else OTHER


class FrameCounts(Collector):
    """`ocppscope_frames_total` and `ocppscope_call_duration_seconds` as plain numbers.

    Only the event loop writes them, so they need none of prometheus_client's locks (measured in
    one run: 3.1 us a frame with a Counter and a Histogram, 1.2 us so). The scrape's thread
    reads copies made by C code (`list(...)`), which no thread switch interrupts: each series is
    read whole.
    """

    def __init__(self) -> None:
        self.frames: dict[tuple[Direction, str, str, str], int] = {}
        self.calls: dict[tuple[str, Direction, str], list[float]] = {}
        """Per (action, the answer's direction, version): count per bucket, +Inf last but one,
        then the sum. Keyed by the answer's direction: `Direction.reverse` costs more than the
        rest."""

    def count(self, frame: Frame) -> None:
        action = bounded_action(frame.action)
        version = version_label(frame.version)
        key = (frame.direction, frame.message_type, action, version)
        frames = self.frames
        frames[key] = frames.get(key, 0) + 1
        rtt = frame.rtt
        if rtt is not None and action:
            call = (action, frame.direction, version)
            series = self.calls.get(call)
            if series is None:
                series = self.calls[call] = [0.0] * (len(CALL_SECONDS_BUCKETS) + 2)
            series[bisect_left(CALL_SECONDS_BUCKETS, rtt)] += 1
            series[-1] += rtt

    def collect(self) -> Iterator[Metric]:
        frames = CounterMetricFamily(
            "ocppscope_frames",
            "Frames the two ends exchanged, as the conformance engine judged them.",
            labels=["direction", "message_type", "action", "ocpp_version"],
        )
        for (direction, message_type, action, version), count in list(self.frames.items()):
            frames.add_metric([direction.value, message_type, action, version], count)
        yield frames
        calls = HistogramMetricFamily(
            "ocppscope_call_duration_seconds",
            "Round trip of a CALL through the proxy; direction is the CALL's.",
            labels=["action", "direction", "ocpp_version"],
        )
        for (action, answered, version), series in list(self.calls.items()):
            counts = list(series)
            buckets = list(zip(_CALL_SECONDS_LE, accumulate(counts[:-1]), strict=True))
            calls.add_metric([action, answered.reverse.value, version], buckets, counts[-1])
        yield calls


class ProxyMetrics:
    """Every proxy metric on one registry, with the update each event makes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.frames = FrameCounts()
        registry.register(self.frames)
        self.findings = Counter(
            "ocppscope_findings",
            "Findings of the conformance engine.",
            ["rule", "severity", "ocpp_version"],
            registry=registry,
        )
        self.unanswered = Counter(
            "ocppscope_calls_unanswered",
            "CALLs not answered within MessageTimeout (RPC-008); direction is the CALL's.",
            ["action", "direction"],
            registry=registry,
        )
        self.stations = Gauge(
            "ocppscope_stations_connected",
            "Stations with at least one open WebSocket connection.",
            registry=registry,
        )
        self.connects = Counter(
            "ocppscope_connects", "WebSocket connections opened.", registry=registry
        )
        self.disconnects = Counter(
            "ocppscope_disconnects",
            "WebSocket connections closed, by who closed (charger, csms, lost) and close code.",
            ["closed_by", "code"],
            registry=registry,
        )
        self.refused = Counter(
            "ocppscope_handshakes_refused",
            "Upgrades answered with an HTTP status instead of 101 (502: CSMS unreachable).",
            ["status"],
            registry=registry,
        )
        self.reconnect_seconds = Histogram(
            "ocppscope_reconnect_wait_seconds",
            "Waits before each reconnect attempt after a lost connection (BACKOFF-007 episodes).",
            ["attempt"],
            buckets=RECONNECT_SECONDS_BUCKETS,
            registry=registry,
        )
        self.faults = Counter(
            "ocppscope_faults_applied",
            "Fault rule applications, by kind.",
            ["kind"],
            registry=registry,
        )
        self.missing = Counter(
            "ocppscope_transaction_events_missing",
            "TransactionEvents lost: seqNos missing from gaps the engine reported (TX-003).",
            registry=registry,
        )
        ProcessCollector(registry=registry)
        self._open: dict[str, int] = {}
        """Open connections per connected station."""

    def finding(self, finding: Finding) -> None:
        self.findings.labels(
            finding.rule_id, finding.severity.value, version_label(finding.version)
        ).inc()
        if finding.rule_id == TIMEOUT_RULE and finding.action and finding.direction:
            action = bounded_action(finding.action)
            self.unanswered.labels(action, finding.direction.value).inc()
        elif finding.rule_id == SEQNO_RULE:
            lost = finding.details.get("lost")
            if isinstance(lost, int):  # other TX-003 findings (a negative seqNo, ...) lose nothing
                self.missing.inc(lost)

    def connected(self, station: str) -> None:
        self.connects.inc()
        count = self._open.get(station, 0)
        self._open[station] = count + 1
        if not count:
            self.stations.inc()

    def disconnected(self, station: str, closed_by: str | None, code: int | None) -> None:
        self.disconnects.labels(closed_by or "lost", close_label(code)).inc()
        count = self._open.pop(station, 0)
        if count > 1:
            self._open[station] = count - 1
        elif count:
            self.stations.dec()

    def handshake_refused(self, status: int) -> None:
        self.refused.labels(str(status)).inc()

    def reconnected(self, waits: tuple[float, ...]) -> None:
        """The waits of one reconnect episode: from the loss, then from each refused attempt."""
        for attempt, wait in enumerate(waits, start=1):
            label = str(attempt) if attempt < ATTEMPTS_LABELLED else f"{ATTEMPTS_LABELLED}+"
            self.reconnect_seconds.labels(label).observe(wait)

    def fault_applied(self, kind: Kind) -> None:
        self.faults.labels(kind.value).inc()


class StoreMetrics(Collector):
    """The store writer's health as metrics: read on the event loop at each scrape (`refresh`,
    what /healthz reads), rendered from that copy in the scrape's thread."""

    def __init__(self, stats: Callable[[], Mapping[str, Any]], registry: CollectorRegistry):
        self._stats = stats
        self._latest: Mapping[str, Any] = {}
        registry.register(self)

    def refresh(self) -> None:
        self._latest = self._stats()

    def collect(self) -> Iterator[Metric]:
        stats = self._latest
        if not stats.get("enabled"):
            return
        yield GaugeMetricFamily(
            "ocppscope_store_connected",
            "1 while the store's writer is connected to PostgreSQL.",
            value=1 if stats["connected"] else 0,
        )
        yield GaugeMetricFamily(
            "ocppscope_store_queue_depth",
            "Rows queued in memory for PostgreSQL.",
            value=stats["queue_depth"],
        )
        lag = GaugeMetricFamily(
            "ocppscope_store_write_lag_seconds",
            "Queue-to-commit time over the latest 10,000 rows.",
            labels=["quantile"],
        )
        for quantile, key in (("0.5", "write_lag_ms_p50"), ("0.99", "write_lag_ms_p99")):
            if stats[key] is not None:
                lag.add_metric([quantile], stats[key] / 1000)
        yield lag
        yield CounterMetricFamily(
            "ocppscope_store_discarded",
            "Rows forwarded but not stored: the buffer was full while PostgreSQL was away.",
            value=stats["discarded"],
        )


def metrics_router(
    registry: CollectorRegistry, refresh: Callable[[], None] | None = None
) -> APIRouter:
    """GET /metrics: `refresh` runs on the event loop (reading live state is safe there), the
    text is rendered in a thread (on the loop it blocked the proxy for 385 ms at 5,000
    chargers, docs/metrics.md)."""
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        if refresh is not None:
            refresh()
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
