"""The building blocks of the scenarios' checks that more than one scenario uses (no serious
findings, every CALL answered, contiguous seqNos, energy = power x time) and the helpers that read
the evidence. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

from scenarios.guide import ENERGY_TOLERANCE, SERIOUS
from scenarios.model import Check, Evidence, Message, Transaction


def seconds_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def listed(items: Sequence[str], limit: int = 4) -> str:
    shown = "; ".join(items[:limit])
    return shown + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def no_serious_findings(evidence: Evidence) -> Check:
    """The proxy's conformance engine found no errors on the window's chargers (warnings and
    infos are the report's business: under --speed the stations' clocks run ahead, TX-014)."""
    serious = [f for f in evidence.findings if f.severity in SERIOUS]
    observed = listed([f"{f.rule_id} {f.charger_id}: {f.message}" for f in serious])
    return Check("no conformance errors", "0 error findings", observed or "0", not serious)


def calls_answered(evidence: Evidence) -> Check:
    """Every CALL either way got its CALLRESULT or CALLERROR, and the proxy dropped nothing."""
    answered = {
        (m.charger_id, m.message_id)
        for m in evidence.messages
        if m.message_type in ("CALLRESULT", "CALLERROR")
    }
    lost = [
        f"{m.action} CALL {m.message_id} of {m.charger_id} ({m.direction}) unanswered"
        for m in evidence.messages
        if m.message_type == "CALL" and (m.charger_id, m.message_id) not in answered
    ]
    lost += [
        f"{m.action} {m.message_type} of {m.charger_id} {m.status} in transit"
        for m in evidence.messages
        if m.status == "dropped"
    ]
    return Check(
        "zero lost messages",
        "every CALL answered, no frame dropped",
        listed(lost)
        or f"{sum(m.message_type == 'CALL' for m in evidence.messages)} CALLs answered",
        not lost,
    )


def seq_numbers_contiguous(evidence: Evidence) -> Check:
    """Each transaction's seqNos are 0..n-1 with Started first and Ended last (TX-003 judged on
    what the CSMS stored), and the proxy raised no TX-003 in the window (it reports a gap only
    `transaction_grace`, 30 real seconds, after the Ended: the stored events are what a run of
    seconds can judge)."""
    problems = []
    for transaction in evidence.transactions:
        numbers = sorted(e.seq_no for e in transaction.events)
        missing = sorted(set(range(numbers[-1] + 1)) - set(numbers)) if numbers else []
        if missing:
            problems.append(f"{transaction.transaction_id}: seqNo {missing} missing (TX-003)")
        types = [e.event_type for e in sorted(transaction.events, key=lambda e: e.seq_no)]
        if not types or types[0] != "Started" or types[-1] != "Ended":
            problems.append(f"{transaction.transaction_id}: events {types}")
    problems += [
        f"TX-003 {f.charger_id}: {f.message}" for f in evidence.findings if f.rule_id == "TX-003"
    ]
    return Check(
        "seqNo without gaps",
        "0..n-1 per transaction, Started to Ended, no TX-003",
        listed(problems) or f"{len(evidence.transactions)} transactions complete",
        bool(evidence.transactions) and not problems,
    )


def energy_is_power_times_time(evidence: Evidence, transactions: Iterable[Transaction]) -> Check:
    """energy = rated power x duration (simulated) for each ended transaction that ran
    unlimited; the duration from its start and end times (duration_seconds is rounded to whole
    seconds, up to 1.6 % of a 30 s session)."""
    rows, wrong = [], []
    for t in transactions:
        rating = evidence.ratings.get(t.charger_id, math.nan)
        seconds = seconds_between(t.end_time, t.start_time) if t.end_time else math.nan
        expected = rating * seconds / 3600
        rows.append(f"{t.charger_id} {t.energy_kwh:.4f} kWh")
        if not math.isclose(t.energy_kwh, expected, rel_tol=ENERGY_TOLERANCE):
            wrong.append(
                f"{t.charger_id}: {t.energy_kwh:.4f} kWh, {rating:g} kW x "
                f"{seconds:g} s = {expected:.4f} kWh"
            )
    return Check(
        "energy = power x time",
        f"rated kW x duration / 3600, ±{ENERGY_TOLERANCE:.0%}",
        listed(wrong) or listed(rows, 5) or "no transaction",
        bool(rows) and not wrong,
    )


def ended_sessions(evidence: Evidence) -> list[Transaction]:
    return [t for t in evidence.transactions if t.end_time is not None]


def of_type(messages: Iterable[Message], action: str, message_type: str) -> list[Message]:
    return [m for m in messages if m.action == action and m.message_type == message_type]


def answer_to(messages: Sequence[Message], call: Message) -> Message | None:
    return next(
        (
            m
            for m in messages
            if m.message_id == call.message_id
            and m.charger_id == call.charger_id
            and m.message_type in ("CALLRESULT", "CALLERROR")
        ),
        None,
    )


def status_of(message: Message | None) -> str:
    if message is None:
        return "no answer"
    if message.message_type == "CALLERROR":
        return "CALLERROR"
    return str((message.payload or {}).get("status"))
