"""The checks of scenario 5: the CSMS goes away and comes back; the stations wait as the
OCPP back-off says (scaled by the run's speed), boot again, resume, and the energy of a session
across the outage adds up. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import pairwise

from scenarios.check_common import (
    answer_to,
    ended_sessions,
    energy_is_power_times_time,
    listed,
    no_serious_findings,
    of_type,
    seconds_between,
    seq_numbers_contiguous,
    status_of,
)
from scenarios.guide import (
    BACKOFF_WAITS,
    OBSERVER_SLACK,
    TIMING_TOLERANCE,
)
from scenarios.model import Check, Evidence, LinkEvent, RunWindow


def scenario_5(evidence: Evidence, window: RunWindow) -> list[Check]:
    return [
        reconnect_waits(evidence, window),
        boot_after_reconnect(evidence, window),
        operation_resumes(evidence, window),
        energy_across_outage(evidence),
        seq_numbers_contiguous(evidence),
        no_serious_findings(evidence),
    ]


def waits(links: Sequence[LinkEvent], speed: float) -> list[float] | None:
    """Simulated seconds from the proxy closing a charger's connection to each reconnect
    attempt (refused or accepted) until one is accepted; None when it never lost one."""
    ordered = sorted(links, key=lambda e: e.logged_at)
    lost = next((i for i, e in enumerate(ordered) if e.event == "close"), None)
    if lost is None:
        return None
    moments = [ordered[lost].logged_at]
    for event in ordered[lost + 1 :]:
        if event.event in ("refused", "open"):
            moments.append(event.logged_at)
        if event.event == "open":
            break
    return [seconds_between(b, a) * speed for a, b in pairwise(moments)]


def waits_ok(observed: Sequence[float], speed: float) -> bool:
    if len(observed) != len(BACKOFF_WAITS):
        return False
    return all(
        abs(seen - wanted) <= TIMING_TOLERANCE * wanted + OBSERVER_SLACK * speed
        for seen, wanted in zip(observed, BACKOFF_WAITS, strict=True)
    )


def reconnect_waits(evidence: Evidence, window: RunWindow) -> Check:
    by_charger = {
        c: waits([e for e in evidence.links if e.charger_id == c], window.speed)
        for c in window.charger_ids
    }
    shown = [
        f"{c}: " + (", ".join(f"{w:.2f}" for w in found) if found is not None else "never cut")
        for c, found in by_charger.items()
    ]
    failing = [
        line
        for line, found in zip(shown, by_charger.values(), strict=True)
        if found is None or not waits_ok(found, window.speed)
    ]
    return Check(
        "back-off 1-2-4-8 s",
        f"waits {', '.join(f'{w:g}' for w in BACKOFF_WAITS)} s ±{TIMING_TOLERANCE:.0%} "
        f"(+{OBSERVER_SLACK * window.speed:g} s observer slack), each charger",
        listed(failing) if failing else listed(shown, 5),
        not failing,
    )


def _reopened_at(evidence: Evidence, charger: str) -> datetime | None:
    closes = [e for e in evidence.links if e.charger_id == charger and e.event == "close"]
    if not closes:
        return None
    first_close = min(e.logged_at for e in closes)
    opens = [
        e.logged_at
        for e in evidence.links
        if e.charger_id == charger and e.event == "open" and e.logged_at > first_close
    ]
    return min(opens) if opens else None


def _per_charger(
    evidence: Evidence,
    window: RunWindow,
    name: str,
    expected: str,
    ok: Callable[[str, datetime], str | None],
) -> Check:
    """A check that each charger reconnected and then passes `ok` (None, or what is wrong)."""
    chargers = window.charger_ids
    problems = []
    for charger in chargers:
        reopened = _reopened_at(evidence, charger)
        problem = "no reconnect" if reopened is None else ok(charger, reopened)
        if problem:
            problems.append(f"{charger}: {problem}")
    return Check(
        name,
        expected,
        listed(problems) or f"{len(chargers)} chargers",
        bool(chargers) and not problems,
    )


def boot_after_reconnect(evidence: Evidence, window: RunWindow) -> Check:
    def booted(charger: str, reopened: datetime) -> str | None:
        calls = [
            m
            for m in of_type(evidence.of(charger), "BootNotification", "CALL")
            if m.logged_at >= reopened
        ]
        if not calls:
            return "no BootNotification"
        status = status_of(answer_to(evidence.messages, calls[0]))
        return None if status == "Accepted" else f"BootNotification {status}"

    return _per_charger(evidence, window, "BootNotification after reconnect", "Accepted", booted)


def operation_resumes(evidence: Evidence, window: RunWindow) -> Check:
    """After the boot, the charger's CALLs are answered again (StatusNotifications, and the
    running transaction's events)."""

    def resumed(charger: str, reopened: datetime) -> str | None:
        later = [
            m
            for m in evidence.of(charger)
            if m.logged_at >= reopened
            and m.message_type == "CALL"
            and m.action != "BootNotification"
        ]
        unanswered = [m.action for m in later if answer_to(evidence.messages, m) is None]
        if not later:
            return "nothing sent after the boot"
        return f"unanswered: {', '.join(map(str, unanswered))}" if unanswered else None

    return _per_charger(
        evidence, window, "normal operation resumes", "CALLs after the boot answered", resumed
    )


def energy_across_outage(evidence: Evidence) -> Check:
    """A transaction that ran through the outage: its offline events were replayed and its
    energy is still rated power x duration."""
    across = [t for t in ended_sessions(evidence) if any(e.offline for e in t.events)]
    energy = energy_is_power_times_time(evidence, across)
    replayed = sum(e.offline for t in across for e in t.events)
    return Check(
        "no transaction energy lost",
        "offline events replayed; " + energy.expected,
        f"{replayed} offline events replayed; {energy.observed}"
        if across
        else "no transaction with offline events",
        bool(across) and energy.passed,
    )
