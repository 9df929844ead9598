"""`ocppscope bench soak`: stations charging for minutes through a real `ocppscope proxy` that
drops answers and Heartbeats, cuts connections and has an outage, and then the question issue 7
asks: did any transaction's energy go missing in the reference CSMS's `charger_usage_log`?

Children (all on 127.0.0.1, stopped in a `finally`, killed with this process by
PR_SET_PDEATHSIG): the reference CSMS on a scratch database (as `bench simulate` starts it), and
`ocppscope proxy --no-store --fault-plan PLAN` in front of it. The proxy has no store because the
verdict reads the CSMS's record, not the proxy's: a second writer of every frame into the same
PostgreSQL would only slow the CSMS down; its findings are counted from its /metrics.

In this process: `SimulatedStation`s at real time (speed 1, so the proxy's timing checks see
real time), each running back-to-back sessions on EVSE 1. MessageTimeout is 10 s and
MessageAttemptInterval 2 s so that a lost answer is retried within the run. The truth is each
station's own meter: `stop_charging` returns the session's kWh, which is the Ended event's
register minus the Started's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.table import Table

from ocppscope.bench.simulate import POWER_KW, bypass_proxies, check_limits, start_csms
from ocppscope.bench.simulate_fleets import finish_tasks
from ocppscope.bench.simulate_plan import Plan as BenchPlan
from ocppscope.bench.store import database_server, scratch_database
from proxy.processes import HOST, Children, free_port, ocppscope_command
from simulator.clock import Clock
from simulator.fleet import generated
from simulator.station import SimulatedStation

MESSAGE_TIMEOUT = 10
MESSAGE_ATTEMPT_INTERVAL = 2
HEARTBEAT = 10
METER_INTERVAL = 10.0
SESSION_MAX = 180.0
"""Longest session, seconds (sessions last a third of it to all of it), when the run is long."""
DRAIN_TIMEOUT = 120.0
"""Seconds the queues get to reach the CSMS once the faults are over."""
TOLERANCE_KWH = 0.0005
"""charger_usage_log.energy_consumed is numeric(12, 4); the station sends the register in Wh
to three decimals."""
PROGRESS_EVERY = 15.0


@dataclass(frozen=True, slots=True)
class SoakPlan:
    """The command's options."""

    minutes: float = 10.0
    stations: int = 500
    drop: float = 0.1
    """Probability that a TransactionEvent CALLRESULT, or a Heartbeat frame, is dropped."""
    seed: int = 7

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def session_seconds(self) -> tuple[float, float]:
        longest = min(SESSION_MAX, max(5.0, self.seconds / 4))
        return longest / 3, longest

    def faults(self) -> dict[str, Any]:
        """The fault plan the proxy runs: every rule lives as long as the run, then the link
        heals so that the queues can drain."""
        run = f"{self.seconds:.0f}s"
        outage = max(2.0, min(15.0, self.seconds / 10))
        some = "SIM-0000*" if self.stations >= 10 else "SIM-00001"  # stations 1-9
        steps: list[dict[str, Any]] = [
            {
                "at": "0s",
                "fault": {
                    "kind": "drop",
                    "action": "TransactionEvent",
                    "messageType": "CALLRESULT",
                    "probability": self.drop,
                    "for": run,
                },
            },
            {
                "at": "0s",
                "fault": {
                    "kind": "drop",
                    "action": "Heartbeat",
                    "probability": self.drop,
                    "for": run,
                },
            },
            {
                "at": "0s",
                "fault": {
                    "kind": "disconnect",
                    "action": "TransactionEvent",
                    "messageType": "CALL",
                    "probability": round(self.drop / 20, 4),
                    "reset": True,
                    "for": run,
                },
            },
            {"at": f"{self.seconds * 0.3:.0f}s", "fault": {"kind": "disconnect", "station": some}},
            {
                "at": f"{self.seconds * 0.5:.0f}s",
                "fault": {"kind": "outage", "for": f"{outage:.0f}s"},
            },
            {
                "at": f"{self.seconds * 0.7:.0f}s",
                "fault": {"kind": "disconnect", "station": some, "reset": True},
            },
        ]
        return {"step": steps, "end": run}


@dataclass
class Result:
    """What the run found; `lost_kwh` is the verdict."""

    energy: dict[str, float] = field(default_factory=dict)
    """kWh of every transaction the stations ended, by transaction id (their meters)."""
    recorded: dict[str, float] = field(default_factory=dict)
    """charger_usage_log.energy_consumed of those transactions."""
    unended: list[str] = field(default_factory=list)
    """Transactions whose Ended event the CSMS never got (no end_time)."""
    applied: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0
    queued_end: int = 0
    findings: float | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return sorted(tx for tx in self.energy if tx not in self.recorded)

    @property
    def differing(self) -> list[tuple[str, float, float]]:
        return sorted(
            (tx, kwh, self.recorded[tx])
            for tx, kwh in self.energy.items()
            if tx in self.recorded and abs(kwh - self.recorded[tx]) > TOLERANCE_KWH
        )

    @property
    def lost_kwh(self) -> float:
        lost = sum(self.energy[tx] for tx in self.missing)
        return lost + sum(max(0.0, kwh - rec) for _, kwh, rec in self.differing)

    @property
    def clean(self) -> bool:
        return (
            bool(self.energy)
            and not self.missing
            and not self.differing
            and not self.unended
            and not self.errors
        )


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return bytes(answer.read())


def _proxy_numbers(admin: str, result: Result) -> None:
    """Faults applied by kind (/faults) and findings (/metrics) of the proxy."""
    try:
        result.applied = dict(json.loads(_get(f"http://{admin}/faults"))["applied"])
        lines = _get(f"http://{admin}/metrics").decode().splitlines()
        result.findings = sum(
            float(line.rsplit(" ", 1)[1])
            for line in lines
            if line.startswith("ocppscope_findings_total")
        )
    except (OSError, ValueError, KeyError) as exc:
        result.errors.append(f"the proxy's admin API: {exc}")


async def _sessions(
    station: SimulatedStation,
    plan: SoakPlan,
    rng: random.Random,
    stop: asyncio.Event,
    result: Result,
) -> None:
    """Back-to-back sessions until `stop`; each one's energy from the station's meter."""
    shortest, longest = plan.session_seconds
    number = 0
    while not stop.is_set():
        if not station.connected and number == 0:  # the first session starts once booted
            await asyncio.sleep(0.2)
            continue
        number += 1
        tx = await station.plug_in_and_charge(f"SOAK-{station.spec.id}-{number}", evse=1)
        if tx is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(shortest, longest))
        kwh = await station.stop_charging("Local", 1)
        if kwh is not None:
            result.energy[tx] = kwh
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(1.0, 5.0))


async def _drive(url: str, plan: SoakPlan, result: Result, say: Callable[[str], None]) -> None:
    """The stations through the proxy for the run, then the sessions stopped and the queues
    drained (bounded), then the stations closed."""
    rng = random.Random(plan.seed)
    clock = Clock()
    stations = []
    for spec in generated(plan.stations, POWER_KW):
        station = SimulatedStation(
            spec, clock, meter_interval=METER_INTERVAL, rng=random.Random(rng.random())
        )
        station.settings.message_timeout = MESSAGE_TIMEOUT
        station.settings.message_attempt_interval = MESSAGE_ATTEMPT_INTERVAL
        station.settings.heartbeat_interval = HEARTBEAT
        stations.append(station)
    closing, ending = asyncio.Event(), asyncio.Event()
    runs = [asyncio.create_task(s.run(url, closing)) for s in stations]
    sessions = [
        asyncio.create_task(_sessions(s, plan, random.Random(rng.random()), ending, result))
        for s in stations
    ]
    began = time.monotonic()
    try:
        while (left := began + plan.seconds - time.monotonic()) > 0:
            await asyncio.sleep(min(PROGRESS_EVERY, left))
            say(
                f"{time.monotonic() - began:.0f}/{plan.seconds:.0f} s: "
                f"{sum(s.connected for s in stations)} connected, "
                f"{sum(s.charging for s in stations)} charging, {len(result.energy)} sessions "
                f"ended, {sum(s.queued for s in stations)} events queued"
            )
        ending.set()
        _, pending = await asyncio.wait(sessions, timeout=60)
        if pending:
            result.errors.append(f"{len(pending)} stations' sessions did not stop within 60 s")
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while any(s.queued for s in stations) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        result.queued_end = sum(s.queued for s in stations)
        if result.queued_end:
            result.errors.append(
                f"{result.queued_end} TransactionEvents still queued after {DRAIN_TIMEOUT:g} s"
            )
        result.reconnects = sum(s.reconnects for s in stations)
    finally:
        ending.set()
        closing.set()
        result.errors += await finish_tasks([*sessions, *runs])


async def _read_usage(database_url: str, result: Result) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT transaction_id, energy_consumed, end_time FROM charger_usage_log"
        )
    finally:
        await connection.close()
    for row in rows:
        if row["transaction_id"] in result.energy:
            result.recorded[row["transaction_id"]] = float(row["energy_consumed"])
            if row["end_time"] is None:
                result.unended.append(row["transaction_id"])


def run_soak(
    plan: SoakPlan, console: Console, progress: Callable[[str], None] | None = None
) -> int:
    """Run the soak and print the verdict; 0 when no energy was lost. BenchError (exit code 2)
    when the machine or the database cannot be used."""
    say = progress or (lambda _text: None)
    check_limits(2 * plan.stations)  # this process, and the proxy: two sockets per station
    bypass_proxies()
    result = Result()
    faults = plan.faults()
    console.print(f"fault plan ({plan.seconds:.0f} s, then the link heals):")
    for step in faults["step"]:
        console.print(f"  at {step['at']:>5}: {json.dumps(step['fault'])}")
    with tempfile.TemporaryDirectory(prefix="ocppscope-soak-") as workdir:
        children = Children(Path(workdir))
        plan_file = Path(workdir) / "faults.yaml"  # JSON is YAML
        plan_file.write_text(json.dumps(faults))
        with contextlib.ExitStack() as stack:
            server = stack.enter_context(database_server(Path(workdir) / "postgres"))
            database_url, _, _ = stack.enter_context(scratch_database(server, console))
            try:
                _, csms_port = start_csms(
                    children, database_url, BenchPlan(stations=plan.stations, heartbeat=HEARTBEAT)
                )
                listen, admin = free_port(), free_port()
                children.ports += [listen, admin]
                proxy = children.start(
                    "proxy",
                    [
                        *ocppscope_command(),
                        "proxy",
                        *("--listen", f"{HOST}:{listen}"),
                        *("--upstream", f"ws://{HOST}:{csms_port}"),
                        *("--admin", f"{HOST}:{admin}"),
                        *("--fault-plan", str(plan_file)),
                        *("--no-store", "--quiet"),
                    ],
                )
                children.wait_listening(proxy, listen)
                children.wait_listening(proxy, admin)
                say(f"{plan.stations} stations through the proxy for {plan.seconds:.0f} s")
                asyncio.run(_drive(f"ws://{HOST}:{listen}/ocpp", plan, result, say))
                _proxy_numbers(f"{HOST}:{admin}", result)
                asyncio.run(_read_usage(database_url, result))
            except (RuntimeError, OSError, asyncpg.PostgresError) as exc:  # a child, the record
                result.errors.append(str(exc))
            finally:
                children.stop_all()
    render(plan, result, console)
    console.print(
        f"[dim]ports used: {' '.join(str(port) for port in children.ports)}; "
        f"work directory {workdir} (removed)[/]"
    )
    return 0 if result.clean else 1


def render(plan: SoakPlan, result: Result, console: Console) -> None:
    simulated = sum(result.energy.values())
    recorded = sum(result.recorded.values())
    table = Table(
        title=f"soak: {plan.stations} stations, {plan.minutes:g} min through ocppscope proxy "
        f"(drops p={plan.drop:g}) to the reference CSMS",
        title_justify="left",
    )
    table.add_column("")
    table.add_column("", justify="right")
    rows = [
        ("transactions ended by the stations", f"{len(result.energy):,}"),
        ("kWh simulated (station meters)", f"{simulated:,.3f}"),
        ("kWh recorded (charger_usage_log)", f"{recorded:,.3f}"),
        ("kWh lost", f"{result.lost_kwh:,.4f}"),
        ("transactions missing at the CSMS", f"{len(result.missing):,}"),
        ("transactions with other energy", f"{len(result.differing):,}"),
        ("transactions without an end", f"{len(result.unended):,}"),
        (
            "faults applied",
            ", ".join(f"{kind} {n:,}" for kind, n in sorted(result.applied.items())) or "none",
        ),
        ("reconnects", f"{result.reconnects:,}"),
        ("events queued at the end", f"{result.queued_end:,}"),
        (
            "proxy findings",
            "—" if result.findings is None else f"{result.findings:,.0f}",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for tx in result.missing[:10]:
        console.print(f"[red]missing at the CSMS:[/] {tx} ({result.energy[tx]:.4f} kWh)")
    for tx, kwh, rec in result.differing[:10]:
        console.print(f"[red]energy differs:[/] {tx}: station {kwh:.4f}, CSMS {rec:.4f} kWh")
    for tx in result.unended[:10]:
        console.print(f"[red]no end at the CSMS:[/] {tx}")
    for error in result.errors:
        console.print(f"[yellow]{error}[/]")
    if result.clean:
        console.print(f"[green]zero energy lost[/] over {len(result.energy):,} transactions")
    else:
        console.print(f"[red]energy lost or unaccounted for[/]: {result.lost_kwh:.4f} kWh")
