"""The metrics addon: each event counted once under bounded labels, never by station."""

from __future__ import annotations

import collections
import json
import time

import pytest
from mitmproxy.test import taddons, tflow
from prometheus_client import CollectorRegistry

from addons._ocpp import RECONNECT_KEY, current_frame
from addons.conformance import Conformance
from addons.latency import Latency
from addons.metrics import Metrics
from proxy.faults.kinds import Kind
from proxy.faults.record import FaultEvent, FaultMark
from proxy.frame import Frame
from proxy.metrics import CALL_SECONDS_BUCKETS, RECONNECT_SECONDS_BUCKETS
from proxy.ocppj.actions import Direction
from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.messages import parse_frame
from proxy.ocppj.session import Monitor, Outcome
from proxy.ocppj.timefmt import format_datetime
from tests.addons import Recorder, add_message, close, deliver, ws_flow
from tests.ocppj.test_rules_transactions import periodic, started
from tests.ocppj.wire import Wire

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
LABEL_NAMES = {
    "direction",
    "message_type",
    "action",
    "rule",
    "severity",
    "closed_by",
    "code",
    "status",
    "attempt",
    "kind",
    "le",
    "ocpp_version",
}
"""Every label any proxy metric may carry: none names a station or a connection."""


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def label_names(registry: CollectorRegistry) -> set[str]:
    return {name for family in registry.collect() for s in family.samples for name in s.labels}


def test_frames_findings_and_round_trips_counted_exactly() -> None:
    conformance, latency, metrics, recorder = Conformance(), Latency(), Metrics(), Recorder()
    with taddons.context(conformance, latency, metrics, recorder):
        chain = [conformance, latency, metrics]
        t0 = time.time() - 10
        flow = ws_flow(opened_at=t0)
        conformance.websocket_start(flow)
        metrics.websocket_start(flow)
        deliver(chain, flow, True, [2, "b1", "BootNotification", BOOT], t0)
        answer = {"currentTime": format_datetime(t0), "interval": 300, "status": "Accepted"}
        deliver(chain, flow, False, [3, "b1", answer], t0 + 0.002)
        for n in range(3):
            deliver(chain, flow, True, [2, f"h{n}", "Heartbeat", {}], t0 + 1 + n)
            reply = [3, f"h{n}", {"currentTime": format_datetime(t0 + 1 + n)}]
            deliver(chain, flow, False, reply, t0 + 1.04 + n)
        deliver(chain, flow, True, [2, "x1", "MadeUpAction", {}], t0 + 5)  # RPC-009
        deliver(chain, flow, True, "not json", t0 + 6)  # RPC-001
        deliver(chain, flow, True, [2, "h9", "Heartbeat", {"bogus": 1}], t0 + 7)  # SCH-002
        deliver(chain, flow, False, [3, "h9", {"currentTime": format_datetime(t0 + 7)}], t0 + 7.2)

    frames = "ocppscope_frames_total"
    up, down = "charger_to_csms", "csms_to_charger"
    v201 = {"ocpp_version": "ocpp2.0.1"}
    assert (
        value(metrics, frames, direction=up, message_type="CALL", action="Heartbeat", **v201) == 4
    )
    assert (
        value(
            metrics, frames, direction=down, message_type="CALLRESULT", action="Heartbeat", **v201
        )
        == 4
    )
    boot_calls = {"direction": up, "message_type": "CALL", "action": "BootNotification", **v201}
    assert value(metrics, frames, **boot_calls) == 1
    assert value(metrics, frames, direction=up, message_type="CALL", action="other", **v201) == 1
    assert value(metrics, frames, direction=up, message_type="INVALID", action="", **v201) == 1
    total = sum(
        s.value
        for f in metrics.registry.collect()
        if f.name == "ocppscope_frames"
        for s in f.samples
    )
    assert total == 12

    assert recorder.rules()  # the engine found something, and each finding counts once
    expected = collections.Counter(
        (f.rule_id, f.severity.value, "ocpp2.0.1") for f in recorder.findings
    )
    counted = {
        (s.labels["rule"], s.labels["severity"], s.labels["ocpp_version"]): s.value
        for family in metrics.registry.collect()
        if family.name == "ocppscope_findings"
        for s in family.samples
    }
    assert counted == expected
    assert {"RPC-009", "RPC-001", "SCH-002"} <= {rule for rule, _, _ in counted}

    rtt = "ocppscope_call_duration_seconds"
    heartbeat = {"action": "Heartbeat", "direction": up, **v201}
    assert value(metrics, f"{rtt}_count", **heartbeat) == 4
    assert value(metrics, f"{rtt}_sum", **heartbeat) == pytest.approx(0.04 * 3 + 0.2, abs=1e-3)
    assert value(metrics, f"{rtt}_bucket", le="0.025", **heartbeat) == 0
    assert value(metrics, f"{rtt}_bucket", le="0.05", **heartbeat) == 3
    assert value(metrics, f"{rtt}_bucket", le="0.1", **heartbeat) == 3
    assert value(metrics, f"{rtt}_bucket", le="0.25", **heartbeat) == 4
    boot = {"action": "BootNotification", "direction": up, **v201}
    assert value(metrics, f"{rtt}_bucket", le="0.001", **boot) == 0
    assert value(metrics, f"{rtt}_bucket", le="0.0025", **boot) == 1


def test_round_trip_buckets_span_half_a_millisecond_to_thirty_seconds() -> None:
    assert CALL_SECONDS_BUCKETS[0] == 0.0005 and CALL_SECONDS_BUCKETS[-1] == 30.0
    assert list(CALL_SECONDS_BUCKETS) == sorted(set(CALL_SECONDS_BUCKETS))
    metrics = Metrics()
    for rtt in (0.0005, 0.0006, 30.0, 31.0):  # a bound is in its bucket ("le")
        metrics.metrics.frames.count(_answer(rtt))
    [family] = [
        f for f in metrics.registry.collect() if f.name == "ocppscope_call_duration_seconds"
    ]
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    assert list(buckets) == [*(str(bound) for bound in CALL_SECONDS_BUCKETS), "+Inf"]
    assert [buckets[le] for le in ("0.0005", "0.001", "10.0", "30.0", "+Inf")] == [1, 2, 2, 3, 4]
    heartbeat = {"action": "Heartbeat", "direction": "charger_to_csms", "ocpp_version": "unknown"}
    assert value(metrics, "ocppscope_call_duration_seconds_count", **heartbeat) == 4
    assert value(metrics, "ocppscope_call_duration_seconds_sum", **heartbeat) == pytest.approx(
        61.0011
    )


def test_each_back_off_wait_has_a_bucket_of_its_own() -> None:
    """The seed's waits of 1, 2, 4, 8, 16 s, each ±10 %, fall in five different buckets."""

    def bucket(seconds: float) -> int:
        return next(i for i, bound in enumerate(RECONNECT_SECONDS_BUCKETS) if seconds <= bound)

    waits = (1, 2, 4, 8, 16)
    assert all(bucket(wait * 0.9) == bucket(wait * 1.1) for wait in waits)
    assert len({bucket(wait) for wait in waits}) == len(waits)


def test_unanswered_calls_and_dropped_frames() -> None:
    conformance, latency, metrics = Conformance(), Latency(), Metrics()
    with taddons.context(conformance, latency, metrics) as tctx:
        tctx.configure(conformance, ocpp_message_timeout=2.0)
        chain = [conformance, latency, metrics]
        t0 = time.time() - 10
        flow = ws_flow(opened_at=t0)
        conformance.websocket_start(flow)
        deliver(chain, flow, True, [2, "b1", "BootNotification", BOOT], t0)
        answer = {"currentTime": format_datetime(t0), "interval": 300, "status": "Accepted"}
        deliver(chain, flow, False, [3, "b1", answer], t0 + 0.02)
        deliver(chain, flow, True, [2, "h1", "Heartbeat", {}], t0 + 1)
        conformance._publish(conformance.monitor.tick(t0 + 5))  # what its ticker does
        # a frame a fault dropped reaches nobody: not counted as a frame
        add_message(flow, True, [2, "h2", "Heartbeat", {}], t0 + 6)
        current_frame(flow).fault = FaultMark(
            "dropped (fault 1)", "dropped", 1, Kind.DROP, judged=False
        )
        for addon in chain:
            addon.websocket_message(flow)
    unanswered = "ocppscope_calls_unanswered_total"
    assert value(metrics, unanswered, action="Heartbeat", direction="charger_to_csms") == 1
    assert (
        value(
            metrics,
            "ocppscope_frames_total",
            direction="charger_to_csms",
            message_type="CALL",
            action="Heartbeat",
            ocpp_version="ocpp2.0.1",
        )
        == 1
    )


def test_faults_applied_by_kind() -> None:
    metrics = Metrics()
    with taddons.context(metrics):
        for kind, event in [
            ("drop", "added"),
            ("drop", "applied"),
            ("drop", "applied"),
            ("delay", "applied"),
            ("outage", "applied"),
            ("drop", "expired"),
            ("delay", "removed"),
        ]:
            metrics.ocpp_fault(FaultEvent(time.time(), 1, Kind(kind), event))
    applied = "ocppscope_faults_applied_total"
    assert value(metrics, applied, kind="drop") == 2
    assert value(metrics, applied, kind="delay") == 1
    assert value(metrics, applied, kind="outage") == 1


def test_seqno_gaps_count_the_messages_lost() -> None:
    w = started(Wire())
    periodic(w.wait(15), 1, 12600.0)
    periodic(w.wait(15), 4, 12900.0)  # 2 and 3 lost
    periodic(w.wait(15), 6, 13100.0)  # 5 lost
    monitor = Monitor()
    findings = [f for event in w.events for f in monitor.feed(event).findings]
    findings += monitor.finish(w.now)
    gaps = [f for f in findings if f.rule_id == "TX-003"]
    assert len(gaps) == 2
    metrics = Metrics()
    with taddons.context(metrics):
        for finding in findings:
            metrics.ocpp_finding(finding)
        # a TX-003 that names no lost message (here: a negative seqNo) loses nothing
        metrics.ocpp_finding(_finding("TX-003", "seqNo -1 of transaction T1 is negative"))
    assert value(metrics, "ocppscope_transaction_events_missing_total") == 3
    tx003 = {"rule": "TX-003", "severity": "warning", "ocpp_version": "ocpp2.0.1"}
    assert value(metrics, "ocppscope_findings_total", **tx003) == 2


@pytest.mark.parametrize(
    ("subprotocol", "label"),
    [("ocpp1.6", "ocpp1.6"), ("ocpp2.1", "ocpp2.1"), (None, "unknown"), ("ocpp1.5", "unknown")],
)
def test_frames_round_trips_and_findings_are_labelled_with_the_selected_version(
    subprotocol: str | None, label: str
) -> None:
    """Only the three versions name a series; no selection, or one the engine does not know,
    is `unknown` (whatever a CSMS answers cannot make up a series)."""
    conformance, latency, metrics, recorder = Conformance(), Latency(), Metrics(), Recorder()
    with taddons.context(conformance, latency, metrics, recorder):
        chain = [conformance, latency, metrics]
        t0 = time.time() - 10
        flow = ws_flow(subprotocol=subprotocol, opened_at=t0)
        conformance.websocket_start(flow)
        deliver(chain, flow, True, [2, "h1", "Heartbeat", {"bogus": 1}], t0 + 1)
        deliver(chain, flow, False, [3, "h1", {"currentTime": format_datetime(t0 + 1)}], t0 + 1.1)
    versions = {
        s.labels["ocpp_version"]
        for family in metrics.registry.collect()
        if family.name
        in ("ocppscope_frames", "ocppscope_call_duration_seconds", "ocppscope_findings")
        for s in family.samples
    }
    assert versions == {label}
    heartbeat = {"action": "Heartbeat", "direction": "charger_to_csms", "ocpp_version": label}
    assert value(metrics, "ocppscope_call_duration_seconds_count", **heartbeat) == 1
    assert any(f.rule_id.startswith("SCH") for f in recorder.findings)
    assert all(f.version == (label if label != "unknown" else None) for f in recorder.findings)


def test_connections_disconnects_and_refused_handshakes() -> None:
    metrics = Metrics()
    stations = "ocppscope_stations_connected"
    with taddons.context(metrics):
        first, second, other = ws_flow(), ws_flow(), ws_flow(path="/ocpp/CS02")
        for flow in (first, second, other):
            metrics.websocket_start(flow)
        assert value(metrics, stations) == 2  # CS01 twice counts once
        close(first, 1000, by_client=True, timestamp=time.time())
        metrics.websocket_end(first)
        assert value(metrics, stations) == 2
        close(second, 1006, by_client=False, timestamp=time.time())
        metrics.websocket_end(second)
        close(other, 1001, by_client=False, timestamp=time.time())
        metrics.websocket_end(other)
        assert value(metrics, stations) == 0

        refused = tflow.tflow(resp=True)
        refused.request.headers["Upgrade"] = "websocket"
        assert refused.response is not None
        refused.response.status_code = 503
        metrics.response(refused)
        unreachable = tflow.tflow(err=True)
        unreachable.request.headers["Upgrade"] = "websocket"
        metrics.error(unreachable)
        plain = tflow.tflow(resp=True)  # not an upgrade: not a refused handshake
        plain.response.status_code = 404  # type: ignore[union-attr]
        metrics.response(plain)

    assert value(metrics, "ocppscope_connects_total") == 3
    disconnects = "ocppscope_disconnects_total"
    assert value(metrics, disconnects, closed_by="charger", code="1000") == 1
    assert value(metrics, disconnects, closed_by="lost", code="1006") == 1
    assert value(metrics, disconnects, closed_by="csms", code="1001") == 1
    assert value(metrics, "ocppscope_handshakes_refused_total", status="503") == 1
    assert value(metrics, "ocppscope_handshakes_refused_total", status="502") == 1
    assert value(metrics, "ocppscope_handshakes_refused_total", status="404") == 0


def test_reconnect_waits_from_the_engines_episode() -> None:
    """Lost at now-2 s, refused at now, back at now+4 s: waits of about 2 and 4 s, as the
    engine's BACKOFF-007 episode has them."""
    conformance, metrics = Conformance(), Metrics()
    chain = [conformance, metrics]
    with taddons.context(conformance, metrics):
        now = time.time()
        lost = ws_flow(opened_at=now - 60)
        for addon in chain:
            addon.websocket_start(lost)
        assert RECONNECT_KEY not in lost.metadata  # a first connection is no reconnect
        close(lost, 1006, by_client=False, timestamp=now - 2)
        for addon in chain:
            addon.websocket_end(lost)
        refused = tflow.tflow(err=True)
        refused.request.path = lost.request.path
        refused.request.headers["Upgrade"] = "websocket"
        for addon in chain:
            addon.error(refused)
        back = ws_flow(opened_at=now + 4)
        for addon in chain:
            addon.websocket_start(back)
    episode = back.metadata[RECONNECT_KEY]
    assert [round(wait) for wait in episode.waits] == [2, 4]
    waits = "ocppscope_reconnect_wait_seconds"
    assert value(metrics, f"{waits}_count", attempt="1") == 1
    assert value(metrics, f"{waits}_bucket", attempt="1", le="1.5") == 0
    assert value(metrics, f"{waits}_bucket", attempt="1", le="3.0") == 1
    assert value(metrics, f"{waits}_bucket", attempt="2", le="3.0") == 0
    assert value(metrics, f"{waits}_bucket", attempt="2", le="6.0") == 1


def test_late_attempts_share_a_label() -> None:
    metrics = Metrics()
    metrics.metrics.reconnected((1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0))
    waits = "ocppscope_reconnect_wait_seconds_count"
    assert [value(metrics, waits, attempt=str(n)) for n in range(1, 6)] == [1] * 5
    assert value(metrics, waits, attempt="6+") == 2


def test_no_label_names_a_station() -> None:
    """Every label of every sample, after traffic from many stations: a bounded set."""
    conformance, latency, metrics = Conformance(), Latency(), Metrics()
    with taddons.context(conformance, latency, metrics):
        chain = [conformance, latency, metrics]
        t0 = time.time() - 10
        for n in range(20):
            flow = ws_flow(path=f"/ocpp/STATION-{n}", opened_at=t0)
            for addon in (conformance, metrics):
                addon.websocket_start(flow)
            deliver(chain, flow, True, [2, f"b{n}", "BootNotification", BOOT], t0)
            answer = {"currentTime": format_datetime(t0), "interval": 300, "status": "Accepted"}
            deliver(chain, flow, False, [3, f"b{n}", answer], t0 + 0.01)
            deliver(chain, flow, True, [2, f"s{n}", f"Action{n}", {}], t0 + 1)
            close(flow, 1006, by_client=False, timestamp=t0 + 2)
            for addon in (conformance, metrics):
                addon.websocket_end(flow)
        metrics.ocpp_fault(FaultEvent(t0, 1, Kind.DROP, "applied", station="STATION-1"))
        metrics.metrics.reconnected((1.0,))
        metrics.metrics.handshake_refused(503)
    names = label_names(metrics.registry)
    assert names == LABEL_NAMES
    values = {
        v
        for family in metrics.registry.collect()
        for s in family.samples
        for v in s.labels.values()
    }
    assert not any("STATION" in v or "Action1" in v for v in values)


def _answer(rtt: float) -> Frame:
    """The CSMS's answer to a Heartbeat, `rtt` seconds after it."""
    parsed = parse_frame(json.dumps([3, "h1", {"currentTime": format_datetime(0)}]), None)
    outcome = Outcome([], parsed, "Heartbeat", rtt)
    return Frame("c1", "CS01", Direction.CSMS_TO_CHARGER, 0.0, "", outcome)


def _finding(rule: str, message: str) -> Finding:
    return Finding(
        rule, Severity.ERROR, "CS01", message, "", time.time(), direction=Direction.CHARGER_TO_CSMS
    )
