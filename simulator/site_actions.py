"""What the driver and the site do to a station (the control surface, `simulator.control`, and the
scenarios): plug an EV in or out, an EVSE failing and being repaired. Each changes the EVSE's
state, ends its session where it must, and reports the new status."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.evse import Evse


class SiteActions:
    """Mixed into `SimulatedStation`, whose `evse`, `stop_charging` and `_report` it uses."""

    if TYPE_CHECKING:  # what SimulatedStation provides, declared for the type checker

        def evse(self, number: int) -> Evse: ...
        def _report(self, evse: Evse) -> None: ...
        async def stop_charging(
            self, reason: str = "Local", evse: int | None = None
        ) -> float | None: ...

    def plug_in(self, evse: int) -> bool:
        """An EV is plugged in (Occupied; a remote or local start charges it); False if one
        already is."""
        state = self.evse(evse)
        if state.plugged:
            return False
        state.plugged = True
        self._report(state)
        return True

    async def unplug(self, evse: int) -> bool:
        """The EV leaves: a running session ends (EVDisconnected); False if none was there."""
        state = self.evse(evse)
        if not state.plugged:
            return False
        state.plugged = state.finished = False
        if state.session is not None:
            await self.stop_charging("EVDisconnected", evse)
        self._report(state)
        return True

    async def fault(self, evse: int) -> None:
        """The EVSE fails: Faulted, and its session ends (stoppedReason Other)."""
        state = self.evse(evse)
        state.faulted = True
        if state.session is not None:
            await self.stop_charging("Other", evse)
        self._report(state)

    def repair(self, evse: int) -> None:
        state = self.evse(evse)
        state.faulted = False
        self._report(state)
