"""Which stations to simulate: a fleet file (TOML or YAML), N generated ones, or the seed
guide's five.

```toml
[[station]]
id = "emart_jeju_01"
max_power_kw = 100
evses = 1             # one connector each
vendor = "EMART"
model = "Simulator"
password = "k7Qw2ZpR9xLm4TnB"  # HTTP Basic auth (profile 1: 16-40 characters); optional
profile = "compliant" # or one of PROFILES
protocol = "ocpp1.6"  # or ocpp2.0.1, ocpp2.1; default: `simulate --protocol`
```
or in YAML (`.yaml`/`.yml`) the same fields under `station:`, a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from proxy.documents import read_document
from simulator.profiles import PROFILES
from simulator.versions import DEFAULT_VERSION, NOT_IN, VERSIONS


class FleetError(ValueError):
    """A fleet file that cannot be used; the message names the file and the station."""


@dataclass(frozen=True, slots=True)
class StationSpec:
    id: str
    max_power_kw: float
    evses: int = 1
    vendor: str = "EMART"
    model: str = "Simulator"
    password: str | None = None
    profile: str = "compliant"
    protocol: str = DEFAULT_VERSION
    """The OCPP version it speaks, by its websocket subprotocol (`simulator.versions`)."""

    @property
    def serial_number(self) -> str:
        return f"SN-{self.id}-001"


SEED_FLEET = (
    StationSpec("emart_jeju_01", 100.0),
    StationSpec("emart_jeju_02", 100.0),
    StationSpec("emart_jeju_03", 100.0),
    StationSpec("emart_shinjeju_01", 50.0),
    StationSpec("emart_shinjeju_02", 50.0),
)
"""The seed guide's five, rated as it lists them: 400 kW together (its scenario 4 says 350)."""


def generated(
    count: int, max_power_kw: float = 50.0, protocol: str = DEFAULT_VERSION
) -> list[StationSpec]:
    if not 1 <= count <= 100_000:
        raise FleetError(f"--count must be 1..100000, not {count}")
    return [
        StationSpec(f"SIM-{number:05d}", max_power_kw, protocol=protocol)
        for number in range(1, count + 1)
    ]


def load_fleet(path: Path, protocol: str = DEFAULT_VERSION) -> list[StationSpec]:
    """The stations of a fleet file; `protocol` for those that do not name theirs."""
    try:
        data = read_document(path)
    except ValueError as exc:
        raise FleetError(str(exc)) from None
    entries = data.get("station") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise FleetError(f"{path}: no stations (a list under 'station', [[station]] in TOML)")
    fleet = [_station(path, number, entry, protocol) for number, entry in enumerate(entries, 1)]
    ids = [spec.id for spec in fleet]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise FleetError(f"{path}: station id {duplicates[0]} appears twice")
    return fleet


_FIELDS = {"id", "max_power_kw", "evses", "vendor", "model", "password", "profile", "protocol"}


def _station(path: Path, number: int, entry: object, default_protocol: str) -> StationSpec:
    where = f"{path}: station {number}"
    if not isinstance(entry, dict):
        raise FleetError(f"{where}: not a table")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise FleetError(f"{where}: unknown field {unknown[0]!r}")
    station_id = entry.get("id")
    if not isinstance(station_id, str) or not 0 < len(station_id) <= 48 or "/" in station_id:
        raise FleetError(f"{where}: id must be text of 1-48 characters without '/'")
    power = entry.get("max_power_kw")
    if isinstance(power, bool) or not isinstance(power, int | float) or not 0 < power <= 1000:
        raise FleetError(f"{where} ({station_id}): max_power_kw must be a number in (0, 1000]")
    evses = entry.get("evses", 1)
    if isinstance(evses, bool) or not isinstance(evses, int) or not 1 <= evses <= 8:
        raise FleetError(f"{where} ({station_id}): evses must be 1..8")
    profile = entry.get("profile", "compliant")
    if profile not in PROFILES:
        raise FleetError(
            f"{where} ({station_id}): profile {profile!r} is not one of {', '.join(PROFILES)}"
        )
    protocol = entry.get("protocol", default_protocol)
    if protocol not in VERSIONS:
        raise FleetError(
            f"{where} ({station_id}): protocol {protocol!r} is not one of {', '.join(VERSIONS)}"
        )
    if profile in NOT_IN.get(protocol, ()):
        raise FleetError(
            f"{where} ({station_id}): profile {profile!r} does not apply to {protocol}"
        )
    text = {name: entry.get(name) for name in ("vendor", "model", "password")}
    for name, value in text.items():
        if value is not None and not isinstance(value, str):
            raise FleetError(f"{where} ({station_id}): {name} must be text")
    return StationSpec(
        id=station_id,
        max_power_kw=float(power),
        evses=evses,
        vendor=text["vendor"] or "EMART",
        model=text["model"] or "Simulator",
        password=text["password"],
        profile=profile,
        protocol=protocol,
    )
