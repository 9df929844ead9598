"""Energy, power, duration and cost of a transaction from its TransactionEvents. Pure code.

A transaction is judged from all of its events at once, by seqNo, so offline replays (old
timestamps, out-of-order seqNos, `offline: true`) and repeated events give the same record as a
session seen live, and a repeated Ended changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
_UNIT_SCALE = {"Wh": 0.001, "kWh": 1.0, "W": 0.001, "kW": 1.0}
"""To kWh and kW. OCPP's defaults are Wh and W (Part 2, UnitOfMeasureType)."""


@dataclass(frozen=True, slots=True)
class Sample:
    timestamp: datetime
    energy_kwh: float | None
    """The meter register, not energy of the session."""
    power_kw: float | None


def samples(meter_values: list[dict[str, Any]] | None) -> list[Sample]:
    """Register and power readings of OCPP MeterValueType objects (camelCase, as on the wire).

    A sampled value without a measurand is the energy register (the spec's default); per-phase
    values count only when no total is given (power: their sum).
    """
    found = []
    for meter_value in meter_values or ():
        when = parse_time(meter_value["timestamp"])
        totals: dict[str, float] = {}
        phases: dict[str, float] = {}
        for sampled in meter_value.get("sampledValue", ()):
            measurand = sampled.get("measurand", ENERGY)
            if measurand not in (ENERGY, POWER):
                continue
            value = _scaled(sampled)
            if sampled.get("phase"):
                phases[measurand] = phases.get(measurand, 0.0) + value
            else:
                totals.setdefault(measurand, value)
        energy = totals.get(ENERGY)
        power = totals.get(POWER, phases.get(POWER))
        if energy is not None or power is not None:
            found.append(Sample(when, energy, power))
    return found


def _scaled(sampled: dict[str, Any]) -> float:
    unit = sampled.get("unitOfMeasure") or {}
    name = unit.get("unit") or ("Wh" if sampled.get("measurand", ENERGY) == ENERGY else "W")
    scale = _UNIT_SCALE.get(name, 1.0) * 10 ** int(unit.get("multiplier", 0))
    return float(sampled["value"]) * scale


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(slots=True)
class Event:
    """What a TransactionEvent tells about its transaction."""

    seq_no: int
    event_type: str
    """Started, Updated or Ended."""
    timestamp: datetime
    samples: list[Sample]
    charging_state: str | None = None
    stopped_reason: str | None = None
    id_token: str | None = None
    remote_start_id: int | None = None
    evse_id: int | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """One row of charger_usage_log."""

    transaction_id: str
    start_time: datetime
    end_time: datetime | None
    energy_kwh: float
    cost: float
    duration_seconds: int
    power_kw: float
    """The latest power reading (0 once ended)."""
    stopped_reason: str | None
    id_token: str | None
    remote_start_id: int | None
    evse_id: int | None

    @property
    def ended(self) -> bool:
        return self.end_time is not None


@dataclass
class Transaction:
    transaction_id: str
    events: dict[int, Event] = field(default_factory=dict)

    def add(self, event: Event) -> None:
        """A repeated seqNo (a retransmission) replaces the earlier copy."""
        self.events[event.seq_no] = event

    def usage(self, price_per_kwh: float) -> Usage:
        events = sorted(self.events.values(), key=lambda e: (e.timestamp, e.seq_no))
        started = next((e for e in events if e.event_type == "Started"), events[0])
        ended = next((e for e in reversed(events) if e.event_type == "Ended"), None)
        readings = sorted((s for e in events for s in e.samples), key=lambda s: s.timestamp)
        registers = [s.energy_kwh for s in readings if s.energy_kwh is not None]
        energy = max(0.0, registers[-1] - registers[0]) if len(registers) > 1 else 0.0
        powers = [s.power_kw for s in readings if s.power_kw is not None]
        last = ended or events[-1]
        duration = (last.timestamp - started.timestamp).total_seconds()
        return Usage(
            transaction_id=self.transaction_id,
            start_time=started.timestamp,
            end_time=ended.timestamp if ended else None,
            energy_kwh=round(energy, 4),
            cost=round(energy * price_per_kwh, 2),
            duration_seconds=max(0, round(duration)),
            power_kw=0.0 if ended or not powers else powers[-1],
            stopped_reason=ended.stopped_reason if ended else None,
            id_token=next((e.id_token for e in events if e.id_token), None),
            remote_start_id=next((e.remote_start_id for e in events if e.remote_start_id), None),
            evse_id=next((e.evse_id for e in events if e.evse_id is not None), None),
        )


def event_from_request(request: dict[str, Any]) -> tuple[str, Event]:
    """(transactionId, Event) of a TransactionEventRequest payload (camelCase)."""
    info = request["transactionInfo"]
    token = request.get("idToken") or {}
    evse = request.get("evse") or {}
    return info["transactionId"], Event(
        seq_no=int(request["seqNo"]),
        event_type=request["eventType"],
        timestamp=parse_time(request["timestamp"]),
        samples=samples(request.get("meterValue")),
        charging_state=info.get("chargingState"),
        stopped_reason=info.get("stoppedReason"),
        id_token=token.get("idToken"),
        remote_start_id=info.get("remoteStartId"),
        evse_id=evse.get("id"),
    )
