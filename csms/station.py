"""One connected charging station as the CSMS sees it: the `ocpp` library's v201 ChargePoint
with the reference CSMS's answers, and the commands the REST API sends."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp import messages
from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import FormatViolationError, OCPPError
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from csms.fleet import Fleet
from csms.inbound import refusal
from csms.metering import Transaction, event_from_request, samples
from csms.repository import Repository
from proxy.ocppj.messages import Call, CallError, CallResult, parse_frame

log = logging.getLogger("ocppscope.csms")
POWER_STEP_KW = 0.05
"""A power change smaller than this is not a new row of charger_status_log."""
PROFILE_IDS = {"TxDefaultProfile": 1, "TxProfile": 2}
"""One profile id per purpose: a new limit replaces the previous one (K01.FR.05) instead of
piling up profiles at the same stack level, which a station may reject (K01.FR.53)."""
remote_start_ids = itertools.count(1)
"""remoteStartId of RequestStartTransaction: unique while this CSMS runs."""


@dataclass(frozen=True, slots=True)
class Policy:
    price_per_kwh: float = 150.0
    heartbeat_interval: int = 30
    accept_unknown: bool = True
    """Register a station that is not in charger_info at its first BootNotification."""
    max_stations: int = 100_000
    """Stations known at most (registered ones included): beyond, an unknown station's
    BootNotification is Rejected, so that anyone who can connect cannot fill the map."""
    denied_tokens: frozenset[str] = frozenset()


@dataclass
class Ledger:
    """Transactions by id, shared by every connection (a replay may come on a new one)."""

    transactions: dict[str, Transaction] = field(default_factory=dict)

    def transaction(self, transaction_id: str) -> Transaction:
        return self.transactions.setdefault(transaction_id, Transaction(transaction_id))


def now() -> str:
    """OCPP dateTime, UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Station(ChargePoint):
    def __init__(
        self,
        charger_id: str,
        connection: Any,
        fleet: Fleet,
        repository: Repository,
        ledger: Ledger,
        policy: Policy,
    ) -> None:
        super().__init__(charger_id, connection, response_timeout=30)
        self.fleet = fleet
        self.repository = repository
        self.ledger = ledger
        self.policy = policy

    # ---- the station's calls ------------------------------------------------------------------

    @on("BootNotification")
    async def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **_: Any
    ) -> call_result.BootNotification:
        if self.id not in self.fleet.chargers:
            full = len(self.fleet.chargers) >= self.policy.max_stations
            if full:
                log.warning(
                    "%s: BootNotification Rejected: %d stations known, the limit (--max-stations)",
                    self.id,
                    len(self.fleet.chargers),
                )
            if full or not self.policy.accept_unknown:
                return call_result.BootNotification(
                    current_time=now(),
                    interval=self.policy.heartbeat_interval,
                    status="Rejected",
                    status_info={"reason_code": "TooManyStations"} if full else None,
                )
            charger = await self.repository.register(self.id)
            charger.status = "Online"
            self.fleet.add(charger)
        moment = datetime.now(UTC)  # a BootNotification is as good a sign of life as a Heartbeat
        await self.repository.booted(
            self.id,
            charging_station.get("vendor_name", ""),
            charging_station.get("model", ""),
            charging_station.get("serial_number"),
            charging_station.get("firmware_version"),
            moment,
        )
        self._seen(moment)
        return call_result.BootNotification(
            current_time=now(), interval=self.policy.heartbeat_interval, status="Accepted"
        )

    @on("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        await self._alive()
        return call_result.Heartbeat(current_time=now())

    async def _alive(self) -> None:
        moment = datetime.now(UTC)
        await self.repository.heartbeat(self.id, moment)
        self._seen(moment)

    def _seen(self, moment: datetime) -> None:
        charger = self.fleet.chargers.get(self.id)
        if charger is not None:
            charger.last_heartbeat = moment
            self.fleet.changed()

    @on("StatusNotification")
    async def on_status_notification(
        self, connector_status: str, **_: Any
    ) -> call_result.StatusNotification:
        charger = self.fleet.chargers.get(self.id)
        power = charger.power_kw if charger else 0.0
        await self.repository.status(self.id, connector_status, power)
        if charger is not None:
            charger.connector_status = connector_status
            self.fleet.changed()
        return call_result.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_token_info={"status": self._token_status(id_token)})

    @on("TransactionEvent")
    async def on_transaction_event(self, **request: Any) -> call_result.TransactionEvent:
        payload = snake_to_camel_case(request)
        transaction_id, event = event_from_request(payload)
        transaction = self.ledger.transactions.get(transaction_id)
        if transaction is None:  # new, or begun before this CSMS started: what do we know?
            transaction = self.ledger.transaction(transaction_id)
            for earlier in await self.repository.transaction_events(transaction_id):
                transaction.add(event_from_request(earlier)[1])
        await self.repository.transaction_event(self.id, transaction_id, event.seq_no, payload)
        transaction.add(event)
        usage = transaction.usage(self.policy.price_per_kwh)
        await self.repository.usage(self.id, usage)
        charger = self.fleet.chargers.get(self.id)
        before = charger.power_kw if charger else 0.0
        self.fleet.usage(self.id, usage)
        if charger is not None and abs(charger.power_kw - before) >= POWER_STEP_KW:
            await self.repository.status(
                self.id, charger.connector_status or "Occupied", charger.power_kw
            )
        answer: dict[str, Any] = {}
        if event.event_type == "Ended":
            answer["total_cost"] = usage.cost
        token = request.get("id_token")
        if token:
            answer["id_token_info"] = {"status": self._token_status(token)}
        return call_result.TransactionEvent(**answer)

    @on("MeterValues")
    async def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any
    ) -> call_result.MeterValues:
        readings = samples(snake_to_camel_case(meter_value))
        powers = [s.power_kw for s in readings if s.power_kw is not None]
        charger = self.fleet.chargers.get(self.id)
        if powers and charger is not None and abs(charger.power_kw - powers[-1]) >= POWER_STEP_KW:
            charger.power_kw = powers[-1]
            await self.repository.status(
                self.id, charger.connector_status or "Available", charger.power_kw
            )
            self.fleet.changed()
        return call_result.MeterValues()

    @on("NotifyEvent")
    def on_notify_event(self, **_: Any) -> call_result.NotifyEvent:
        return call_result.NotifyEvent()

    @on("SecurityEventNotification")
    def on_security_event(self, type: str, **_: Any) -> call_result.SecurityEventNotification:  # noqa: A002 (the field's name)
        log.info("%s: security event %s", self.id, type)
        return call_result.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, status: str, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on("NotifyReport")
    def on_notify_report(self, **_: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on("LogStatusNotification")
    def on_log_status(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    def _token_status(self, id_token: dict[str, Any]) -> str:
        return "Blocked" if id_token.get("id_token") in self.policy.denied_tokens else "Accepted"

    async def route_message(self, raw_msg: str) -> None:
        """Every frame through csms/inbound.py first: what is no valid CALL gets its CALLERROR
        and one log line, and the handlers see only valid payloads (the library's own parsing
        and its tracebacks are never reached)."""
        parsed = parse_frame(raw_msg, self._connection.subprotocol)
        refused = refusal(parsed, self.route_map)
        if refused is not None:
            log.warning("%s: CALLERROR %s to %s", self.id, refused.code, refused.description)
            await self._send(refused.frame())
            return
        message = parsed.message
        if isinstance(message, Call):
            call_message = messages.Call(message.message_id, message.action, message.payload)
            try:
                await self._handle_call(call_message)
            except (OCPPError, ValueError, RecursionError) as error:  # the library's own check
                error = error if isinstance(error, OCPPError) else FormatViolationError(str(error))
                log.warning("%s: CALLERROR %s to %s", self.id, error.code, error.description)
                await self._send(call_message.create_call_error(error).to_json())
        elif isinstance(message, CallResult) and message.payload is not None:
            self._response_queue.put_nowait(
                messages.CallResult(message.message_id, message.payload)
            )
        elif isinstance(message, CallError):
            self._response_queue.put_nowait(
                messages.CallError(
                    message.message_id, message.error_code, message.description, message.details
                )
            )
        else:
            log.warning("%s: dropped a response that is no OCPP-J message", self.id)

    # ---- the CSMS's commands ------------------------------------------------------------------

    async def request_start(self, id_token: str, evse_id: int | None, remote_start_id: int) -> Any:
        """The station's answer; raises OCPPError on a CALLERROR."""
        return await self.call(
            call.RequestStartTransaction(
                id_token={"id_token": id_token, "type": "Central"},
                remote_start_id=remote_start_id,
                evse_id=evse_id,
            ),
            suppress=False,
        )

    async def request_stop(self, transaction_id: str) -> Any:
        return await self.call(
            call.RequestStopTransaction(transaction_id=transaction_id), suppress=False
        )

    async def limit_power(
        self, max_power_kw: float, transaction_id: str | None, evse_id: int
    ) -> Any:
        """TxProfile on the running transaction, else TxDefaultProfile for the station (EVSE 0)."""
        purpose = "TxProfile" if transaction_id else "TxDefaultProfile"
        profile: dict[str, Any] = {
            "id": PROFILE_IDS[purpose],
            "stack_level": 0,
            "charging_profile_purpose": purpose,
            "charging_profile_kind": "Relative",
            "charging_schedule": [
                {
                    "id": 1,
                    "charging_rate_unit": "W",
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": round(max_power_kw * 1000, 1)}
                    ],
                }
            ],
        }
        if transaction_id:
            profile["transaction_id"] = transaction_id
        return await self.call(
            call.SetChargingProfile(
                evse_id=evse_id if transaction_id else 0, charging_profile=profile
            ),
            suppress=False,
        )
