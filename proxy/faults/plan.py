"""Fault plans for soak tests: a timeline of rules, read from YAML or TOML.

```yaml
step:
  - at: 0s
    fault: {kind: drop, station: "emart_*", action: Heartbeat, probability: 0.5, for: 10m}
  - at: 1m
    fault: {kind: outage, for: 20s}
  - at: 5m
    clear: true          # remove every rule
end: 10m                 # optional; default: when the last rule's `for` runs out
```
(TOML: `[[step]]` tables with `at` and a `[step.fault]` table.) Each rule is parsed by the admin
API's parser before the plan starts, so a bad plan fails at once, naming the step."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from proxy.documents import read_document
from proxy.faults.kinds import FaultError, parse_duration
from proxy.faults.spec import FaultSpec, parse_spec


@dataclass(frozen=True, slots=True)
class Step:
    at: float
    """Seconds from the plan's start."""
    fault: FaultSpec | None = None
    """The rule to add; None: clear every rule."""


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]
    end: float
    """Seconds from the start when the plan is over."""


def load_plan(path: Path) -> Plan:
    """The plan in `path`; FaultError naming the file and the step when it cannot be used."""
    try:
        data = read_document(path)
    except ValueError as exc:
        raise FaultError(str(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("step"), list) or not data["step"]:
        raise FaultError(f"{path}: no steps (a list under 'step', [[step]] in TOML)")
    unknown = sorted(set(data) - {"step", "end"})
    if unknown:
        raise FaultError(f"{path}: unknown field {unknown[0]!r} (fields: step, end)")
    numbered = sorted(
        ((_step(path, number, entry), number) for number, entry in enumerate(data["step"], 1)),
        key=lambda pair: pair[0].at,
    )
    steps = tuple(step for step, _ in numbered)
    end = max(step.at + _lifetime(step) for step in steps)
    if data.get("end") is not None:
        try:
            end = parse_duration(data["end"], "end")
        except FaultError as exc:
            raise FaultError(f"{path}: {exc}") from None
        last, number = numbered[-1]
        if end < last.at:  # the step would still run, after the plan had "ended"
            raise FaultError(f"{path}: end {end:g} s comes before step {number} at {last.at:g} s")
    return Plan(steps, end)


def _step(path: Path, number: int, entry: object) -> Step:
    where = f"{path}: step {number}"
    if not isinstance(entry, dict):
        raise FaultError(f"{where}: not a table")
    unknown = sorted(set(entry) - {"at", "fault", "clear"})
    if unknown:
        raise FaultError(f"{where}: unknown field {unknown[0]!r} (fields: at, fault, clear)")
    try:
        at = parse_duration(entry.get("at", 0), "at")
    except FaultError as exc:
        raise FaultError(f"{where}: {exc}") from None
    if ("fault" in entry) == bool(entry.get("clear")):
        raise FaultError(f"{where}: give either a fault or clear = true")
    if "fault" not in entry:
        return Step(at)
    try:  # an empty `fault:` is a mistake, not a clear
        return Step(at, parse_spec(entry["fault"]))
    except FaultError as exc:
        raise FaultError(f"{where}: {exc}") from None


def _lifetime(step: Step) -> float:
    if step.fault is None or step.fault.duration is None:
        return 0.0
    return step.fault.duration


async def run_plan(
    plan: Plan,
    add: Callable[[FaultSpec], Awaitable[object]],
    clear: Callable[[], Awaitable[object]],
    stop: asyncio.Event | None = None,
) -> bool:
    """Apply each step at its time, then wait for the end; False when `stop` cut it short."""
    stop = stop or asyncio.Event()
    started = time.monotonic()
    for step in plan.steps:
        if await _until(started + step.at, stop):
            return False
        if step.fault is None:
            await clear()
        else:
            await add(step.fault)
    return not await _until(started + plan.end, stop)


async def _until(moment: float, stop: asyncio.Event) -> bool:
    """Wait until `moment` (monotonic); whether `stop` came first."""
    try:
        await asyncio.wait_for(stop.wait(), max(0.0, moment - time.monotonic()))
    except TimeoutError:
        return False
    return True
