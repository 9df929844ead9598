"""One simulated OCPP 2.0.1 charging station: the `ocpp` library's v201 ChargePoint over a
`websockets` client (`simulator.link`), on a simulated clock, with a physical meter per EVSE.

It boots, heartbeats and reports status; runs charging sessions on its EVSEs (Authorize,
TransactionEvent Started/Updated/Ended, seqNo without gaps); does what the CSMS asks (remote
start/stop, power limits, variables, Reset, ChangeAvailability, TriggerMessage); reconnects with
the OCPP back-off; and keeps TransactionEvents produced while offline, delivering them in order
(`offline: true`, original timestamps and seqNos) once connected again (OCPP 2.0.1 E04). Other
messages are not queued: StatusNotifications are sent afresh for every EVSE after each boot,
Heartbeats are due again, and Authorize offline trusts the token (local authorization).

A behaviour profile (`StationSpec.profile`) is a `simulator.profiles.Behaviour`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Coroutine
from typing import Any

import ocpp.messages
from ocpp.exceptions import OCPPError
from ocpp.v201 import call
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from simulator.backoff import Reconnect
from simulator.clock import Clock, iso
from simulator.evse import Evse, Session
from simulator.fleet import StationSpec
from simulator.link import Link
from simulator.meter import Meter
from simulator.profiles import BEHAVIOURS
from simulator.variables import Settings

log = logging.getLogger("ocppscope.simulator")
# The library validates each message in a thread of the default executor; with thousands of
# stations on one event loop the hand-off costs more than the validation (bench simulate).
ocpp.messages.ASYNC_VALIDATION = False

SUBPROTOCOL = "ocpp2.0.1"
STOP_TRIGGERS = {
    "Local": "StopAuthorized",
    "Remote": "RemoteStop",
    "EVDisconnected": "EVCommunicationLost",
    "EnergyLimitReached": "EnergyLimitReached",
    "ImmediateReset": "ResetCommand",
}
"""TransactionEvent Ended's triggerReason for its stoppedReason; others: AbnormalCondition."""
DELIVERED_KEPT = 200
"""How many delivered TransactionEvents a station remembers (for tests and benches): a few
sessions' worth, ~1.6 KB each, for each of thousands of stations."""
DRAIN_TIMEOUT = 10.0
"""Real seconds a station stopping or rebooting gives its queue to reach the CSMS."""


class Offline(Exception):
    """The station has no usable connection to its CSMS."""


class NoAnswer(Offline):
    """The CSMS did not answer within MessageTimeout; the connection may still be up."""


class SimulatedStation:
    """A station's state and behaviour; one `Link` per websocket connection speaks OCPP."""

    def __init__(
        self,
        spec: StationSpec,
        clock: Clock | None = None,
        *,
        meter_interval: float = 5.0,
        queue_limit: int = 1000,
        rng: random.Random | None = None,
        register_wh: float = 0.0,
    ) -> None:
        self.spec = spec
        self.behaviour = BEHAVIOURS[spec.profile]
        self.clock = clock or Clock()
        self.meter_interval = meter_interval
        self.queue_limit = queue_limit
        self.settings = Settings()
        self.reconnect = Reconnect(rng=rng or random.Random())
        self._apply_backoff()
        self.evses = {
            number: Evse(number, Meter(spec.max_power_kw, register_wh=register_wh))
            for number in range(1, spec.evses + 1)
        }
        self.outbox: deque[dict[str, Any]] = deque()
        self.delivered: deque[dict[str, Any]] = deque(maxlen=DELIVERED_KEPT)
        self.attempts: list[tuple[float, float]] = []
        """(simulated time of the attempt, wait before it) of every reconnect attempt."""
        self.reconnects = 0
        self.lost_at: float | None = None
        """Simulated time the last connection was lost."""
        self.boots = 0
        self.booted_at: float | None = None
        """time.monotonic() of the latest accepted BootNotification (bench simulate's latency)."""
        self.calls = 0
        """CALLs sent (bench simulate's message rate)."""
        self.boot_reason = "PowerUp"
        self._link: Link | None = None
        self._booted = False
        self._reboot = asyncio.Event()
        self._reset_when_idle = False
        self._pending = asyncio.Event()
        self._progress = asyncio.Condition()
        """Notified whenever a queued TransactionEvent is done with."""
        self._numbers = itertools.count(1)
        self._life = secrets.token_hex(3)
        """In its transaction ids: a station simulated again (another run, another scenario)
        must not reuse the ids of its earlier life (TX-001; the CSMS would merge them)."""
        self._background: set[asyncio.Task[Any]] = set()

    # ---- state for the live view and the control surface ------------------------------------

    @property
    def connected(self) -> bool:
        return self._link is not None and self._booted

    @property
    def charging(self) -> bool:
        return any(evse.session is not None for evse in self.evses.values())

    @property
    def power_kw(self) -> float:
        return sum(evse.power_kw for evse in self.evses.values())

    @property
    def register_wh(self) -> float:
        """Energy delivered over the station's life, all EVSEs."""
        return sum(evse.meter.register_wh for evse in self.evses.values())

    @property
    def queued(self) -> int:
        return len(self.outbox)

    def evse(self, number: int) -> Evse:
        """EVSE `number`; KeyError names it when the station has no such EVSE."""
        if number not in self.evses:
            raise KeyError(f"{self.spec.id} has no EVSE {number} (it has 1..{len(self.evses)})")
        return self.evses[number]

    # ---- the connection ----------------------------------------------------------------------

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
            subprotocols=[Subprotocol(SUBPROTOCOL)],
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
        link = Link(self.spec.id, ws, self.clock.real(self.settings.message_timeout), self)
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
                asyncio.create_task(self._deliver()),
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

    # ---- the station's own messages ----------------------------------------------------------

    async def _call(self, request: Any) -> Any:
        """A CALL on the current connection; Offline when there is none or it drops."""
        link = self._link
        if link is None or link.reader is None:
            raise Offline
        self.calls += 1
        sent = asyncio.ensure_future(
            link.call(
                request,
                suppress=False,
                unique_id=link.first_id if self.behaviour.reuses_message_ids else None,
                skip_schema_validation=self.behaviour.string_meter_value,
            )
        )
        try:
            await asyncio.wait({sent, link.reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # the caller cancelled, or the connection dropped before the answer came
            if not sent.done():
                sent.cancel()
                await asyncio.gather(sent, return_exceptions=True)
        if sent.cancelled():
            raise Offline
        try:
            return sent.result()
        except TimeoutError as error:
            raise NoAnswer from error
        except ConnectionClosed as error:
            raise Offline from error

    async def _boot(self, reason: str) -> None:
        """BootNotification until Accepted, waiting the interval the CSMS gives in between."""
        if not self.behaviour.boots:
            self._booted = True
            return
        while True:
            answer = await self._call(
                call.BootNotification(
                    charging_station={
                        "model": self.spec.model,
                        "vendor_name": self.spec.vendor,
                        "serial_number": self.spec.serial_number,
                        "firmware_version": "1.0.0",
                    },
                    reason=reason,
                )
            )
            self.boots += 1
            if answer.interval > 0:
                self.settings.heartbeat_interval = answer.interval
            if answer.status == "Accepted":
                self._booted = True
                self.booted_at = time.monotonic()
                return
            await self.clock.sleep(answer.interval or 10)

    async def _announce(self) -> None:
        for number in self.evses:
            await self.status(number)

    async def status(self, evse: int = 1, connector_status: str | None = None) -> None:
        """StatusNotification of one EVSE's connector (1), as it is now unless given."""
        state = self.evse(evse)
        connector_status = connector_status or state.connector_status
        state.reported = connector_status  # before sending: a later report must not undo it
        await self._call(
            call.StatusNotification(
                timestamp=iso(self.clock.now()),
                connector_status=connector_status,
                evse_id=evse,
                connector_id=1,
            )
        )

    def _report(self, evse: Evse) -> None:
        """A StatusNotification in the background if the EVSE's status changed; lost offline
        (the next boot reports every EVSE)."""
        status = evse.connector_status
        if self.connected and status != evse.reported:
            evse.reported = status  # now, so that a change right after is not reported twice
            behind = self.outbox[-1] if self.outbox else None
            self.spawn(self.quietly(self._status_after(evse, status, behind, self._link)))

    async def _status_after(
        self, evse: Evse, status: str, behind: dict[str, Any] | None, link: Link | None
    ) -> None:
        """The status once the TransactionEvents queued before the change are delivered (an
        Available must not overtake the Ended it follows, STAT-002); not at all if the
        connection changed meanwhile (the next boot reports every EVSE as it is then)."""
        if behind is not None:
            async with self._progress:
                await self._progress.wait_for(
                    lambda: not any(queued is behind for queued in self.outbox)
                )
        if self._link is link:
            await self.status(evse.number, status)

    async def heartbeat(self) -> None:
        await self._call(call.Heartbeat())

    async def _heartbeats(self) -> None:
        while True:
            await self.clock.sleep(self.settings.heartbeat_interval)
            with contextlib.suppress(Offline, OCPPError):
                await self.heartbeat()

    async def boot_again(self) -> None:
        """TriggerMessage(BootNotification)."""
        await self._boot("Triggered")

    # ---- transaction events: produced on the clock, delivered in order -----------------------

    def _emit(self, payload: dict[str, Any]) -> None:
        """Queue a TransactionEvent for delivery; offline when produced without a connection."""
        if not self.connected:
            payload["offline"] = True
        if len(self.outbox) >= self.queue_limit:
            self._drop_one()
        self.outbox.append(payload)
        self._pending.set()

    def _drop_one(self) -> None:
        """A full queue gives up its oldest Updated event first, keeping Started and Ended."""
        victim = next((p for p in self.outbox if p["event_type"] == "Updated"), self.outbox[0])
        self.outbox.remove(victim)
        log.warning("%s: offline queue full, dropped seqNo %s", self.spec.id, victim["seq_no"])

    async def _deliver(self) -> None:
        """Send the queue's head until it is empty; a lost connection leaves it queued."""
        while True:
            if not self.outbox:
                self._pending.clear()
                await self._pending.wait()
                continue
            payload = self.outbox[0]
            await self._transmit(payload)
            if self.outbox and self.outbox[0] is payload:
                self.outbox.popleft()
            self.delivered.append(payload)
            async with self._progress:
                self._progress.notify_all()

    async def _transmit(self, payload: dict[str, Any]) -> None:
        """One TransactionEvent, retried as OCPP 2.0.1 E13 says when the CSMS answers with a
        CALLERROR or not at all: up to MessageAttempts transmissions, waiting
        MessageAttemptInterval x transmissions so far in between; then it is given up."""
        for transmissions in itertools.count(1):
            try:
                await self._call(call.TransactionEvent(**payload))
                return
            except NoAnswer as error:
                failure: Exception = error
            except Offline:
                payload["offline"] = True  # it will be a replay on the next connection
                raise
            except OCPPError as error:
                failure = error
            if transmissions >= self.settings.message_attempts:
                log.warning(
                    "%s: TransactionEvent seqNo %s given up after %d transmissions (%s)",
                    self.spec.id,
                    payload["seq_no"],
                    transmissions,
                    str(failure) or "no answer within MessageTimeout",
                )
                return
            await self.clock.sleep(self.settings.message_attempt_interval * transmissions)

    def _event(
        self, evse: Evse, session: Session, event_type: str, moment: float, trigger: str
    ) -> dict[str, Any]:
        info: dict[str, Any] = {"transaction_id": session.transaction_id}
        if event_type == "Ended":
            info["stopped_reason"] = session.stopped_reason
            info["charging_state"] = "EVConnected" if evse.plugged else "Idle"
        else:
            info["charging_state"] = "Charging"
        if session.remote_start_id is not None:
            info["remote_start_id"] = session.remote_start_id
        power_w = evse.meter.power_kw() * 1000 if event_type != "Ended" else 0.0
        sampled: list[dict[str, Any]] = [
            {
                "value": round(evse.meter.register_wh, 3),
                "measurand": "Energy.Active.Import.Register",
                "unit_of_measure": {"unit": "Wh"},
            },
            {
                "value": round(power_w, 1),
                "measurand": "Power.Active.Import",
                "unit_of_measure": {"unit": "W"},
            },
        ]
        payload: dict[str, Any] = {
            "event_type": event_type,
            "timestamp": iso(moment),
            "trigger_reason": trigger,
            "seq_no": session.next_seq_no(),
            "transaction_info": info,
            "meter_value": [{"timestamp": iso(moment), "sampled_value": sampled}],
        }
        if event_type == "Started":
            payload["evse"] = {"id": evse.number, "connector_id": 1}
        if event_type != "Updated":
            payload["id_token"] = {"id_token": session.id_token, "type": "ISO14443"}
        return payload

    # ---- sessions ----------------------------------------------------------------------------

    def free_evse(self, wanted: int | None = None) -> Evse | None:
        """Where a new session may start: EVSE `wanted`, else one with an EV plugged in, else
        the lowest free one; None when there is none."""
        if wanted is not None:
            candidates = [self.evses[wanted]] if wanted in self.evses else []
        else:
            candidates = sorted(self.evses.values(), key=lambda e: (not e.plugged, e.number))
        return next((evse for evse in candidates if evse.free), None)

    async def plug_in_and_charge(
        self,
        id_token: str,
        seconds: float | None = None,
        *,
        evse: int | None = None,
        remote_start_id: int | None = None,
        target_kwh: float | None = None,
    ) -> str | None:
        """Start a session (Authorize first unless the CSMS started it) on EVSE `evse` or the
        one `free_evse` picks, plugging an EV in if none is; its transaction id, or None when no
        EVSE is free or the token is refused. Ends after `seconds` (simulated) if given."""
        if self.free_evse(evse) is None:
            return None
        if remote_start_id is None and not await self._authorized(id_token):
            return None
        chosen = self.free_evse(evse)  # again: another session may have taken it meanwhile
        if chosen is None:
            return None
        moment = self.clock.now()
        session = Session(
            f"TX-{self.spec.id}-{self._life}-{next(self._numbers)}",
            id_token,
            moment,
            chosen.number,
            remote_start_id=remote_start_id,
            leaves_after=not chosen.plugged,
        )
        chosen.session, chosen.plugged, chosen.metered_at = session, True, moment
        chosen.meter.start_session(target_kwh)
        trigger = "RemoteStart" if remote_start_id is not None else "Authorized"
        self._emit(self._event(chosen, session, "Started", moment, trigger))
        if self.behaviour.skips_seq_no:
            session.next_seq_no()  # numbered, never sent
        self._report(chosen)
        session.task = asyncio.create_task(self._charge(chosen, session, seconds))
        return session.transaction_id

    async def _authorized(self, id_token: str) -> bool:
        """Authorize online; offline the station trusts the token (local authorization)."""
        try:
            answer = await self._call(
                call.Authorize(id_token={"id_token": id_token, "type": "ISO14443"})
            )
        except (Offline, OCPPError):
            return True
        return answer.id_token_info.get("status") == "Accepted"

    async def _charge(self, evse: Evse, session: Session, seconds: float | None) -> None:
        """Updated every `meter_interval` simulated seconds until stopped or `seconds` pass."""
        end = None if seconds is None else session.started_at + seconds
        tick = session.started_at
        while True:
            tick += self.meter_interval
            if end is not None and tick >= end:
                tick = end
            if await self.clock.wait(session.stop, tick - self.clock.now()):
                break
            evse.catch_up(tick)
            if tick == end:
                break
            event = self._event(evse, session, "Updated", tick, "MeterValuePeriodic")
            if (
                self.behaviour.string_meter_value
                and tick == session.started_at + self.meter_interval
            ):
                sampled = event["meter_value"][0]["sampled_value"][0]
                sampled["value"] = str(sampled["value"])
            self._emit(event)
        moment = tick if not session.stop.is_set() else max(self.clock.now(), evse.metered_at)
        evse.catch_up(moment)
        if session.leaves_after:
            evse.plugged = False
        trigger = STOP_TRIGGERS.get(session.stopped_reason, "AbnormalCondition")
        self._emit(self._event(evse, session, "Ended", moment, trigger))
        self._ended(evse)

    def _ended(self, evse: Evse) -> None:
        """After a session: a Scheduled availability change or Reset takes effect now."""
        evse.session = None
        if evse.pending_operative is not None:
            evse.operative, evse.pending_operative = evse.pending_operative, None
        self._report(evse)
        if self._reset_when_idle and not self.charging:
            self._reset_when_idle = False
            self._reboot.set()

    async def stop_charging(self, reason: str = "Local", evse: int | None = None) -> float | None:
        """End the session on EVSE `evse` (default: the first one charging) with stoppedReason
        `reason`; its energy in kWh, None if there is none."""
        numbers = [evse] if evse is not None else list(self.evses)
        running = [self.evse(n) for n in numbers if self.evse(n).session is not None]
        if not running:
            return None
        state = running[0]
        session = state.session
        assert session is not None and session.task is not None
        session.stopped_reason = reason
        session.stop.set()
        await session.task
        return state.meter.session_kwh

    async def stop_all(self, reason: str) -> None:
        for evse in self.evses:
            await self.stop_charging(reason, evse)

    def session_of(self, transaction_id: str) -> Evse | None:
        """The EVSE running transaction `transaction_id`."""
        return next(
            (
                evse
                for evse in self.evses.values()
                if evse.session is not None and evse.session.transaction_id == transaction_id
            ),
            None,
        )

    def limit(self, limit_kw: float | None, evse: int = 0) -> None:
        """A power limit for EVSE `evse` (0: every EVSE) from now on; energy so far at the old
        power."""
        for state in self.evses.values() if evse == 0 else [self.evse(evse)]:
            if state.session is not None:
                state.catch_up(self.clock.now())
            state.meter.limit_kw = limit_kw

    # ---- what the driver and the site do (the control surface) -------------------------------

    def plug_in(self, evse: int) -> bool:
        """An EV is plugged in (Occupied; a remote or local start charges it); False if one
        already is."""
        state = self.evse(evse)
        if state.plugged:
            return False
        state.plugged = True
        self._report(state)
        return True

    async def unplug(self, evse: int) -> bool:
        """The EV leaves: a running session ends (EVDisconnected); False if none was there."""
        state = self.evse(evse)
        if not state.plugged:
            return False
        state.plugged = False
        if state.session is not None:
            await self.stop_charging("EVDisconnected", evse)
        self._report(state)
        return True

    async def fault(self, evse: int) -> None:
        """The EVSE fails: Faulted, and its session ends (stoppedReason Other)."""
        state = self.evse(evse)
        state.faulted = True
        if state.session is not None:
            await self.stop_charging("Other", evse)
        self._report(state)

    def repair(self, evse: int) -> None:
        state = self.evse(evse)
        state.faulted = False
        self._report(state)

    # ---- what the CSMS asks (called by the Link) ---------------------------------------------

    def reset_answer(self, kind: str) -> str:
        """ResetStatusEnumType for a Reset of the whole station."""
        return "Scheduled" if kind == "OnIdle" and self.charging else "Accepted"

    def reset(self, kind: str) -> None:
        """Reboot now (Immediate, or OnIdle when idle: sessions end with ImmediateReset) or
        once the last session ends; then connect and boot again at once (RemoteReset)."""
        if self.reset_answer(kind) == "Scheduled":
            self._reset_when_idle = True
        else:
            self._reboot.set()

    def change_availability(self, operative: bool, evse: int) -> str:
        """ChangeAvailability for EVSE `evse` (0: the whole station); a charging EVSE made
        Inoperative changes once its session ends. ChangeAvailabilityStatusEnumType."""
        if evse != 0 and evse not in self.evses:
            return "Rejected"
        scheduled = False
        for state in self.evses.values() if evse == 0 else [self.evses[evse]]:
            if state.session is not None and not operative:
                state.pending_operative = False
                scheduled = True
            else:
                state.operative, state.pending_operative = operative, None
        return "Scheduled" if scheduled else "Accepted"

    def report_all(self) -> None:
        """StatusNotifications for the EVSEs whose status changed."""
        for state in self.evses.values():
            self._report(state)

    # ---- helpers -----------------------------------------------------------------------------

    def _apply_backoff(self) -> None:
        policy = self.reconnect.policy
        policy.wait_minimum = float(self.settings.retry_wait_minimum)
        policy.random_range = float(self.settings.retry_random_range)
        policy.repeat_times = self.settings.retry_repeat_times

    def set_variable(self, name: str, value: int) -> None:
        self.settings.set(name, value)
        if name.startswith("RetryBackOff"):
            self._apply_backoff()
        if name == "MessageTimeout" and self._link is not None:
            self._link._response_timeout = self.clock.real(value)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run in the background until done or the station stops."""
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def quietly(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """A message that may be lost offline (StatusNotification, triggered messages)."""
        with contextlib.suppress(Offline, OCPPError):
            await coroutine

    async def _cancel_background(self) -> None:
        tasks = list(self._background)
        tasks += [
            evse.session.task
            for evse in self.evses.values()
            if evse.session is not None and evse.session.task is not None
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
