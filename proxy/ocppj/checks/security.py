"""SEC group: the security profile an upgrade shows and the security events (OCPP 2.0.1 Part 2 A00,
A01, Appendix 1).

An observer cannot know which profile a station is configured for. What it sees is what each
upgrade carries: HTTP Basic credentials, TLS and its version, a client certificate. A connection
without credentials is therefore judged only against what the same station showed before: once
it sent Basic credentials it uses profile 1 or 2, which send them on every connection (SEC-001),
and it does not fall back to a lower profile (SEC-008).

The password is never kept, printed or stored: the group keeps its length, whether its characters
are allowed and a SHA-256 digest, to recognise it on the next connection (SEC-009).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import objects
from proxy.ocppj.findings import Severity
from proxy.ocppj.messages import CallError
from proxy.ocppj.routing import RuleGroup, on_call, on_close, on_frame, on_open, on_result

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed, ConnectionOpened
    from proxy.ocppj.messages import Call, CallResult, Parsed
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

MIN_PASSWORD, MAX_PASSWORD = 16, 40
_PASSWORD_CHARACTER = re.compile(r"[a-zA-Z0-9*\-_=:+|@.]")
"""Alphanumerics and the special characters of identifierString (Part 2 Appendices
SecurityCtrlr.BasicAuthPassword; Part 6 TC_A_01_CS)."""
OLD_TLS = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"})

SECURITY_EVENTS = frozenset(
    {
        "FirmwareUpdated",
        "FailedToAuthenticateAtCsms",
        "CsmsFailedToAuthenticate",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "ReconfigurationOfSecurityParameters",
        "MemoryExhaustion",
        "InvalidMessages",
        "AttemptedReplayAttacks",
        "TamperDetectionActivated",
        "InvalidFirmwareSignature",
        "InvalidFirmwareSigningCertificate",
        "InvalidCsmsCertificate",
        "InvalidChargingStationCertificate",
        "InvalidTLSVersion",
        "InvalidTLSCipherSuite",
        "MaintenanceLoginAccepted",
        "MaintenanceLoginFailed",
    }
)
"""The security events of Part 2 Appendix 1 (v1.3)."""
STARTUP_EVENTS = frozenset({"StartupOfTheDevice", "ResetOrReboot"})
STARTUP = ("SEC-010", "startup")
"""The timer key of the awaited startup event."""
INVALID_MESSAGE_CODES = frozenset(
    {
        "FormatViolation",
        "FormationViolation",
        "MessageTypeNotSupported",
        "OccurrenceConstraintViolation",
        "OccurenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "TypeConstraintViolation",
    }
)
"""CALLERROR codes that say the received message was not valid OCPP (Part 4 Table 8)."""
PROFILES = {
    0: "no security profile",
    1: "profile 1 (ws:// with Basic)",
    2: "profile 2 (TLS with Basic)",
    3: "profile 3 (TLS with a client certificate)",
}


@dataclass(frozen=True, slots=True)
class Password:
    """What the group keeps of a password: never the password itself."""

    length: int
    foreign: int
    """Characters outside the allowed set."""
    digest: bytes

    @classmethod
    def of(cls, password: str) -> Password:
        foreign = sum(1 for char in password if not _PASSWORD_CHARACTER.fullmatch(char))
        return cls(len(password), foreign, hashlib.sha256(password.encode("utf-8")).digest())

    def problem(self) -> str | None:
        """Why the password breaks the passwordString rules, without revealing it."""
        if not MIN_PASSWORD <= self.length <= MAX_PASSWORD:
            return (
                f"is {self.length} characters long; {MIN_PASSWORD} to {MAX_PASSWORD} are required"
            )
        if self.foreign:
            return (
                f"has {self.foreign} character(s) outside the alphanumerics and the "
                "special characters of identifierString (*-_=:+|@.)"
            )
        return None


def basic_credentials(header: str) -> tuple[str, Password] | None:
    """The username and password of a Basic Authorization header; None when it is malformed."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    if not colon:
        return None
    return username, Password.of(password)


def _profile(event: ConnectionOpened, basic: bool) -> int | None:
    """The security profile the upgrade shows; None when the capture does not say if it was TLS."""
    if event.client_certificate:
        return 3
    if event.tls is None:
        return None
    if basic:
        return 2 if event.tls else 1
    if event.tls and event.client_certificate is None:
        return None  # profile 3 with a certificate nobody asked for, or none
    return 0


def _is_password(data: dict[str, object]) -> bool:
    component, variable = data.get("component"), data.get("variable")
    return (
        isinstance(component, dict)
        and isinstance(variable, dict)
        and component.get("name") == "SecurityCtrlr"
        and variable.get("name") == "BasicAuthPassword"
    )


def _new_password(payload: dict[str, Any]) -> Password | None:
    for data in objects(payload.get("setVariableData")):
        value = data.get("attributeValue")
        if _is_password(data) and isinstance(value, str):
            return Password.of(value)
    return None


class SecurityGroup(RuleGroup):
    """Keeps per station the highest profile seen, the last password's digest, a password change
    awaiting its first use, the client certificate's CN, and the security events awaited."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.basic_seen = False
        self.highest: int | None = None
        """The highest profile seen for this identity."""
        self.password: bytes | None = None
        """Digest of the last Basic-auth password seen."""
        self.changed_to: bytes | None = None
        """Digest of the BasicAuthPassword the station accepted and has not connected with yet."""
        self.certificate_cn: str | None = None
        """The CN of the current connection's client certificate."""
        self.startup_reported = False
        self.startup_due = False
        """The connection closed while StartupOfTheDevice was awaited: queued, it comes on the
        next one (a critical event raised offline is sent after reconnecting)."""
        self.profile_1_reported = False

    @on_open
    def upgrade(self, event: ConnectionOpened) -> None:
        session = self.session
        header = event.request_headers.get("authorization")
        credentials = basic_credentials(header) if header is not None else None
        malformed = (
            header is not None and credentials is None and header.strip().lower()[:5] == "basic"
        )
        if malformed:
            self.basic_seen = True
            session.flag(
                "SEC-001",
                "Authorization header is not Basic base64(<identity>:<password>)",
            )
        self.certificate_cn = event.client_certificate_cn if event.client_certificate else None
        if self.startup_due:
            self.startup_due = False
            self._expect_startup()
        if event.tls and event.tls_version in OLD_TLS:
            session.flag(
                "SEC-005",
                f"station connected with {event.tls_version}; profiles 2 and 3 allow TLS 1.2 "
                "or later only",
            )
        if event.client_certificate:
            self._certificate(event, credentials is not None)
        judged = malformed
        if credentials is not None:
            self._credentials(event, *credentials)
        elif not malformed and self.basic_seen and event.client_certificate is False:
            judged = True
            session.flag(
                "SEC-001",
                "connection without HTTP Basic credentials from a station that sent them "
                "before: profiles 1 and 2 send them with every connection",
            )
        self._downgrade(event, basic=credentials is not None, judged=judged)

    def _credentials(self, event: ConnectionOpened, username: str, password: Password) -> None:
        session = self.session
        self.basic_seen = True
        if username != event.station:
            session.flag(
                "SEC-002",
                f"Basic-auth username '{username}' is not the station identity "
                f"'{event.station}' of the connection URL",
            )
        problem = password.problem()
        if problem is not None:
            session.flag("SEC-003", f"Basic-auth password {problem}")
        if event.tls is False and not self.profile_1_reported:
            self.profile_1_reported = True
            session.flag(
                "SEC-004",
                "security profile 1: the Basic-auth password travels in clear over ws://; "
                "only for trusted networks",
            )
        if self.changed_to is not None:
            if password.digest != self.changed_to:
                old = password.digest == self.password
                session.flag(
                    "SEC-009",
                    "station connected with its old Basic-auth password after accepting a new "
                    "BasicAuthPassword"
                    if old
                    else "station connected with a Basic-auth password other than the "
                    "BasicAuthPassword it accepted",
                )
            self.changed_to = None
        self.password = password.digest

    def _certificate(self, event: ConnectionOpened, basic: bool) -> None:
        session = self.session
        if basic:
            session.flag(
                "SEC-007",
                "Basic credentials sent along with a client certificate; profile 3 "
                "authenticates by the certificate, Basic belongs to profile 2",
                Severity.WARNING,
            )
        if not event.client_certificate_cn:
            session.flag(
                "SEC-007",
                "client certificate without a subject CN; the CSMS checks that the CN holds "
                "the station's serial number",
            )

    def _downgrade(self, event: ConnectionOpened, *, basic: bool, judged: bool) -> None:
        """SEC-008, unless SEC-001 already named this connection (`judged`)."""
        profile = _profile(event, basic)
        if profile is None:
            return
        highest = self.highest
        if highest is not None and profile < highest and not judged:
            self.session.flag(
                "SEC-008",
                f"station connected with {PROFILES[profile]} after {PROFILES[highest]} "
                "was seen; a profile is only raised, through SetNetworkProfile",
            )
        self.highest = profile if highest is None else max(highest, profile)

    @on_call("SetVariables")
    def password_sent(self, call: Call) -> None:
        """SEC-003 on a BasicAuthPassword the CSMS sets."""
        password = _new_password(call.payload or {})
        problem = password.problem() if password is not None else None
        if problem is not None:
            self.session.flag("SEC-003", f"BasicAuthPassword set by the CSMS {problem}")

    @on_result("SetVariables")
    def password_set(self, pending: PendingCall, result: CallResult) -> None:
        """SEC-009 awaits an accepted BasicAuthPassword on the next connection."""
        password = _new_password(pending.payload)
        if password is None:
            return
        for answer in objects((result.payload or {}).get("setVariableResult")):
            if _is_password(answer) and answer.get("attributeStatus") in (
                "Accepted",
                "RebootRequired",
            ):
                self.changed_to = password.digest

    @on_call("BootNotification")
    def booting(self, call: Call) -> None:
        session = self.session
        if session.direction is not Direction.CHARGER_TO_CSMS:
            return
        self.startup_reported = False
        cn = self.certificate_cn
        if cn is None:
            return
        station = (call.payload or {}).get("chargingStation")
        serial = station.get("serialNumber") if isinstance(station, dict) else None
        if not isinstance(serial, str) or serial not in cn:
            session.flag(
                "SEC-007",
                f"BootNotification serialNumber {serial!r} does not appear in the client "
                f"certificate's CN '{cn}'",
                Severity.WARNING,
            )

    @on_result("BootNotification")
    def booted(self, pending: PendingCall, result: CallResult) -> None:
        """After an accepted boot the station reports StartupOfTheDevice or ResetOrReboot, which
        Appendix 1 marks critical: pushed to the CSMS (Part 6 Reusable State Booted)."""
        if (
            (result.payload or {}).get("status") != "Accepted"
            or pending.payload.get("reason") == "Triggered"
            or self.startup_reported
        ):
            return
        self._expect_startup()

    def _expect_startup(self) -> None:
        timeout = self.session.config.followup_timeout
        self.session.expect(
            STARTUP,
            timeout,
            "SEC-010",
            f"no SecurityEventNotification StartupOfTheDevice or ResetOrReboot within "
            f"{timeout:g} s of the accepted boot while connected; Appendix 1 marks both critical",
        )

    @on_close
    def closed(self, event: ConnectionClosed) -> None:
        if self.session.cancel(STARTUP):
            self.startup_due = True

    @on_call("SecurityEventNotification")
    def security_event(self, call: Call) -> None:
        session = self.session
        kind = (call.payload or {}).get("type")
        if session.direction is not Direction.CHARGER_TO_CSMS or not isinstance(kind, str):
            return
        if kind in STARTUP_EVENTS:
            self.startup_reported = True
            session.fulfil(STARTUP)
        if kind == "InvalidMessages":
            session.fulfil(("SEC-011", "invalid"))
        if kind in SECURITY_EVENTS:
            return
        standard = _SPELLINGS.get(_folded(kind))
        if standard is not None:
            session.flag(
                "SEC-010",
                f"security event type '{kind}' is Appendix 1's '{standard}' misspelt; "
                "matching events use the Appendix 1 name",
            )
        else:
            session.flag(
                "SEC-010",
                f"security event type '{kind}' is not in Appendix 1 (allowed only for events "
                "that match none of them)",
                Severity.INFO,
            )

    @on_frame
    def refusal(self, parsed: Parsed) -> None:
        """SEC-011: a station refusing a message as invalid OCPP may report InvalidMessages."""
        session = self.session
        error = parsed.message
        if (
            session.direction is Direction.CHARGER_TO_CSMS
            and isinstance(error, CallError)
            and error.error_code in INVALID_MESSAGE_CODES
        ):
            timeout = session.config.followup_timeout
            session.expect(
                ("SEC-011", "invalid"),
                timeout,
                "SEC-011",
                f"station refused a CSMS message as invalid ({error.error_code}) "
                f"and raised no InvalidMessages security event within {timeout:g} s "
                "(optional, not a critical event)",
            )


def _folded(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_SPELLINGS = {_folded(name): name for name in SECURITY_EVENTS}
