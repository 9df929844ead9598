"""The checks of scenario 4: five chargers at once (power together, the CSMS's response time).
Pure.
"""

from __future__ import annotations

import math

from scenarios.check_common import (
    calls_answered,
    ended_sessions,
    energy_is_power_times_time,
    no_serious_findings,
    seq_numbers_contiguous,
)
from scenarios.guide import (
    ENERGY_TOLERANCE,
    RTT_LIMIT_MS,
    RTT_PERCENTILE,
)
from scenarios.model import Check, Evidence, RunWindow


def scenario_4(evidence: Evidence, window: RunWindow) -> list[Check]:
    sessions = ended_sessions(evidence)
    per_charger = {t.charger_id for t in sessions}
    ids = [t.transaction_id for t in evidence.transactions]
    return [
        Check(
            "one session per charger",
            f"{len(window.charger_ids)} transactions, distinct ids, all ended",
            f"{len(sessions)} ended on {len(per_charger)} chargers, {len(set(ids))} distinct ids",
            per_charger == set(window.charger_ids)
            and len(sessions) == len(ids) == len(set(ids)) == len(window.charger_ids),
        ),
        power_together(evidence, window),
        energy_is_power_times_time(evidence, sessions),
        seq_numbers_contiguous(evidence),
        calls_answered(evidence),
        response_time(evidence),
        no_serious_findings(evidence),
    ]


def peak_power_kw(evidence: Evidence) -> float:
    """The most power the chargers drew at one moment, from each one's latest reading."""
    current: dict[str, float] = {}
    peak = 0.0
    for reading in sorted(evidence.power, key=lambda p: p.logged_at):
        current[reading.charger_id] = reading.power_kw
        peak = max(peak, sum(current.values()))
    return peak


def power_together(evidence: Evidence, window: RunWindow) -> Check:
    """All chargers at their rating at once: the guide says 350 kW, but its own fleet is
    3 x 100 + 2 x 50 = 400 kW; the ratings in charger_info are what is expected."""
    expected = sum(evidence.ratings.get(c, math.nan) for c in window.charger_ids)
    peak = peak_power_kw(evidence)
    return Check(
        "power together",
        f"{expected:g} kW (sum of the ratings)",
        f"{peak:g} kW at the peak",
        math.isclose(peak, expected, rel_tol=ENERGY_TOLERANCE),
    )


def response_time(evidence: Evidence) -> Check:
    rtts = sorted(
        m.rtt_ms
        for m in evidence.messages
        if m.direction == "csms_to_charger" and m.message_type != "CALL" and m.rtt_ms is not None
    )
    if not rtts:
        return Check("response time", f"p95 < {RTT_LIMIT_MS:g} ms", "no answers timed", False)
    p95 = rtts[min(len(rtts) - 1, math.ceil(RTT_PERCENTILE * len(rtts)) - 1)]
    mean = sum(rtts) / len(rtts)
    return Check(
        "response time",
        f"p95 < {RTT_LIMIT_MS:g} ms (CSMS answers)",
        f"p95 {p95:.1f} ms, mean {mean:.1f} ms, max {rtts[-1]:.1f} ms over {len(rtts)}",
        p95 < RTT_LIMIT_MS,
    )
