"""What the reference CSMS does for a connected station whatever OCPP version it speaks: every frame
screened before a handler (csms/inbound.py), registration at boot, signs of life, connector
status, and a transaction's record from its events (csms/metering.py). The versions' own
ChargePoints (csms/station.py for 2.0.1 and 2.1, csms/station16.py for 1.6) build on it."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp import messages
from ocpp.charge_point import ChargePoint
from ocpp.exceptions import FormatViolationError, OCPPError

from csms.fleet import Fleet
from csms.inbound import refusal
from csms.metering import Event, Transaction, Usage, event_from_request
from csms.protocols import PROTOCOLS, Protocol
from csms.repository import Repository
from proxy.ocppj.messages import Call, CallError, CallResult, parse_frame

log = logging.getLogger("ocppscope.csms")
POWER_STEP_KW = 0.05
"""A power change smaller than this is not a new row of charger_status_log."""
remote_start_ids = itertools.count(1)
"""remoteStartId of a remote start: unique while this CSMS runs."""


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
    """Transactions by charger and id (a station names its own, so two may use one id), shared
    by every connection (a replay may come on a new one)."""

    transactions: dict[tuple[str, str], Transaction] = field(default_factory=dict)

    def transaction(self, charger_id: str, transaction_id: str) -> Transaction:
        return self.transactions.setdefault(
            (charger_id, transaction_id), Transaction(transaction_id)
        )


def now() -> str:
    """OCPP dateTime, UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Names:
    """What the REST API's commands and the messages it waits for are called in a version."""

    start: str = "RequestStartTransaction"
    stop: str = "RequestStopTransaction"
    started: str = "TransactionEvent Started"
    ended: str = "TransactionEvent Ended"


class Peer(ChargePoint):
    """A station's connection; its subprotocol picks its schemas and CALLERROR spellings."""

    names = Names()

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
        self.protocol: Protocol = PROTOCOLS[connection.subprotocol]

    async def admit(self, vendor: str, model: str, serial: str | None, firmware: str | None) -> str:
        """What a BootNotification gets: "Accepted", "Rejected" (unknown and not taken) or
        "TooManyStations" (a Rejected because the fleet is full)."""
        if self.id not in self.fleet.chargers:
            full = len(self.fleet.chargers) >= self.policy.max_stations
            if full:
                log.warning(
                    "%s: BootNotification Rejected: %d stations known, the limit (--max-stations)",
                    self.id,
                    len(self.fleet.chargers),
                )
                return "TooManyStations"
            if not self.policy.accept_unknown:
                return "Rejected"
            charger = await self.repository.register(self.id, self.protocol.subprotocol)
            charger.status = "Online"
            self.fleet.add(charger)
        moment = datetime.now(UTC)  # a BootNotification is as good a sign of life as a Heartbeat
        await self.repository.booted(self.id, vendor, model, serial, firmware, moment)
        self._seen(moment)
        return "Accepted"

    async def alive(self) -> None:
        moment = datetime.now(UTC)
        await self.repository.heartbeat(self.id, moment)
        self._seen(moment)

    def _seen(self, moment: datetime) -> None:
        charger = self.fleet.chargers.get(self.id)
        if charger is not None:
            charger.last_heartbeat = moment
            self.fleet.changed()

    async def connector(self, status: str) -> None:
        charger = self.fleet.chargers.get(self.id)
        power = charger.power_kw if charger else 0.0
        await self.repository.status(self.id, status, power)
        if charger is not None:
            charger.connector_status = status
            self.fleet.changed()

    async def power(self, power_kw: float, status: str) -> None:
        """A power reading outside a transaction's record (MeterValues)."""
        charger = self.fleet.chargers.get(self.id)
        if charger is not None and abs(charger.power_kw - power_kw) >= POWER_STEP_KW:
            charger.power_kw = power_kw
            await self.repository.status(self.id, charger.connector_status or status, power_kw)
            self.fleet.changed()

    async def record(self, transaction_id: str, event: Event, request: dict[str, Any]) -> Usage:
        """Keep one event of a transaction (`request`: its TransactionEventRequest, camelCase) and
        refresh the transaction's row of charger_usage_log and the map from all of its events."""
        transaction = self.ledger.transactions.get((self.id, transaction_id))
        if transaction is None:  # new, or begun before this CSMS started: what do we know?
            transaction = self.ledger.transaction(self.id, transaction_id)
            for earlier in await self.repository.transaction_events(self.id, transaction_id):
                transaction.add(event_from_request(earlier)[1])
        await self.repository.transaction_event(self.id, transaction_id, event.seq_no, request)
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
        return usage

    async def route_message(self, raw_msg: str) -> None:
        """Every frame through csms/inbound.py first: what is no valid CALL gets its CALLERROR
        and one log line, and the handlers see only valid payloads (the library's own parsing
        and its tracebacks are never reached)."""
        parsed = parse_frame(raw_msg, self.protocol.subprotocol)
        refused = refusal(parsed, self.route_map, self.protocol)
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
                error.code = self.protocol.error_code(error.code)
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
            log.info("%s: no answer owed to %.80s", self.id, raw_msg)  # a SEND, an odd response
