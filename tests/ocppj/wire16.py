"""OCPP 1.6J traffic of one charge point for the 1.6 rule groups' tests, built on `Wire`.

Payloads follow the `ocpp` library's v16 schemas (`tests/ocppj/test_rules_v16.py` validates every
CALL and CALLRESULT a clean session produces against them). Until the engine picks the 1.6
ruleset by the negotiated subprotocol, the 1.6 groups are judged in a `Session` of their own and
only their findings are read: the connection-wide layer still knows the 2.0.1 actions only.
"""

from __future__ import annotations

from typing import Any

from proxy.ocppj.checks.v16_boot import Boot16Group
from proxy.ocppj.checks.v16_heartbeat import Heartbeat16Group
from proxy.ocppj.checks.v16_queue import Queue16Group
from proxy.ocppj.checks.v16_status import Status16Group
from proxy.ocppj.checks.v16_transactions import Transactions16Group
from proxy.ocppj.findings import Finding
from proxy.ocppj.rules import RULES
from proxy.ocppj.session import Session
from tests.ocppj.wire import Wire

GROUPS16 = (
    Boot16Group,
    Heartbeat16Group,
    Status16Group,
    Transactions16Group,
    Queue16Group,
)
IDS16 = frozenset(rule_id for rule_id in RULES if "16-" in rule_id)
BOOT16 = {
    "chargePointVendor": "ABB",
    "chargePointModel": "Terra AC W22-T-R-0",
    "chargePointSerialNumber": "TACW2241520G1234",
    "firmwareVersion": "1.6.6",
}
ID_TAG = "04A2F35A6E5D80"


class Wire16(Wire):
    """A 1.6 charge point: connections negotiate ocpp1.6; the helpers send 1.6 messages."""

    def open16(self) -> Wire16:
        self.open(offered=("ocpp1.6",), selected="ocpp1.6")
        return self

    def boot16(self, status: str = "Accepted", interval: int = 300) -> Wire16:
        """BootNotification on the current connection and the Central System's answer."""
        self.call("BootNotification", BOOT16)
        self.result({"status": status, "currentTime": self.time(0.05), "interval": interval})
        return self

    def status(
        self, connector: int = 1, status: str = "Available", code: str = "NoError"
    ) -> Wire16:
        payload = {
            "connectorId": connector,
            "errorCode": code,
            "status": status,
            "timestamp": self.time(),
        }
        self.call("StatusNotification", payload).result({})
        return self

    def authorize(self, id_tag: str = ID_TAG) -> Wire16:
        self.call("Authorize", {"idTag": id_tag})
        self.result({"idTagInfo": {"status": "Accepted"}})
        return self

    def start(
        self,
        transaction_id: int,
        connector: int = 1,
        meter_start: int = 20_000,
        status: str = "Accepted",
        at: float = 0.0,
    ) -> Wire16:
        """StartTransaction stamped `at` s from now (negative: queued) and the CSMS's answer."""
        payload = {
            "connectorId": connector,
            "idTag": ID_TAG,
            "meterStart": meter_start,
            "timestamp": self.time(at),
        }
        self.call("StartTransaction", payload)
        self.result({"transactionId": transaction_id, "idTagInfo": {"status": status}})
        return self

    def meter_values(
        self, transaction_id: int | None, wh: int, connector: int = 1, at: float = 0.0
    ) -> Wire16:
        payload: dict[str, Any] = {
            "connectorId": connector,
            "meterValue": [
                {
                    "timestamp": self.time(at),
                    "sampledValue": [
                        {
                            "value": str(wh),
                            "context": "Sample.Periodic",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                        }
                    ],
                }
            ],
        }
        if transaction_id is not None:
            payload["transactionId"] = transaction_id
        self.call("MeterValues", payload).result({})
        return self

    def stop(
        self, transaction_id: int, meter_stop: int, reason: str | None = None, at: float = 0.0
    ) -> Wire16:
        payload: dict[str, Any] = {
            "transactionId": transaction_id,
            "idTag": ID_TAG,
            "meterStop": meter_stop,
            "timestamp": self.time(at),
        }
        if reason is not None:
            payload["reason"] = reason
        self.call("StopTransaction", payload)
        self.result({"idTagInfo": {"status": "Accepted"}})
        return self


def run16(wire: Wire, until: float | None = None) -> list[Finding]:
    """Feed the traffic to a session of the 1.6 groups; their findings, in order."""
    session = Session(wire.station, version="ocpp1.6", groups=GROUPS16)
    findings = [finding for event in wire.events for finding in session.feed(event).findings]
    findings += session.finish(until or wire.now)
    return findings
