"""The checks of scenario 1 (connection and BootNotification) and scenario 2 (a 30 s charging
session: meter values every interval, the duration, cost = energy x price). Pure.
"""

from __future__ import annotations

from itertools import pairwise

from scenarios.check_common import (
    answer_to,
    calls_answered,
    ended_sessions,
    energy_is_power_times_time,
    no_serious_findings,
    of_type,
    seconds_between,
    seq_numbers_contiguous,
)
from scenarios.guide import (
    COST_TOLERANCE_KRW,
    HEARTBEAT_INTERVAL,
    METER_INTERVAL,
    PRICE_KRW_PER_KWH,
    SESSION_SECONDS,
    TIMING_TOLERANCE,
)
from scenarios.model import Check, Evidence, RunWindow, Transaction


def scenario_1(evidence: Evidence, window: RunWindow) -> list[Check]:
    charger = window.charger_ids[0]
    connected = [c for c in evidence.csms_connections if c.status == "connected"]
    boots = of_type(evidence.messages, "BootNotification", "CALLRESULT")
    boot = boots[0] if boots else None
    payload = boot.payload if boot is not None and isinstance(boot.payload, dict) else {}
    heartbeats = [
        m
        for m in of_type(evidence.messages, "Heartbeat", "CALL")
        if answer_to(evidence.messages, m) is not None
    ]
    if boot is None or not heartbeats:
        gap, heartbeat_seen = None, "no Heartbeat answered" if boot else "no boot"
    else:
        gap = window.simulated(heartbeats[0].logged_at - boot.logged_at)
        heartbeat_seen = f"{len(heartbeats)} answered, the first {gap:.1f} s after the boot"
    return [
        Check(
            "connected",
            f"{charger} | connected (Q1)",
            f"{charger} | connected at {connected[0].logged_at:%H:%M:%S}" if connected else "none",
            bool(connected),
        ),
        Check(
            "BootNotification",
            f"Accepted, interval {HEARTBEAT_INTERVAL}",
            f"{payload.get('status')}, interval {payload.get('interval')}" if boot else "no answer",
            payload.get("status") == "Accepted" and payload.get("interval") == HEARTBEAT_INTERVAL,
        ),
        Check(
            "heartbeats begin",
            f"answered, the first {HEARTBEAT_INTERVAL} s after the boot ±{TIMING_TOLERANCE:.0%}",
            heartbeat_seen,
            gap is not None
            and abs(gap - HEARTBEAT_INTERVAL) <= TIMING_TOLERANCE * HEARTBEAT_INTERVAL,
        ),
        no_serious_findings(evidence),
    ]


def scenario_2(evidence: Evidence, window: RunWindow) -> list[Check]:
    sessions = ended_sessions(evidence)
    session = sessions[0] if len(sessions) == 1 else None
    return [
        Check(
            "one session",
            "1 transaction, ended",
            ", ".join(
                f"{t.transaction_id} ({'ended' if t.end_time else 'running'})"
                for t in evidence.transactions
            )
            or "none",
            session is not None and len(evidence.transactions) == 1,
        ),
        meter_every_interval(session),
        duration_is(session, SESSION_SECONDS),
        energy_is_power_times_time(evidence, sessions[:1]),
        cost_is_energy_times_price(session),
        seq_numbers_contiguous(evidence),
        calls_answered(evidence),
        no_serious_findings(evidence),
    ]


def meter_every_interval(session: Transaction | None) -> Check:
    """Started, then an Updated every 5 s (simulated), then Ended."""
    events = sorted(session.events, key=lambda e: e.seq_no) if session else []
    types = [e.event_type for e in events]
    gaps = [seconds_between(b.timestamp, a.timestamp) for a, b in pairwise(events)]
    updated = types.count("Updated")
    shape_ok = bool(types) and types == ["Started", *["Updated"] * updated, "Ended"]
    timing_ok = bool(gaps) and all(abs(g - METER_INTERVAL) <= 0.5 for g in gaps)
    return Check(
        "Started → Updated every 5 s → Ended",
        f"Started, Updated x{SESSION_SECONDS // METER_INTERVAL - 1}, Ended, {METER_INTERVAL} s apart",
        f"Started, Updated x{updated}, Ended; gaps {', '.join(f'{g:g}' for g in gaps)} s"
        if shape_ok
        else f"events {types}",
        shape_ok and timing_ok and updated == SESSION_SECONDS // METER_INTERVAL - 1,
    )


def duration_is(session: Transaction | None, seconds: int) -> Check:
    observed = session.duration_seconds if session else None
    return Check(
        "duration",
        f"{seconds} s ±1 s",
        f"{observed} s" if observed is not None else "no session",
        observed is not None and abs(observed - seconds) <= 1,
    )


def cost_is_energy_times_price(session: Transaction | None) -> Check:
    if session is None:
        return Check("cost", f"energy x {PRICE_KRW_PER_KWH} KRW", "no session", False)
    expected = session.energy_kwh * PRICE_KRW_PER_KWH
    return Check(
        "cost = energy x 150 KRW",
        f"{expected:.2f} KRW ±{COST_TOLERANCE_KRW:g} (Q3)",
        f"{session.cost:.2f} KRW",
        abs(session.cost - expected) <= COST_TOLERANCE_KRW,
    )
