"""Builds realistic event sequences for one station with a moving clock, for rule tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

from proxy.ocppj.actions import Direction
from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, Event, Frame, HandshakeRefused
from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.session import Config, Monitor
from proxy.ocppj.timefmt import format_datetime

T0 = 1_769_932_800.0  # 2026-02-01T08:00:00Z

BOOT_REQUEST = {
    "reason": "PowerUp",
    "chargingStation": {
        "vendorName": "Alfen BV",
        "model": "Eve Double Pro-line",
        "serialNumber": "ACE0012345",
        "firmwareVersion": "6.4.0-4203",
    },
}


class Wire:
    """One station's traffic: `call`/`result`/`error`/`raw` append frames, `wait` moves the clock."""

    def __init__(self, station: str = "ALF-ACE0012345", start: float = T0) -> None:
        self.station = station
        self.now = start
        self.events: list[Event] = []
        self.connection = f"{station}#0"
        self._connections = itertools.count(1)
        self._ids = itertools.count(1)
        self.last_id: dict[str, str] = {}
        """Sender ('charger' or 'csms') -> MessageId of its latest CALL."""

    def wait(self, seconds: float) -> Wire:
        self.now += seconds
        return self

    def time(self, offset: float = 0.0) -> str:
        """An OCPP dateTime `offset` seconds from the current clock."""
        return format_datetime(self.now + offset)

    def open(
        self,
        offered: tuple[str, ...] | None = ("ocpp2.0.1",),
        selected: str | None = "ocpp2.0.1",
        path: str | None = None,
        request_headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
        tls: bool | None = None,
        tls_version: str | None = None,
        client_certificate: bool | None = False,
        client_certificate_cn: str | None = None,
    ) -> Wire:
        """With `tls`, whether the station presents a client certificate (it does if given a
        `client_certificate_cn`; None: nobody asked for one); without, the TLS facts are
        unknown, as in older captures."""
        self.connection = f"{self.station}#{next(self._connections)}"
        self.events.append(
            ConnectionOpened(
                self.now,
                self.station,
                self.connection,
                path or f"/ocpp/{self.station}",
                offered,
                selected,
                request_headers or {},
                response_headers or {},
                tls=tls,
                tls_version=tls_version,
                client_certificate=None
                if tls is None
                else client_certificate_cn is not None or client_certificate,
                client_certificate_cn=client_certificate_cn,
            )
        )
        return self

    def raw(self, data: str | bytes, sender: str = "charger") -> Wire:
        direction = Direction.CHARGER_TO_CSMS if sender == "charger" else Direction.CSMS_TO_CHARGER
        self.events.append(Frame(self.now, self.station, self.connection, direction, data))
        return self

    def call(
        self,
        action: str,
        payload: dict[str, Any],
        sender: str = "charger",
        message_id: str | None = None,
    ) -> Wire:
        message_id = message_id or f"{sender[:2]}-{next(self._ids):06d}"
        self.last_id[sender] = message_id
        return self.raw(json.dumps([2, message_id, action, payload]), sender)

    def result(
        self,
        payload: dict[str, Any],
        sender: str = "csms",
        after: float = 0.05,
        message_id: str | None = None,
    ) -> Wire:
        """Answer the other side's latest CALL after `after` seconds."""
        asker = "charger" if sender == "csms" else "csms"
        self.wait(after)
        return self.raw(json.dumps([3, message_id or self.last_id[asker], payload]), sender)

    def error(
        self,
        code: str,
        sender: str = "csms",
        description: str = "",
        after: float = 0.05,
        message_id: str | None = None,
    ) -> Wire:
        asker = "charger" if sender == "csms" else "csms"
        self.wait(after)
        frame = [4, message_id or self.last_id[asker], code, description, {}]
        return self.raw(json.dumps(frame), sender)

    def close(
        self,
        code: int | None = 1006,
        closed_by: str | None = None,
        refused_from: str | None = None,
    ) -> Wire:
        """`refused_from`: with closed_by "proxy", whose message made the proxy close."""
        direction = None
        if refused_from is not None:
            direction = (
                Direction.CHARGER_TO_CSMS
                if refused_from == "charger"
                else Direction.CSMS_TO_CHARGER
            )
        self.events.append(
            ConnectionClosed(self.now, self.station, self.connection, code, closed_by, direction)
        )
        return self

    def refused(self, status: int | None = 503) -> Wire:
        self.events.append(HandshakeRefused(self.now, self.station, status))
        return self

    def boot(self, status: str = "Accepted", interval: int = 30, reason: str = "PowerUp") -> Wire:
        """Open a connection and register: BootNotification and its response."""
        self.open()
        return self.boot_again(status, interval, reason)

    def boot_again(
        self, status: str = "Accepted", interval: int = 30, reason: str = "PowerUp"
    ) -> Wire:
        """An accepted boot that is no TriggerMessage's is followed by the critical security
        event StartupOfTheDevice, as a compliant station sends it."""
        self.call("BootNotification", {**BOOT_REQUEST, "reason": reason})
        self.result({"currentTime": self.time(0.05), "interval": interval, "status": status})
        if status == "Accepted" and reason != "Triggered":
            self.call(
                "SecurityEventNotification",
                {"type": "StartupOfTheDevice", "timestamp": self.time()},
            )
            self.result({})
        return self

    def heartbeat(self) -> Wire:
        return self.call("Heartbeat", {}).result({"currentTime": self.time(0.05)})


class Wire21(Wire):
    """A 2.1 station: each connection offers and selects ocpp2.1; 2.1 keeps 2.0.1's messages."""

    def open(self, *args: Any, **kwargs: Any) -> Wire:
        if not args:
            kwargs.setdefault("offered", ("ocpp2.1",))
            kwargs.setdefault("selected", "ocpp2.1")
        return super().open(*args, **kwargs)


VERDICT = "BACKOFF-007"
"""The back-off analyser's verdict, which every reconnect after a lost connection gets."""


def run(
    events: list[Event],
    config: Config | None = None,
    until: float | None = None,
    verdicts: bool = False,
) -> list[Finding]:
    """Feed every event to a fresh monitor; the observation ends at `until` or the last event.

    The BACKOFF-007 verdicts only with `verdicts`: the other tests judge their own rules.
    """
    monitor = Monitor(config)
    findings = [f for event in events for f in monitor.feed(event).findings]
    findings += monitor.finish(until or max(event.timestamp for event in events))
    return findings if verdicts else without_verdicts(findings)


def without_verdicts(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.rule_id != VERDICT]


def rule_ids(findings: list[Finding]) -> list[str]:
    return [finding.rule_id for finding in findings]


def rule_severities(findings: list[Finding]) -> list[tuple[str, Severity]]:
    return [(finding.rule_id, finding.severity) for finding in findings]
