"""What both versions' synthetic station days for `ocppscope bench engine` share: the clock, the
periods, and `Talk`, which numbers a station's frames and answers each CALL."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from proxy.ocppj.actions import Direction
from proxy.ocppj.events import ConnectionOpened, Event, Frame

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
HEARTBEAT, METER_PERIOD, SESSION_LENGTH, POLL_PERIOD = 30.0, 5.0, 1800.0, 300.0
UP, DOWN = Direction.CHARGER_TO_CSMS, Direction.CSMS_TO_CHARGER

Timed = tuple[float, int, Event]
"""An event with its time and its place in the station's order, for interleaving a fleet."""


class Talk:
    """One station's frames in order, each CALL with a fresh MessageId and its answer 12 ms later."""

    def __init__(self, index: int, station: str) -> None:
        self.index, self.station, self.connection = index, station, f"{station}#1"
        self._ids = itertools.count(1)
        self._order = itertools.count()

    def opened(self, at: float, version: str) -> Timed:
        path = f"/ocpp/{self.station}"
        opened = ConnectionOpened(at, self.station, self.connection, path, (version,), version)
        return at, next(self._order), opened

    def frame(self, at: float, direction: Direction, message: list[Any]) -> Timed:
        text = json.dumps(message, separators=(",", ":"))
        return at, next(self._order), Frame(at, self.station, self.connection, direction, text)

    def call(
        self,
        at: float,
        direction: Direction,
        action: str,
        request: dict[str, Any],
        response: dict[str, Any],
    ) -> Iterator[Timed]:
        message_id = f"{self.index:05d}-{next(self._ids):08d}"
        yield self.frame(at, direction, [2, message_id, action, request])
        yield self.frame(at + 0.012, direction.reverse, [3, message_id, response])
