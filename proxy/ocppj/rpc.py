"""The OCPP-J RPC layer of a session: MessageIds, CALL/response matching and answer timeouts.

Kept apart from the rule groups: it holds connection-wide facts (what is outstanding, answered or
timed out per sender) that every OCPP-J version shares, and reports the RPC-* rules about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from proxy.ocppj import signed
from proxy.ocppj.actions import Direction
from proxy.ocppj.errors import LEGACY_ERROR_CODES
from proxy.ocppj.findings import Detail, Severity
from proxy.ocppj.messages import Call, CallError, CallResult, Parsed, Send
from proxy.ocppj.schemas import validate
from proxy.ocppj.signed import signed_action

if TYPE_CHECKING:
    from proxy.ocppj.session import Session

REMEMBERED_SENDS = 64
"""SEND MessageIds remembered per sender, to name an answer to one (RPC-019)."""
REMEMBERED_RESPONSES = 64
"""Answered and timed-out CALLs remembered per sender, to name late or repeated responses."""
REMEMBERED_PAYLOAD_CHARS = 64 * 1024
"""A timed-out CALL keeps its payload for the rules that judge its late answer up to this size
(whitespace aside); a bigger one is remembered by its action alone, as answered CALLs are: with
whole payloads, 64 remembered 16 MiB CALLs held a gigabyte per station."""


@dataclass(slots=True)
class PendingCall:
    """A CALL seen on the wire and not yet answered."""

    call: Call
    direction: Direction
    timestamp: float
    connection_id: str
    ref: object
    forbidden: bool = False
    """Sent in breach of the registration gate: the CSMS should answer with SecurityError."""
    valid: bool = False
    """A known action whose payload passed its schema."""
    violations: tuple[str, ...] = ()
    """The schema keywords its payload breaks (`Required`, `Type`, ...; "" when unnamed): what
    the receiver should have refused, and with which code (RPC-010, RPC-016)."""
    duplicates: int = 0
    """CALLs repeating its MessageId while it was outstanding (RPC-017) whose answer, a refusal
    or a second result, is still to come: such an answer is no second response (RPC-006)."""
    size: int = 0
    """Characters of the CALL without whitespace."""

    @property
    def action(self) -> str:
        return self.call.action

    @property
    def payload(self) -> dict[str, Any]:
        return self.call.payload or {}


@dataclass(slots=True)
class Connection:
    connection_id: str
    opened_at: float
    subprotocol: str | None
    subprotocol_checked: bool = False
    pending: dict[Direction, dict[str, PendingCall]] = field(
        default_factory=lambda: {Direction.CHARGER_TO_CSMS: {}, Direction.CSMS_TO_CHARGER: {}}
    )
    last_activity: float = 0.0
    rejected_frame: RejectedFrame | None = None
    """The last frame that was no usable message: the CALLERROR that may answer it (RPC-014,
    RPC-015) answers no CALL."""


@dataclass(frozen=True, slots=True)
class RejectedFrame:
    """A frame that is no usable message, as the CALLERROR answering it should name it."""

    direction: Direction
    message_id: str
    """"-1" when the MessageId could not be read."""
    unsupported_type: bool
    """Its MessageTypeId is not one of this link's: MessageTypeNotSupported is due (RPC-015)."""


class Rpc:
    """Request/response bookkeeping of one station, across its connections."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._sent_ids: dict[Direction, dict[str, tuple[int, str]]] = {d: {} for d in Direction}
        """Per sender: MessageId -> the fingerprint of its CALL or SEND, and its connection."""
        self._answered: dict[Direction, dict[str, PendingCall]] = {d: {} for d in Direction}
        self._timed_out: dict[Direction, dict[str, PendingCall]] = {d: {} for d in Direction}
        self._sends: dict[Direction, dict[str, str]] = {d: {} for d in Direction}

    def call(self, call: Call, compact: str, connection: Connection) -> PendingCall:
        """Check a CALL against the RPC rules and its schema; it is then outstanding."""
        session = self.session
        direction = session.direction
        assert direction is not None
        outstanding = connection.pending[direction]
        duplicate = outstanding.get(call.message_id)
        if duplicate is not None and "RPC-017" not in session.skipped:
            return self._duplicate(call, duplicate)
        version = session.version
        signs = signed_action(call.action, version.actions) if version.signed else None
        action = signs or call.action
        known = call.action in version.actions
        if signs is None and not known:
            self._unknown_action(call.action)
        elif action in version.send_actions:
            session.flag(
                "RPC-009",
                f"{action} is sent with SEND (MessageTypeId 6), never as a CALL "
                "(OCPP-J 2.1 §4.2.4)",
            )
        elif not version.may_send(action, direction):
            session.flag(
                "RPC-009",
                f"{action} is initiated by the "
                f"{direction.reverse.sender}, not by the {direction.sender}",
            )
        if signs is not None:
            for problem in signed.problems(signs, call.payload):
                session.flag("RPC-018", f"{call.action}: {problem}")
        self._check_id_reuse(call, compact, direction, connection)
        if outstanding:
            earlier = next(iter(outstanding.values()))
            session.flag(
                "RPC-007",
                f"{direction.sender} sent {call.action} while its "
                f"{earlier.action} ({earlier.call.message_id}) sent "
                f"{session.now - earlier.timestamp:.1f} s earlier is still unanswered",
            )
        pending = PendingCall(
            call,
            direction,
            session.now,
            connection.connection_id,
            session.event.ref if session.event else None,
            size=len(compact),
        )
        outstanding[call.message_id] = pending
        self._expect_answer(pending)
        if known and call.payload is not None:
            violations = validate(version.request_schema(call.action), call.payload, False, version)
            pending.valid = not violations
            pending.violations = tuple(violation.kind or "" for violation in violations)
            session.report(violations)
        return pending

    def _unknown_action(self, action: str) -> None:
        version = self.session.version
        suffix = " without 'Request'" if version.request_suffix else ""
        self.session.flag(
            "RPC-009",
            f"unknown action '{action}' (actions are case-sensitive "
            f"{version.label} message names{suffix})",
        )

    def send(self, message: Send, compact: str, connection: Connection) -> None:
        """A SEND (OCPP-J 2.1 §4.2.4): its action, MessageId and payload are judged as a CALL's,
        but it is never outstanding; an answer to it is RPC-019."""
        session = self.session
        direction = session.direction
        assert direction is not None
        version = session.version
        if message.action not in version.actions:
            self._unknown_action(message.action)
        else:
            if not version.may_send(message.action, direction):
                session.flag(
                    "RPC-009",
                    f"{message.action} is sent by the "
                    f"{direction.reverse.sender}, not by the {direction.sender}",
                )
            if message.payload is not None:
                schema = version.request_schema(message.action)
                session.report(validate(schema, message.payload, False, version))
        self._check_id_reuse(message, compact, direction, connection)
        sends = self._sends[direction]
        sends[message.message_id] = message.action
        if len(sends) > REMEMBERED_SENDS:
            del sends[next(iter(sends))]

    def result_refused(self, message: CallError) -> None:
        """A CALLRESULTERROR (OCPP-J 2.1 §4.2.3) answers a CALLRESULT, not a CALL: only its
        errorCode is judged here."""
        self._check_error_code(message.error_code)

    def _duplicate(self, call: Call, earlier: PendingCall) -> PendingCall:
        """RPC-017 rather than RPC-005 and RPC-007: the receiver is still processing the CALL
        whose MessageId this one repeats; it may refuse it with RpcFrameworkError
        (OCPP-J 2.0.1 §4.2.3) or answer both, and either answer is expected."""
        session = self.session
        earlier.duplicates += 1
        same = call.action == earlier.action and call.payload == earlier.call.payload
        if same and session.version.retry_keeps_id:
            return earlier  # a retry MAY keep its message ID (OCPP-J 2.1 §4.1.4)
        session.flag(
            "RPC-017",
            f"{earlier.direction.sender} repeated the MessageId '{call.message_id}' of its "
            f"{earlier.action} CALL sent {session.now - earlier.timestamp:.1f} s earlier and "
            f"still unanswered{' (same CALL)' if same else ' for another CALL'}; the receiver "
            "may refuse it with RpcFrameworkError",
        )
        return earlier

    def _check_id_reuse(
        self, message: Call | Send, compact: str, direction: Direction, connection: Connection
    ) -> None:
        """RPC-005; CALLs are compared without whitespace, so a re-serialised retry is identical.
        The version's §4.1.4 sets the scope: 1.6 the connection, 2.0.1 and 2.1 the station; 2.1
        keeps one id space for CALL and SEND and lets a retry keep its id."""
        session = self.session
        version = session.version
        sent = self._sent_ids[direction]
        fingerprint = hash(compact)
        earlier = sent.pop(message.message_id, None)
        if earlier is not None and not (
            version.ids_per_connection and earlier[1] != connection.connection_id
        ):
            if earlier[0] != fingerprint:
                kinds = "CALL or SEND" if version.send_actions else "CALL"
                session.flag(
                    "RPC-005",
                    f"MessageId '{message.message_id}' was already used by the "
                    f"{direction.sender} for a different {kinds}",
                )
            elif not version.retry_keeps_id:
                session.flag(
                    "RPC-005",
                    f"{message.action} retransmitted with the MessageId "
                    f"'{message.message_id}' of an earlier identical CALL; "
                    f"{version.cite('message_id')} wants a new id for every CALL",
                    Severity.WARNING,
                )
        sent[message.message_id] = (fingerprint, connection.connection_id)
        if len(sent) > session.config.remembered_ids:
            del sent[next(iter(sent))]

    def _expect_answer(self, pending: PendingCall) -> None:
        session = self.session
        timeout = session.message_timeout
        key = ("call", pending.direction, pending.call.message_id)

        def timed_out() -> None:
            connection = session.connections.get(pending.connection_id)
            if connection is not None:
                connection.pending[pending.direction].pop(pending.call.message_id, None)
            _remember(
                self._timed_out[pending.direction],
                pending if pending.size <= REMEMBERED_PAYLOAD_CHARS else _without_payload(pending),
            )
            receiver = pending.direction.reverse.sender
            session.flag(
                "RPC-008",
                f"the {receiver} left the {pending.action} CALL of the "
                f"{pending.direction.sender} unanswered for {timeout:g} s (MessageTimeout)",
                message_id=pending.call.message_id,
                ref=pending.ref,
                connection_id=pending.connection_id,
                action=pending.action,
                direction=pending.direction,
                details={"unanswered_by": receiver, "timeout": timeout},
            )

        session.at(key, pending.timestamp + timeout, timed_out)

    def rejected(self, parsed: Parsed, connection: Connection) -> None:
        """Remember a frame that is no usable message. One of an unknown MessageTypeId SHALL get
        a MessageTypeNotSupported CALLERROR on 2.0.1 (OCPP-J 2.0.1 §4.4): RPC-015 when none came
        in time; 2.1 SHALL ignore it (OCPP-J 2.1 §4.1.3, §4.4): RPC-015 only when the receiver
        closes the connection or answers with another code."""
        session = self.session
        direction = session.direction
        assert direction is not None
        rejected = RejectedFrame(direction, parsed.message_id or "-1", parsed.unsupported_type)
        connection.rejected_frame = rejected
        if not rejected.unsupported_type:
            return  # a frame that cannot be parsed may be dropped (OCPP-J 2.0.1 §4.2.3)
        if not session.judges("RPC-015"):
            return  # OCPP-J 1.6 §4.1.3: a receiver ignores a MessageTypeId it does not know
        code = session.version.unknown_type_code
        receiver = direction.reverse.sender
        timeout = session.message_timeout
        connection_id = connection.connection_id
        ref = session.event.ref if session.event else None

        def unanswered() -> None:
            if code is None:
                return  # ignored, as the version's text asks
            session.flag(
                "RPC-015",
                f"the {receiver} did not answer the frame of unknown MessageTypeId from the "
                f"{direction.sender} with a {code} CALLERROR within {timeout:g} s",
                message_id=rejected.message_id,
                ref=ref,
                connection_id=connection_id,
                direction=direction,
                details={"unanswered_by": receiver, "expected_code": code},
            )

        session.at(("rejected", direction, connection_id), session.now + timeout, unanswered)

    def closed_before_answer(
        self, connection: Connection, direction: Direction, closed_by: str | None
    ) -> None:
        """RPC-015 when the receiver of a frame of unknown MessageTypeId closed the connection
        instead of answering (2.0.1) or ignoring (2.1) it; the frame was sent in `direction`
        (no verdict on a lost connection)."""
        rejected = connection.rejected_frame
        if rejected is None or closed_by != direction.reverse.side:
            return
        version = self.session.version
        code = version.unknown_type_code
        instead = (
            f"answering it with a {code} CALLERROR"
            if code
            else f"ignoring it ({version.cite('message_type', 'unknown_type')})"
        )
        details: dict[str, Detail] = {"closed_by": closed_by}
        if code:
            details["expected_code"] = code
        self.session.flag(
            "RPC-015",
            f"the {direction.reverse.sender} closed the connection after a frame of unknown "
            f"MessageTypeId from the {direction.sender} instead of {instead}",
            message_id=rejected.message_id,
            connection_id=connection.connection_id,
            direction=direction,
            details=details,
        )

    def answered_call(
        self, message_id: str, asker: Direction, connection: Connection
    ) -> PendingCall | None:
        """The CALL a response with this MessageId will be matched to (outstanding or timed
        out), before `response` matches it; None when it answers no CALL the engine saw."""
        return connection.pending[asker].get(message_id) or self._timed_out[asker].get(message_id)

    def response(
        self, message: CallResult | CallError, connection: Connection
    ) -> PendingCall | None:
        """Match a response to the CALL it answers; flag it when it answers none."""
        session = self.session
        direction = session.direction
        assert direction is not None
        asker = direction.reverse
        kind = "CALLERROR" if isinstance(message, CallError) else "CALLRESULT"
        pending = connection.pending[asker].pop(message.message_id, None)
        late = None if pending is not None else self._timed_out[asker].pop(message.message_id, None)
        answered = pending or late
        if answered is not None:
            session.action = answered.action  # findings on this frame name the CALL's action
        if isinstance(message, CallError):
            self._check_error_code(message.error_code)
        if pending is not None:
            session.cancel(("call", asker, message.message_id))
            _remember(self._answered[asker], _without_payload(pending))
            return pending
        if late is not None:
            session.flag(
                "RPC-006",
                f"{kind} to {late.action} arrived "
                f"{session.now - late.timestamp:.1f} s after the CALL, past the "
                f"{session.message_timeout:g} s timeout",
                Severity.WARNING,
            )
            _remember(self._answered[asker], _without_payload(late))
            return late
        repeated = self._answered[asker].get(message.message_id)
        rejected = connection.rejected_frame
        sent = self._sends[asker].get(message.message_id)
        if sent is not None:
            session.action = sent
            session.flag(
                "RPC-019",
                f"the {direction.sender} answered the {sent} SEND of the {asker.sender} with a "
                f"{kind}; a SEND is never answered (OCPP-J 2.1 §4.2.4)",
            )
        elif repeated is not None and repeated.duplicates:
            repeated.duplicates -= 1  # the answer to the repeated CALL (RPC-017)
        elif repeated is not None:
            session.action = repeated.action
            session.flag(
                "RPC-006",
                f"second response to {repeated.action} CALL "
                f"'{message.message_id}', which was already answered",
            )
        elif message.message_id in connection.pending[direction] or (
            message.message_id in self._answered[direction]
        ):
            session.flag(
                "RPC-013",
                f"{direction.sender} sent a {kind} with the MessageId of its own "
                "CALL: responses answer the peer's CALLs, never a response",
            )
        elif (
            isinstance(message, CallError) and rejected is not None and rejected.direction is asker
        ):
            self._answer_to_rejected(message, rejected, connection)
        else:
            session.flag(
                "RPC-006",
                f"{kind} with MessageId '{message.message_id}' answers no "
                f"outstanding CALL of the {asker.sender}",
            )
        connection.rejected_frame = None
        return None

    def _answer_to_rejected(
        self, message: CallError, rejected: RejectedFrame, connection: Connection
    ) -> None:
        """RPC-014 (the MessageId and code of a CALLERROR to an unusable frame), RPC-015."""
        session = self.session
        if "RpcFrameworkError" not in session.version.error_codes:
            return  # OCPP-J 1.6 names neither a MessageId ("-1") nor a code for such an answer
        got = message.message_id
        if rejected.message_id == "-1" and got != "-1":
            session.flag(
                "RPC-014",
                f"CALLERROR answering an unreadable message must use MessageId \"-1\", not '{got}'",
                details={"got_message_id": got, "expected_message_id": "-1"},
            )
        elif got == "-1" and rejected.message_id != "-1":
            session.flag(
                "RPC-014",
                f'CALLERROR uses MessageId "-1" although the rejected frame\'s MessageId '
                f"'{rejected.message_id}' could be read",
                Severity.INFO,
                details={"got_message_id": got, "expected_message_id": rejected.message_id},
            )
        elif got != rejected.message_id:
            session.flag(
                "RPC-006",
                f"CALLERROR with MessageId '{got}' answers neither a CALL nor "
                f"the rejected frame '{rejected.message_id}' of the {rejected.direction.sender}",
            )
            return
        code = LEGACY_ERROR_CODES.get(message.error_code, message.error_code)
        if rejected.unsupported_type:
            session.cancel(("rejected", rejected.direction, connection.connection_id))
            if code != "MessageTypeNotSupported":
                self._wrong_unknown_type_answer(message.error_code, code)
        elif code != "RpcFrameworkError":
            session.flag(
                "RPC-014",
                f"a frame that is no valid RPC message is answered with {message.error_code}; "
                f"{session.version.cite('error_codes')} names RpcFrameworkError for it",
                Severity.WARNING,
                details={"expected_code": "RpcFrameworkError", "got_code": code},
            )

    def _wrong_unknown_type_answer(self, sent: str, code: str) -> None:
        """RPC-015: an error on 2.0.1, which requires MessageTypeNotSupported; a warning on 2.1,
        whose receiver ignores the frame, but whose Table 9 keeps that code for answering it."""
        version = self.session.version
        details: dict[str, Detail] = {"expected_code": "MessageTypeNotSupported", "got_code": code}
        if version.unknown_type_code:
            self.session.flag(
                "RPC-015",
                f"a frame of unknown MessageTypeId is answered with {sent}; "
                f"{version.cite('unknown_type')} requires MessageTypeNotSupported",
                details=details,
            )
            return
        self.session.flag(
            "RPC-015",
            f"a frame of unknown MessageTypeId is answered with {sent}; "
            f"{version.cite('message_type', 'unknown_type')} has it ignored, and "
            f"{version.cite('error_codes')} names MessageTypeNotSupported for it",
            Severity.WARNING,
            details=details,
        )

    def _check_error_code(self, code: str) -> None:
        version = self.session.version
        if code in version.error_codes:
            return
        spelled = version.respelled.get(code)
        if spelled is not None:
            other = "2.0.1" if version.name == "ocpp1.6" else "1.6"
            self.session.flag(
                "RPC-012",
                f"errorCode '{code}' is the OCPP {other} spelling; {version.cite('error_codes')} "
                f"spells it '{spelled}'",
                Severity.WARNING,
                details={"got_code": code, "expected_code": spelled},
            )
        else:
            self.session.flag(
                "RPC-012",
                f"errorCode '{code}' is not one of the {len(version.error_codes)} "
                f"{version.label} codes",
                details={"got_code": code},
            )


def _without_payload(pending: PendingCall) -> PendingCall:
    """What an answered CALL is remembered by: its MessageId and action name a repeated answer."""
    call = pending.call
    return replace(pending, call=Call(call.message_id, call.action, None), ref=None)


def _remember(table: dict[str, PendingCall], pending: PendingCall) -> None:
    table[pending.call.message_id] = pending
    if len(table) > REMEMBERED_RESPONSES:
        del table[next(iter(table))]
