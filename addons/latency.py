"""Latency: each CALL's round trip through the proxy, by action and by who answered.

Needs the conformance addon before it (it matches responses to CALLs; nothing is parsed twice).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mitmproxy import command, http

from addons._ocpp import current_frame
from proxy.frame import Frame
from proxy.latency import LatencyBook, LatencyRow
from proxy.ocppj.findings import Finding

log = logging.getLogger("ocppscope.latency")
TIMEOUT_RULE = "RPC-008"


class Latency:
    def __init__(self) -> None:
        self.book = LatencyBook()
        self._warned = False

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        frame: Frame = current_frame(flow)
        if not frame.judged:  # not part of the conversation the two ends had (a fault)
            return
        if frame.outcome is None:
            if not self._warned:
                self._warned = True
                log.warning("the latency addon needs the conformance addon loaded before it")
            return
        if frame.rtt is not None and frame.action is not None:
            self.book.record(frame.action, frame.direction.reverse, frame.rtt)

    def ocpp_finding(self, finding: Finding) -> None:
        if finding.rule_id == TIMEOUT_RULE and finding.action and finding.direction:
            self.book.timed_out(finding.action, finding.direction)

    @command.command("ocppscope.latency")
    def latency(self) -> Sequence[str]:
        """Round trips by action: count, p50 and p99 in ms, timeouts."""
        return [_describe(row) for row in self.book.rows()]


def _describe(row: LatencyRow) -> str:
    p50 = f"{row.p50_ms:.1f}" if row.p50_ms is not None else "-"
    p99 = f"{row.p99_ms:.1f}" if row.p99_ms is not None else "-"
    return (
        f"{row.action} from {row.caller.sender}: n={row.count} p50={p50} ms p99={p99} ms "
        f"timeouts={row.timeouts}"
    )


addons = [Latency()]
