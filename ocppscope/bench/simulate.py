"""`ocppscope bench simulate`: how many simulated stations one process carries against the
reference CSMS, and what each one costs next to a bare `websockets` connection, measured in the
same run on 127.0.0.1.

Two phases, each against a fresh `ocppscope csms` child process on its own scratch database (on
the embedded PostgreSQL in a temporary data directory, or on OCPPSCOPE_DATABASE_URL's server):
1. baseline: bare `websockets` clients in a child process (`python -m ocppscope.bench.simulate bare`),
   each sending a hand-written BootNotification and then only a Heartbeat every interval;
2. simulator: `SimulatedStation`s in this process, the code `ocppscope simulate` runs, a share
   of them charging with a TransactionEvent every meter interval.
Both start their connections at the same rate and are measured by the same code (`measure`):
the time until every station has booted and each station's boot latency (connection started to
BootNotification accepted), then a steady window of `hold` seconds: CPU of the stations' process,
the CSMS and PostgreSQL, CALLs/s, event-loop lag, and RSS growth per station. Memory is the RSS
delta of a process that holds nothing else; tracemalloc would double the cost of every
allocation during the connect phase, so it is not used.

Every child is started here, stopped in a `finally` (SIGTERM, then SIGKILL) and killed by the
kernel if this process dies (PR_SET_PDEATHSIG, `proxy.processes`).

This module runs the phases and is the baseline's child; the plan and a phase's numbers are
`simulate_plan`, the two fleets `simulate_fleets`, the measuring `simulate_measure`, the table
`simulate_report`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from ocppscope.bench.simulate_fleets import BareFleet, SimulatedFleet
from ocppscope.bench.simulate_measure import PROGRESS_EVERY, run_phase
from ocppscope.bench.simulate_plan import Phase, Plan
from ocppscope.bench.simulate_report import render
from ocppscope.bench.store import BenchError, database_server, scratch_database
from proxy.processes import (
    HOST,
    Child,
    Children,
    free_port,
    ocppscope_command,
    raise_fd_limit,
)
from simulator.fleet import generated
from simulator.versions import DEFAULT_VERSION, VERSIONS

CHILD_SLACK = 60.0
"""Seconds a phase's child may take beyond the phase's own budget (start-up, exit)."""
FD_SPARE = 256
"""Open files a process needs besides one socket per station."""
PORT_SPARE = 1024
POWER_KW = 50.0


def check_limits(stations: int) -> str:
    """Raise the open-files limit for a socket per station (the CSMS child inherits it) and
    check the ephemeral ports; BenchError when the machine cannot hold `stations`."""
    needed = stations + FD_SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise BenchError(
            f"--stations {stations:,} needs {needed:,} open files in this process and in the "
            f"CSMS; the hard limit is {hard:,} (ulimit -Hn)"
        )
    raised = raise_fd_limit(needed)
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = high - low + 1
    if stations + PORT_SPARE > ports:
        raise BenchError(
            f"--stations {stations:,} needs {stations + PORT_SPARE:,} ephemeral ports on "
            f"{HOST}; net.ipv4.ip_local_port_range {low}-{high} has {ports:,}"
        )
    return (
        f"open files: soft limit {soft:,}"
        + (f" raised to {raised:,}" if raised != soft else "")
        + f" (hard {'unlimited' if hard == resource.RLIM_INFINITY else f'{hard:,}'}); "
        f"ephemeral ports {low}-{high} ({ports:,})"
    )


def bypass_proxies() -> None:
    """websockets >= 15 honours *_proxy variables: keep every connection on 127.0.0.1."""
    if any(name.lower().endswith("_proxy") for name in os.environ):
        current = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
        os.environ["no_proxy"] = os.environ["NO_PROXY"] = ",".join(
            part for part in (current, HOST) if part
        )


def start_csms(children: Children, database_url: str | None, plan: Plan) -> tuple[Child, int]:
    """The reference CSMS on `database_url`, or the stand-in when there is none."""
    port = free_port()
    children.ports.append(port)
    if database_url is None:
        command = [
            sys.executable,
            "-m",
            "ocppscope.bench.proxy",
            "csms",
            "--listen",
            f"{HOST}:{port}",
            "--lifetime",
            str(round(plan.budget() + CHILD_SLACK)),
            "--heartbeat-interval",
            str(plan.heartbeat),
        ]
        child = children.start("stand-in", command)
    else:
        http_port = free_port()
        children.ports.append(http_port)
        env = {
            **os.environ,
            "OCPPSCOPE_DATABASE_URL": database_url,
            "OCPPSCOPE_DATA_DIR": str(children.workdir / "data"),
        }
        command = [
            *ocppscope_command(),
            "csms",
            "--ocpp",
            f"{HOST}:{port}",
            "--http",
            f"{HOST}:{http_port}",
            "--heartbeat-interval",
            str(plan.heartbeat),
        ]
        child = children.start("csms", command, env)
    children.wait_listening(child, port)
    return child, port


def _postmaster(directory: Path) -> int | None:
    """The embedded server's postmaster (its backends are its children); None for a URL's."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((directory / "postmaster.pid").read_text().split()[0])
    return None


def _baseline(
    children: Children, url: str, plan: Plan, watch: dict[str, int], say: Callable[[str], None]
) -> Phase:
    """The bare clients in a child process of their own, so that their RSS is theirs alone."""
    result = children.workdir / "baseline.json"
    command = [
        sys.executable,
        "-m",
        "ocppscope.bench.simulate",
        "bare",
        "--url",
        url,
        "--stations",
        str(plan.stations),
        "--rate",
        str(plan.rate),
        "--hold",
        str(plan.hold),
        "--heartbeat",
        str(plan.heartbeat),
        "--result",
        str(result),
        "--gc-tuning" if plan.gc_tuning else "--no-gc-tuning",
        *("--protocol", plan.protocol),
        *(arg for name, pid in watch.items() for arg in ("--watch", f"{name}={pid}")),
    ]
    child = children.start("baseline", command)
    try:
        for _ in range(math.ceil((plan.budget() + CHILD_SLACK) / PROGRESS_EVERY)):
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(PROGRESS_EVERY)
                break
            say(child.tail().rsplit(" | ", 1)[-1] or "baseline starting")
    finally:
        children.stop(child)
    if child.process.returncode != 0 or not result.exists():
        raise RuntimeError(f"the baseline exited with {child.process.returncode}: {child.tail()}")
    return Phase(**json.loads(result.read_text()))


def _phase(
    children: Children,
    server_url: str | None,
    plan: Plan,
    console: Console,
    say: Callable[[str], None],
    *,
    baseline: bool,
) -> Phase:
    """One phase against a CSMS of its own, the reference one on a scratch database of its own
    (`server_url`), else the stand-in."""
    specs = generated(plan.stations, POWER_KW, plan.protocol)
    with contextlib.ExitStack() as stack:
        database_url = None
        if server_url is not None:
            database_url, _, _ = stack.enter_context(scratch_database(server_url, console))
        csms, port = start_csms(children, database_url, plan)
        try:
            watch = {"csms": csms.pid}
            postmaster = _postmaster(children.workdir / "postgres")
            if postmaster is not None:
                watch["database"] = postmaster
            url = f"ws://{HOST}:{port}/ocpp"
            if baseline:
                say(f"baseline: {plan.stations:,} bare websockets clients in a child process")
                return _baseline(children, url, plan, watch, say)
            say(f"simulator: {plan.stations:,} SimulatedStations in this process")
            fleet = SimulatedFleet(url, specs, plan)
            return asyncio.run(run_phase(fleet, plan, watch, say))
        finally:
            children.stop(csms)
            if csms.process.returncode not in (0, -signal.SIGTERM):
                say(f"the CSMS exited with {csms.process.returncode}: {csms.tail()[-200:]}")


def run_simulate_benchmark(
    plan: Plan, console: Console, progress: Callable[[str], None] | None = None
) -> int:
    """Run the phases, print the table; 0 when the simulator reached a steady state without
    errors. BenchError (exit code 2) when the machine or the database cannot be used."""
    say = progress or (lambda _text: None)
    limits = check_limits(plan.stations)
    bypass_proxies()
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="ocppscope-bench-") as workdir:
        children = Children(Path(workdir))
        with contextlib.ExitStack() as stack:
            server_url = None
            if plan.csms == "reference":
                server_url = stack.enter_context(database_server(Path(workdir) / "postgres"))
            try:
                for baseline in (True, False) if plan.baseline else (False,):
                    try:
                        phase = _phase(children, server_url, plan, console, say, baseline=baseline)
                    except (RuntimeError, OSError) as exc:  # a child that would not start or run
                        name = BareFleet.name if baseline else SimulatedFleet.name
                        phase = Phase(name, plan.stations, errors=[str(exc)])
                    phases.append(phase)
            finally:
                children.stop_all()
    render(phases, plan, limits, console)
    console.print(
        f"[dim]ports used: {' '.join(str(port) for port in children.ports)}; "
        f"work directory {workdir} (removed)[/]"
    )
    simulated = phases[-1]
    return 0 if simulated.steady and not any(p.errors for p in phases) else 1


# ---- the baseline's child process ---------------------------------------------------------------


def bare_main(argv: list[str]) -> None:
    """`python -m ocppscope.bench.simulate bare ...`: the baseline phase, its Phase as JSON in --result."""
    parser = argparse.ArgumentParser(prog="python -m ocppscope.bench.simulate bare")
    parser.add_argument("role", choices=["bare"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--stations", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--hold", type=float, required=True)
    parser.add_argument("--heartbeat", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--watch", action="append", default=[], help="NAME=PID")
    parser.add_argument("--gc-tuning", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--protocol", choices=VERSIONS, default=DEFAULT_VERSION)
    args = parser.parse_args(argv)
    if not args.url.startswith(f"ws://{HOST}:"):
        parser.error(f"the baseline connects to {HOST} only")
    watch = {name: int(pid) for name, _, pid in (w.partition("=") for w in args.watch)}
    plan = Plan(
        args.stations,
        args.rate,
        0.0,
        args.heartbeat,
        hold=args.hold,
        gc_tuning=args.gc_tuning,
        protocol=args.protocol,
    )
    console = Console(stderr=True)

    async def run() -> Phase:
        ids = [spec.id for spec in generated(plan.stations, POWER_KW)]
        fleet = BareFleet(args.url, ids, plan.protocol)
        return await run_phase(fleet, plan, watch, console.print)

    phase = asyncio.run(run())
    args.result.write_text(json.dumps(dataclasses.asdict(phase)))


if __name__ == "__main__":
    bare_main(sys.argv[1:])
