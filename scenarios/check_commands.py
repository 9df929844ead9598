"""The checks of scenario 3: the CSMS's commands through its REST API (remote start and stop,
the power limit) reach the station and are obeyed. Pure.
"""

from __future__ import annotations

from scenarios.check_common import (
    answer_to,
    no_serious_findings,
    of_type,
    status_of,
)
from scenarios.guide import (
    LIMIT_KW,
)
from scenarios.model import Check, Evidence, RunWindow, Transaction

Q4_EXPECTED = [
    ("RequestStartTransaction", "CALL", "sent"),
    ("RequestStartTransaction", "CALLRESULT", "sent"),
    ("RequestStopTransaction", "CALL", "sent"),
    ("RequestStopTransaction", "CALLRESULT", "sent"),
]


def scenario_3(evidence: Evidence, window: RunWindow) -> list[Check]:
    messages = evidence.messages
    q4 = [
        (m.action, m.message_type, m.status)
        for m in messages
        if m.action in ("RequestStartTransaction", "RequestStopTransaction")
    ]
    starts = of_type(messages, "RequestStartTransaction", "CALL")
    stops = of_type(messages, "RequestStopTransaction", "CALL")
    sessions = evidence.transactions
    session = sessions[0] if len(sessions) == 1 else None
    token = (starts[0].payload or {}).get("idToken", {}).get("idToken") if starts else None
    return [
        Check(
            "commands logged (Q4)",
            ", ".join(f"{a} {t} {s}" for a, t, s in Q4_EXPECTED),
            ", ".join(f"{a} {t} {s}" for a, t, s in q4) or "none",
            q4 == Q4_EXPECTED,
        ),
        Check(
            "remote start",
            "Accepted; a transaction with the idToken and a remoteStartId",
            f"{status_of(answer_to(messages, starts[0]) if starts else None)}; "
            + (
                f"{session.transaction_id} idToken {session.id_token} remoteStartId "
                f"{session.remote_start_id}"
                if session
                else f"{len(sessions)} transactions"
            ),
            bool(starts)
            and status_of(answer_to(messages, starts[0])) == "Accepted"
            and session is not None
            and session.id_token == token
            and session.remote_start_id is not None,
        ),
        status_while_charging(evidence, session),
        power_limited(evidence, session),
        Check(
            "remote stop",
            "Accepted; the transaction ended with stoppedReason Remote",
            f"{status_of(answer_to(messages, stops[0]) if stops else None)}; "
            + (f"stoppedReason {session.stopped_reason}" if session else "no transaction"),
            bool(stops)
            and status_of(answer_to(messages, stops[0])) == "Accepted"
            and session is not None
            and session.end_time is not None
            and session.stopped_reason == "Remote",
        ),
        no_serious_findings(evidence),
    ]


def status_while_charging(evidence: Evidence, session: Transaction | None) -> Check:
    charging = [p for p in evidence.power if p.status == "Occupied" and p.power_kw > 0]
    return Check(
        "status while charging",
        "Occupied with power > 0",
        f"{charging[0].status}, {charging[0].power_kw:g} kW" if charging else "never charging",
        session is not None and bool(charging),
    )


def power_limited(evidence: Evidence, session: Transaction | None) -> Check:
    """SetChargingProfile to 50 kW accepted, and the power drawn came down to it: the last
    reading while charging (the runner stops two meter intervals after the limit) is within it,
    an earlier one above it."""
    calls = of_type(evidence.messages, "SetChargingProfile", "CALL")
    limit = _limit_kw(calls[0].payload) if calls else None
    answer = status_of(answer_to(evidence.messages, calls[0])) if calls else "no SetChargingProfile"
    charging = [p.power_kw for p in sorted(evidence.power, key=lambda p: p.logged_at)]
    charging = [kw for kw in charging if kw > 0]
    return Check(
        "power limit 50 kW",
        f"SetChargingProfile {LIMIT_KW:g} kW Accepted; power down to ≤ {LIMIT_KW:g} kW",
        f"{limit:g} kW {answer}; power " + " → ".join(f"{kw:g}" for kw in dict.fromkeys(charging))
        if limit is not None
        else answer,
        limit == LIMIT_KW
        and answer == "Accepted"
        and session is not None
        and bool(charging)
        and charging[-1] <= LIMIT_KW < max(charging),
    )


def _limit_kw(payload: object) -> float | None:
    """The first period's limit of a SetChargingProfile in kW (the CSMS sends W)."""
    try:
        schedule = payload["chargingProfile"]["chargingSchedule"][0]  # type: ignore[index]
        limit = float(schedule["chargingSchedulePeriod"][0]["limit"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return limit / 1000 if schedule.get("chargingRateUnit") == "W" else limit
