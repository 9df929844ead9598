"""A station's energy meter while it charges: energy is the integral of power over (simulated)
time, power follows the EV's demand, the station's rating and the CSMS's limit. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Meter:
    max_power_kw: float
    """The station's rating."""
    register_wh: float = 0.0
    """Energy.Active.Import.Register: grows for the station's whole life, never resets."""
    limit_kw: float | None = None
    """From SetChargingProfile; None: no limit."""
    target_kwh: float | None = None
    """The EV's battery need for this session; power tapers over its last 20 % (CC/CV)."""
    session_start_wh: float = 0.0

    @property
    def session_kwh(self) -> float:
        return (self.register_wh - self.session_start_wh) / 1000.0

    def start_session(self, target_kwh: float | None = None) -> None:
        self.session_start_wh = self.register_wh
        self.target_kwh = target_kwh

    def power_kw(self) -> float:
        """What flows now."""
        power = (
            self.max_power_kw if self.limit_kw is None else min(self.max_power_kw, self.limit_kw)
        )
        if self.target_kwh is not None:
            remaining = self.target_kwh - self.session_kwh
            if remaining <= 0:
                return 0.0
            taper_from = 0.2 * self.target_kwh
            if remaining < taper_from:
                power *= max(0.05, remaining / taper_from)
        return power

    def advance(self, seconds: float, steps: int = 10) -> None:
        """Let `seconds` of charging pass (in steps, so the taper is followed)."""
        if seconds <= 0:
            return
        step = seconds / steps
        for _ in range(steps):
            energy_wh = self.power_kw() * step / 3.6  # kW x s -> Wh
            if self.target_kwh is not None:  # the battery takes no more than it needs
                energy_wh = min(energy_wh, max(0.0, self.target_kwh - self.session_kwh) * 1000)
            self.register_wh += energy_wh
