"""What a station's behaviour needs from the OCPP version it speaks: the requests it sends,
what it reads from their answers, and the websocket link that answers the CSMS. The behaviour
(plug, authorize, charge, meter, stop, back-off, offline queue) is `simulator.station`, written
once; `simulator.v16`, `simulator.v201` and `simulator.v21` are the versions.

A session's events are queued in one form, the 2.0.1 TransactionEvent's (`simulator.events`);
a version turns each into its own request when it is sent, so that a 1.6 StartTransaction queued
offline gets its transactionId from the CSMS only when it is delivered, and the MeterValues and
StopTransaction queued behind it use that id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from simulator.evse import Evse
    from simulator.fleet import StationSpec
    from simulator.link import Attached


class Dialect(Protocol):
    subprotocol: str
    link: type[Attached]

    def boot(self, spec: StationSpec, reason: str) -> Any: ...
    def boot_answer(self, answer: Any) -> tuple[str, int]:
        """(status, interval) of a BootNotification's answer."""
        ...

    def connector_status(self, evse: Evse) -> str:
        """The status the version reports for `evse` now."""
        ...

    def status(self, evse: int, status: str, now: float) -> Any: ...
    def authorize(self, id_token: str) -> Any: ...
    def authorized(self, answer: Any) -> bool: ...
    def heartbeat(self) -> Any: ...
    def started_up(self, now: float) -> Any | None:
        """The security event a boot is reported with, None where the version has none."""
        ...

    def transaction(self, event: dict[str, Any]) -> Any | None:
        """The request for a queued event; None when it cannot be sent (its transaction has no
        id from the CSMS)."""
        ...

    def transacted(self, event: dict[str, Any], answer: Any) -> bool:
        """Note what the answer to `event`'s request says (a 1.6 transactionId); True when it
        refuses the idTag a session started with, so that the station ends the session."""
        ...

    def local_transaction(self, transaction_id: str | int) -> str | None:
        """The station's own id of the transaction the CSMS calls `transaction_id`."""
        ...


def speaking(version: str) -> Dialect:
    """A fresh dialect for one station (a 1.6 one remembers the CSMS's transactionIds)."""
    from simulator import v16, v21, v201  # noqa: PLC0415 (each imports its ChargePoint, and this module)

    dialects: dict[str, type[Dialect]] = {
        "ocpp1.6": v16.V16,
        "ocpp2.0.1": v201.V201,
        "ocpp2.1": v21.V21,
    }
    return dialects[version]()
