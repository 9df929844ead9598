"""SCH-002 (customData seen) and SCH-003 (what the OCA schemas do not encode) on any payload."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from proxy.ocppj.findings import Severity
from proxy.ocppj.hooks import on_frame, on_result
from proxy.ocppj.messages import CallError

if TYPE_CHECKING:
    from proxy.ocppj.messages import CallResult, Parsed
    from proxy.ocppj.session import PendingCall, Session

_EXCESS_PRECISION = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{4,}[^"]*)"')


@on_frame
def datetime_precision(session: Session, parsed: Parsed) -> None:
    """Every dateTime in the frame, at any depth; the raw text is searched, not the payload."""
    if parsed.message is None or isinstance(parsed.message, CallError):
        return
    for value in dict.fromkeys(_EXCESS_PRECISION.findall(parsed.text)):
        session.flag(
            "SCH-003",
            f"dateTime '{value}' has more than millisecond precision; OCPP dateTime allows at "
            "most 3 fractional digits",
        )


@on_frame
def custom_data(session: Session, parsed: Parsed) -> None:
    """List each customData vendorId once per station: extensions a tester should know about."""
    message = parsed.message
    if message is None or isinstance(message, CallError) or '"customData"' not in parsed.text:
        return
    for vendor in _vendor_ids(message.payload):
        if vendor not in session.custom_data_vendors:
            session.custom_data_vendors.add(vendor)
            session.flag(
                "SCH-002",
                f"customData from vendor '{vendor}' ({parsed.message_type} of the "
                f"{session.direction.sender if session.direction else 'peer'})",
                Severity.INFO,
            )


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


@on_result("BootNotification")
def interval_not_negative(session: Session, pending: PendingCall, result: CallResult) -> None:
    interval = (result.payload or {}).get("interval")
    if type(interval) is int and interval < 0:
        session.flag(
            "SCH-003",
            f"BootNotificationResponse interval is {interval}; an interval is a number of "
            "seconds, 0 or more",
        )
