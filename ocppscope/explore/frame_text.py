"""The text of a stored frame.

The message log keeps each frame's exact bytes (`raw`) beside its parsed payload (jsonb, which
reorders keys and respells numbers): the text is those bytes. Rows written before the raw column
existed have none, and their frame is rebuilt from the columns: the OCPP-J array re-serialised,
with jsonb's key order and number spelling. Everything that shows or exports a frame's text
calls `frame_text`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

BINARY_PREFIX = "base64:"
"""How the store writes a binary frame into the payload column (see proxy/store/records.py)."""


def frame_text(
    message_type: str,
    message_id: str | None,
    action: str | None,
    payload: Any,
    raw: bytes | None = None,
) -> str:
    """The frame as it crossed the wire when its bytes were stored (a binary frame as
    BINARY_PREFIX + base64), else rebuilt as OCPP-J text (OCPP-J 2.0.1 §4.2): CALL [2, id,
    action, payload], CALLRESULT [3, id, payload], CALLERROR [4, id, code, description,
    details]; an INVALID frame's stored JSON, or its text when it was not JSON."""
    if raw is not None:
        if isinstance(payload, str) and payload.startswith(BINARY_PREFIX):
            return BINARY_PREFIX + base64.b64encode(raw).decode("ascii")
        return raw.decode("utf-8", errors="replace")
    if isinstance(payload, list) and message_type != "INVALID":
        return _compact(payload)  # a frame the engine did not parse, stored whole
    if message_type == "CALL":
        return _compact([2, message_id, action, payload])
    if message_type == "CALLRESULT":
        return _compact([3, message_id, payload])
    if message_type == "CALLERROR" and isinstance(payload, dict):
        return _compact(
            [
                4,
                message_id,
                payload.get("errorCode"),
                payload.get("errorDescription"),
                payload.get("errorDetails"),
            ]
        )
    if isinstance(payload, str):
        return payload
    return _compact(payload)


def binary_frame(text: str) -> str | None:
    """The base64 of a binary frame's stored text, None for a text frame."""
    return text[len(BINARY_PREFIX) :] if text.startswith(BINARY_PREFIX) else None


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
