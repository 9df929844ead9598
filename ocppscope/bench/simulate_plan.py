"""What `ocppscope bench simulate` runs (`Plan`, the command's options, and the time budget
its waits add up to) and what one phase measured (`Phase`, with the per-station figures derived
from it). Plain data, no I/O: the baseline's child hands its Phase over as JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from simulator.versions import DEFAULT_VERSION

BOOT_GRACE = 60.0
"""Seconds after the last connection started that the stations get to boot."""
CHARGE_GRACE = 10.0
SETTLE = 2.0
"""Seconds between the last boot (and session start) and the steady window."""
STOP_TIMEOUT = 30.0
"""Seconds the stations get to end their sessions and close."""


CSMS_KINDS = {
    "reference": "`ocppscope csms` on PostgreSQL",
    "stand-in": "the stand-in CSMS of `bench proxy` (a CALLRESULT for every CALL, no database)",
}


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run: the command's options."""

    stations: int = 10_000
    rate: float = 200.0
    """Connections started per second."""
    charging: float = 0.1
    """Share of the simulated stations that charge during the run."""
    heartbeat: int = 30
    meter_interval: float = 5.0
    hold: float = 60.0
    baseline: bool = True
    csms: str = "reference"
    """A key of CSMS_KINDS."""
    gc_tuning: bool = True
    """The proxy's garbage-collector tuning before the stations start (`tune_garbage_collector`)
    and gc.freeze() once they run: with CPython's defaults a full collection walks every
    station's objects several times a minute, for seconds at 10,000."""
    protocol: str = DEFAULT_VERSION
    """The OCPP version both fleets speak (a subprotocol of `simulator.versions`)."""

    @property
    def metering(self) -> str:
        """What a session sends every meter interval: 1.6 has MeterValues (OCPP 1.6 §4.7), the
        later versions a TransactionEvent Updated."""
        return "MeterValues" if self.protocol == "ocpp1.6" else "TransactionEvent"

    @property
    def charging_indices(self) -> frozenset[int]:
        """`charging` of the stations, spread evenly over the start order."""
        share = self.charging
        return frozenset(
            i for i in range(self.stations) if math.floor((i + 1) * share) > math.floor(i * share)
        )

    def budget(self) -> float:
        """Seconds a phase may take at most: every wait, with room for a loop that is late."""
        waits = self.stations / self.rate + BOOT_GRACE + CHARGE_GRACE + SETTLE + self.hold
        return 1.5 * waits + STOP_TIMEOUT + 10


@dataclass
class Phase:
    """One phase's numbers; plain data, so the baseline's child can hand it over as JSON."""

    name: str
    stations: int
    booted: int = 0
    all_booted_seconds: float | None = None
    """From the first connection started to the last BootNotification accepted."""
    last_boot_seconds: float | None = None
    boot_p50_ms: float | None = None
    boot_p99_ms: float | None = None
    charging: int = 0
    """Sessions running when the steady window began."""
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    connect_seconds: float = 0.0
    connect_cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds in the connect phase: `stations` (this process) and each watched process."""
    hold_seconds: float = 0.0
    hold_cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds in the steady window, as `connect_cpu`, plus `machine` (every process)."""
    watched_rss_mb: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    """CALLs sent in the steady window."""
    expected_calls_per_second: float = 0.0
    calls_due_min: int = 0
    """CALLs the window holds at least when every station keeps its schedule, whatever its
    phase: floor(window / interval) per heartbeat and per session."""
    lag_p99_ms: float | None = None
    lag_max_ms: float | None = None
    connected_end: int = 0
    reconnects: int = 0
    """Reconnects during the steady window."""
    queued_end: int = 0
    """TransactionEvents waiting to be sent when the steady window ended."""
    gc_seconds: float = 0.0
    """Time the cyclic garbage collector held the stations' event loop in the steady window."""
    gc_longest_ms: float = 0.0
    gc_full: int = 0
    """Collections of the oldest generation in the steady window."""
    errors: list[str] = field(default_factory=list)
    """What went wrong up to the end of the steady window."""
    notes: list[str] = field(default_factory=list)
    """What went wrong while the stations closed, after the measurements."""

    @property
    def rss_kb_per_station(self) -> float | None:
        if not self.booted:
            return None
        return (self.rss_end_mb - self.rss_start_mb) * 1024 / self.booted

    def share(self, process: str, *, connect: bool = False) -> float | None:
        """CPU of `process` as a share of one core, in the steady window or the connect phase."""
        used = (self.connect_cpu if connect else self.hold_cpu).get(process)
        seconds = self.connect_seconds if connect else self.hold_seconds
        return None if used is None or seconds <= 0 else used / seconds

    @property
    def cpu_ms_per_station_minute(self) -> float | None:
        used = self.hold_cpu.get("stations")
        if used is None or not self.booted or self.hold_seconds <= 0:
            return None
        return used * 1000 / (self.booted * self.hold_seconds / 60)

    @property
    def cpu_us_per_call(self) -> float | None:
        used = self.hold_cpu.get("stations")
        return None if used is None or not self.calls else used * 1e6 / self.calls

    @property
    def calls_per_second(self) -> float | None:
        return self.calls / self.hold_seconds if self.hold_seconds > 0 else None

    @property
    def steady(self) -> bool:
        """Every station booted and stayed connected, kept its schedule (98 % of the CALLs
        surely due; the rest of the shortfall may be phase), nothing piled up and the event loop
        was never late by a second."""
        return (
            self.booted == self.stations
            and self.connected_end == self.stations
            and self.reconnects == 0
            and self.calls >= 0.98 * self.calls_due_min
            and self.queued_end <= self.charging
            and (self.lag_max_ms or 0.0) < 1000
        )
