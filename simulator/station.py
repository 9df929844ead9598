"""One simulated OCPP charging station: the `ocpp` library's ChargePoint of its version (1.6,
2.0.1 or 2.1; `simulator.dialect`) over a `websockets` client, on a simulated clock, with a
physical meter per EVSE. What follows is said in 2.0.1's terms; a 1.6 station sends the same
session as StartTransaction, MeterValues and StopTransaction (`simulator.v16`).

It boots, heartbeats and reports status; runs charging sessions on its EVSEs (Authorize,
TransactionEvent Started/Updated/Ended, seqNo without gaps); does what the CSMS asks (remote
start/stop, power limits, variables, Reset, ChangeAvailability, TriggerMessage); reconnects with
the OCPP back-off; and keeps TransactionEvents produced while offline, delivering them in order
(`offline: true`, original timestamps and seqNos) once connected again (OCPP 2.0.1 E04). Other
messages are not queued: StatusNotifications are sent afresh for every EVSE after each boot,
Heartbeats are due again, and Authorize offline trusts the token (local authorization).

A behaviour profile (`StationSpec.profile`) is a `simulator.profiles.Behaviour`.

This module holds the state, the station's own messages (boot, status, heartbeats) and the
sessions. Staying connected is `simulator.connection`, the TransactionEvent queue
`simulator.outbox`, the events' payloads `simulator.events`, what the driver and the site do
`simulator.site_actions`, what the CSMS asks beyond sessions `simulator.csms_commands`.
"""

from __future__ import annotations

import asyncio
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
from websockets.exceptions import ConnectionClosed

from simulator.backoff import Reconnect
from simulator.clock import Clock
from simulator.connection import NoAnswer, Offline, StationConnection
from simulator.csms_commands import CsmsCommands
from simulator.dialect import speaking
from simulator.events import STOP_TRIGGERS, card_type, transaction_event
from simulator.evse import Evse, Session
from simulator.fleet import StationSpec
from simulator.link import Attached
from simulator.meter import Meter
from simulator.outbox import Outbox
from simulator.profiles import BEHAVIOURS
from simulator.site_actions import SiteActions
from simulator.variables import Settings

log = logging.getLogger("ocppscope.simulator")
# The library validates each message in a thread of the default executor; with thousands of
# stations on one event loop the hand-off costs more than the validation (bench simulate).
ocpp.messages.ASYNC_VALIDATION = False


class SimulatedStation(StationConnection, SiteActions, CsmsCommands):
    """A station's state, its own messages and its sessions; one `Link` per websocket
    connection speaks OCPP."""

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
        self.protocol = speaking(spec.protocol)
        self.clock = clock or Clock()
        self.meter_interval = meter_interval
        self.settings = Settings()
        self.reconnect = Reconnect(rng=rng or random.Random())
        self._apply_backoff()
        self.evses = {
            number: Evse(number, Meter(spec.max_power_kw, register_wh=register_wh))
            for number in range(1, spec.evses + 1)
        }
        self.outbox = Outbox(spec.id, queue_limit)
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
        self._link: Attached | None = None
        self._booted = False
        self._reboot = asyncio.Event()
        self._reset_when_idle = False
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

    @property
    def delivered(self) -> deque[dict[str, Any]]:
        """The latest TransactionEvents delivered (or given up), oldest first."""
        return self.outbox.delivered

    def evse(self, number: int) -> Evse:
        """EVSE `number`; KeyError names it when the station has no such EVSE."""
        if number not in self.evses:
            raise KeyError(f"{self.spec.id} has no EVSE {number} (it has 1..{len(self.evses)})")
        return self.evses[number]

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
            answer = await self._call(self.protocol.boot(self.spec, reason))
            status, interval = self.protocol.boot_answer(answer)
            self.boots += 1
            if interval > 0:
                self.settings.heartbeat_interval = interval
            if status == "Accepted":
                self._booted = True
                self.booted_at = time.monotonic()
                return
            await self.clock.sleep(interval or 10)

    async def _announce(self) -> None:
        """After each boot: every EVSE's status, then the boot as the security event
        StartupOfTheDevice, critical in Part 2 Appendix 1 and so pushed to the CSMS (not in 1.6)."""
        for number in self.evses:
            await self.status(number)
        started = self.protocol.started_up(self.clock.now())
        if self.behaviour.boots and started is not None:
            await self._call(started)

    async def status(self, evse: int = 1, connector_status: str | None = None) -> None:
        """StatusNotification of one EVSE's connector (1), as it is now unless given."""
        state = self.evse(evse)
        connector_status = connector_status or self.protocol.connector_status(state)
        state.reported = connector_status  # before sending: a later report must not undo it
        await self._call(self.protocol.status(evse, connector_status, self.clock.now()))

    def _report(self, evse: Evse) -> None:
        """A StatusNotification in the background if the EVSE's status changed; lost offline
        (the next boot reports every EVSE)."""
        status = self.protocol.connector_status(evse)
        if self.connected and status != evse.reported:
            evse.reported = status  # now, so that a change right after is not reported twice
            behind = self.outbox.last
            self.spawn(self.quietly(self._status_after(evse, status, behind, self._link)))

    async def _status_after(
        self, evse: Evse, status: str, behind: dict[str, Any] | None, link: Attached | None
    ) -> None:
        """The status once the TransactionEvents queued before the change are delivered (an
        Available must not overtake the Ended it follows, STAT-002); not at all if the
        connection changed meanwhile (the next boot reports every EVSE as it is then)."""
        if behind is not None:
            await self.outbox.passed(behind)
        if self._link is link:
            await self.status(evse.number, status)

    async def heartbeat(self) -> None:
        await self._call(self.protocol.heartbeat())

    async def _heartbeats(self) -> None:
        while True:
            await self.clock.sleep(self.settings.heartbeat_interval)
            with contextlib.suppress(Offline, OCPPError):
                await self.heartbeat()

    async def boot_again(self) -> None:
        """TriggerMessage(BootNotification)."""
        await self._boot("Triggered")

    # ---- transaction events: produced on the clock, delivered in order -----------------------

    def _send(self, payload: dict[str, Any]) -> None:
        """Queue a TransactionEvent; offline when produced without a connection."""
        self.outbox.put(payload, connected=self.connected)

    async def _transmit(self, payload: dict[str, Any]) -> None:
        """One TransactionEvent, retried as OCPP 2.0.1 E13 says when the CSMS answers with a
        CALLERROR or not at all: up to MessageAttempts transmissions, waiting
        MessageAttemptInterval x transmissions so far in between; then it is given up."""
        request = self.protocol.transaction(payload)
        for transmissions in itertools.count(1):
            if request is None:
                return
            try:
                if self.protocol.transacted(payload, await self._call(request)):
                    self._deauthorized(payload["transaction_info"]["transaction_id"])
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

    def _deauthorized(self, transaction_id: str) -> None:
        """The CSMS refused the idTag of a running session (started offline): it ends."""
        evse = self.session_of(transaction_id)
        if evse is not None:
            self.spawn(self.stop_charging("DeAuthorized", evse.number))

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
        token_type: str | None = None,
        target_kwh: float | None = None,
    ) -> str | None:
        """Start a session (Authorize first unless the CSMS started it) on EVSE `evse` or the
        one `free_evse` picks, plugging an EV in if none is; its transaction id, or None when no
        EVSE is free or the token is refused. Ends after `seconds` (simulated) if given.
        `token_type`: the idToken's type a remote start named (else `card_type` decides)."""
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
            token_type=token_type or card_type(id_token),
            leaves_after=not chosen.plugged,
        )
        chosen.session, chosen.plugged, chosen.metered_at = session, True, moment
        chosen.meter.start_session(target_kwh)
        trigger = "RemoteStart" if remote_start_id is not None else "Authorized"
        self._send(transaction_event(chosen, session, "Started", moment, trigger))
        if self.behaviour.skips_seq_no:
            session.next_seq_no()  # numbered, never sent
        self._report(chosen)
        session.task = asyncio.create_task(self._charge(chosen, session, seconds))
        return session.transaction_id

    async def _authorized(self, id_token: str) -> bool:
        """Authorize online; offline the station trusts the token (local authorization)."""
        try:
            answer = await self._call(self.protocol.authorize(id_token))
        except (Offline, OCPPError):
            return True
        return self.protocol.authorized(answer)

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
            event = transaction_event(evse, session, "Updated", tick, "MeterValuePeriodic")
            if (
                self.behaviour.string_meter_value
                and tick == session.started_at + self.meter_interval
            ):
                sampled = event["meter_value"][0]["sampled_value"][0]
                sampled["value"] = str(sampled["value"])
            self._send(event)
        moment = tick if not session.stop.is_set() else max(self.clock.now(), evse.metered_at)
        evse.catch_up(moment)
        if session.leaves_after:
            evse.plugged = False
        trigger = STOP_TRIGGERS.get(session.stopped_reason, "AbnormalCondition")
        self._send(transaction_event(evse, session, "Ended", moment, trigger))
        self._ended(evse)

    def _ended(self, evse: Evse) -> None:
        """After a session: a Scheduled availability change or Reset takes effect now."""
        evse.session, evse.finished = None, evse.plugged
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

    # ---- helpers -----------------------------------------------------------------------------

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
