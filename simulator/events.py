"""The TransactionEvent payloads a station sends for a session (Started, Updated, Ended): what
the EVSE's meter reads at a moment, in the `ocpp` library's snake_case. Pure: no clock, no I/O."""

from __future__ import annotations

import re
from typing import Any

from simulator.clock import iso
from simulator.evse import Evse, Session

STOP_TRIGGERS = {
    "Local": "StopAuthorized",
    "Remote": "RemoteStop",
    "EVDisconnected": "EVCommunicationLost",
    "EnergyLimitReached": "EnergyLimitReached",
    "ImmediateReset": "ResetCommand",
    "DeAuthorized": "Deauthorized",
}
"""TransactionEvent Ended's triggerReason for its stoppedReason; others: AbnormalCondition."""

CARD_UID = re.compile(r"[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}")
"""An ISO 14443 card's UID: 4 or 7 bytes in hex."""


def card_type(id_token: str) -> str:
    """IdTokenEnumType of a token presented at the station: an RFID card's UID is ISO14443; any
    other value (a label typed into the control API) is a Local id, not a card's."""
    return "ISO14443" if CARD_UID.fullmatch(id_token) else "Local"


def transaction_event(
    evse: Evse, session: Session, event_type: str, moment: float, trigger: str
) -> dict[str, Any]:
    """One TransactionEvent of `session` on `evse` at `moment`; takes the session's next seqNo."""
    info: dict[str, Any] = {"transaction_id": session.transaction_id}
    if event_type == "Ended":
        info["stopped_reason"] = session.stopped_reason
        info["charging_state"] = "EVConnected" if evse.plugged else "Idle"
    else:
        info["charging_state"] = "Charging"
    if session.remote_start_id is not None:
        info["remote_start_id"] = session.remote_start_id
    power_w = evse.meter.power_kw() * 1000 if event_type != "Ended" else 0.0
    sampled: list[dict[str, Any]] = [
        {
            "value": round(evse.meter.register_wh, 3),
            "measurand": "Energy.Active.Import.Register",
            "unit_of_measure": {"unit": "Wh"},
        },
        {
            "value": round(power_w, 1),
            "measurand": "Power.Active.Import",
            "unit_of_measure": {"unit": "W"},
        },
    ]
    payload: dict[str, Any] = {
        "event_type": event_type,
        "timestamp": iso(moment),
        "trigger_reason": trigger,
        "seq_no": session.next_seq_no(),
        "transaction_info": info,
        "meter_value": [{"timestamp": iso(moment), "sampled_value": sampled}],
    }
    if event_type == "Started":
        payload["evse"] = {"id": evse.number, "connector_id": 1}
    if event_type != "Updated":
        payload["id_token"] = {"id_token": session.id_token, "type": session.token_type}
    return payload
