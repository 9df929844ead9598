"""DM group, CSMS requests that must agree with what the station reported: DeleteCertificate
hashes a certificate as the station listed it (M04.FR.07), SetDisplayMessage names no
transaction that is over (O01.FR.04)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import objects
from proxy.ocppj.checks.transactions import TransactionsGroup
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import RuleGroup, on_call, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

REMEMBERED_CERTIFICATES = 256


class CsmsRequestsGroup(RuleGroup):
    """Keeps the certificates the station listed, to judge the CSMS's later requests by."""

    needs = (TransactionsGroup,)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.hashes: dict[str, set[str]] = {}
        """Certificate serialNumber -> the hashAlgorithms the station listed it with."""

    @on_result("GetInstalledCertificateIds")
    def listed(self, pending: PendingCall, result: CallResult) -> None:
        for chain in objects((result.payload or {}).get("certificateHashDataChain")):
            data = chain.get("certificateHashData")
            if not isinstance(data, dict):
                continue
            serial, algorithm = data.get("serialNumber"), data.get("hashAlgorithm")
            if isinstance(serial, str) and isinstance(algorithm, str):
                self.hashes.setdefault(serial, set()).add(algorithm)
        while len(self.hashes) > REMEMBERED_CERTIFICATES:
            del self.hashes[next(iter(self.hashes))]

    @on_call("DeleteCertificate")
    def delete_as_listed(self, call: Call) -> None:
        """DM-007: the hash data of a certificate to delete uses the station's hashAlgorithm."""
        session = self.session
        data = (call.payload or {}).get("certificateHashData")
        if session.direction is not Direction.CSMS_TO_CHARGER or not isinstance(data, dict):
            return
        serial, algorithm = data.get("serialNumber"), data.get("hashAlgorithm")
        listed = self.hashes.get(serial) if isinstance(serial, str) else None
        if listed and algorithm not in listed:
            session.flag(
                "DM-007",
                f"DeleteCertificate for serialNumber {serial} hashed with "
                f"{algorithm}; the station listed that certificate with "
                f"{', '.join(sorted(listed))}, so its issuer hashes will not match",
                Severity.WARNING,
            )

    @on_call("SetDisplayMessage")
    def display_for_running_transaction(self, call: Call) -> None:
        """DM-007: a message tied to a transaction names one that is still running."""
        session = self.session
        message = (call.payload or {}).get("message")
        if session.direction is not Direction.CSMS_TO_CHARGER or not isinstance(message, dict):
            return
        transaction_id = message.get("transactionId")
        if not isinstance(transaction_id, str):
            return
        transaction = session.group(TransactionsGroup).transactions.get(transaction_id)
        if transaction is not None and transaction.ended_seq is not None:
            session.flag(
                "DM-007",
                f"SetDisplayMessage names transaction {transaction_id}, which ended "
                f"{session.now - (transaction.ended_at or session.now):.0f} s ago; a message "
                "not tied to a running transaction omits transactionId",
                Severity.INFO,
            )
