"""csms/protocols.py and csms/metering16.py: what differs per OCPP version before a handler, and
1.6 transaction messages judged by the 2.0.1 metering code. Pure code: no sockets, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from csms import metering16
from csms.metering import Transaction, event_from_request
from csms.protocols import OCPP16, OCPP21, OCPP201, PROTOCOLS
from tests.csms.sim import ocpp_time, transaction_event

T0 = datetime(2024, 1, 21, 15, 30, 45, tzinfo=UTC)
START = {"connectorId": 2, "idTag": "TAG-16", "meterStart": 20_000, "timestamp": ocpp_time(T0)}
STOP = {
    "transactionId": 7,
    "meterStop": 21_700,
    "timestamp": ocpp_time(T0 + timedelta(hours=1)),
}


def usage(*payloads: dict) -> object:
    transaction: Transaction | None = None
    for payload in payloads:
        transaction_id, event = event_from_request(payload)
        transaction = transaction or Transaction(transaction_id)
        transaction.add(event)
    assert transaction is not None
    return transaction.usage(150.0)


def test_each_version_has_its_own_actions() -> None:
    v16, v201, v21 = (PROTOCOLS[p].actions for p in (OCPP16, OCPP201, OCPP21))
    assert {"StartTransaction", "StopTransaction", "RemoteStartTransaction"} <= v16
    assert "TransactionEvent" not in v16
    assert "StartTransaction" not in v201
    assert v201 < v21  # 2.1 adds actions, drops none
    assert {"NotifyDERAlarm", "BatterySwap"} <= v21 - v201
    assert not any(name.endswith(("Request", "Response", ".json")) for name in v16 | v21)


def test_1_6_spells_two_codes_its_own_way_and_has_no_rpc_framework_error() -> None:
    v16 = PROTOCOLS[OCPP16]
    assert v16.error_code("FormatViolation") == "FormationViolation"
    assert v16.error_code("OccurrenceConstraintViolation") == "OccurenceConstraintViolation"
    assert v16.error_code("RpcFrameworkError") == "GenericError"
    assert v16.error_code("NotImplemented") == "NotImplemented"
    assert PROTOCOLS[OCPP21].error_code("FormatViolation") == "FormatViolation"


def test_1_6_payloads_are_checked_against_the_1_6_schemas() -> None:
    v16 = PROTOCOLS[OCPP16]
    assert v16.validate_request("StartTransaction", START) == []
    without = {k: v for k, v in START.items() if k != "meterStart"}
    [missing] = v16.validate_request("StartTransaction", without)
    assert missing.kind == "Required"
    [null] = v16.validate_request("StartTransaction", {**START, "meterStart": None})
    assert null.kind == "Type"
    too_big = v16.validate_request("StartTransaction", {**START, "meterStart": 2**31})
    assert [v.kind for v in too_big] == ["Maximum"]  # 32 bits, as 2.0.1's
    [late] = v16.validate_request("StartTransaction", {**START, "timestamp": "noon"})
    assert late.kind == "Format"


def test_a_1_6_session_is_the_2_0_1_session_with_the_same_registers() -> None:
    # By hand: 21700 - 20000 Wh = 1.7 kWh; x 150 KRW/kWh = 255 KRW; one hour.
    sixteen = usage(metering16.started(7, START, remote_start_id=3), metering16.ended(STOP))
    two = usage(
        transaction_event(
            "Started",
            0,
            T0,
            "7",
            register_wh=20_000,
            id_token="TAG-16",
            evse_id=2,
            remote_start_id=3,
        ),
        transaction_event("Ended", 1, T0 + timedelta(hours=1), "7", register_wh=21_700),
    )
    assert sixteen == two
    assert (sixteen.energy_kwh, sixteen.cost, sixteen.duration_seconds) == (1.7, 255.0, 3600)
    assert (sixteen.stopped_reason, sixteen.id_token, sixteen.evse_id) == ("Local", "TAG-16", 2)
    assert sixteen.remote_start_id == 3


def test_1_6_meter_values_join_the_record_and_repeats_replace() -> None:
    middle = ocpp_time(T0 + timedelta(minutes=30))
    meter = {
        "connectorId": 2,
        "transactionId": 7,
        "meterValue": [
            {
                "timestamp": middle,
                "sampledValue": [
                    {"value": "20.85", "unit": "kWh"},  # no measurand: the register
                    {"value": "1700", "measurand": "Power.Active.Import", "unit": "W"},
                    {"value": "0A1B", "format": "SignedData"},
                ],
            }
        ],
    }
    running = usage(metering16.started(7, START, None), metering16.updated(meter))
    assert (running.energy_kwh, running.power_kw, running.end_time) == (0.85, 1.7, None)
    updated = metering16.updated(meter)
    assert updated["seqNo"] == metering16.updated(meter)["seqNo"] != 0
    assert (
        metering16.ended(STOP)["seqNo"] == metering16.ended({**STOP, "reason": "Remote"})["seqNo"]
    )
    assert (
        metering16.ended({**STOP, "reason": "Remote"})["transactionInfo"]["stoppedReason"]
        == "Remote"
    )


def test_a_start_is_known_again_by_its_key_whatever_id_it_got() -> None:
    key = metering16.start_key(START)
    event = metering16.started(41, START, remote_start_id=9)
    assert {name: event[name] for name in key} == key
    assert "transactionInfo" not in key
    assert metering16.start_key({**START, "meterStart": 20_001}) != key
