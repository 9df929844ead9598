"""SCH-002 (customData seen) and SCH-003 (what the OCA schemas do not encode) on any payload."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from proxy.ocppj.findings import Severity
from proxy.ocppj.messages import CallError
from proxy.ocppj.routing import RuleGroup, on_frame, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import CallResult, Parsed
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

_EXCESS_PRECISION = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{4,}[^"]*)"')


def _vendor_ids(value: Any) -> list[str]:
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            custom = item.get("customData")
            if isinstance(custom, dict) and isinstance(custom.get("vendorId"), str):
                found.append(custom["vendorId"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


class PayloadGroup(RuleGroup):
    """Remembers which customData vendors it has listed."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.custom_data_vendors: set[str] = set()

    @on_frame
    def datetime_precision(self, parsed: Parsed) -> None:
        """Every dateTime in the frame, at any depth; the raw text is searched, not the payload."""
        session = self.session
        if parsed.message is None or isinstance(parsed.message, CallError):
            return
        for value in dict.fromkeys(_EXCESS_PRECISION.findall(parsed.text)):
            session.flag(
                "SCH-003",
                f"dateTime '{value}' has more than millisecond precision; OCPP dateTime allows at "
                "most 3 fractional digits",
            )

    @on_frame
    def custom_data(self, parsed: Parsed) -> None:
        """List each customData vendorId once per station: extensions a tester should know about."""
        session = self.session
        message = parsed.message
        if message is None or isinstance(message, CallError) or '"customData"' not in parsed.text:
            return
        for vendor in _vendor_ids(message.payload):
            if vendor not in self.custom_data_vendors:
                self.custom_data_vendors.add(vendor)
                session.flag(
                    "SCH-002",
                    f"customData from vendor '{vendor}' ({parsed.message_type} of the "
                    f"{session.direction.sender if session.direction else 'peer'})",
                    Severity.INFO,
                )

    @on_result("BootNotification")
    def interval_not_negative(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        interval = (result.payload or {}).get("interval")
        if type(interval) is int and interval < 0:
            session.flag(
                "SCH-003",
                f"BootNotificationResponse interval is {interval}; an interval is a number of "
                "seconds, 0 or more",
            )
