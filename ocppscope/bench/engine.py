"""`ocppscope bench engine`: frames/s of the conformance engine against the ocpp library's validation.

Both run in the same process on the same frames, so the ratio holds on a noisy machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.table import Table

from ocppscope.bench.engine_traffic import Timed
from ocppscope.bench.traffic16 import station_traffic16
from ocppscope.bench.traffic201 import station_traffic201
from proxy.ocppj.events import Event, Frame
from proxy.ocppj.schemas import compile_all
from proxy.ocppj.session import Monitor
from proxy.ocppj.versions import OCPP16, OCPP201, VERSIONS

BASELINE_FRAMES = 3000

DAYS: dict[str, Callable[[int, int], Iterator[Timed]]] = {
    OCPP201: station_traffic201,
    OCPP16: station_traffic16,
}
"""The station day of each version the benchmark feeds."""


def synthetic_traffic(stations: int, minutes: int, version: str = OCPP201) -> list[Event]:
    """A fleet's frames interleaved in time order, as the proxy would see them."""
    timeline = [
        (at, index, order, event)
        for index in range(stations)
        for at, order, event in DAYS[version](index, minutes)
    ]
    timeline.sort(key=lambda item: item[:3])
    return [item[3] for item in timeline]


def _engine_rate(events: list[Event]) -> tuple[float, int, int]:
    monitor = Monitor()
    frames = findings = 0
    started = time.process_time()
    for event in events:
        findings += len(monitor.feed(event).findings)
        frames += isinstance(event, Frame)
    findings += len(monitor.finish(events[-1].timestamp))
    return frames / (time.process_time() - started), frames, findings


def _ocpp_library_rate(frames: list[Frame]) -> float:
    """The ocpp package's own path: unpack the frame, then validate its payload by schema."""
    from ocpp.messages import Call, CallResult, _validate_payload, unpack  # noqa: PLC0415

    actions: dict[str, str] = {}
    started = time.process_time()
    for frame in frames:
        message = unpack(frame.data)
        if isinstance(message, Call):
            actions[message.unique_id] = message.action
            _validate_payload(message, "2.0.1")
        elif isinstance(message, CallResult):
            message.action = actions.pop(message.unique_id)
            _validate_payload(message, "2.0.1")
    return len(frames) / (time.process_time() - started)


def run_engine_benchmark(stations: int, minutes: int, console: Console) -> None:
    """Both fleets, 2.0.1 first; the library baseline runs on the 2.0.1 frames."""
    fleets = {version: synthetic_traffic(stations, minutes, version) for version in DAYS}
    frames = [event for event in fleets[OCPP201] if isinstance(event, Frame)]
    for version in DAYS:
        compile_all(VERSIONS[version])
    _ocpp_library_rate(frames[:50])  # warm both sides' schema caches
    rates = {version: _engine_rate(events) for version, events in fleets.items()}
    library_rate = _ocpp_library_rate(frames[:BASELINE_FRAMES])
    counts = " and ".join(f"{count:,} {version}" for version, (_, count, _) in rates.items())
    table = Table(
        title=f"Conformance engine, {stations} stations x {minutes} min per version "
        f"({counts} frames), CPU time on one core",
        title_justify="left",
    )
    for column in ("what", "frames/s", "µs/frame", "vs ocpp library"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for version, (rate, _, _) in rates.items():
        table.add_row(
            f"ocppscope engine, {version}, all rules",
            f"{rate:,.0f}",
            f"{1e6 / rate:.1f}",
            f"{rate / library_rate:.0f}x",
        )
    table.add_row(
        f"ocpp library unpack + validate ({min(BASELINE_FRAMES, len(frames)):,} frames)",
        f"{library_rate:,.0f}",
        f"{1e6 / library_rate:.1f}",
        "1x",
    )
    console.print(table)
    ratio = rates[OCPP16][0] / rates[OCPP201][0]
    console.print(f"ocpp1.6 / ocpp2.0.1 engine throughput: {ratio:.2f}")
    for version, (_, _, findings) in rates.items():
        console.print(f"findings on this compliant {version} traffic: {findings}")
