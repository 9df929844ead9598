"""The two fleets a phase of `ocppscope bench simulate` measures side by side, behind one
`Fleet` protocol: bare `websockets` clients that only boot and heartbeat (the baseline), and the
`SimulatedStation`s of `ocppscope simulate`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any, Protocol

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from ocppscope.bench.simulate_plan import STOP_TIMEOUT, Plan
from simulator.clock import Clock
from simulator.fleet import StationSpec
from simulator.station import SimulatedStation

OPEN_TIMEOUT = 30.0
"""A station's own open timeout (its MessageTimeout); the bare clients use the same."""
CALL_TIMEOUT = 30.0
MAX_HEARTBEATS = 1_000_000


class Fleet(Protocol):
    """The stations of a phase, started one by one; what `measure` reads of them."""

    name: str
    started_at: list[float]
    sessions_due: int
    """Sessions that should be running once every station has booted."""

    def start(self, index: int) -> None: ...
    def booted_at(self, index: int) -> float | None: ...
    def on_booted(self, index: int) -> None: ...
    def calls(self) -> int: ...
    def connected(self) -> int: ...
    def reconnects(self) -> int: ...
    def queued(self) -> int: ...
    def charging(self) -> int: ...
    def failures(self) -> list[str]: ...
    async def stop(self) -> list[str]: ...


# ---- the baseline: bare websockets clients ------------------------------------------------------


class BareClient:
    """One `websockets` connection that boots and then only heartbeats, its CALLs written by hand:
    no `ocpp` library, no station logic, no reconnect; in OCPP `protocol` (a subprotocol)."""

    def __init__(self, station_id: str, protocol: str) -> None:
        self.station_id = station_id
        self.protocol = protocol
        self.booted_at: float | None = None
        self.calls = 0
        self.connected = False
        self.error: str | None = None

    async def run(self, url: str, stop: asyncio.Event) -> None:
        try:
            async with connect(
                f"{url}/{self.station_id}",
                subprotocols=[Subprotocol(self.protocol)],
                open_timeout=OPEN_TIMEOUT,
                ping_interval=None,
                max_size=None,
            ) as ws:
                answer = await self._call(ws, "BootNotification", self._boot_payload())
                if answer.get("status") != "Accepted":
                    self.error = f"BootNotification {answer.get('status')}"
                    return
                self.booted_at, self.connected = time.monotonic(), True
                interval = float(answer.get("interval") or 30)
                for _ in range(MAX_HEARTBEATS):
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(interval):
                            await stop.wait()
                    if stop.is_set():
                        return
                    await self._call(ws, "Heartbeat", {})
        except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
            self.error = type(exc).__name__
        finally:
            self.connected = False

    def _boot_payload(self) -> dict[str, Any]:
        serial = f"SN-{self.station_id}-001"
        if self.protocol == "ocpp1.6":  # OCPP 1.6 §6.2: the station's fields at the top level
            return {
                "chargePointModel": "Simulator",
                "chargePointVendor": "EMART",
                "chargePointSerialNumber": serial,
                "firmwareVersion": "1.0.0",
            }
        return {
            "chargingStation": {
                "model": "Simulator",
                "vendorName": "EMART",
                "serialNumber": serial,
                "firmwareVersion": "1.0.0",
            },
            "reason": "PowerUp",
        }

    async def _call(
        self, ws: ClientConnection, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls += 1
        message_id = str(self.calls)
        await ws.send(orjson.dumps([2, message_id, action, payload]).decode())
        async with asyncio.timeout(CALL_TIMEOUT):
            reply = orjson.loads(await ws.recv())
        if not (isinstance(reply, list) and reply[:2] == [3, message_id]):
            raise ValueError(f"unexpected reply to {action}: {str(reply)[:80]}")
        return dict(reply[2])


class BareFleet:
    name = "bare websockets (baseline)"
    sessions_due = 0

    def __init__(self, url: str, ids: list[str], protocol: str) -> None:
        self.url = url
        self.ids = ids
        self.protocol = protocol
        self.clients: list[BareClient] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.started_at: list[float] = []
        self._stop = asyncio.Event()

    def start(self, index: int) -> None:
        client = BareClient(self.ids[index], self.protocol)
        self.clients.append(client)
        self.started_at.append(time.monotonic())
        self.tasks.append(asyncio.create_task(client.run(self.url, self._stop)))

    def booted_at(self, index: int) -> float | None:
        return self.clients[index].booted_at

    def on_booted(self, index: int) -> None:
        pass

    def calls(self) -> int:
        return sum(client.calls for client in self.clients)

    def connected(self) -> int:
        return sum(client.connected for client in self.clients)

    def reconnects(self) -> int:
        return 0

    def queued(self) -> int:
        return 0

    def charging(self) -> int:
        return 0

    def failures(self) -> list[str]:
        failed = Counter(client.error for client in self.clients if client.error)
        return [f"{count:,} clients failed: {what}" for what, count in failed.most_common()]

    async def stop(self) -> list[str]:
        self._stop.set()
        return await finish_tasks(self.tasks)


# ---- the simulator ------------------------------------------------------------------------------


class SimulatedFleet:
    name = "SimulatedStation"

    def __init__(self, url: str, specs: list[StationSpec], plan: Plan) -> None:
        self.url = url
        self.specs = specs
        self.plan = plan
        self.clock = Clock()
        self.stations: list[SimulatedStation] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.started_at: list[float] = []
        self.refused: list[str] = []
        self._charging = plan.charging_indices
        self.sessions_due = len(self._charging)
        self._sessions: set[asyncio.Task[str | None]] = set()
        self._stop = asyncio.Event()

    def start(self, index: int) -> None:
        station = SimulatedStation(
            self.specs[index], self.clock, meter_interval=self.plan.meter_interval
        )
        self.stations.append(station)
        self.started_at.append(time.monotonic())
        self.tasks.append(asyncio.create_task(station.run(self.url, self._stop)))

    def booted_at(self, index: int) -> float | None:
        return self.stations[index].booted_at

    def on_booted(self, index: int) -> None:
        """A charging station plugs in as soon as it has booted; it charges until the end."""
        if index in self._charging:
            station = self.stations[index]
            task = asyncio.create_task(station.plug_in_and_charge(f"TAG-{index + 1:05d}"))
            self._sessions.add(task)
            task.add_done_callback(lambda done: self._started(station, done))

    def _started(self, station: SimulatedStation, task: asyncio.Task[str | None]) -> None:
        self._sessions.discard(task)
        if task.cancelled() or task.exception() is not None or task.result() is None:
            self.refused.append(station.spec.id)

    def calls(self) -> int:
        return sum(station.calls for station in self.stations)

    def connected(self) -> int:
        return sum(station.connected for station in self.stations)

    def reconnects(self) -> int:
        return sum(station.reconnects for station in self.stations)

    def queued(self) -> int:
        return sum(station.queued for station in self.stations)

    def charging(self) -> int:
        return sum(station.charging for station in self.stations)

    def failures(self) -> list[str]:
        if not self.refused:
            return []
        return [f"{len(self.refused):,} sessions did not start: {self.refused[0]}, …"]

    async def stop(self) -> list[str]:
        self._stop.set()
        return await finish_tasks([*self.tasks, *self._sessions])


async def finish_tasks(tasks: list[asyncio.Task[Any]]) -> list[str]:
    """Let the stations close (bounded); cancel the rest."""
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [f"{len(pending):,} stations did not close within {STOP_TIMEOUT:g} s"] if pending else []
