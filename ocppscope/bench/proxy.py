"""`ocppscope bench proxy`: calls/s, added latency, CPU and memory of `ocppscope proxy` next to
stock `mitmdump` and a direct connection, all measured in the same run on 127.0.0.1.

Processes: a CSMS stand-in (this module, `python -m ocppscope.bench.proxy csms`), one proxy at a
time (a fresh process per path and station count) and the load generator (this process,
`websockets` asyncio clients). Every child is started here, stopped in a `finally` (SIGTERM, then
SIGKILL) and also killed by the kernel if this process dies (PR_SET_PDEATHSIG).

Each station connects, boots, then runs a charging-session mix of CALLs (StatusNotification,
TransactionEvent Started/Updated/Ended, Heartbeat) that the CSMS answers with CALLRESULTs; the
traffic is compliant, so the conformance addon does its normal work and not an error path.
Two load shapes per path and station count:
- throughput: every station sends its next CALL as soon as the previous one is answered;
- latency: every station sends one CALL per second, the stations spread evenly over the second.

This module runs the paths at each station count and is the stand-in CSMS's entry; the CALLs are
`proxy_traffic`, the stand-in `proxy_csms`, the paths `proxy_paths`, the load generator
`proxy_load`, the table `proxy_report`.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from ocppscope.bench.proxy_csms import CSMS_LIFETIME, csms_main
from ocppscope.bench.proxy_load import (
    CALL_TIMEOUT,
    CLOSE_TIMEOUT,
    CONNECT_MIN_SECONDS,
    CONNECT_SECONDS_PER_STATION,
    WARMUP_SECONDS,
    Result,
    measure,
)
from ocppscope.bench.proxy_paths import DIRECT, PATHS, start_proxy
from ocppscope.bench.proxy_report import render
from proxy.processes import (
    HOST,
    STOP_TIMEOUT,
    Child,
    Children,
    free_port,
    raise_fd_limit,
)


def _config_budget(count: int, seconds: float, latency_calls: int) -> float:
    connect = max(CONNECT_MIN_SECONDS, count * CONNECT_SECONDS_PER_STATION)
    return connect + WARMUP_SECONDS + seconds + latency_calls + 2 * CALL_TIMEOUT + CLOSE_TIMEOUT


def run_proxy_benchmark(
    station_counts: list[int],
    seconds: float,
    latency_seconds: float,
    console: Console,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Run every path at every station count; print the table; 0 when every run completed."""
    latency_calls = max(1, round(latency_seconds))
    raise_fd_limit(4 * max(station_counts) + 256)
    results: list[Result] = []
    failures: list[str] = []
    say = progress or (lambda _text: None)
    with tempfile.TemporaryDirectory(prefix="ocppscope-bench-") as workdir:
        children = Children(Path(workdir))
        try:
            csms_port = free_port()
            children.ports.append(csms_port)
            csms = children.start(
                "csms",
                [
                    sys.executable,
                    "-m",
                    "ocppscope.bench.proxy",
                    "csms",
                    "--listen",
                    f"{HOST}:{csms_port}",
                    "--lifetime",
                    str(CSMS_LIFETIME),
                ],
            )
            children.wait_listening(csms, csms_port)
            for count in station_counts:
                for path in PATHS:
                    say(f"{path.key}, {count} station(s)")
                    proxy: Child | None = None
                    try:
                        if path is DIRECT:
                            port, processes = csms_port, {"csms": csms.pid}
                        else:
                            proxy, port = start_proxy(children, path, csms_port)
                            processes = {"proxy": proxy.pid, "csms": csms.pid}
                        result = asyncio.run(
                            _bounded(
                                measure(path, port, count, seconds, latency_calls, processes),
                                _config_budget(count, seconds, latency_calls),
                            )
                        )
                    except (RuntimeError, OSError, TimeoutError) as exc:
                        failures.append(f"{path.key} at {count} stations: {exc or 'timed out'}")
                        result = Result(path, count, errors=[str(exc) or "timed out"])
                    finally:
                        if proxy is not None:
                            children.stop(proxy)
                    if proxy is not None and proxy.process.returncode not in (0, -signal.SIGTERM):
                        how = (
                            f"did not stop within {STOP_TIMEOUT:g} s of SIGTERM and was killed"
                            if proxy.process.returncode == -signal.SIGKILL
                            else f"exited with {proxy.process.returncode}"
                        )
                        result.notes.append(f"{path.key} {how} (stderr: {proxy.tail()[-160:]})")
                    results.append(result)
        finally:
            children.stop_all()
        render(results, seconds, latency_calls, console)
        console.print(f"[dim]ports used: {' '.join(str(port) for port in children.ports)}[/]")
    for failure in failures:
        console.print(f"[red]failed: {failure}[/]")
    return 1 if failures or any(r.calls == 0 for r in results) else 0


async def _bounded(coroutine: Any, seconds: float) -> Result:
    async with asyncio.timeout(seconds):
        result: Result = await coroutine
    return result


def parse_station_counts(value: str) -> list[int]:
    counts = []
    for part in value.split(","):
        part = part.strip()  # noqa: PLW2901
        if not part.isdigit() or not 1 <= int(part) <= 5000:
            raise ValueError(f"'{part}' is not a station count from 1 to 5000")
        counts.append(int(part))
    if not counts:
        raise ValueError("no station counts given")
    return counts


if __name__ == "__main__":
    csms_main(sys.argv[1:])
