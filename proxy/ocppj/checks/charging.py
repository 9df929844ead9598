"""SC group: SetChargingProfile against the K01 profile rules, and the station's answer to it.

The CSMS's request is judged when it is sent; when the station then answers Accepted to a profile
that K01 says it must reject, the station gets a warning under the same rule. SC-007 judges the
length of statusInfo.reasonCode where the schema check cannot: in a CALLRESULT whose CALL the
engine did not see (a one-sided capture, a capture started mid-call).
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final

from proxy.ocppj.actions import ACTIONS, Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup, objects
from proxy.ocppj.checks.transactions import TransactionsGroup
from proxy.ocppj.findings import Severity
from proxy.ocppj.messages import CallResult
from proxy.ocppj.routing import RuleGroup, on_call, on_error, on_frame, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallError, Parsed
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

SMART_CHARGING: Final = "SmartChargingCtrlr"
REASON_CODE_LENGTH: Final = 20
RENAMED_REASON_CODES: Final = {
    "MissingDeviceModelInfo": "MissingDevModelInfo",
    "InvalidMessageSequence": "InvalidMessageSeq",
}
"""Reason codes the 2023-12 errata shortened to fit string[20]."""
REMEMBERED_REQUESTS: Final = 16


def _reason_codes(payload: Any) -> list[str]:
    """Every statusInfo reasonCode string anywhere in a payload (iteratively: nesting may be deep)."""
    found: list[str] = []
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("reasonCode"), str):
                found.append(value["reasonCode"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


class ChargingGroup(RuleGroup):
    """Keeps, per SetChargingProfile awaiting its answer, the rules its profile broke."""

    needs = (DeviceModelGroup, TransactionsGroup)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.broken: dict[str, list[str]] = {}
        """MessageId of a SetChargingProfile -> the K01 rules its profile broke."""

    def _flag(self, broken: list[str], rule_id: str, message: str, severity: Severity) -> None:
        self.session.flag(rule_id, message, severity)
        if rule_id not in broken:
            broken.append(rule_id)

    @on_call("SetChargingProfile")
    def profile_sent(self, call: Call) -> None:
        session = self.session
        payload = call.payload or {}
        profile, evse_id = payload.get("chargingProfile"), payload.get("evseId")
        if session.direction is not Direction.CSMS_TO_CHARGER or not isinstance(profile, dict):
            return
        if type(evse_id) is not int:
            return  # the schema check has said what is wrong
        broken: list[str] = []
        purpose = profile.get("chargingProfilePurpose")
        if purpose == "TxProfile":
            self._tx_profile(broken, evse_id, profile)
        elif purpose == "ChargingStationMaxProfile":
            if evse_id != 0:
                self._flag(
                    broken,
                    "SC-002",
                    f"ChargingStationMaxProfile for evseId {evse_id}; it limits the whole "
                    "station and is set on evseId 0",
                    Severity.ERROR,
                )
            if profile.get("chargingProfileKind") == "Relative":
                self._flag(
                    broken,
                    "SC-002",
                    "ChargingStationMaxProfile of kind Relative; it must be Absolute or "
                    "Recurring (K01.FR.38)",
                    Severity.ERROR,
                )
        elif purpose == "ChargingStationExternalConstraints":
            self._flag(
                broken,
                "SC-005",
                "SetChargingProfile with purpose ChargingStationExternalConstraints; such "
                "profiles come from an external system, never from the CSMS (K01.FR.22)",
                Severity.WARNING,
            )
        self._schedules(broken, profile)
        self._stack_level(broken, profile)
        if broken:
            self.broken[call.message_id] = broken
            if len(self.broken) > REMEMBERED_REQUESTS:
                del self.broken[next(iter(self.broken))]

    def _tx_profile(self, broken: list[str], evse_id: int, profile: dict[str, Any]) -> None:
        transaction_id = profile.get("transactionId")
        if evse_id <= 0:
            self._flag(
                broken,
                "SC-001",
                f"TxProfile for evseId {evse_id}; a transaction runs on one EVSE, numbered "
                "from 1 (K01.FR.16)",
                Severity.WARNING,
            )
        if not isinstance(transaction_id, str):
            self._flag(
                broken,
                "SC-001",
                "TxProfile without transactionId; the CSMS shall name the transaction it "
                "limits (K01.FR.03)",
                Severity.ERROR,
            )
            return
        transactions = self.session.group(TransactionsGroup).transactions
        transaction = transactions.get(transaction_id)
        if transaction is not None and transaction.ended_at is not None:
            self._flag(
                broken,
                "SC-006",
                f"TxProfile for transaction {transaction_id}, which ended "
                f"{self.session.now - transaction.ended_at:.0f} s ago; its TxProfiles "
                "ended with it",
                Severity.INFO,
            )
            return
        if evse_id <= 0:
            return
        if transaction is not None:
            where = transaction.evse_id
            if where is not None and where != evse_id:
                self._flag(
                    broken,
                    "SC-001",
                    f"TxProfile on evseId {evse_id} for transaction {transaction_id}, which "
                    f"runs on EVSE {where} (K01.FR.33)",
                    Severity.WARNING,
                )
            return
        running = [
            tx for tx in transactions.values() if tx.evse_id == evse_id and tx.ended_at is None
        ]
        active = max(running, key=lambda tx: tx.started_at).transaction_id if running else None
        if active is not None:
            self._flag(
                broken,
                "SC-001",
                f"TxProfile on evseId {evse_id} for transaction {transaction_id}, but "
                f"transaction {active} is the one running there (K01.FR.09, K01.FR.33)",
                Severity.WARNING,
            )

    def _schedules(self, broken: list[str], profile: dict[str, Any]) -> None:
        kind = profile.get("chargingProfileKind")
        switching = self.session.group(DeviceModelGroup).model.setting(
            SMART_CHARGING, "ACPhaseSwitchingSupported"
        )
        for schedule in objects(profile.get("chargingSchedule")):
            name = f"chargingSchedule {schedule.get('id')}"
            periods = list(objects(schedule.get("chargingSchedulePeriod")))
            starts = [
                period["startPeriod"]
                for period in periods
                if type(period.get("startPeriod")) is int
            ]
            if starts and len(starts) == len(periods):
                if starts[0] != 0:
                    self._flag(
                        broken,
                        "SC-003",
                        f"{name} begins with startPeriod {starts[0]}; the first period "
                        "starts at 0 (K01.FR.31)",
                        Severity.ERROR,
                    )
                if any(later <= earlier for earlier, later in pairwise(starts)):
                    self._flag(
                        broken,
                        "SC-003",
                        f"{name} has startPeriods {starts}; they must strictly increase "
                        "(K01.FR.35)",
                        Severity.ERROR,
                    )
            if kind in ("Absolute", "Recurring") and "startSchedule" not in schedule:
                self._flag(
                    broken,
                    "SC-004",
                    f"{name} of a {kind} profile has no startSchedule (K01.FR.40)",
                    Severity.WARNING,
                )
            elif kind == "Relative" and "startSchedule" in schedule:
                self._flag(
                    broken,
                    "SC-004",
                    f"{name} of a Relative profile has a startSchedule; a Relative schedule "
                    "starts with the transaction (K01.FR.41)",
                    Severity.WARNING,
                )
            for period in periods:
                if "phaseToUse" not in period:
                    continue
                if period.get("numberPhases") != 1:
                    self._flag(
                        broken,
                        "SC-004",
                        f"{name} has a period with phaseToUse but numberPhases "
                        f"{period.get('numberPhases', '3 (omitted)')}; phaseToUse is only for "
                        "single-phase charging (K01.FR.19)",
                        Severity.WARNING,
                    )
                elif switching is not None and switching.lower() == "false":
                    self._flag(
                        broken,
                        "SC-004",
                        f"{name} has a period with phaseToUse although the station reports "
                        "ACPhaseSwitchingSupported false (K01.FR.20)",
                        Severity.WARNING,
                    )
                break

    def _stack_level(self, broken: list[str], profile: dict[str, Any]) -> None:
        level = profile.get("stackLevel")
        limit = self.session.group(DeviceModelGroup).model.setting(
            SMART_CHARGING, "ProfileStackLevel"
        )
        if type(level) is not int or limit is None or not limit.isdigit() or level <= int(limit):
            return
        self._flag(
            broken,
            "SC-006",
            f"stackLevel {level} exceeds the station's ProfileStackLevel {limit}",
            Severity.INFO,
        )

    @on_result("SetChargingProfile")
    def profile_answered(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        broken = self.broken.pop(pending.call.message_id, [])
        available = session.group(DeviceModelGroup).model.setting(SMART_CHARGING, "Available")
        if available is not None and available.lower() == "false":
            session.flag(
                "SC-005",
                "station without smart charging (SmartChargingCtrlr.Available false) answered "
                "SetChargingProfile with a CALLRESULT; it answers a NotSupported CALLERROR "
                "(K01.FR.29)",
                Severity.WARNING,
            )
        if (result.payload or {}).get("status") != "Accepted":
            return
        for rule_id in broken:
            session.flag(
                rule_id,
                "station accepted a charging profile it must reject; see the finding on the "
                "SetChargingProfile",
                Severity.WARNING,
            )

    @on_error("SetChargingProfile")
    def profile_refused(self, pending: PendingCall, error: CallError) -> None:
        self.broken.pop(pending.call.message_id, None)

    @on_frame
    def reason_codes(self, parsed: Parsed) -> None:
        session = self.session
        connection, direction = session.connection, session.direction
        message = parsed.message
        if (
            not isinstance(message, CallResult)
            or connection is None
            or direction is None
            or "reasonCode" not in parsed.text  # most answers: no payload walk
        ):
            return
        call = session.rpc.answered_call(message.message_id, direction.reverse, connection)
        checked = call is not None and call.action in ACTIONS  # SCH-001 judges its payload
        for code in _reason_codes(message.payload):
            if not checked and len(code) > REASON_CODE_LENGTH:
                renamed = RENAMED_REASON_CODES.get(code)
                session.flag(
                    "SC-007",
                    f"statusInfo.reasonCode '{code}' has {len(code)} characters; it is a "
                    f"string[{REASON_CODE_LENGTH}]"
                    + (f" (the errata renamed it {renamed})" if renamed else ""),
                    Severity.ERROR,
                )
            elif checked and code in RENAMED_REASON_CODES:
                session.flag(
                    "SC-007",
                    f"reasonCode '{code}' is the pre-errata name; Errata 2023-12 renamed it "
                    f"{RENAMED_REASON_CODES[code]} to fit string[{REASON_CODE_LENGTH}]",
                    Severity.INFO,
                )
