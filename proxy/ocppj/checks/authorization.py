"""AUTH group: which idTokens a station authorizes, and what it does with the CSMS's verdict (C01,
C03, C05, F01).

AUTH-001 (AuthorizeResponse carries idTokenInfo.status) is no rule of its own: both fields are
required by the response's schema, so SCH-001 reports their absence and a status outside the
enumeration.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup
from proxy.ocppj.routing import RuleGroup, on_call, on_error, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallError, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

NOT_AUTHORIZED_ONLINE: Final = ("Central", "NoAuthorization")
"""idToken types a station does not send an AuthorizeRequest for (C03.FR.01, C05.FR.01)."""
TOKEN_FORMATS: Final = {
    "ISO14443": (
        re.compile(r"[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}"),
        "a 4 or 7 byte UID, 8 or 14 hex digits",
    ),
    "ISO15693": (re.compile(r"[0-9A-Fa-f]{16}"), "an 8 byte UID, 16 hex digits"),
    "eMAID": (
        re.compile(r"[A-Za-z]{2}-?[A-Za-z0-9]{3}-?[A-Za-z0-9]{9}(-?[A-Za-z0-9])?"),
        "an ISO 15118 eMAID: country, provider, 9-character id, optional check digit",
    ),
}
"""idToken type -> the form of its value, and how a finding describes it (ISO 14443-3, 15693-3,
ISO 15118-2 Annex H)."""
REMEMBERED: Final = 64

Token = tuple[str, str]
"""(type, value case-folded): idToken values are case-insensitive (Part 2 IdTokenType)."""


def token_of(value: Any) -> Token | None:
    if not isinstance(value, dict):
        return None
    token, kind = value.get("idToken"), value.get("type")
    if not isinstance(token, str) or not isinstance(kind, str):
        return None
    return kind, token.casefold()


def _remember(table: dict[Any, Any], key: Any, value: Any) -> None:
    table.pop(key, None)
    table[key] = value
    if len(table) > REMEMBERED:
        del table[next(iter(table))]


class AuthorizationGroup(RuleGroup):
    """Keeps the CSMS's latest verdict per idToken and the remote starts awaiting their
    transaction."""

    needs = (DeviceModelGroup,)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.verdicts: dict[Token, str] = {}
        """idToken -> the latest idTokenInfo.status the CSMS gave for it."""
        self.remote_starts: dict[int, tuple[Token, bool]] = {}
        """remoteStartId of a RequestStartTransaction not refused -> (its idToken, authorized
        since)."""
        self.formats_noted: set[Token] = set()

    def _check_format(self, value: Any) -> None:
        """AUTH-005, once per idToken."""
        token = token_of(value)
        if token is None or token in self.formats_noted:
            return
        kind = token[0]
        form = TOKEN_FORMATS.get(kind)
        if form is None or form[0].fullmatch(value["idToken"]):
            return
        self.formats_noted.add(token)
        if len(self.formats_noted) > REMEMBERED:
            self.formats_noted.clear()
        self.session.flag(
            "AUTH-005",
            f"idToken '{value['idToken']}' of type {kind} is not {form[1]}",
        )

    @on_call("Authorize")
    def authorize(self, call: Call) -> None:
        session = self.session
        value = (call.payload or {}).get("idToken")
        token = token_of(value)
        if token is None or session.direction is not Direction.CHARGER_TO_CSMS:
            return
        self._check_format(value)
        if token[0] in NOT_AUTHORIZED_ONLINE:
            session.flag(
                "AUTH-002",
                f"AuthorizeRequest for an idToken of type {token[0]}; such tokens are not "
                "authorized with the CSMS (C03.FR.01, C05.FR.01)",
            )
        for remote_start_id, (wanted, _) in self.remote_starts.items():
            if wanted == token:
                self.remote_starts[remote_start_id] = (wanted, True)

    @on_result("Authorize")
    def authorize_answered(self, pending: PendingCall, result: CallResult) -> None:
        self._verdict(pending.payload.get("idToken"), result)

    def _verdict(self, value: Any, result: CallResult) -> None:
        token = token_of(value)
        info = (result.payload or {}).get("idTokenInfo")
        status = info.get("status") if isinstance(info, dict) else None
        if token is not None and isinstance(status, str):
            _remember(self.verdicts, token, status)

    @on_call("TransactionEvent")
    def transaction_event(self, call: Call) -> None:
        session = self.session
        payload = call.payload or {}
        if session.direction is not Direction.CHARGER_TO_CSMS:
            return
        value = payload.get("idToken")
        token = token_of(value)
        if token is not None and isinstance(value, dict):
            self._check_format(value)
            status = self.verdicts.get(token)
            if (
                payload.get("triggerReason") == "Authorized"
                and status not in (None, "Accepted")
                and payload.get("offline") is not True
            ):
                session.flag(
                    "AUTH-003",
                    f"TransactionEvent authorizes idToken '{value['idToken']}', which the CSMS "
                    f"answered {status}; a token the CSMS refused does not start or resume "
                    "charging (C01)",
                )
        info = payload.get("transactionInfo")
        remote_start_id = info.get("remoteStartId") if isinstance(info, dict) else None
        if type(remote_start_id) is int and remote_start_id in self.remote_starts:
            self._remote_start_done(remote_start_id)

    @on_result("TransactionEvent")
    def transaction_event_answered(self, pending: PendingCall, result: CallResult) -> None:
        self._verdict(pending.payload.get("idToken"), result)

    @on_call("RequestStartTransaction")
    def remote_start_sent(self, call: Call) -> None:
        """Remembered from the request: the station may report the transaction before it answers."""
        payload = call.payload or {}
        self._check_format(payload.get("idToken"))
        token, remote_start_id = token_of(payload.get("idToken")), payload.get("remoteStartId")
        if token is not None and type(remote_start_id) is int:
            _remember(self.remote_starts, remote_start_id, (token, False))

    @on_result("RequestStartTransaction")
    def remote_start_answered(self, pending: PendingCall, result: CallResult) -> None:
        if (result.payload or {}).get("status") != "Accepted":
            self._forget_start(pending)

    @on_error("RequestStartTransaction")
    def remote_start_refused(self, pending: PendingCall, error: CallError) -> None:
        self._forget_start(pending)

    def _forget_start(self, pending: PendingCall) -> None:
        remote_start_id = pending.payload.get("remoteStartId")
        if type(remote_start_id) is int:
            self.remote_starts.pop(remote_start_id, None)

    def _remote_start_done(self, remote_start_id: int) -> None:
        """AUTH-004 on the first TransactionEvent of a remote start (F01.FR.01, F01.FR.02)."""
        (kind, _), authorized = self.remote_starts.pop(remote_start_id)
        setting = self.session.group(DeviceModelGroup).model.setting(
            "AuthCtrlr", "AuthorizeRemoteStart"
        )
        if setting is None or kind in NOT_AUTHORIZED_ONLINE:
            return  # AUTH-002 judges an Authorize for these types
        if setting.lower() == "true" and not authorized:
            self.session.flag(
                "AUTH-004",
                f"remote start {remote_start_id} began without an AuthorizeRequest for its "
                "idToken although AuthorizeRemoteStart is true (fine if the token was in the "
                "cache or local list, F01.FR.01)",
            )
        elif setting.lower() == "false" and authorized:
            self.session.flag(
                "AUTH-004",
                f"station sent an AuthorizeRequest for the idToken of remote start "
                f"{remote_start_id} although AuthorizeRemoteStart is false (F01.FR.02)",
            )
