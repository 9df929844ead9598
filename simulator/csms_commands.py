"""What the CSMS asks of a station beyond sessions (called by `simulator.link`): Reset,
ChangeAvailability, a status report, SetVariables. The answers follow OCPP 2.0.1: a reset or an
availability change waits for a running session when it must (Scheduled)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from simulator.backoff import Reconnect
from simulator.clock import Clock
from simulator.evse import Evse
from simulator.link import Attached
from simulator.variables import Settings


class CsmsCommands:
    """Mixed into `SimulatedStation`: its state below, its `charging` and `_report`."""

    evses: dict[int, Evse]
    settings: Settings
    reconnect: Reconnect
    clock: Clock
    _link: Attached | None
    _reboot: asyncio.Event
    _reset_when_idle: bool

    if TYPE_CHECKING:  # what SimulatedStation provides, declared for the type checker

        @property
        def charging(self) -> bool: ...
        def _report(self, evse: Evse) -> None: ...

    def reset_answer(self, kind: str) -> str:
        """ResetStatusEnumType for a Reset of the whole station."""
        return "Scheduled" if kind == "OnIdle" and self.charging else "Accepted"

    def reset(self, kind: str) -> None:
        """Reboot now (Immediate, or OnIdle when idle: sessions end with ImmediateReset) or
        once the last session ends; then connect and boot again at once (RemoteReset)."""
        if self.reset_answer(kind) == "Scheduled":
            self._reset_when_idle = True
        else:
            self._reboot.set()

    def change_availability(self, operative: bool, evse: int) -> str:
        """ChangeAvailability for EVSE `evse` (0: the whole station); a charging EVSE made
        Inoperative changes once its session ends. ChangeAvailabilityStatusEnumType."""
        if evse != 0 and evse not in self.evses:
            return "Rejected"
        scheduled = False
        for state in self.evses.values() if evse == 0 else [self.evses[evse]]:
            if state.session is not None and not operative:
                state.pending_operative = False
                scheduled = True
            else:
                state.operative, state.pending_operative = operative, None
        return "Scheduled" if scheduled else "Accepted"

    def report_all(self) -> None:
        """StatusNotifications for the EVSEs whose status changed."""
        for state in self.evses.values():
            self._report(state)

    def _apply_backoff(self) -> None:
        policy = self.reconnect.policy
        policy.wait_minimum = float(self.settings.retry_wait_minimum)
        policy.random_range = float(self.settings.retry_random_range)
        policy.repeat_times = self.settings.retry_repeat_times

    def set_variable(self, name: str, value: int) -> None:
        self.settings.set(name, value)
        if name.startswith("RetryBackOff"):
            self._apply_backoff()
        if name == "MessageTimeout" and self._link is not None:
            self._link._response_timeout = self.clock.real(value)
