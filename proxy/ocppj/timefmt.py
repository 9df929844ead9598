"""RFC 3339 timestamps as OCPP carries them, to and from epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_datetime(value: Any) -> float | None:
    """Epoch seconds of an OCPP dateTime, or None when it is not one (the schema check says why)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_datetime(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds, as stations and reports show time."""
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
