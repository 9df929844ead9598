"""The CSMS's live view of its chargers (what the REST API and the map read), and the waits
the REST API needs ("answer once the station's TransactionEvent Started arrives").

Pure state plus asyncio futures; no sockets, no database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from csms.metering import Usage

K = TypeVar("K")


@dataclass(slots=True)
class Charger:
    id: str
    site: str | None
    lat: float | None
    lon: float | None
    max_power_kw: float | None
    ocpp_version: str | None = None
    """The subprotocol of its latest connection: ocpp1.6, ocpp2.0.1 or ocpp2.1."""
    status: str = "Offline"
    """Online while a WebSocket connection is open."""
    connector_status: str | None = None
    power_kw: float = 0.0
    energy_kwh: float | None = None
    transaction_id: str | None = None
    last_heartbeat: datetime | None = None
    transaction_start: datetime | None = field(default=None, repr=False)
    """Start of `transaction_id`: an offline replay of an older session must not hide it."""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["transaction_start"]
        data["last_heartbeat"] = (
            self.last_heartbeat.isoformat().replace("+00:00", "Z") if self.last_heartbeat else None
        )
        return data

    def shows(self, usage: Usage) -> bool:
        """Whether this transaction is the one to show: the current one, or a running one
        that started after it (replays of older sessions do not take over)."""
        if self.transaction_id in (None, usage.transaction_id):
            return True
        return not usage.ended and (
            self.transaction_start is None or usage.start_time > self.transaction_start
        )


@dataclass
class Fleet:
    chargers: dict[str, Charger] = field(default_factory=dict)
    version: int = 0
    """Bumped on every change; the map's event stream waits for it to move."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _started: dict[tuple[str, int], asyncio.Future[Usage]] = field(default_factory=dict)
    _ended: dict[tuple[str, str], asyncio.Future[Usage]] = field(default_factory=dict)
    watchers: list[Callable[[str, Usage], None]] = field(default_factory=list)
    """Called with (charger id, usage record) whenever a transaction's record moves (metrics)."""

    def add(self, charger: Charger) -> None:
        self.chargers[charger.id] = charger
        self.changed()

    def changed(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, seen: int, timeout: float) -> int:
        """Return the version once it differs from `seen` (or after `timeout`)."""
        if self.version == seen:
            waiter = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout)
        return self.version

    def snapshot(self) -> list[dict[str, Any]]:
        return [self.chargers[key].as_json() for key in sorted(self.chargers)]

    def usage(self, charger_id: str, usage: Usage) -> None:
        """A transaction's record moved: update the charger and whoever waits for it."""
        for watcher in self.watchers:
            watcher(charger_id, usage)
        charger = self.chargers.get(charger_id)
        if charger is not None and charger.shows(usage):
            if usage.ended:
                charger.transaction_id, charger.transaction_start = None, None
                charger.energy_kwh, charger.power_kw = None, 0.0
            else:
                charger.transaction_id, charger.transaction_start = (
                    usage.transaction_id,
                    usage.start_time,
                )
                charger.energy_kwh = usage.energy_kwh
                charger.power_kw = usage.power_kw
            self.changed()
        if usage.remote_start_id is not None:
            _resolve(self._started.pop((charger_id, usage.remote_start_id), None), usage)
        if usage.ended:
            _resolve(self._ended.pop((charger_id, usage.transaction_id), None), usage)

    def expect_start(self, charger_id: str, remote_start_id: int) -> asyncio.Future[Usage]:
        future: asyncio.Future[Usage] = asyncio.get_running_loop().create_future()
        self._started[(charger_id, remote_start_id)] = future
        return future

    def expect_end(self, charger_id: str, transaction_id: str) -> asyncio.Future[Usage]:
        future: asyncio.Future[Usage] = asyncio.get_running_loop().create_future()
        self._ended[(charger_id, transaction_id)] = future
        return future

    def forget(self, future: asyncio.Future[Usage]) -> None:
        _drop(self._started, future)
        _drop(self._ended, future)


def _drop(table: dict[K, asyncio.Future[Usage]], future: asyncio.Future[Usage]) -> None:
    for key, held in list(table.items()):
        if held is future:
            del table[key]


def _resolve(future: asyncio.Future[Usage] | None, usage: Usage) -> None:
    if future is not None and not future.done():
        future.set_result(usage)
