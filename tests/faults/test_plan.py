"""Fault plans: the same timeline from YAML or TOML, one-line errors naming the file and the
step, and run_plan applying each step at its time (monotonic clock, stated tolerance)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from proxy.faults.kinds import FaultError
from proxy.faults.plan import Plan, Step, load_plan, run_plan
from proxy.faults.spec import FaultSpec, parse_spec

YAML_PLAN = """\
step:
  - at: 0s
    fault: {kind: drop, station: "emart_*", action: Heartbeat, probability: 0.5, for: 10m}
  - at: 5m
    clear: true          # remove every rule
  - at: 1m
    fault: {kind: outage, for: 20s}
"""
TOML_PLAN = """\
[[step]]
at = "0s"
[step.fault]
kind = "drop"
station = "emart_*"
action = "Heartbeat"
probability = 0.5
for = "10m"

[[step]]
at = "5m"
clear = true

[[step]]
at = "1m"
fault = { kind = "outage", for = "20s" }
"""
EXPECTED = Plan(
    steps=(
        Step(
            0.0,
            parse_spec(
                {
                    "kind": "drop",
                    "station": "emart_*",
                    "action": "Heartbeat",
                    "probability": 0.5,
                    "for": "10m",
                }
            ),
        ),
        Step(60.0, parse_spec({"kind": "outage", "for": "20s"})),
        Step(300.0, None),
    ),
    end=600.0,
)
TOLERANCE = 0.08
"""Seconds a step may come late on a busy machine (asyncio timers are not late by much more)."""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_same_plan_from_yaml_and_toml(tmp_path: Path) -> None:
    from_yaml = load_plan(write(tmp_path, "plan.yaml", YAML_PLAN))
    from_toml = load_plan(write(tmp_path, "plan.toml", TOML_PLAN))
    assert from_yaml == from_toml == EXPECTED  # in time order, whatever the file's order


def test_the_end_defaults_to_when_the_last_rule_runs_out(tmp_path: Path) -> None:
    plan = load_plan(
        write(
            tmp_path,
            "plan.yml",
            "step:\n"
            "  - {at: 0, fault: {kind: drop, for: 30s}}\n"
            "  - {at: 10s, fault: {kind: delay, delay: 1s, for: 1m}}\n"  # ends at 70 s
            "  - {at: 20s, fault: {kind: duplicate, for: 5s}}\n",
        )
    )
    assert plan.end == 70.0


def test_rules_without_a_lifetime_end_the_plan_at_the_last_step(tmp_path: Path) -> None:
    plan = load_plan(
        write(
            tmp_path,
            "p.yaml",
            "step:\n  - {at: 2s, fault: {kind: drop}}\n  - {at: 3s, clear: true}",
        )
    )
    assert plan.end == 3.0


def test_an_explicit_end_wins(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, "p.toml", 'end = "15m"\n' + TOML_PLAN))
    assert (plan.end, plan.steps) == (900.0, EXPECTED.steps)


def test_steps_at_the_same_time_keep_their_order(tmp_path: Path) -> None:
    plan = load_plan(
        write(
            tmp_path,
            "p.yaml",
            "step:\n  - {at: 1s, clear: true}\n  - {at: 1s, fault: {kind: drop}}\n"
            "  - {at: 0s, fault: {kind: duplicate}}\n",
        )
    )
    assert [(s.at, s.fault and s.fault.kind) for s in plan.steps] == [
        (0.0, "duplicate"),
        (1.0, None),
        (1.0, "drop"),
    ]


# ---- one line naming the file and the step -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        pytest.param("p.yaml", "step: [\n  - at: 1s\n", "not YAML at line", id="bad-yaml"),
        pytest.param("p.toml", "[[step]\nat = 1\n", "not TOML", id="bad-toml"),
        pytest.param("p.yaml", "", "no steps", id="empty"),
        pytest.param("p.yaml", "step: []\n", "no steps", id="no-steps"),
        pytest.param("p.yaml", "steps:\n  - {at: 0, clear: true}\n", "no steps", id="steps"),
        pytest.param("p.yaml", "- {at: 0, clear: true}\n", "no steps", id="a-bare-list"),
        pytest.param(
            "p.yaml", "step:\n  - {at: 0, clear: true}\nnd: 5m\n", "unknown field 'nd'", id="top"
        ),
        pytest.param("p.yaml", "step: [5]\n", "step 1: not a table", id="not-a-table"),
        pytest.param(
            "p.yaml",
            "step:\n  - {at: 0, clear: true}\n  - {at: 1s, clear: true, fault: {kind: drop}}\n",
            "step 2: give either a fault or clear",
            id="fault-and-clear",
        ),
        pytest.param(
            "p.yaml", "step:\n  - {at: 1s}\n", "step 1: give either a fault or clear", id="neither"
        ),
        pytest.param(
            "p.yaml",
            "step:\n  - {at: 1s, clear: false}\n",
            "step 1: give either a fault or clear",
            id="clear-false",
        ),
        pytest.param(
            "p.yaml", "step:\n  - at: 1s\n    fault:\n", "step 1: a fault rule is", id="fault-null"
        ),
        pytest.param(
            "p.toml",
            '[[step]]\nat = "1s"\nclear = true\n\n[[step]]\nat = 2\nfault = { kind = "explode" }\n',
            "step 2: kind 'explode'",
            id="bad-kind",
        ),
        pytest.param(
            "p.yaml",
            "step:\n  - {at: 0, fault: {kind: outage}}\n",
            "step 1: outage needs 'for'",
            id="bad-rule",
        ),
        pytest.param(
            "p.yaml",
            "step:\n  - {at: 0, fualt: {kind: drop}}\n",
            "step 1: unknown field 'fualt'",
            id="unknown-in-step",
        ),
        pytest.param(
            "p.yaml", "step:\n  - {at: 5x, clear: true}\n", "step 1: at '5x'", id="bad-at"
        ),
        pytest.param(
            "p.yaml", "step:\n  - {at: 0, clear: true}\nend: soon\n", "end 'soon'", id="bad-end"
        ),
        pytest.param(
            "p.yaml",
            "step:\n  - {at: 0, clear: true}\n  - {at: 1m, fault: {kind: drop}}\nend: 30s\n",
            "step 2",
            id="end-before-a-step",
        ),
    ],
)
def test_bad_plans_are_one_line_naming_the_file_and_step(
    tmp_path: Path, name: str, text: str, named: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(FaultError) as raised:
        load_plan(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert named in message


def test_a_missing_plan_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FaultError, match=r"missing\.yaml: No such file"):
        load_plan(tmp_path / "missing.yaml")


# ---- running it --------------------------------------------------------------------------------


class Recorder:
    """The add/clear a plan is given, with when (seconds from the start) each was called."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.calls: list[tuple[float, str]] = []

    async def add(self, spec: FaultSpec) -> None:
        self.calls.append((time.monotonic() - self.started, spec.kind))

    async def clear(self) -> None:
        self.calls.append((time.monotonic() - self.started, "clear"))


SHORT = Plan(
    steps=(
        Step(0.0, parse_spec({"kind": "drop", "for": 0.4})),
        Step(0.2, parse_spec({"kind": "duplicate"})),
        Step(0.4, None),
    ),
    end=0.6,
)


def test_run_plan_applies_each_step_at_its_time_then_waits_for_the_end() -> None:
    recorder = Recorder()
    finished = asyncio.run(
        asyncio.wait_for(run_plan(SHORT, recorder.add, recorder.clear), timeout=5)
    )
    took = time.monotonic() - recorder.started
    assert finished is True
    assert [what for _, what in recorder.calls] == ["drop", "duplicate", "clear"]
    for (at, _), step in zip(recorder.calls, SHORT.steps, strict=True):
        assert step.at - 0.005 <= at < step.at + TOLERANCE, recorder.calls
    assert SHORT.end - 0.005 <= took < SHORT.end + TOLERANCE


def test_run_plan_stops_early_on_the_stop_event() -> None:
    recorder = Recorder()

    async def cut_short() -> bool:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.3, stop.set)
        return await run_plan(SHORT, recorder.add, recorder.clear, stop)

    finished = asyncio.run(asyncio.wait_for(cut_short(), timeout=5))
    took = time.monotonic() - recorder.started
    assert finished is False
    assert [what for _, what in recorder.calls] == ["drop", "duplicate"]  # no clear at 0.4
    assert 0.3 - 0.005 <= took < 0.3 + TOLERANCE


def test_run_plan_stopped_while_waiting_for_the_end_is_not_finished() -> None:
    recorder = Recorder()
    plan = Plan((Step(0.0, parse_spec({"kind": "drop"})),), end=5.0)

    async def cut_short() -> bool:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.1, stop.set)
        return await run_plan(plan, recorder.add, recorder.clear, stop)

    assert asyncio.run(asyncio.wait_for(cut_short(), timeout=5)) is False
    assert time.monotonic() - recorder.started < 0.1 + TOLERANCE
    assert [what for _, what in recorder.calls] == ["drop"]
