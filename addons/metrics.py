"""Metrics: frames, round trips, findings, connections, reconnect waits and faults as Prometheus
metrics (proxy/metrics.py), on a registry of this addon's own that the admin API serves at
`/metrics`.

After conformance and latency in the chain: frames carry their action and round trip, and the
engine's reconnect episode arrives under `flow.metadata[RECONNECT_KEY]`. Only frames the engine
judged are counted (a frame a fault dropped or held back shows up under faults applied; a
delayed one is counted when delivered), as the latency addon times them.
"""

from __future__ import annotations

from mitmproxy import http
from prometheus_client import CollectorRegistry

from addons._ocpp import RECONNECT_KEY, RefusedHandshakes, close_details, current_frame
from proxy.faults.record import FaultEvent
from proxy.metrics import ProxyMetrics
from proxy.ocppj.events import station_from_path
from proxy.ocppj.findings import Finding


class Metrics(RefusedHandshakes):
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.metrics = ProxyMetrics(registry or CollectorRegistry())

    @property
    def registry(self) -> CollectorRegistry:
        return self.metrics.registry

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        self.metrics.connected(station_from_path(flow.request.path))
        episode = flow.metadata.get(RECONNECT_KEY)
        if episode is not None:
            self.metrics.reconnected(episode.waits)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        frame = current_frame(flow)
        if frame.judged and not frame.after_close:  # exchanged, not sent into a close
            self.metrics.frames.count(frame)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        code, closed_by = close_details(flow)
        self.metrics.disconnected(station_from_path(flow.request.path), closed_by, code)

    def handshake_refused(self, flow: http.HTTPFlow, status: int) -> None:
        self.metrics.handshake_refused(status)

    def ocpp_finding(self, finding: Finding) -> None:
        self.metrics.finding(finding)

    def ocpp_fault(self, event: FaultEvent) -> None:
        if event.event == "applied":
            self.metrics.fault_applied(event.kind)


addons = [Metrics()]
