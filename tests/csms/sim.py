"""The reference CSMS in-process and simulated stations for its tests.

Stations are the `ocpp` library's v201 ChargePoint over a `websockets` client (as in
tests/proxy_harness.py, whose `Recording`, `_serve_messages` and timing helpers are reused). Every
frame either way is also kept as a conformance-engine event (`Station.trace`), with the
connection's opening and closing, so a test can run the engine over the CSMS's own traffic.

Energy in these sessions follows a virtual clock: TransactionEvent timestamps are what the CSMS
computes duration and energy from, so a 30 s session takes no 30 s of real time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.charge_point import camel_to_snake_case
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import ClientConnection, connect

from csms.app import CsmsSettings, RunningCsms, running_csms
from csms.peer import Policy
from proxy.ocppj.actions import Direction
from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, Event, Frame
from proxy.settings import Endpoint
from tests.proxy_harness import STEP, SUBPROTOCOL, Recording, _serve_messages, within

API_TOKEN = "csms-test-token"
"""The REST API's bearer token in these tests; `http` sends it."""
REGISTER_START_WH = 1_000_000.0
"""The meter register when a session starts: a station that has delivered 1 MWh before."""


# ---- the CSMS ------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def csms(
    database_url: str, policy: Policy | None = None, command_timeout: float = 5.0, port: int = 0
) -> AsyncIterator[RunningCsms]:
    """The reference CSMS on 127.0.0.1: its OCPP endpoint on `port` (0: a free one)."""
    settings = CsmsSettings(
        ocpp=Endpoint("127.0.0.1", port),
        http=Endpoint("127.0.0.1", 0),
        database_url=database_url,
        api_token=API_TOKEN,
        policy=policy or Policy(),
        command_timeout=command_timeout,
    )
    async with running_csms(settings) as running:
        yield running


def csms_on(database_url: str, port: int) -> contextlib.AbstractAsyncContextManager[RunningCsms]:
    """The reference CSMS on a given OCPP port, so that it can stop and come back where it was
    (a proxy's upstream is fixed when it starts)."""
    return csms(database_url, port=port)


def ocpp_url(running: RunningCsms, station: str) -> str:
    return f"ws://127.0.0.1:{running.ocpp_port}/ocpp/{station}"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any
    text: str


async def http(
    running: RunningCsms,
    method: str,
    path: str,
    body: Any = None,
    timeout: float = 15.0,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> Reply:
    """One request to the CSMS's REST API, with its token unless `headers` give Authorization;
    `data`: a raw body instead of `body` as JSON."""
    headers = {"Authorization": f"Bearer {API_TOKEN}", **(headers or {})}
    url = f"http://127.0.0.1:{running.http_port}{path}"
    return await request(url, method, body, timeout, headers, data)


async def request(
    url: str,
    method: str,
    body: Any = None,
    timeout: float = 15.0,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> Reply:
    """One HTTP request with a JSON body (urllib in a thread: httpx is not installed); a header
    whose value is "" is left out."""
    if data is None and body is not None:
        data = json.dumps(body).encode()
    prepared = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        prepared.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        if value:
            prepared.add_header(name, value)

    def send() -> Reply:
        try:
            with urllib.request.urlopen(prepared, timeout=timeout) as response:
                text = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            status = error.code
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        return Reply(status, parsed, text)

    return await within(asyncio.to_thread(send), timeout + 5)


# ---- OCPP payloads (camelCase, as on the wire) ---------------------------------------------------


def ocpp_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def meter_value(
    when: datetime, register_wh: float | None = None, power_w: float | None = None
) -> dict[str, Any]:
    sampled: list[dict[str, Any]] = []
    if register_wh is not None:
        sampled.append(
            {
                "value": register_wh,
                "measurand": "Energy.Active.Import.Register",
                "unitOfMeasure": {"unit": "Wh"},
            }
        )
    if power_w is not None:
        sampled.append(
            {"value": power_w, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}}
        )
    return {"timestamp": ocpp_time(when), "sampledValue": sampled}


_TRIGGERS = {"Started": "Authorized", "Updated": "MeterValuePeriodic", "Ended": "StopAuthorized"}


def transaction_event(
    event_type: str,
    seq_no: int,
    when: datetime,
    transaction_id: str,
    *,
    register_wh: float | None = None,
    power_w: float | None = None,
    offline: bool = False,
    id_token: str | None = None,
    remote_start_id: int | None = None,
    trigger_reason: str | None = None,
    stopped_reason: str | None = None,
    evse_id: int = 1,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "transactionId": transaction_id,
        "chargingState": "EVConnected" if event_type == "Ended" else "Charging",
    }
    if remote_start_id is not None:
        info["remoteStartId"] = remote_start_id
    if event_type == "Ended":
        info["stoppedReason"] = stopped_reason or "Local"
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": ocpp_time(when),
        "triggerReason": trigger_reason or _TRIGGERS[event_type],
        "seqNo": seq_no,
        "transactionInfo": info,
    }
    if register_wh is not None or power_w is not None:
        payload["meterValue"] = [meter_value(when, register_wh, power_w)]
    if offline:
        payload["offline"] = True
    if event_type == "Started":
        payload["evse"] = {"id": evse_id, "connectorId": 1}
    if id_token is not None:
        payload["idToken"] = {"idToken": id_token, "type": "ISO14443"}
    return payload


def register_at(seconds: float, power_kw: float) -> float:
    """The register (Wh) after `seconds` at `power_kw` from REGISTER_START_WH."""
    return REGISTER_START_WH + power_kw * 1000 * seconds / 3600


def session_events(
    transaction_id: str,
    start: datetime,
    *,
    power_kw: float = 100.0,
    seconds: int = 30,
    step: int = 5,
    offline: bool = False,
    id_token: str = "TAG-0001",
) -> list[dict[str, Any]]:
    """Started, Updated every `step` s, Ended at `seconds`: constant power, register in Wh."""
    events = [
        transaction_event(
            "Started",
            0,
            start,
            transaction_id,
            register_wh=REGISTER_START_WH,
            power_w=power_kw * 1000,
            offline=offline,
            id_token=id_token,
        )
    ]
    for seq_no, moment in enumerate(range(step, seconds, step), start=1):
        events.append(
            transaction_event(
                "Updated",
                seq_no,
                start + timedelta(seconds=moment),
                transaction_id,
                register_wh=register_at(moment, power_kw),
                power_w=power_kw * 1000,
                offline=offline,
            )
        )
    events.append(
        transaction_event(
            "Ended",
            len(events),
            start + timedelta(seconds=seconds),
            transaction_id,
            register_wh=register_at(seconds, power_kw),
            power_w=0,
            offline=offline,
            id_token=id_token,
        )
    )
    return events


def as_call(payload: dict[str, Any]) -> call.TransactionEvent:
    return call.TransactionEvent(**camel_to_snake_case(payload))


# ---- a station -----------------------------------------------------------------------------------


class Tracing(Recording):
    """Recording that also keeps each text, both ways and in order, as an engine Frame."""

    def __init__(self, ws: ClientConnection, station: str, connection_id: str, trace: list[Event]):
        super().__init__(ws)
        self.station = station
        self.connection_id = connection_id
        self.trace = trace

    def _frame(self, direction: Direction, message: str | bytes) -> None:
        self.trace.append(Frame(time.time(), self.station, self.connection_id, direction, message))

    async def recv(self) -> str | bytes:
        message = await super().recv()
        self._frame(Direction.CSMS_TO_CHARGER, message)
        return message

    async def send(self, message: str | bytes) -> None:
        self._frame(Direction.CHARGER_TO_CSMS, message)
        await super().send(message)


@dataclass
class Behaviour:
    """How the simulated station answers the CSMS's commands."""

    start: str = "Accepted"
    send_started: bool = True
    """False: accept RequestStartTransaction but never send TransactionEvent Started."""
    stop: str = "Accepted"
    profile: str = "Accepted"
    answer_delay: float = 0.0
    """Seconds before answering any command (longer than the CSMS's timeout: no answer)."""


@dataclass
class Meter:
    """The running transaction of the simulated station, on a virtual clock."""

    transaction_id: str
    start: datetime
    power_kw: float
    seq_no: int = 0
    elapsed: int = 0
    remote_start_id: int | None = None


_transaction_numbers = itertools.count(1)


class SimulatedStation(ChargePoint):
    """The ocpp library's ChargePoint answering RequestStart/StopTransaction and
    SetChargingProfile, and sending its own transaction events."""

    def __init__(self, station: str, connection: Tracing, behaviour: Behaviour) -> None:
        super().__init__(station, connection, response_timeout=STEP)
        self.behaviour = behaviour
        self.meter: Meter | None = None
        self.profiles: list[dict[str, Any]] = []
        """Every SetChargingProfileRequest received (snake_case, as the library gives it)."""
        self.commands: list[tuple[str, float]] = []
        """(action, time.monotonic()) of each command received."""
        self.sent_events: list[tuple[dict[str, Any], float]] = []
        """Each TransactionEvent sent, with time.monotonic() just before sending."""
        self.background: list[asyncio.Task[Any]] = []

    # ---- commands from the CSMS ----

    async def _delay(self) -> None:
        if self.behaviour.answer_delay:
            await asyncio.sleep(self.behaviour.answer_delay)

    @on("RequestStartTransaction")
    async def on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, **_: Any
    ) -> call_result.RequestStartTransaction:
        self.commands.append(("RequestStartTransaction", time.monotonic()))
        await self._delay()
        if self.behaviour.start != "Accepted":
            return call_result.RequestStartTransaction(
                status=self.behaviour.start, status_info={"reason_code": "EVSEBusy"}
            )
        return call_result.RequestStartTransaction(status="Accepted")

    @after("RequestStartTransaction")
    async def after_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, **_: Any
    ) -> None:
        if self.behaviour.start == "Accepted" and self.behaviour.send_started:
            self._spawn(self.start(id_token["id_token"], remote_start_id=remote_start_id))

    @on("RequestStopTransaction")
    async def on_request_stop(
        self, transaction_id: str, **_: Any
    ) -> call_result.RequestStopTransaction:
        self.commands.append(("RequestStopTransaction", time.monotonic()))
        await self._delay()
        known = self.meter is not None and self.meter.transaction_id == transaction_id
        status = self.behaviour.stop if known else "Rejected"
        return call_result.RequestStopTransaction(status=status)

    @after("RequestStopTransaction")
    async def after_request_stop(self, transaction_id: str, **_: Any) -> None:
        known = self.meter is not None and self.meter.transaction_id == transaction_id
        if known and self.behaviour.stop == "Accepted":
            self._spawn(self.end(reason="Remote", trigger="RemoteStop"))

    @on("SetChargingProfile")
    async def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> call_result.SetChargingProfile:
        self.commands.append(("SetChargingProfile", time.monotonic()))
        self.profiles.append({"evse_id": evse_id, **charging_profile})
        await self._delay()
        if self.behaviour.profile != "Accepted":
            return call_result.SetChargingProfile(
                status=self.behaviour.profile,
                status_info={"reason_code": "NoProfileSupport", "additional_info": "test"},
            )
        return call_result.SetChargingProfile(status="Accepted")

    def _spawn(self, coroutine: Any) -> None:
        self.background.append(asyncio.get_running_loop().create_task(coroutine))

    # ---- the station's own calls ----

    async def send(self, request: Any) -> Any:
        """A CALL; its result (a CALLERROR raises)."""
        return await within(self.call(request, suppress=False))

    async def boot(self) -> call_result.BootNotification:
        return await self.send(
            call.BootNotification(
                charging_station={
                    "model": "SimCharger",
                    "vendor_name": "ocppscope",
                    "serial_number": f"SN-{self.id}",
                    "firmware_version": "1.0.0",
                },
                reason="PowerUp",
            )
        )

    async def status(self, connector_status: str) -> Any:
        return await self.send(
            call.StatusNotification(
                timestamp=ocpp_time(datetime.now(UTC)),
                connector_status=connector_status,
                evse_id=1,
                connector_id=1,
            )
        )

    async def transaction_event(self, payload: dict[str, Any]) -> call_result.TransactionEvent:
        self.sent_events.append((payload, time.monotonic()))
        return await self.send(as_call(payload))

    async def start(
        self,
        id_token: str = "TAG-0001",
        power_kw: float = 100.0,
        remote_start_id: int | None = None,
        transaction_id: str | None = None,
    ) -> call_result.TransactionEvent:
        meter = Meter(
            transaction_id or f"TX-{self.id}-{next(_transaction_numbers):04d}",
            datetime.now(UTC),
            power_kw,
            remote_start_id=remote_start_id,
        )
        self.meter = meter
        return await self.transaction_event(
            transaction_event(
                "Started",
                0,
                meter.start,
                meter.transaction_id,
                register_wh=REGISTER_START_WH,
                power_w=power_kw * 1000,
                id_token=id_token,
                remote_start_id=remote_start_id,
                trigger_reason="RemoteStart" if remote_start_id is not None else "Authorized",
            )
        )

    async def update(self, seconds: int = 5) -> call_result.TransactionEvent:
        """`seconds` later on the virtual clock: an Updated event with the register."""
        meter = self.meter
        assert meter is not None, "no transaction running"
        meter.seq_no += 1
        meter.elapsed += seconds
        return await self.transaction_event(
            transaction_event(
                "Updated",
                meter.seq_no,
                meter.start + timedelta(seconds=meter.elapsed),
                meter.transaction_id,
                register_wh=register_at(meter.elapsed, meter.power_kw),
                power_w=meter.power_kw * 1000,
            )
        )

    async def end(
        self, reason: str = "Local", trigger: str = "StopAuthorized", at_seconds: int = 30
    ) -> call_result.TransactionEvent:
        """Ended at `at_seconds` of the virtual clock (or later, if already past it)."""
        meter = self.meter
        assert meter is not None, "no transaction running"
        meter.seq_no += 1
        meter.elapsed = max(meter.elapsed, at_seconds)
        self.meter = None
        return await self.transaction_event(
            transaction_event(
                "Ended",
                meter.seq_no,
                meter.start + timedelta(seconds=meter.elapsed),
                meter.transaction_id,
                register_wh=register_at(meter.elapsed, meter.power_kw),
                power_w=0,
                trigger_reason=trigger,
                stopped_reason=reason,
            )
        )

    def started_sent_at(self, transaction_id: str) -> float | None:
        for payload, moment in self.sent_events:
            if (
                payload["eventType"] == "Started"
                and payload["transactionInfo"]["transactionId"] == transaction_id
            ):
                return moment
        return None


@dataclass
class Link:
    """A connected simulated station and what was seen on its connection."""

    ws: ClientConnection
    cp: SimulatedStation
    connection: Tracing
    task: asyncio.Task[None]
    trace: list[Event] = field(default_factory=list)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await within(self.ws.close(), 5)
        for task in [self.task, *self.cp.background]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await within(task, 5)

    async def closed(self) -> int | None:
        """Wait for the other side to close; the close code."""
        await within(self.task)
        return self.ws.close_code


_connection_numbers = itertools.count(1)


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@contextlib.asynccontextmanager
async def station(
    running: RunningCsms,
    station_id: str,
    behaviour: Behaviour | None = None,
    trace: list[Event] | None = None,
    url: str | None = None,
    **connect_args: Any,
) -> AsyncIterator[Link]:
    """A simulated station connected to the CSMS (or to `url`, e.g. a proxy in front of it);
    every frame also goes to `trace`."""
    trace = trace if trace is not None else []
    connect_args.setdefault("subprotocols", [SUBPROTOCOL])
    ws = await within(
        connect(
            url or ocpp_url(running, station_id),
            open_timeout=STEP,
            ping_interval=None,
            max_size=None,
            **connect_args,
        )
    )
    connection_id = f"{station_id}#{next(_connection_numbers)}"
    assert ws.request is not None and ws.response is not None
    trace.append(
        ConnectionOpened(
            time.time(),
            station_id,
            connection_id,
            ws.request.path,
            tuple(connect_args["subprotocols"]),
            ws.subprotocol,
            {k.lower(): v for k, v in ws.request.headers.raw_items()},
            {k.lower(): v for k, v in ws.response.headers.raw_items()},
        )
    )
    connection = Tracing(ws, station_id, connection_id, trace)
    cp = SimulatedStation(station_id, connection, behaviour or Behaviour())
    task = asyncio.get_running_loop().create_task(_serve_messages(cp, connection, limit=1_000_000))
    link = Link(ws, cp, connection, task, trace)
    try:
        yield link
    finally:
        await link.close()
        trace.append(
            ConnectionClosed(time.time(), station_id, connection_id, ws.close_code, "charger")
        )
