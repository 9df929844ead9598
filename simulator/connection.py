"""How a station stays connected to its CSMS: connect (Basic auth, its version's subprotocol),
boot and announce, heartbeats and TransactionEvent delivery while the connection lasts, a clean
shut-down that drains the queue, and the OCPP back-off between attempts (a Reset reconnects at
once, RemoteReset)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from typing import TYPE_CHECKING, Any, cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake
from websockets.typing import Subprotocol

from simulator.backoff import Reconnect
from simulator.clock import Clock
from simulator.dialect import Dialect
from simulator.evse import Evse
from simulator.fleet import StationSpec
from simulator.link import Attached
from simulator.outbox import Outbox
from simulator.profiles import Behaviour
from simulator.variables import Settings
from simulator.versions import DEFAULT_VERSION

if TYPE_CHECKING:
    from simulator.station import SimulatedStation

log = logging.getLogger("ocppscope.simulator")

SUBPROTOCOL = DEFAULT_VERSION
"""What a station speaks unless its spec says otherwise (bench simulate's bare clients too)."""
DRAIN_TIMEOUT = 10.0
"""Real seconds a station stopping or rebooting gives its queue to reach the CSMS."""


class Offline(Exception):
    """The station has no usable connection to its CSMS."""


class NoAnswer(Offline):
    """The CSMS did not answer within MessageTimeout; the connection may still be up."""


class StationConnection:
    """Mixed into `SimulatedStation`: its state below, and its `_boot`, `_announce`,
    `_heartbeats`, `_transmit`, `stop_all` and `_cancel_background`."""

    spec: StationSpec
    behaviour: Behaviour
    protocol: Dialect
    clock: Clock
    settings: Settings
    reconnect: Reconnect
    evses: dict[int, Evse]
    outbox: Outbox
    attempts: list[tuple[float, float]]
    reconnects: int
    lost_at: float | None
    boot_reason: str
    _link: Attached | None
    _booted: bool
    _reboot: asyncio.Event

    if TYPE_CHECKING:  # what SimulatedStation provides, declared for the type checker

        async def _boot(self, reason: str) -> None: ...
        async def _announce(self) -> None: ...
        async def _heartbeats(self) -> None: ...
        async def _transmit(self, payload: dict[str, Any]) -> None: ...
        async def stop_all(self, reason: str) -> None: ...
        async def _cancel_background(self) -> None: ...

    async def run(self, url: str, stop_event: asyncio.Event) -> None:
        """Stay connected to `url` (the CSMS's base; the station id is appended) until
        `stop_event`; then end the sessions and close the socket."""
        target = f"{url.rstrip('/')}/{self.spec.id}"
        try:
            while not stop_event.is_set():
                with contextlib.suppress(OSError, InvalidHandshake, TimeoutError, Offline):
                    ws = await self._connect(target)
                    self.reconnect.connected()
                    await self._serve(ws, stop_event)
                if stop_event.is_set():
                    break
                if self._reboot.is_set():  # a Reset: boot again at once, not a lost link
                    self._reboot.clear()
                    self.boot_reason = "RemoteReset"
                    continue
                await self._back_off(stop_event)
        finally:
            await self._cancel_background()

    async def _connect(self, target: str) -> ClientConnection:
        headers = {}
        if self.spec.password is not None:
            secret = base64.b64encode(f"{self.spec.id}:{self.spec.password}".encode()).decode()
            headers["Authorization"] = f"Basic {secret}"
        return await connect(
            target,
            proxy=None,  # stations talk to the CSMS (or ocppscope) directly, whatever http_proxy says
            subprotocols=[Subprotocol(self.protocol.subprotocol)],
            additional_headers=headers,
            open_timeout=self.clock.real(self.settings.message_timeout),
            ping_interval=None,
            max_size=None,
        )

    async def _back_off(self, stop_event: asyncio.Event) -> None:
        """Wait as OCPPCommCtrlr.RetryBackOff* says (simulated time) before the next attempt."""
        wait = self.reconnect.next_wait()
        if not self.behaviour.backs_off and self.reconnect.attempt == 1:
            wait = 0.0
        log.info("%s: reconnect attempt %d in %.1f s", self.spec.id, self.reconnect.attempt, wait)
        if not await self.clock.wait(stop_event, wait):
            self.attempts.append((self.clock.now(), wait))
            self.reconnects += 1

    async def _serve(self, ws: ClientConnection, stop_event: asyncio.Event) -> None:
        """One connection: boot, announce, heartbeats and delivery until it drops, the station
        reboots or we stop."""
        station = cast("SimulatedStation", self)  # the one class this is mixed into
        link = self.protocol.link(
            self.spec.id, ws, self.clock.real(self.settings.message_timeout), station
        )
        self._link = link
        reader = link.reader = asyncio.create_task(link.start())
        workers: list[asyncio.Task[Any]] = [reader]
        try:
            await self._boot(self.boot_reason)
            self.boot_reason = "PowerUp"
            await self._announce()
            stopper = asyncio.create_task(stop_event.wait())
            rebooter = asyncio.create_task(self._reboot.wait())
            workers += [
                asyncio.create_task(self._heartbeats()),
                asyncio.create_task(self.outbox.deliver(self._transmit)),
                stopper,
                rebooter,
            ]
            await asyncio.wait({reader, stopper, rebooter}, return_when=asyncio.FIRST_COMPLETED)
            if stopper.done():
                await self._shut_down("Local")
            elif rebooter.done():
                await self._shut_down("ImmediateReset")
        finally:
            self._link, self._booted = None, False
            self.lost_at = self.clock.now()
            for evse in self.evses.values():
                evse.reported = None
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)

    async def _shut_down(self, reason: str) -> None:
        """End the sessions and deliver what is queued (bounded), before the socket closes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_all(reason), DRAIN_TIMEOUT)
            await asyncio.wait_for(self._drained(), DRAIN_TIMEOUT)

    async def _drained(self) -> None:
        while self.outbox and self._link is not None:
            await asyncio.sleep(0.01)

    def drop_connection(self) -> bool:
        """Cut the TCP connection without a close handshake, as a network failure would; the
        station then backs off and reconnects. False when it has no connection."""
        link = self._link
        if link is None:
            return False
        link.transport.abort()
        return True
