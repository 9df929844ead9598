"""OCPP 1.6 transaction messages in the TransactionEvent form (camelCase) that csms/metering.py
judges and charger_transaction_event keeps, so a 1.6 session gives its charger_usage_log row by
the same code as a 2.0.1 one (also across a restart of the CSMS). Pure code.

StartTransaction is seqNo 0 and StopTransaction the largest seqNo, so a repeated one replaces
its earlier copy; a MeterValues is numbered by its first timestamp's second, so a repeated one
does too. Each carries customData naming the 1.6 message it was made from.
"""

from __future__ import annotations

from typing import Any

from csms.metering import ENERGY, parse_time

VENDOR = "ocppscope.ocpp1.6"
LAST_SEQ_NO = 2**31 - 1


def started(
    transaction_id: int, request: dict[str, Any], remote_start_id: int | None
) -> dict[str, Any]:
    """StartTransaction.req: meterStart (Wh) is the register at the start."""
    info: dict[str, Any] = {"transactionId": str(transaction_id)}
    if remote_start_id is not None:
        info["remoteStartId"] = remote_start_id
    return _event(
        "StartTransaction",
        "Started",
        0,
        request["timestamp"],
        info,
        [_register(request["timestamp"], request["meterStart"])],
        id_tag=request["idTag"],
        connector_id=request["connectorId"],
    )


def start_key(request: dict[str, Any]) -> dict[str, Any]:
    """What identifies a StartTransaction.req in `started`'s form: a station that sends it again
    (its answer lost, or replayed from its offline queue) sends the same timestamp, connector,
    idTag and meterStart."""
    event = started(0, request, None)
    return {key: event[key] for key in ("timestamp", "evse", "idToken", "meterValue", "customData")}


def updated(request: dict[str, Any]) -> dict[str, Any]:
    """MeterValues.req of a transaction (it has a transactionId)."""
    values = meter_values(request["meterValue"])
    first = values[0]["timestamp"]
    return _event(
        "MeterValues",
        "Updated",
        int(parse_time(first).timestamp()) % LAST_SEQ_NO,
        first,
        {"transactionId": str(request["transactionId"])},
        values,
        connector_id=request["connectorId"],
    )


def ended(request: dict[str, Any]) -> dict[str, Any]:
    """StopTransaction.req: meterStop (Wh) is the register at the end; a missing reason is
    Local (OCPP 1.6 §4.10; §7.36 Reason)."""
    info = {
        "transactionId": str(request["transactionId"]),
        "stoppedReason": request.get("reason", "Local"),
    }
    values = [
        *meter_values(request.get("transactionData") or []),
        _register(request["timestamp"], request["meterStop"]),
    ]
    return _event(
        "StopTransaction",
        "Ended",
        LAST_SEQ_NO,
        request["timestamp"],
        info,
        values,
        id_tag=request.get("idTag"),
    )


def meter_values(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """1.6 MeterValue objects in the 2.0.1 form: a value is a string and the unit a field of the
    sampled value (1.6) instead of a number and an UnitOfMeasure (2.0.1)."""
    return [
        {
            "timestamp": value["timestamp"],
            "sampledValue": [
                _sampled(sampled)
                for sampled in value["sampledValue"]
                if sampled.get("format") != "SignedData"  # a signed blob, no number
            ],
        }
        for value in values
    ]


def _sampled(sampled: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"value": float(sampled["value"])}
    for key in ("measurand", "phase", "context", "location"):
        if key in sampled:
            converted[key] = sampled[key]
    if "unit" in sampled:
        converted["unitOfMeasure"] = {"unit": sampled["unit"]}
    return converted


def _register(timestamp: str, watt_hours: int) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "sampledValue": [
            {"value": watt_hours, "measurand": ENERGY, "unitOfMeasure": {"unit": "Wh"}}
        ],
    }


def _event(
    action: str,
    event_type: str,
    seq_no: int,
    timestamp: str,
    info: dict[str, Any],
    values: list[dict[str, Any]],
    id_tag: str | None = None,
    connector_id: int | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": timestamp,
        "seqNo": seq_no,
        "transactionInfo": info,
        "meterValue": values,
        "customData": {"vendorId": VENDOR, "action": action},
    }
    if id_tag:
        event["idToken"] = {"idToken": id_tag, "type": "Local"}
    if connector_id:
        event["evse"] = {"id": connector_id}
    return event
