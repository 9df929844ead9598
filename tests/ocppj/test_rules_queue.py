"""QUEUE rules: a transaction left open by an outage is ended from the queue (QUEUE-001), and
queued TransactionEvents wait until the station is Accepted (QUEUE-003)."""

from __future__ import annotations

from proxy.ocppj.findings import Severity
from tests.ocppj.test_rules_transactions import (
    ACCEPTED,
    EVSE,
    NEXT_TX,
    RFID,
    TX,
    energy,
    periodic,
    send,
    started,
    status,
    tx,
    tx_event,
)
from tests.ocppj.wire import Wire, rule_ids, run

GRACE = 30.0
"""Config().transaction_grace: how long the queued Ended may take to arrive."""


def charging_then_outage(wire: Wire, offline_for: float = 20.0) -> tuple[Wire, float]:
    """Charging on EVSE 1; the link is lost (1006) and back `offline_for` s later, without a
    reboot. Returns the wire and the time of the loss."""
    started(wire)
    periodic(wire.wait(15), 1, 12600.0)
    lost = wire.wait(5).now
    wire.close(1006).wait(offline_for).open()
    return wire.wait(0.5).heartbeat(), lost


def queued_ended(wire: Wire, lost: float) -> dict:
    """The Ended of TX that happened 8 s into the outage, as the queue delivers it."""
    return tx_event(
        wire,
        "Ended",
        2,
        "EVCommunicationLost",
        at=lost + 8 - wire.now,
        offline=True,
        charging_state="Idle",
        stopped_reason="EVDisconnected",
        samples=[energy(12650.0, context="Transaction.End")],
    )


def next_session_starts(wire: Wire) -> Wire:
    """The next driver plugs in on EVSE 1 and is authorized: NEXT_TX starts live."""
    status(wire.wait(3), "Occupied")
    wire.wait(4).call("Authorize", {"idToken": RFID}).result(ACCEPTED)
    return tx(
        wire.wait(0.4),
        "Started",
        0,
        "Authorized",
        transaction_id=NEXT_TX,
        evse=EVSE,
        id_token=RFID,
        charging_state="EVConnected",
        samples=[energy(12650.0, context="Transaction.Begin")],
    )


# ---- QUEUE-001: the transaction an outage left open is ended ----------------------------------


def test_queue001_open_transaction_never_ended_after_the_reconnect():
    wire, _ = charging_then_outage(Wire())
    next_session_starts(wire)
    periodic(wire.wait(GRACE + 5), 1, 12900.0, transaction_id=NEXT_TX)
    findings = run(wire.events)
    assert rule_ids(findings) == ["QUEUE-001"]
    assert findings[0].severity is Severity.WARNING
    assert findings[0].message.startswith(
        f"transaction {TX} on EVSE 1 was open when the connection was lost at "
    )
    assert findings[0].details == {"transaction_id": TX, "started": NEXT_TX}


def test_queue001_queued_ended_delivered_before_the_next_start():
    wire, lost = charging_then_outage(Wire())
    send(wire.wait(0.3), queued_ended(wire, lost))
    next_session_starts(wire)
    periodic(wire.wait(GRACE + 5), 1, 12900.0, transaction_id=NEXT_TX)
    assert run(wire.events) == []


def test_queue001_queued_ended_may_come_after_the_next_start():
    """Queued events and new ones may arrive in any order (Part 6 §2.1): within the grace."""
    wire, lost = charging_then_outage(Wire())
    next_session_starts(wire)
    send(wire.wait(2), queued_ended(wire, lost))
    periodic(wire.wait(GRACE + 5), 1, 12900.0, transaction_id=NEXT_TX)
    assert run(wire.events) == []


# ---- QUEUE-003: queued TransactionEvents wait for Accepted ------------------------------------


def power_cut_then_pending(wire: Wire) -> tuple[Wire, float]:
    """Charging; a power cut; the station boots again and the CSMS answers Pending (30 s)."""
    started(wire)
    periodic(wire.wait(15), 1, 12600.0)
    lost = wire.wait(5).now
    wire.close(1006).wait(20).boot(status="Pending", interval=30, reason="PowerUp")
    return wire, lost


def test_queue003_queue_flushed_while_pending():
    wire, lost = power_cut_then_pending(Wire())
    sample = tx_event(
        wire,
        "Updated",
        2,
        "MeterValuePeriodic",
        at=lost + 4 - wire.now,
        offline=True,
        samples=[energy(12630.0)],
    )
    wire.wait(0.3).call("TransactionEvent", sample)
    wire.error("SecurityError", after=0.05)
    ended = {**queued_ended(wire, lost), "seqNo": 3}
    wire.wait(0.3).call("TransactionEvent", ended)  # one finding per connection
    wire.error("SecurityError", after=0.05)
    findings = run(wire.events)
    assert rule_ids(findings) == ["QUEUE-003"]
    assert findings[0].severity is Severity.ERROR
    assert findings[0].details == {"registration": "Pending"}


def test_queue003_queue_delivered_once_accepted():
    wire, lost = power_cut_then_pending(Wire())
    wire.wait(30).boot_again(reason="PowerUp")
    status(wire.wait(0.3), "Available")
    send(wire.wait(0.3), queued_ended(wire, lost))
    assert run(wire.events) == []
