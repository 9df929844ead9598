"""TX rules: TransactionEvent ids, ordering, seqNo numbering, retries, meters, clocks, offline flag.

Every rule has a sequence that must raise it and a realistic one that must not (the TX rules of
proxy/ocppj/rules.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.session import Monitor
from tests.ocppj.wire import Wire, rule_ids, rule_severities, run, without_verdicts

TX = "4f0c2b9e-7d31-4a8e-b6c5-1e9a7f2d3c80"
NEXT_TX = "a81d55e2-0c4b-4f7e-9d2a-6b3e8c1f4a95"
ENERGY = "Energy.Active.Import.Register"
RFID = {"idToken": "04A2B3C4D5E6F7", "type": "ISO14443"}
EVSE = {"id": 1, "connectorId": 1}
ACCEPTED = {"idTokenInfo": {"status": "Accepted"}}
HEARTBEAT_INTERVAL = 60


# ---- building blocks -----------------------------------------------------------------------


def energy(
    value: float, unit: str = "Wh", context: str = "Sample.Periodic", phase: str | None = None
) -> dict[str, Any]:
    sample: dict[str, Any] = {
        "value": value,
        "context": context,
        "measurand": ENERGY,
        "location": "Outlet",
        "unitOfMeasure": {"unit": unit},
    }
    if phase is not None:
        sample["phase"] = phase
    return sample


def power(watts: float, context: str = "Sample.Periodic") -> dict[str, Any]:
    return {
        "value": watts,
        "context": context,
        "measurand": "Power.Active.Import",
        "location": "Outlet",
        "unitOfMeasure": {"unit": "W"},
    }


def tx_event(
    w: Wire,
    event_type: str,
    seq: int,
    trigger: str,
    *,
    transaction_id: str = TX,
    at: float = 0.0,
    samples: list[dict[str, Any]] | None = None,
    offline: bool = False,
    charging_state: str | None = None,
    stopped_reason: str | None = None,
    id_token: dict[str, str] | None = None,
    evse: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A TransactionEventRequest payload; the event happened `at` seconds from the wire's clock."""
    info: dict[str, Any] = {"transactionId": transaction_id}
    if charging_state is not None:
        info["chargingState"] = charging_state
    if stopped_reason is not None:
        info["stoppedReason"] = stopped_reason
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": w.time(at),
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": info,
    }
    if offline:
        payload["offline"] = True
    if evse is not None:
        payload["evse"] = evse
    if id_token is not None:
        payload["idToken"] = id_token
    if samples:
        payload["meterValue"] = [{"timestamp": w.time(at), "sampledValue": samples}]
    return payload


def send(w: Wire, payload: dict[str, Any]) -> Wire:
    """The station sends a TransactionEvent and the CSMS acknowledges it properly."""
    w.call("TransactionEvent", payload)
    return w.result(ACCEPTED if "idToken" in payload else {})


def tx(w: Wire, event_type: str, seq: int, trigger: str, **kwargs: Any) -> Wire:
    return send(w, tx_event(w, event_type, seq, trigger, **kwargs))


def status(w: Wire, connector_status: str) -> Wire:
    payload = {
        "timestamp": w.time(),
        "connectorStatus": connector_status,
        "evseId": 1,
        "connectorId": 1,
    }
    return w.call("StatusNotification", payload).result({})


def idle(w: Wire, heartbeats: int) -> Wire:
    """Quiet time: only heartbeats, one per HeartbeatInterval."""
    for _ in range(heartbeats):
        w.wait(HEARTBEAT_INTERVAL).heartbeat()
    return w


def plugged_in(w: Wire) -> Wire:
    """Booted, EV plugged in, RFID card presented and accepted."""
    w.boot(interval=HEARTBEAT_INTERVAL)
    status(w.wait(2), "Available")
    status(w.wait(10), "Occupied")
    w.wait(4).call("Authorize", {"idToken": RFID}).result(ACCEPTED)
    return w


def started(w: Wire, transaction_id: str = TX, register: float = 12500.0) -> Wire:
    """plugged_in, then the transaction starts with seqNo 0."""
    plugged_in(w)
    return tx(
        w.wait(0.4),
        "Started",
        0,
        "Authorized",
        transaction_id=transaction_id,
        evse=EVSE,
        id_token=RFID,
        charging_state="EVConnected",
        samples=[energy(register, context="Transaction.Begin")],
    )


def ended(w: Wire, seq: int, register: float, transaction_id: str = TX) -> Wire:
    """The driver unplugs: Ended with EVDisconnected, then the connector is Available."""
    tx(
        w,
        "Ended",
        seq,
        "EVDeparted",
        transaction_id=transaction_id,
        charging_state="Idle",
        stopped_reason="EVDisconnected",
        samples=[energy(register, context="Transaction.End")],
    )
    return status(w.wait(1), "Available")


def periodic(w: Wire, seq: int, register: float, **kwargs: Any) -> Wire:
    return tx(
        w,
        "Updated",
        seq,
        "MeterValuePeriodic",
        samples=[energy(register), power(11000)],
        **kwargs,
    )


def severities(findings: list[Finding]) -> list[Severity]:
    return [finding.severity for finding in findings]


def feed_all(events: list[Any]) -> tuple[list[tuple[float, Finding]], list[Finding]]:
    """Feed a fresh monitor; (event time, finding) for each finding while feeding, then finish's.

    Without the BACKOFF-007 verdicts, as `run` gives them.
    """
    monitor = Monitor()
    during = [
        (event.timestamp, finding)
        for event in events
        for finding in without_verdicts(monitor.feed(event).findings)
    ]
    return during, without_verdicts(monitor.finish(max(event.timestamp for event in events)))


# ---- a complete compliant session ----------------------------------------------------------


def test_compliant_session_has_no_findings() -> None:
    start_wh = 48210.0
    w = started(Wire(), register=start_wh)
    tx(
        w.wait(1),
        "Updated",
        1,
        "ChargingStateChanged",
        charging_state="Charging",
        samples=[energy(start_wh), power(100000)],
    )
    seq = 1
    for second in range(5, 31, 5):  # 30 s at 100 kW, MeterValuePeriodic every 5 s
        seq += 1
        register = start_wh + 100000 * second / 3600
        tx(
            w.wait(5),
            "Updated",
            seq,
            "MeterValuePeriodic",
            samples=[energy(round(register, 1)), power(100000)],
        )
    assert round(register - start_wh, 1) == 833.3
    tx(
        w.wait(3),
        "Updated",
        seq + 1,
        "ChargingStateChanged",
        charging_state="SuspendedEV",
        samples=[energy(round(register, 1)), power(0)],
    )
    tx(
        w.wait(8),
        "Ended",
        seq + 2,
        "EVDeparted",
        charging_state="Idle",
        stopped_reason="EVDisconnected",
        samples=[energy(round(register, 1), context="Transaction.End")],
    )
    status(w.wait(1), "Available")
    idle(w, 3)  # past the 30 s grace for late TransactionEvents

    assert run(w.events) == []


# ---- TX-001: transactionId reuse -----------------------------------------------------------


def _next_session_on_same_evse(w: Wire, transaction_id: str, seq: int) -> Wire:
    status(w.wait(20), "Occupied")
    w.wait(5).call("Authorize", {"idToken": RFID}).result(ACCEPTED)
    return tx(
        w.wait(0.4),
        "Started",
        seq,
        "Authorized",
        transaction_id=transaction_id,
        evse=EVSE,
        id_token=RFID,
        charging_state="EVConnected",
        samples=[energy(13240.0, context="Transaction.Begin")],
    )


def test_tx001_id_reused_by_new_started_numbered_from_zero() -> None:
    w = started(Wire())
    periodic(w.wait(20), 1, 12990.0)
    ended(w.wait(20), 2, 13240.0)
    _next_session_on_same_evse(w, TX, 0)  # Edition 2 numbering starts every transaction at 0

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-001"]


def test_tx001_id_reused_by_new_started_with_continuing_counter() -> None:
    w = started(Wire())
    periodic(w.wait(20), 1, 12990.0)
    ended(w.wait(20), 2, 13240.0)
    _next_session_on_same_evse(w, TX, 3)  # a pre-Edition-2 counter carried on

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-001", "TX-003"]
    assert severities(findings) == [Severity.ERROR, Severity.INFO]


def test_tx001_new_transaction_with_new_id_is_fine() -> None:
    w = started(Wire())
    periodic(w.wait(20), 1, 12990.0)
    ended(w.wait(20), 2, 13240.0)
    _next_session_on_same_evse(w, NEXT_TX, 0)
    periodic(w.wait(20), 1, 13390.0, transaction_id=NEXT_TX)

    assert run(w.events) == []


def test_tx001_backfilled_started_after_queued_ended_is_not_reuse() -> None:
    """The whole transaction happened offline; the queue delivers Ended first (cf. TC_E_31)."""
    w = plugged_in(Wire())
    lost = w.wait(5).now
    w.close(1006)
    w.wait(150).open()
    w.wait(1)
    tx(
        w,
        "Ended",
        2,
        "EVDeparted",
        at=lost + 100 - w.now,
        offline=True,
        charging_state="Idle",
        stopped_reason="EVDisconnected",
    )
    w.wait(1)
    tx(w, "Started", 0, "Authorized", at=lost + 10 - w.now, offline=True, evse=EVSE, id_token=RFID)
    w.wait(1)
    tx(
        w,
        "Updated",
        1,
        "ChargingStateChanged",
        at=lost + 20 - w.now,
        offline=True,
        charging_state="Charging",
    )

    assert rule_severities(run(w.events)) == [("TX-004", Severity.INFO)]  # noted, allowed


# ---- TX-002: Started, Updated*, one Ended in seqNo order --------------------------------------


def test_tx002_first_event_is_not_started() -> None:
    w = plugged_in(Wire("ABB-TAC-2209-0417"))
    tx(w.wait(0.4), "Updated", 0, "Authorized", evse=EVSE, id_token=RFID)
    periodic(w.wait(20), 1, 5120.0)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-002"]
    assert "seqNo 0" in findings[0].message


def test_tx002_second_started() -> None:
    w = started(Wire())
    periodic(w.wait(20), 1, 12990.0)
    tx(w.wait(20), "Started", 2, "Authorized", id_token=RFID)  # re-presented card restarts
    periodic(w.wait(10), 3, 13300.0)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-002"]
    assert "second Started" in findings[0].message


def test_tx002_second_ended() -> None:
    w = started(Wire())
    periodic(w.wait(20), 1, 12990.0)
    ended(w.wait(20), 2, 13240.0)
    tx(w.wait(2), "Ended", 3, "StopAuthorized", stopped_reason="Local")

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-002"]
    assert "second Ended" in findings[0].message


def test_tx002_event_numbered_after_ended() -> None:
    w = started(Wire())
    periodic(w.wait(20), 1, 12990.0)
    ended(w.wait(20), 2, 13240.0)
    periodic(w.wait(3), 3, 13240.0)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-002"]
    assert "after its Ended" in findings[0].message


def test_tx002_ended_numbered_before_an_earlier_delivered_event() -> None:
    w = started(Wire())
    periodic(w.wait(20), 1, 12990.0)
    periodic(w.wait(20), 3, 13240.0)
    w.wait(5)
    tx(w, "Ended", 2, "EVDeparted", at=-10, stopped_reason="EVDisconnected", charging_state="Idle")

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-002", "TX-004"]
    assert "seqNo 3 is numbered after it" in findings[0].message


def test_tx002_started_numbered_after_another_event() -> None:
    w = plugged_in(Wire())
    tx(w.wait(0.4), "Updated", 1, "CablePluggedIn", evse=EVSE)
    tx(w.wait(2), "Started", 2, "Authorized", id_token=RFID, charging_state="EVConnected")
    periodic(w.wait(20), 3, 12990.0)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-002"]
    assert "seqNo 1 was numbered before it" in findings[0].message


def test_tx002_queued_events_delivered_out_of_order_are_fine() -> None:
    """The transaction started during an outage; the queue delivers seqNo 1 before seqNo 0."""
    w = plugged_in(Wire())
    w.wait(5).close(1006)
    w.wait(120).open()
    tx(
        w.wait(1),
        "Updated",
        1,
        "ChargingStateChanged",
        at=-60,
        offline=True,
        charging_state="Charging",
    )
    tx(w.wait(1), "Started", 0, "Authorized", at=-100, offline=True, evse=EVSE, id_token=RFID)
    periodic(w.wait(5), 2, 12990.0)

    assert rule_severities(run(w.events)) == [("TX-004", Severity.INFO)]


# ---- TX-003: seqNo numbering -------------------------------------------------------------


def _with_lost_seq_4(w: Wire) -> float:
    """Started 0, Updated 1-3 and 5, Ended 6 (seqNo 4 never arrives); returns the Ended time."""
    started(w)
    for seq, register in ((1, 12600.0), (2, 12700.0), (3, 12800.0), (5, 13000.0)):
        periodic(w.wait(15), seq, register)
    tx(
        w.wait(10),
        "Ended",
        6,
        "EVDeparted",
        charging_state="Idle",
        stopped_reason="EVDisconnected",
        samples=[energy(13050.0, context="Transaction.End")],
    )
    return w.now - 0.05  # the TransactionEvent was sent before its response


def test_tx003_gap_reported_once_after_grace() -> None:
    w = Wire()
    ended_at = _with_lost_seq_4(w)
    status(w.wait(1), "Available")
    w.wait(25).heartbeat()  # still inside the 30 s grace
    idle(w, 2)

    during, at_finish = feed_all(w.events)
    assert [f.rule_id for _, f in during] == ["TX-003"]
    delivered_at, finding = during[0]
    assert ended_at + 30 < delivered_at  # not before the grace period ran out
    assert finding.severity is Severity.WARNING
    assert finding.timestamp == pytest.approx(ended_at + 30)
    assert finding.message == (
        f"TransactionEvent seqNo jumped from 3 to 5 in transaction {TX}: 1 message lost (seqNo 4)"
    )
    assert (finding.message_id, finding.action) == (None, None)  # not the Heartbeat's that came
    assert at_finish == []


def test_tx003_gap_reported_at_finish_within_grace() -> None:
    w = Wire()
    _with_lost_seq_4(w)
    status(w.wait(1), "Available")  # the capture ends 1 s after Ended

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-003"]
    assert findings[0].message.endswith("1 message lost (seqNo 4)")


def test_tx003_gap_in_open_transaction_reported_at_finish() -> None:
    w = started(Wire())
    periodic(w.wait(15), 1, 12600.0)
    periodic(w.wait(15), 4, 12900.0)  # 2 and 3 lost
    periodic(w.wait(15), 5, 13000.0)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-003"]
    assert findings[0].severity is Severity.WARNING
    assert findings[0].message == (
        f"TransactionEvent seqNo jumped from 1 to 4 in transaction {TX}: "
        "2 messages lost (seqNo 2-3)"
    )


def _energy_transfer_started(w: Wire) -> Wire:
    started(w)
    return tx(
        w.wait(1),
        "Updated",
        1,
        "ChargingStateChanged",
        charging_state="Charging",
        samples=[energy(12500.0), power(11000)],
    )


def test_tx003_offline_backfill_within_grace_closes_gap_tc_e_31() -> None:
    """OCTT TC_E_31_CSMS: Ended arrives first skipping two seqNos, then both are back-filled."""
    w = _energy_transfer_started(Wire())
    w.wait(10).close(1000, closed_by="charger")
    reconnect = w.wait(120).now
    w.open()
    tx(
        w.wait(1),
        "Ended",
        4,
        "EVCommunicationLost",
        at=-(w.now - reconnect) - 10,
        offline=True,
        charging_state="Idle",
        stopped_reason="EVDisconnected",
        samples=[energy(12830.0, context="Transaction.End")],
    )
    w.wait(1).call("GetTransactionStatus", {"transactionId": TX}, sender="csms")
    w.result({"ongoingIndicator": False, "messagesInQueue": True}, sender="charger")
    tx(w.wait(1), "Updated", 2, "StopAuthorized", at=-70, offline=True, id_token=RFID)
    tx(
        w.wait(1),
        "Updated",
        3,
        "ChargingStateChanged",
        at=-50,
        offline=True,
        charging_state="EVConnected",
    )
    idle(w, 3)

    assert rule_severities(run(w.events)) == [("TX-004", Severity.INFO)]


def test_tx003_backfill_after_grace_comes_too_late() -> None:
    w = _energy_transfer_started(Wire())
    lost = w.wait(10).now
    w.close(1006)
    w.wait(60).open()
    w.wait(1)
    tx(w, "Ended", 4, "EVCommunicationLost", at=lost + 40 - w.now, offline=True)
    ended_at = w.now - 0.05
    w.wait(45).heartbeat()
    w.wait(1)
    tx(w, "Updated", 2, "StopAuthorized", at=lost + 20 - w.now, offline=True, id_token=RFID)
    w.wait(1)
    tx(w, "Updated", 3, "ChargingStateChanged", at=lost + 30 - w.now, offline=True)

    during, at_finish = feed_all(w.events)
    assert [f.rule_id for _, f in during] == ["TX-003", "TX-004"]
    assert during[0][1].timestamp == pytest.approx(ended_at + 30)
    assert during[0][1].message.endswith("2 messages lost (seqNo 2-3)")
    assert at_finish == []


def test_tx003_duplicate_seqno_with_other_content() -> None:
    w = started(Wire())
    periodic(w.wait(15), 1, 12600.0)
    periodic(w.wait(15), 1, 12710.0)  # the counter did not advance
    periodic(w.wait(15), 2, 12820.0)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-003"]
    assert findings[0].severity is Severity.ERROR
    assert "different content" in findings[0].message


def test_tx003_negative_seqno() -> None:
    w = started(Wire())
    periodic(w.wait(15), 1, 12600.0)
    periodic(w.wait(15), -1, 12710.0)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-003"]
    assert findings[0].severity is Severity.ERROR
    assert "negative" in findings[0].message


def test_tx003_started_not_numbered_from_zero_is_info() -> None:
    """A pre-Edition-2 station that keeps one counter across transactions."""
    w = plugged_in(Wire())
    tx(w.wait(0.4), "Started", 17, "Authorized", evse=EVSE, id_token=RFID)
    periodic(w.wait(15), 18, 12600.0)
    ended(w.wait(15), 19, 12700.0)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-003"]
    assert findings[0].severity is Severity.INFO


def test_tx003_contiguous_numbering_is_fine() -> None:
    w = started(Wire())
    for seq in range(1, 6):
        periodic(w.wait(15), seq, 12500.0 + 40 * seq)
    ended(w.wait(15), 6, 12750.0)
    idle(w, 2)

    assert run(w.events) == []


# ---- TX-006: stoppedReason belongs to Ended ------------------------------------------------


def test_tx006_stopped_reason_on_updated_is_info() -> None:
    w = started(Wire())
    tx(
        w.wait(15),
        "Updated",
        1,
        "StopAuthorized",
        id_token=RFID,
        charging_state="EVConnected",
        stopped_reason="Local",
    )
    ended(w.wait(15), 2, 12700.0)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-006"]
    assert findings[0].severity is Severity.INFO


def test_tx006_stopped_reason_on_ended_is_fine() -> None:
    w = started(Wire())
    tx(w.wait(15), "Updated", 1, "StopAuthorized", id_token=RFID, charging_state="EVConnected")
    tx(w.wait(5), "Ended", 2, "EVDeparted", stopped_reason="Local", charging_state="Idle")

    assert run(w.events) == []


# ---- TX-007: the offline flag --------------------------------------------------------------


def _outage_during_transaction(w: Wire) -> Wire:
    """Charging, then the link is lost for 90 s; the station comes back (no reboot)."""
    _energy_transfer_started(w)
    periodic(w.wait(15), 2, 12546.0)
    w.wait(10).close(1006)
    return w.wait(90).open()


def test_tx007_event_during_outage_without_offline_flag() -> None:
    w = _outage_during_transaction(Wire())
    periodic(w.wait(1), 3, 12750.0, at=-40)  # sampled 40 s before the reconnect

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-007"]
    assert findings[0].severity is Severity.WARNING


def test_tx007_event_during_outage_with_offline_flag_is_fine() -> None:
    w = _outage_during_transaction(Wire())
    periodic(w.wait(1), 3, 12750.0, at=-40, offline=True)
    periodic(w.wait(10), 4, 12900.0)

    assert run(w.events) == []


def test_tx007_offline_flag_on_event_while_connected_is_info() -> None:
    w = _energy_transfer_started(Wire())
    periodic(w.wait(15), 2, 12546.0, offline=True)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-007"]
    assert findings[0].severity is Severity.INFO


def test_tx007_offline_flag_on_event_before_the_link_dropped_is_info() -> None:
    """The station gave up on its link 20 s before the observer saw it drop and queued the event."""
    w = _energy_transfer_started(Wire())
    periodic(w.wait(15), 2, 12546.0)
    lost = w.wait(30).now
    w.close(1006)
    w.wait(90).open()
    w.wait(1)
    tx(
        w,
        "Updated",
        3,
        "ChargingStateChanged",
        at=lost - 20 - w.now,
        offline=True,
        charging_state="SuspendedEV",
    )

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-007"]
    assert findings[0].severity is Severity.INFO


def _short_outage(w: Wire, skew: float = 0.0) -> tuple[Wire, float]:
    """Charging with live events stamped by a clock `skew` s ahead; the link drops for 3 s.

    Returns the wire, just reconnected, and the moment of the loss.
    """
    plugged_in(w)
    tx(
        w.wait(0.4),
        "Started",
        0,
        "Authorized",
        at=skew,
        evse=EVSE,
        id_token=RFID,
        charging_state="EVConnected",
        samples=[energy(12500.0, context="Transaction.Begin")],
    )
    periodic(w.wait(15), 1, 12546.0, at=skew)
    periodic(w.wait(15), 2, 12592.0, at=skew)
    lost = w.wait(5).now
    w.close(1006)
    w.wait(3).open()
    return w, lost


@pytest.mark.parametrize("skew", [0.0, 3.0, -2.5], ids=["synchronised", "ahead", "behind"])
def test_tx007_three_second_outage_event_replayed_without_offline_flag(skew: float) -> None:
    """A meter sample taken 1.5 s into a 3 s outage, replayed after the reconnect without the flag.

    The live events before show how the station's clock stands against the observer's, so even
    an outage shorter than twice the clock tolerance is judged.
    """
    w, lost = _short_outage(Wire(), skew)
    periodic(w.wait(0.4), 3, 12600.0, at=lost + 1.5 + skew - w.now)
    periodic(w.wait(15), 4, 12646.0, at=skew)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-007"]
    assert findings[0].severity is Severity.WARNING
    assert "happened while the station was disconnected" in findings[0].message


@pytest.mark.parametrize("skew", [0.0, 3.0, -2.5], ids=["synchronised", "ahead", "behind"])
def test_tx007_three_second_outage_event_replayed_with_offline_flag_is_fine(skew: float) -> None:
    w, lost = _short_outage(Wire(), skew)
    periodic(w.wait(0.4), 3, 12600.0, at=lost + 1.5 + skew - w.now, offline=True)
    periodic(w.wait(15), 4, 12646.0, at=skew)

    assert run(w.events) == []


def test_tx007_event_just_before_a_short_outage_without_flag_is_fine() -> None:
    """Sampled 0.2 s before the loss, sent into the dead link and resent after the reconnect."""
    w, lost = _short_outage(Wire())
    periodic(w.wait(0.4), 3, 12600.0, at=lost - 0.2 - w.now)

    assert run(w.events) == []


def test_tx007_short_outage_not_judged_without_live_events() -> None:
    """Without a live TransactionEvent the station's clock is known only within the tolerance."""
    w = idle(plugged_in(Wire()), 1)
    lost = w.wait(5).now
    w.close(1006)
    w.wait(3).open()
    tx(
        w.wait(0.4),
        "Started",
        0,
        "Authorized",
        at=lost + 1.5 - w.now,
        evse=EVSE,
        id_token=RFID,
        charging_state="EVConnected",
        samples=[energy(12500.0, context="Transaction.Begin")],
    )

    assert run(w.events) == []


# ---- TX-009: retransmissions ---------------------------------------------------------------


def test_tx009_retransmission_after_callerror_is_info() -> None:
    w = _energy_transfer_started(Wire())
    payload = tx_event(w.wait(15), "Updated", 2, "MeterValuePeriodic", samples=[energy(12546.0)])
    w.call("TransactionEvent", payload).error("InternalError", description="database timeout")
    send(w.wait(10), payload)  # MessageAttemptInterval 10 s, new MessageId

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-010", "TX-009"]
    assert severities(findings) == [Severity.ERROR, Severity.INFO]


def test_tx009_retransmission_after_timeout_is_info() -> None:
    w = _energy_transfer_started(Wire())
    payload = tx_event(w.wait(15), "Updated", 2, "MeterValuePeriodic", samples=[energy(12546.0)])
    w.call("TransactionEvent", payload)
    send(w.wait(40), {**payload, "offline": True})  # MessageTimeout 30 s + interval 10 s

    findings = run(w.events)
    assert rule_ids(findings) == ["RPC-008", "TX-009"]
    assert findings[1].severity is Severity.INFO


def test_tx009_retransmission_after_acknowledgement_is_error() -> None:
    w = _energy_transfer_started(Wire())
    payload = tx_event(w.wait(15), "Updated", 2, "MeterValuePeriodic", samples=[energy(12546.0)])
    send(w, payload)
    send(w.wait(10), payload)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-009"]
    assert findings[0].severity is Severity.ERROR


def _message_attempts(w: Wire, attempts: int) -> Wire:
    variables = [
        ("MessageAttempts", str(attempts)),
        ("MessageAttemptInterval", "10"),
    ]
    data = [
        {
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": name, "instance": "TransactionEvent"},
            "attributeValue": value,
        }
        for name, value in variables
    ]
    w.wait(1).call("SetVariables", {"setVariableData": data}, sender="csms")
    results = [
        {
            "attributeStatus": "Accepted",
            "component": item["component"],
            "variable": item["variable"],
        }
        for item in data
    ]
    return w.result({"setVariableResult": results}, sender="charger")


def _refused_attempts(w: Wire, attempts: int) -> Wire:
    """The CSMS refuses seqNo 2 `attempts` times, then acknowledges the next attempt."""
    payload = tx_event(w.wait(15), "Updated", 2, "MeterValuePeriodic", samples=[energy(12546.0)])
    for attempt in range(attempts):
        w.wait(10 * attempt).call("TransactionEvent", payload)
        w.error("InternalError")
    return send(w.wait(10 * attempts), payload)


def test_tx009_more_attempts_than_message_attempts() -> None:
    w = _message_attempts(_energy_transfer_started(Wire()), 2)
    _refused_attempts(w, 2)  # three transmissions in all

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-010", "TX-009", "TX-010", "TX-009"]
    assert severities(findings) == [
        Severity.ERROR,
        Severity.INFO,
        Severity.ERROR,
        Severity.WARNING,
    ]
    assert "MessageAttempts for TransactionEvent is 2" in findings[3].message


def test_tx009_attempts_within_message_attempts() -> None:
    w = _message_attempts(_energy_transfer_started(Wire()), 3)
    _refused_attempts(w, 2)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-010", "TX-009", "TX-010", "TX-009"]
    assert severities(findings) == [Severity.ERROR, Severity.INFO] * 2


# ---- TX-010: the CSMS answers every TransactionEvent -----------------------------------------


def test_tx010_valid_event_answered_with_callerror() -> None:
    w = _energy_transfer_started(Wire())
    payload = tx_event(w.wait(15), "Updated", 2, "MeterValuePeriodic", samples=[energy(12546.0)])
    w.call("TransactionEvent", payload).error("GenericError", description="Unknown transaction")

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-010"]
    assert findings[0].severity is Severity.ERROR


def test_tx010_schema_invalid_event_answered_with_callerror_is_fine() -> None:
    w = _energy_transfer_started(Wire())
    sample = {**energy(12546.0), "value": "12546.0"}  # a number sent as a string
    payload = tx_event(w.wait(15), "Updated", 2, "MeterValuePeriodic", samples=[sample])
    w.call("TransactionEvent", payload).error("TypeConstraintViolation", description="value")

    findings = run(w.events)
    assert rule_ids(findings) == ["SCH-001"]


def test_tx010_response_without_id_token_info() -> None:
    w = plugged_in(Wire())
    payload = tx_event(
        w.wait(0.4),
        "Started",
        0,
        "Authorized",
        evse=EVSE,
        id_token=RFID,
        charging_state="EVConnected",
    )
    w.call("TransactionEvent", payload).result({})

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-010"]
    assert findings[0].severity is Severity.WARNING


def test_tx010_response_with_id_token_info_is_fine() -> None:
    w = plugged_in(Wire())
    payload = tx_event(
        w.wait(0.4),
        "Started",
        0,
        "Authorized",
        evse=EVSE,
        id_token=RFID,
        charging_state="EVConnected",
    )
    w.call("TransactionEvent", payload).result(
        {
            "idTokenInfo": {
                "status": "Accepted",
                "groupIdToken": {"idToken": "FLEET-7", "type": "Central"},
            }
        }
    )
    periodic(w.wait(15), 1, 12600.0)  # no idToken: an empty response is right

    assert run(w.events) == []


# ---- TX-013: the energy register never falls -------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (energy(13200.0), energy(13050.0)),
        (energy(12.6, unit="kWh"), energy(12500.0)),
    ],
    ids=["Wh", "kWh-then-Wh"],
)
def test_tx013_register_falls(first: dict[str, Any], second: dict[str, Any]) -> None:
    w = started(Wire(), register=12400.0)
    tx(w.wait(15), "Updated", 1, "MeterValuePeriodic", samples=[first, power(11000)])
    tx(w.wait(15), "Updated", 2, "MeterValuePeriodic", samples=[second, power(11000)])

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-013"]
    assert findings[0].severity is Severity.WARNING


def test_tx013_falls_between_out_of_order_neighbours() -> None:
    """Judged in seqNo order: back-filled seqNo 3 reads above seqNo 4, which came first."""
    w = _outage_during_transaction(Wire())
    periodic(w.wait(1), 4, 13100.0, at=-20, offline=True)
    periodic(w.wait(1), 3, 13300.0, at=-50, offline=True)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-004", "TX-013"]


def test_tx013_wh_then_kwh_is_fine() -> None:
    w = started(Wire(), register=12400.0)
    tx(w.wait(15), "Updated", 1, "MeterValuePeriodic", samples=[energy(12500.0), power(11000)])
    tx(
        w.wait(15),
        "Updated",
        2,
        "MeterValuePeriodic",
        samples=[energy(12.6, unit="kWh"), power(7400)],
    )
    tx(w.wait(15), "Updated", 3, "MeterValuePeriodic", samples=[energy(12650.0), power(3700)])

    assert run(w.events) == []


def test_tx013_phase_and_power_samples_are_ignored() -> None:
    w = started(Wire(), register=12400.0)
    first = [energy(12500.0)] + [energy(4170.0, phase=p) for p in ("L1", "L2", "L3")]
    tx(w.wait(15), "Updated", 1, "MeterValuePeriodic", samples=[*first, power(22000)])
    per_phase = [energy(4200.0, phase=p) for p in ("L1", "L2", "L3")]  # no total this time
    tx(w.wait(15), "Updated", 2, "MeterValuePeriodic", samples=[*per_phase, power(0)])
    tx(w.wait(15), "Updated", 3, "MeterValuePeriodic", samples=[energy(12600.0), power(0)])

    assert run(w.events) == []


# ---- TX-014: event timestamps ------------------------------------------------------------


def test_tx014_timestamp_goes_backwards_in_seqno_order() -> None:
    w = started(Wire())
    periodic(w.wait(15), 1, 12600.0)
    periodic(w.wait(15), 2, 12700.0, at=-20)  # a clock step back after an NTP sync

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-014"]
    assert findings[0].severity is Severity.WARNING
    assert "earlier than that of seqNo 1" in findings[0].message


def test_tx014_timestamp_in_the_future() -> None:
    w = started(Wire())
    periodic(w.wait(15), 1, 12600.0, at=60)

    findings = run(w.events)
    assert rule_ids(findings) == ["TX-014"]
    assert "ahead of the observer's clock" in findings[0].message


def test_tx014_small_clock_skew_and_queued_order_are_fine() -> None:
    w = started(Wire())
    periodic(w.wait(15), 1, 12600.0, at=3)  # within the 4 s tolerance
    periodic(w.wait(15), 2, 12700.0, at=-2)

    assert run(w.events) == []


# ---- TX-004: delivery out of seqNo order is noted ------------------------------------------------


def test_tx004_back_filled_event_is_noted_once() -> None:
    w = _outage_during_transaction(Wire())
    periodic(w.wait(1), 5, 12800.0, at=-20, offline=True)
    periodic(w.wait(1), 4, 12700.0, at=-50, offline=True)
    periodic(w.wait(1), 3, 12600.0, at=-80, offline=True)

    findings = run(w.events)
    assert rule_severities(findings) == [("TX-004", Severity.INFO)]
    assert "seqNo 4" in findings[0].message and "(offline)" in findings[0].message


# ---- TX-008: what an event names ----------------------------------------------------------------


def test_tx008_cable_plugged_in_without_connector() -> None:
    w = plugged_in(Wire())
    tx(w.wait(1), "Started", 0, "CablePluggedIn", evse={"id": 1}, charging_state="EVConnected")

    findings = run(w.events)
    assert rule_severities(findings) == [("TX-008", Severity.WARNING)]
    assert "evse.connectorId" in findings[0].message


def test_tx008_authorized_without_id_token() -> None:
    w = plugged_in(Wire())
    tx(w.wait(1), "Started", 0, "Authorized", evse=EVSE, charging_state="EVConnected")

    assert rule_ids(run(w.events)) == ["TX-008"]


def test_tx008_cable_plugged_in_with_evse_and_authorized_with_token() -> None:
    w = plugged_in(Wire())
    tx(w.wait(1), "Started", 0, "CablePluggedIn", evse=EVSE, charging_state="EVConnected")
    tx(w.wait(4), "Updated", 1, "Authorized", id_token=RFID, charging_state="Charging")

    assert run(w.events) == []


# ---- TX-011, TX-012: TxStartPoint, TxStopPoint ---------------------------------------------------


def tx_ctrlr(w: Wire, **values: str) -> Wire:
    """GetVariables(TxCtrlr.<name>) answered with each value."""
    queries = [{"component": {"name": "TxCtrlr"}, "variable": {"name": name}} for name in values]
    w.call("GetVariables", {"getVariableData": queries}, sender="csms")
    answers = [
        {"attributeStatus": "Accepted", "attributeValue": value, **query}
        for query, value in zip(queries, values.values(), strict=True)
    ]
    return w.result({"getVariableResult": answers}, sender="charger", after=0.2)


def _refused_token(w: Wire, stop_point: str) -> Wire:
    """The card is accepted locally (cache) and the transaction starts; the CSMS says Blocked."""
    tx_ctrlr(plugged_in(w), TxStopPoint=stop_point)
    payload = tx_event(
        w, "Started", 0, "Authorized", evse=EVSE, id_token=RFID, charging_state="Charging"
    )
    w.wait(1).call("TransactionEvent", payload)
    return w.result({"idTokenInfo": {"status": "Blocked"}})


def test_tx011_refused_token_does_not_end_the_transaction() -> None:
    w = Wire()
    _refused_token(w, "Authorized,EVConnected")
    idle(w, 2)

    findings = run(w.events)
    assert rule_severities(findings) == [("TX-011", Severity.WARNING)]
    assert "Blocked" in findings[0].message


def test_tx011_refused_token_ends_the_transaction() -> None:
    w = Wire()
    _refused_token(w, "Authorized")
    tx(w.wait(2), "Updated", 1, "Deauthorized", charging_state="EVConnected")
    tx(
        w.wait(1),
        "Ended",
        2,
        "Deauthorized",
        stopped_reason="DeAuthorized",
        charging_state="EVConnected",
    )
    idle(w, 2)

    assert run(w.events) == []


def test_tx011_not_judged_when_the_stop_point_is_the_cable() -> None:
    w = Wire()
    _refused_token(w, "EVConnected")
    idle(w, 2)

    assert run(w.events) == []


def test_tx012_started_by_a_condition_that_is_no_start_point() -> None:
    w = Wire()
    tx_ctrlr(plugged_in(w), TxStartPoint="Authorized")
    tx(w.wait(1), "Started", 0, "CablePluggedIn", evse=EVSE, charging_state="EVConnected")

    findings = run(w.events)
    assert rule_severities(findings) == [("TX-012", Severity.INFO)]
    assert "TxStartPoint Authorized" in findings[0].message


def test_tx012_started_by_one_of_the_start_points() -> None:
    w = Wire()
    tx_ctrlr(plugged_in(w), TxStartPoint="EVConnected,Authorized")
    tx(w.wait(1), "Started", 0, "CablePluggedIn", evse=EVSE, charging_state="EVConnected")

    assert run(w.events) == []


def test_tx012_ended_while_still_charging() -> None:
    w = started(Wire())
    tx(
        w.wait(20),
        "Ended",
        1,
        "StopAuthorized",
        id_token=RFID,
        stopped_reason="Local",
        charging_state="Charging",
    )

    findings = run(w.events)
    assert rule_severities(findings) == [("TX-012", Severity.WARNING)]
    assert "final meter values" in findings[0].message


# ---- TX-015: GetTransactionStatus ----------------------------------------------------------------


def transaction_status(w: Wire, answer: dict[str, bool], transaction_id: str | None = TX) -> Wire:
    request = {} if transaction_id is None else {"transactionId": transaction_id}
    w.call("GetTransactionStatus", request, sender="csms")
    return w.result(answer, sender="charger", after=0.2)


def test_tx015_ended_transaction_said_to_be_ongoing() -> None:
    w = started(Wire())
    ended(w.wait(20), 1, 13240.0)
    transaction_status(w.wait(5), {"ongoingIndicator": True, "messagesInQueue": False})

    findings = run(w.events)
    assert rule_severities(findings) == [("TX-015", Severity.ERROR)]
    assert "E14.FR.03" in findings[0].message


def test_tx015_ongoing_indicator_without_transaction_id() -> None:
    w = started(Wire())
    transaction_status(w.wait(5), {"ongoingIndicator": True, "messagesInQueue": False}, None)

    assert rule_severities(run(w.events)) == [("TX-015", Severity.ERROR)]


def test_tx015_no_ongoing_indicator_for_a_named_transaction() -> None:
    w = started(Wire())
    transaction_status(w.wait(5), {"messagesInQueue": False})

    assert rule_severities(run(w.events)) == [("TX-015", Severity.ERROR)]


def test_tx015_said_over_with_nothing_queued_but_no_ended_follows() -> None:
    w = started(Wire())
    transaction_status(w.wait(5), {"ongoingIndicator": False, "messagesInQueue": False})
    idle(w, 2)

    findings = run(w.events)
    assert rule_severities(findings) == [("TX-015", Severity.WARNING)]


@pytest.mark.parametrize(
    ("transaction_id", "answer"),
    [
        (TX, {"ongoingIndicator": True, "messagesInQueue": False}),  # TC_E_30_CS
        (NEXT_TX, {"ongoingIndicator": False, "messagesInQueue": False}),  # TC_E_28_CS
        (None, {"messagesInQueue": False}),  # TC_E_34_CS
    ],
)
def test_tx015_compliant_answers(transaction_id: str | None, answer: dict[str, bool]) -> None:
    w = started(Wire())
    transaction_status(w.wait(5), answer, transaction_id)
    periodic(w.wait(10), 1, 12990.0)

    assert run(w.events) == []


def test_tx015_ended_transaction_said_over() -> None:
    """TC_E_32_CS: ended, nothing queued."""
    w = started(Wire())
    ended(w.wait(20), 1, 13240.0)
    transaction_status(w.wait(5), {"ongoingIndicator": False, "messagesInQueue": False})

    assert run(w.events) == []
