"""DM group, firmware updates (L01): each status report names the update's requestId, and the
station announces InstallRebooting before it restarts to install."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from proxy.ocppj.actions import Direction
from proxy.ocppj.routing import RuleGroup, on_call, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

STARTED: Final = frozenset({"Accepted", "AcceptedCanceled"})
"""UpdateFirmware answers after which the station works on the new update."""
FINAL: Final = frozenset(
    {
        "Installed",
        "InstallationFailed",
        "DownloadFailed",
        "InstallVerificationFailed",
        "InvalidSignature",
    }
)
"""Firmware statuses that end an update."""


@dataclass(slots=True)
class Update:
    request_id: int
    rebooting: bool = False
    """InstallRebooting was reported."""


class FirmwareGroup(RuleGroup):
    """Follows the firmware update the station accepted, from UpdateFirmware to its last status."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.update: Update | None = None

    @on_result("UpdateFirmware")
    def accepted(self, pending: PendingCall, result: CallResult) -> None:
        request_id = pending.payload.get("requestId")
        if (result.payload or {}).get("status") in STARTED and type(request_id) is int:
            self.update = Update(request_id)

    @on_call("FirmwareStatusNotification")
    def status_reported(self, call: Call) -> None:
        """DM-006: while an update runs, every status but Idle carries its requestId."""
        session = self.session
        update = self.update
        payload = call.payload or {}
        status = payload.get("status")
        if session.direction is not Direction.CHARGER_TO_CSMS or update is None:
            return
        if status == "Idle":
            return
        request_id = payload.get("requestId")
        if request_id != update.request_id:
            named = "no requestId" if request_id is None else f"requestId {request_id}"
            session.flag(
                "DM-006",
                f"FirmwareStatusNotification {status} has {named}; the update in progress "
                f"is UpdateFirmware requestId {update.request_id}",
            )
        if status == "InstallRebooting":
            update.rebooting = True
        elif status in FINAL:
            self.update = None

    @on_call("BootNotification")
    def restarted(self, call: Call) -> None:
        """DM-006: a restart to install is announced with InstallRebooting first (L01.FR.15)."""
        session = self.session
        update = self.update
        if (
            session.direction is Direction.CHARGER_TO_CSMS
            and update is not None
            and (call.payload or {}).get("reason") == "FirmwareUpdate"
            and not update.rebooting
        ):
            session.flag(
                "DM-006",
                f"station restarted for firmware update {update.request_id} (BootNotification "
                "reason FirmwareUpdate) without reporting InstallRebooting first",
            )
            update.rebooting = True  # one finding per restart
