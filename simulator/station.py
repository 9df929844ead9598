"""One simulated OCPP 2.0.1 charging station: the `ocpp` library's v201 ChargePoint over a
`websockets` client, on a simulated clock, with a physical meter.

It boots, heartbeats and reports status; runs charging sessions (Authorize, TransactionEvent
Started/Updated/Ended, seqNo without gaps); answers the CSMS's commands; reconnects with the
OCPP back-off; and keeps TransactionEvents produced while offline, delivering them in order
(`offline: true`, original timestamps and seqNos) once connected again (OCPP 2.0.1 E04).

A misbehaviour profile (`StationSpec.profile`, see `simulator.fleet.PROFILES`) is a `Behaviour`:
one flag per profile, each checked at the one place it changes what the station does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import random
import uuid
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from proxy.ocppj.state import Backoff
from simulator.backoff import Reconnect
from simulator.clock import Clock, iso
from simulator.fleet import StationSpec
from simulator.meter import Meter

log = logging.getLogger("ocppscope.simulator")

SUBPROTOCOL = "ocpp2.0.1"
COMM_CTRLR = "OCPPCommCtrlr"
TRIGGERABLE = {"BootNotification", "Heartbeat", "StatusNotification"}
STOP_TRIGGERS = {
    "Local": "StopAuthorized",
    "Remote": "RemoteStop",
    "EVDisconnected": "EVCommunicationLost",
    "EnergyLimitReached": "EnergyLimitReached",
}
DELIVERED_KEPT = 1000
"""How many delivered TransactionEvents a station remembers (for tests and the live view)."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What a profile changes; the defaults are the compliant station."""

    boots: bool = True
    """no-boot: never sends BootNotification (BOOT-001)."""
    skips_seq_no: bool = False
    """skips-seqno: leaves out the seqNo after Started in each transaction (TX-003)."""
    string_meter_value: bool = False
    """bad-schema: the first Updated of each session carries a meter value as text (SCH-001)."""
    backs_off: bool = True
    """wrong-backoff: the first attempt after a lost connection comes at once (BACKOFF-002)."""
    reuses_message_ids: bool = False
    """duplicate-ids: every CALL on a connection has the first CALL's MessageId (RPC-005)."""


BEHAVIOURS = {
    "compliant": Behaviour(),
    "skips-seqno": Behaviour(skips_seq_no=True),
    "no-boot": Behaviour(boots=False),
    "bad-schema": Behaviour(string_meter_value=True),
    "wrong-backoff": Behaviour(backs_off=False),
    "duplicate-ids": Behaviour(reuses_message_ids=True),
}


class Offline(Exception):
    """The station has no usable connection to its CSMS."""


@dataclass
class Settings:
    """The OCPPCommCtrlr variables the station uses (GetVariables/SetVariables)."""

    heartbeat_interval: int = 30
    retry_wait_minimum: int = 1
    retry_random_range: int = 0
    retry_repeat_times: int = 4
    message_timeout: int = 30

    NAMES: ClassVar[dict[str, str]] = {
        "HeartbeatInterval": "heartbeat_interval",
        "RetryBackOffWaitMinimum": "retry_wait_minimum",
        "RetryBackOffRandomRange": "retry_random_range",
        "RetryBackOffRepeatTimes": "retry_repeat_times",
        "MessageTimeout": "message_timeout",
    }
    SMALLEST: ClassVar[dict[str, int]] = {"HeartbeatInterval": 1, "MessageTimeout": 1}
    """Zero here would make the station spin; the rest may be 0."""

    def get(self, name: str) -> int:
        return int(getattr(self, self.NAMES[name]))

    def valid(self, name: str, value: int) -> bool:
        return self.SMALLEST.get(name, 0) <= value <= 86_400

    def set(self, name: str, value: int) -> None:
        setattr(self, self.NAMES[name], value)


@dataclass
class Session:
    """The running transaction on EVSE 1."""

    transaction_id: str
    id_token: str
    started_at: float
    seq_no: int = 0
    remote_start_id: int | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stopped_reason: str = "Local"
    task: asyncio.Task[None] | None = None

    def next_seq_no(self) -> int:
        number, self.seq_no = self.seq_no, self.seq_no + 1
        return number


class SimulatedStation:
    """A station's state and behaviour; one `_Link` per websocket connection speaks OCPP."""

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
        self.reconnect = Reconnect(Backoff(1.0, 0.0, 4), rng or random.Random())
        self._apply_backoff()
        self.meter = Meter(spec.max_power_kw, register_wh=register_wh)
        self.session: Session | None = None
        self.outbox: deque[dict[str, Any]] = deque()
        self.delivered: deque[dict[str, Any]] = deque(maxlen=DELIVERED_KEPT)
        self.attempts: list[tuple[float, float]] = []
        """(simulated time of the attempt, wait before it) of every reconnect attempt."""
        self.reconnects = 0
        self.lost_at: float | None = None
        """Simulated time the last connection was lost."""
        self.boots = 0
        self._link: _Link | None = None
        self._booted = False
        self._pending = asyncio.Event()
        self._metered_at = 0.0
        self._numbers = itertools.count(1)
        self._background: set[asyncio.Task[Any]] = set()

    # ---- state for the live view and the control surface ------------------------------------

    @property
    def connected(self) -> bool:
        return self._link is not None and self._booted

    @property
    def charging(self) -> bool:
        return self.session is not None

    @property
    def power_kw(self) -> float:
        return self.meter.power_kw() if self.charging else 0.0

    @property
    def session_kwh(self) -> float:
        return self.meter.session_kwh

    @property
    def queued(self) -> int:
        return len(self.outbox)

    # ---- the connection ----------------------------------------------------------------------

    async def run(self, url: str, stop_event: asyncio.Event) -> None:
        """Stay connected to `url` (the CSMS's base; the station id is appended) until
        `stop_event`; then end the session and close the socket."""
        target = f"{url.rstrip('/')}/{self.spec.id}"
        try:
            while not stop_event.is_set():
                with contextlib.suppress(OSError, InvalidHandshake, TimeoutError, Offline):
                    ws = await self._connect(target)
                    self.reconnect.connected()
                    await self._serve(ws, stop_event)
                if stop_event.is_set():
                    break
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
        """One connection: boot, announce, heartbeats and delivery until it drops or we stop."""
        link = _Link(self.spec.id, ws, self.clock.real(self.settings.message_timeout), self)
        self._link = link
        reader = link.reader = asyncio.create_task(link.start())
        workers: list[asyncio.Task[Any]] = [reader]
        try:
            await self._boot()
            await self._announce()
            workers += [
                asyncio.create_task(self._heartbeats()),
                asyncio.create_task(self._deliver()),
            ]
            stopper = asyncio.create_task(stop_event.wait())
            workers.append(stopper)
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stopper.done():
                await self._shut_down()
        finally:
            self._link, self._booted = None, False
            self.lost_at = self.clock.now()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)

    async def _shut_down(self) -> None:
        """End the session and deliver what is queued (bounded), before the socket closes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_charging("Local"), 10)
            await asyncio.wait_for(self._drained(), 10)

    async def _drained(self) -> None:
        while self.outbox and self._link is not None:
            await asyncio.sleep(0.01)

    # ---- the station's own messages ----------------------------------------------------------

    async def _call(self, request: Any) -> Any:
        """A CALL on the current connection; Offline when there is none or it drops."""
        link = self._link
        if link is None or link.reader is None:
            raise Offline
        sent = asyncio.ensure_future(
            link.call(
                request,
                suppress=False,
                unique_id=link.first_id if self.behaviour.reuses_message_ids else None,
                skip_schema_validation=self.behaviour.string_meter_value,
            )
        )
        await asyncio.wait({sent, link.reader}, return_when=asyncio.FIRST_COMPLETED)
        if not sent.done():  # the connection dropped before the answer came
            sent.cancel()
            await asyncio.gather(sent, return_exceptions=True)
            raise Offline
        try:
            return sent.result()
        except (ConnectionClosed, TimeoutError) as error:
            raise Offline from error

    async def _boot(self) -> None:
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
                    reason="PowerUp",
                )
            )
            self.boots += 1
            if answer.interval > 0:
                self.settings.heartbeat_interval = answer.interval
            if answer.status == "Accepted":
                self._booted = True
                return
            await self.clock.sleep(answer.interval or 10)

    async def _announce(self) -> None:
        for evse in range(1, self.spec.evses + 1):
            await self.status(evse)

    async def status(self, evse: int = 1, connector_status: str | None = None) -> None:
        """StatusNotification of one EVSE's connector (1): Occupied while it charges."""
        occupied = evse == 1 and self.charging
        await self._call(
            call.StatusNotification(
                timestamp=iso(self.clock.now()),
                connector_status=connector_status or ("Occupied" if occupied else "Available"),
                evse_id=evse,
                connector_id=1,
            )
        )

    async def heartbeat(self) -> None:
        await self._call(call.Heartbeat())

    async def _heartbeats(self) -> None:
        while True:
            await self.clock.sleep(self.settings.heartbeat_interval)
            with contextlib.suppress(Offline, OCPPError):
                await self.heartbeat()

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
            try:
                await self._call(call.TransactionEvent(**payload))
            except Offline:
                payload["offline"] = True  # it will be a replay on the next connection
                raise
            except OCPPError as error:  # refused: retrying would refuse again
                log.warning("%s: TransactionEvent refused: %s", self.spec.id, error)
            if self.outbox and self.outbox[0] is payload:
                self.outbox.popleft()
            self.delivered.append(payload)

    def _catch_up(self, moment: float) -> None:
        """Let the meter run up to `moment` (simulated) at the power it had."""
        self.meter.advance(moment - self._metered_at)
        self._metered_at = max(self._metered_at, moment)

    def _event(
        self, session: Session, event_type: str, moment: float, trigger: str, power_kw: float
    ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "transaction_id": session.transaction_id,
            "charging_state": "Charging" if event_type != "Ended" else "EVConnected",
        }
        if session.remote_start_id is not None:
            info["remote_start_id"] = session.remote_start_id
        if event_type == "Ended":
            info["stopped_reason"] = session.stopped_reason
        sampled = [
            {
                "value": round(self.meter.register_wh, 3),
                "measurand": "Energy.Active.Import.Register",
                "unit_of_measure": {"unit": "Wh"},
            },
            {
                "value": round(power_kw * 1000, 1),
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
            payload["evse"] = {"id": 1, "connector_id": 1}
        if event_type != "Updated":
            payload["id_token"] = {"id_token": session.id_token, "type": "ISO14443"}
        return payload

    # ---- sessions ----------------------------------------------------------------------------

    async def plug_in_and_charge(
        self,
        id_token: str,
        seconds: float | None = None,
        *,
        remote_start_id: int | None = None,
        target_kwh: float | None = None,
    ) -> str | None:
        """Start a session on EVSE 1 (Authorize first unless the CSMS started it); its
        transaction id, or None when busy or the token is refused. Ends after `seconds`
        (simulated) if given."""
        if self.session is not None:
            return None
        if remote_start_id is None and not await self._authorized(id_token):
            return None
        moment = self.clock.now()
        session = Session(
            f"TX-{self.spec.id}-{next(self._numbers)}",
            id_token,
            moment,
            remote_start_id=remote_start_id,
        )
        self.session, self._metered_at = session, moment
        self.meter.start_session(target_kwh)
        trigger = "RemoteStart" if remote_start_id is not None else "Authorized"
        self._emit(self._event(session, "Started", moment, trigger, self.meter.power_kw()))
        if self.behaviour.skips_seq_no:
            session.next_seq_no()  # numbered, never sent
        self._spawn(self._quietly(self.status(1)))
        session.task = asyncio.create_task(self._charge(session, seconds))
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

    async def _charge(self, session: Session, seconds: float | None) -> None:
        """Updated every `meter_interval` simulated seconds until stopped or `seconds` pass."""
        end = None if seconds is None else session.started_at + seconds
        tick = session.started_at
        while True:
            tick += self.meter_interval
            if end is not None and tick >= end:
                tick = end
            if await self.clock.wait(session.stop, tick - self.clock.now()):
                break
            self._catch_up(tick)
            if tick == end:
                break
            power = self.meter.power_kw()
            event = self._event(session, "Updated", tick, "MeterValuePeriodic", power)
            if (
                self.behaviour.string_meter_value
                and tick == session.started_at + self.meter_interval
            ):
                sampled = event["meter_value"][0]["sampled_value"][0]
                sampled["value"] = str(sampled["value"])
            self._emit(event)
        moment = tick if not session.stop.is_set() else max(self.clock.now(), self._metered_at)
        self._catch_up(moment)
        trigger = STOP_TRIGGERS.get(session.stopped_reason, "AbnormalCondition")
        self._emit(self._event(session, "Ended", moment, trigger, 0.0))
        self.session = None
        self._spawn(self._quietly(self.status(1)))

    async def stop_charging(self, reason: str = "Local") -> float | None:
        """End the running session (stoppedReason `reason`); its energy in kWh, None if idle."""
        session = self.session
        if session is None or session.task is None:
            return None
        session.stopped_reason = reason
        session.stop.set()
        await session.task
        return self.meter.session_kwh

    def limit(self, limit_kw: float | None) -> None:
        """A new power limit from now on (energy so far at the old power)."""
        if self.session is not None:
            self._catch_up(self.clock.now())
        self.meter.limit_kw = limit_kw

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

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _quietly(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """A message that may be lost offline (StatusNotification, triggered messages)."""
        with contextlib.suppress(Offline, OCPPError):
            await coroutine

    async def _cancel_background(self) -> None:
        tasks = list(self._background)
        if self.session is not None and self.session.task is not None:
            tasks.append(self.session.task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Link(ChargePoint):
    """One websocket connection: answers the CSMS's calls on behalf of the station."""

    def __init__(
        self, station_id: str, ws: ClientConnection, timeout: float, station: SimulatedStation
    ) -> None:
        super().__init__(station_id, ws, response_timeout=timeout)
        self.station = station
        self.reader: asyncio.Task[None] | None = None
        self.first_id = str(uuid.uuid4())
        """The MessageId a duplicate-ids station gives every CALL on this connection."""

    @on("RequestStartTransaction")
    def on_request_start(self, **_: Any) -> call_result.RequestStartTransaction:
        status = "Rejected" if self.station.charging else "Accepted"
        return call_result.RequestStartTransaction(status=status)

    @after("RequestStartTransaction")
    def after_request_start(self, id_token: dict[str, Any], remote_start_id: int, **_: Any) -> None:
        if not self.station.charging:
            self.station._spawn(
                self.station.plug_in_and_charge(
                    id_token["id_token"], remote_start_id=remote_start_id
                )
            )

    def _runs(self, transaction_id: str) -> bool:
        session = self.station.session
        return session is not None and session.transaction_id == transaction_id

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str, **_: Any) -> call_result.RequestStopTransaction:
        status = "Accepted" if self._runs(transaction_id) else "Rejected"
        return call_result.RequestStopTransaction(status=status)

    @after("RequestStopTransaction")
    def after_request_stop(self, transaction_id: str, **_: Any) -> None:
        if self._runs(transaction_id):
            self.station._spawn(self.station.stop_charging("Remote"))

    @on("SetChargingProfile")
    def on_set_charging_profile(
        self, charging_profile: dict[str, Any], **_: Any
    ) -> call_result.SetChargingProfile:
        schedule = charging_profile["charging_schedule"][0]
        if schedule["charging_rate_unit"] != "W":  # ChargingScheduleChargingRateUnit: W only
            return call_result.SetChargingProfile(
                status="Rejected", status_info={"reason_code": "UnsupportedRateUnit"}
            )
        limit_w = float(schedule["charging_schedule_period"][0]["limit"])
        self.station.limit(limit_w / 1000)
        return call_result.SetChargingProfile(status="Accepted")

    @on("GetVariables")
    def on_get_variables(
        self, get_variable_data: list[dict[str, Any]], **_: Any
    ) -> call_result.GetVariables:
        return call_result.GetVariables(
            get_variable_result=[self._get(item) for item in get_variable_data]
        )

    def _get(self, item: dict[str, Any]) -> dict[str, Any]:
        status = _variable_status(item)
        result = {"attribute_status": status, **_echo(item)}
        if status == "Accepted":
            result["attribute_value"] = str(self.station.settings.get(item["variable"]["name"]))
        return result

    @on("SetVariables")
    def on_set_variables(
        self, set_variable_data: list[dict[str, Any]], **_: Any
    ) -> call_result.SetVariables:
        return call_result.SetVariables(
            set_variable_result=[self._set(item) for item in set_variable_data]
        )

    def _set(self, item: dict[str, Any]) -> dict[str, Any]:
        status = _variable_status(item)
        if status == "Accepted":
            value = str(item["attribute_value"])
            if value.isdigit() and self.station.settings.valid(
                item["variable"]["name"], int(value)
            ):
                self.station.set_variable(item["variable"]["name"], int(value))
            else:
                status = "Rejected"
        return {"attribute_status": status, **_echo(item)}

    @on("Reset")
    def on_reset(self, **_: Any) -> call_result.Reset:
        return call_result.Reset(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, **_: Any) -> call_result.ChangeAvailability:
        return call_result.ChangeAvailability(status="Accepted")

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, **_: Any) -> call_result.TriggerMessage:
        status = "Accepted" if requested_message in TRIGGERABLE else "NotImplemented"
        return call_result.TriggerMessage(status=status)

    @after("TriggerMessage")
    def after_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> None:
        station = self.station
        if requested_message == "Heartbeat":
            station._spawn(station._quietly(station.heartbeat()))
        elif requested_message == "StatusNotification":
            station._spawn(station._quietly(station.status((evse or {}).get("id", 1))))
        elif requested_message == "BootNotification":
            station._spawn(station._quietly(station._boot()))


def _variable_status(item: dict[str, Any]) -> str:
    """Accepted for an OCPPCommCtrlr variable the station has (Actual attribute only)."""
    if item["component"]["name"] != COMM_CTRLR:
        return "UnknownComponent"
    if item["variable"]["name"] not in Settings.NAMES:
        return "UnknownVariable"
    if item.get("attribute_type", "Actual") != "Actual":
        return "NotSupportedAttributeType"
    return "Accepted"


def _echo(item: dict[str, Any]) -> dict[str, Any]:
    echoed = {"component": item["component"], "variable": item["variable"]}
    if "attribute_type" in item:
        echoed["attribute_type"] = item["attribute_type"]
    return echoed
