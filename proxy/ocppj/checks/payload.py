"""SCH-003: constraints the OCA schemas do not encode (here: dateTime precision)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from proxy.ocppj.hooks import on_frame
from proxy.ocppj.messages import CallError

if TYPE_CHECKING:
    from proxy.ocppj.messages import Parsed
    from proxy.ocppj.session import Session

_EXCESS_PRECISION = re.compile(r"T\d\d:\d\d:\d\d\.\d{4,}")
TIME_FIELDS = ("timestamp", "currentTime")


@on_frame
def datetime_precision(session: Session, parsed: Parsed) -> None:
    message = parsed.message
    if message is None or isinstance(message, CallError) or not message.payload:
        return
    for field in TIME_FIELDS:
        value = message.payload.get(field)
        if isinstance(value, str) and _EXCESS_PRECISION.search(value):
            session.flag(
                "SCH-003",
                f"{field} '{value}' has more than millisecond precision; "
                "OCPP dateTime allows at most 3 fractional digits",
            )
