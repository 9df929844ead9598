"""Frames as the proxy holds them (the real engine's outcome attached) and checks that a row is
one PostgreSQL takes; shared by the store's tests."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from proxy.frame import Frame, observed_frames
from proxy.store.records import COLUMNS, Row, Table
from tests.ocppj.wire import Wire

HOSTILE_FRAMES: list[str | bytes] = [
    "not json \x00 at all",
    "\x00",
    '[2,"h1","Heartbeat",{"note":"\\u0000"}]',
    '[2,"h\\u0000","Heartbeat",{}]',
    '[2,"h3","Data\\u0000Transfer",{}]',
    '{"k\\u0000":1}',
    '[4,"h4","GenericError","\\u0000",{"x":"\\u0000"}]',
    '[2,"h5","NoSuchAction",{"x":"\\ud800"}]',
    '[3,"h6",{"x":"\\udc00"}]',
    '[2,"\\ud800","Heartbeat",{}]',
    '{"x":"\\ud800\\u0000"}',
    '[4,"h7","GenericError","\\ud800",{}]',
    b"\x00\xff\xfe",
    b'[2,"h8","Heartbeat",{"x":"\\u0000"}]',
]
"""Frames a charger can send (valid UTF-8 text or binary) that hold what PostgreSQL refuses:
NUL characters, \\u0000 escapes and unpaired surrogate escapes, in every part of a message."""

_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
"""The JSON escape \\u0000 (an odd number of backslashes before u0000): jsonb refuses it."""


def engine_frames(wire: Wire) -> list[Frame]:
    """The wire's frames as the proxy holds them: each fed to the engine, its outcome attached."""
    return observed_frames(wire.events)


def lone_frame(data: str | bytes, sender: str = "charger") -> Frame:
    """One frame on a freshly opened connection."""
    return engine_frames(Wire().open().raw(data, sender))[-1]


def as_dict(table: Table, row: Row) -> dict[str, Any]:
    """The row by column name; fails when the row does not have one value per column."""
    return dict(zip(COLUMNS[table], row, strict=True))


def assert_text_storable(value: str) -> None:
    """PostgreSQL's text type holds no NUL and only valid UTF-8."""
    assert "\x00" not in value
    value.encode("utf-8")  # raises on a lone surrogate


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def assert_jsonb_storable(payload: str) -> None:
    """What jsonb refuses: invalid JSON, the \\u0000 escape, unpaired surrogate escapes."""
    assert not _NUL_ESCAPE.search(payload), payload
    stack: list[Any] = [json.loads(payload, parse_constant=_reject_constant)]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            assert_text_storable(value)
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def assert_row_storable(table: Table, row: Row) -> None:
    for name, value in as_dict(table, row).items():
        if name == "payload":
            assert isinstance(value, str)
            assert_jsonb_storable(value)
        elif isinstance(value, str):
            assert_text_storable(value)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
