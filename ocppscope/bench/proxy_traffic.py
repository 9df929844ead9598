"""The OCPP traffic of `ocppscope bench proxy`: each station's CALLs, a boot and then charging
sessions (StatusNotification, TransactionEvent Started/Updated/Ended, Heartbeat), compliant so
that the conformance addon does its normal work. Pure: it makes the CALL texts, sends nothing.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

SUBPROTOCOL = "ocpp2.0.1"


def now_text() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


class StationTraffic:
    """One station's CALLs: boot, then charging sessions with status changes and heartbeats."""

    CYCLE = (
        "occupied",
        "started",
        "charging",
        "meter",
        "meter",
        "heartbeat",
        "meter",
        "meter",
        "meter",
        "ended",
        "available",
        "heartbeat",
    )
    POWER_W = 11_000.0

    def __init__(self, station: str) -> None:
        self.station = station
        self.step = 0
        self.transactions = 0
        self.seq_no = 0
        self.energy_wh = 1_000_000.0
        self._message_ids = 0

    def _call(self, action: str, payload: dict[str, Any]) -> tuple[str, str]:
        self._message_ids += 1
        message_id = str(self._message_ids)
        return message_id, orjson.dumps([2, message_id, action, payload]).decode()

    def boot(self) -> tuple[str, str]:
        return self._call(
            "BootNotification",
            {
                "reason": "PowerUp",
                "chargingStation": {
                    "vendorName": "ocppscope",
                    "model": "bench",
                    "serialNumber": self.station,
                    "firmwareVersion": "1.0.0",
                },
            },
        )

    def startup(self) -> tuple[str, str]:
        """The boot as the security event a station reports after it (SEC-010)."""
        return self._call(
            "SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": now_text()}
        )

    def status(self, connector_status: str) -> tuple[str, str]:
        return self._call(
            "StatusNotification",
            {
                "timestamp": now_text(),
                "connectorStatus": connector_status,
                "evseId": 1,
                "connectorId": 1,
            },
        )

    def next_call(self) -> tuple[str, str]:
        """(message id, CALL text) of the next message of the mix."""
        step = self.CYCLE[self.step % len(self.CYCLE)]
        self.step += 1
        if step == "heartbeat":
            return self._call("Heartbeat", {})
        if step in ("occupied", "available"):
            return self.status("Occupied" if step == "occupied" else "Available")
        if step == "started":
            self.transactions += 1
            self.seq_no = 0
            return self._transaction_event("Started", "CablePluggedIn", "EVConnected")
        self.seq_no += 1
        self.energy_wh += self.POWER_W * 10 / 3600
        if step == "charging":
            return self._transaction_event("Updated", "ChargingStateChanged", "Charging")
        if step == "meter":
            return self._transaction_event("Updated", "MeterValuePeriodic", "Charging")
        return self._transaction_event("Ended", "EVCommunicationLost", "Idle", "EVDisconnected")

    def _transaction_event(
        self, event_type: str, trigger: str, state: str, stopped: str | None = None
    ) -> tuple[str, str]:
        now = now_text()
        info: dict[str, Any] = {
            "transactionId": f"{self.station}-{self.transactions}",
            "chargingState": state,
        }
        if stopped:
            info["stoppedReason"] = stopped
        return self._call(
            "TransactionEvent",
            {
                "eventType": event_type,
                "timestamp": now,
                "triggerReason": trigger,
                "seqNo": self.seq_no,
                "transactionInfo": info,
                "evse": {"id": 1, "connectorId": 1},
                "meterValue": [
                    {
                        "timestamp": now,
                        "sampledValue": [
                            {
                                "value": round(self.energy_wh, 1),
                                "measurand": "Energy.Active.Import.Register",
                                "unitOfMeasure": {"unit": "Wh"},
                            },
                            {
                                "value": self.POWER_W if state == "Charging" else 0.0,
                                "measurand": "Power.Active.Import",
                                "unitOfMeasure": {"unit": "W"},
                            },
                        ],
                    }
                ],
            },
        )
