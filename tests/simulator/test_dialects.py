"""Every request a simulated station builds, and every answer it gives the CSMS, valid against
the `ocpp` library's schemas of its version (1.6, 2.0.1, 2.1); and the 1.6 session's messages
carrying the CSMS's transactionId once StartTransaction.conf has given it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.messages import Call, CallResult, validate_payload
from ocpp.v16 import call_result as result16

from simulator.dialect import Dialect, speaking
from simulator.events import transaction_event
from simulator.evse import Evse, Session
from simulator.fleet import StationSpec
from simulator.link import Attached
from simulator.meter import Meter
from simulator.station import SimulatedStation
from simulator.versions import VERSIONS

pytestmark = pytest.mark.unit

LIBRARY_VERSION = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1", "ocpp2.1": "2.1"}
REASONS = [
    "Local",
    "Remote",
    "EVDisconnected",
    "EnergyLimitReached",
    "Other",
    "ImmediateReset",
    "DeAuthorized",
]


def camel(message: Any) -> dict[str, Any]:
    payload = remove_nones(snake_to_camel_case(serialize_as_dict(message)))
    assert isinstance(payload, dict)
    return payload


def valid_request(version: str, message: Any) -> dict[str, Any]:
    payload = camel(message)
    frame = Call("1", type(message).__name__, payload)
    asyncio.run(validate_payload(frame, LIBRARY_VERSION[version]))
    return payload


def valid_answer(version: str, action: str, message: Any) -> dict[str, Any]:
    payload = camel(message)
    asyncio.run(validate_payload(CallResult("1", payload, action), LIBRARY_VERSION[version]))
    return payload


def session_events(evse: Evse, session: Session, reason: str) -> Iterator[dict[str, Any]]:
    """Started, two Updated and Ended of one session, the meter running in between."""
    evse.session, evse.plugged, evse.metered_at = session, True, 1000.0
    evse.meter.start_session(None)
    yield transaction_event(evse, session, "Started", 1000.0, "Authorized")
    for tick in (1005.0, 1010.0):
        evse.catch_up(tick)
        yield transaction_event(evse, session, "Updated", tick, "MeterValuePeriodic")
    evse.catch_up(1012.0)
    session.stopped_reason = reason
    yield transaction_event(evse, session, "Ended", 1012.0, "StopAuthorized")


def requests(version: str) -> Iterator[tuple[Dialect, Any]]:
    """(dialect, request) for everything a station of `version` sends."""
    dialect = speaking(version)
    spec = StationSpec("emart_jeju_01", 100.0, protocol=version)
    for reason in ("PowerUp", "RemoteReset", "Triggered"):
        yield dialect, dialect.boot(spec, reason)
    evse = Evse(1, Meter(100.0, register_wh=20_000.0))
    statuses = {dialect.connector_status(evse)}
    evse.plugged = True
    statuses.add(dialect.connector_status(evse))
    evse.faulted = True
    statuses.add(dialect.connector_status(evse))
    evse.faulted, evse.operative = False, False
    statuses.add(dialect.connector_status(evse))
    evse.operative = True
    evse.session = Session("TX-0", "04A2B3C4", 1000.0, 1)
    statuses.add(dialect.connector_status(evse))
    evse.session, evse.finished = None, True
    statuses.add(dialect.connector_status(evse))
    evse.finished = False
    for status in sorted(statuses):
        yield dialect, dialect.status(1, status, 1000.0)
    for token in ("04A2B3C4", "SIM-TAG"):
        yield dialect, dialect.authorize(token)
    yield dialect, dialect.heartbeat()
    started = dialect.started_up(1000.0)
    if started is not None:
        yield dialect, started
    for number, reason in enumerate(REASONS, 1):
        session = Session(f"TX-emart_jeju_01-abc123-{number}", "04A2B3C4", 1000.0, 1)
        if number == 2:
            session.remote_start_id = 17
        for event in session_events(evse, session, reason):
            request = dialect.transaction(event)
            assert request is not None
            yield dialect, request
            if event["event_type"] == "Started" and version == "ocpp1.6":
                answer = result16.StartTransaction(
                    transaction_id=100 + number, id_tag_info={"status": "Accepted"}
                )
                dialect.transacted(event, answer)
        evse.session = None


@pytest.mark.parametrize("version", VERSIONS)
def test_every_request_is_valid_in_its_version(version: str) -> None:
    sent = [valid_request(version, request) for _, request in requests(version)]
    statuses = 6 if version == "ocpp1.6" else 4  # 1.6: Preparing, Charging, Finishing for Occupied
    expected = 3 + statuses + 2 + 1 + (version != "ocpp1.6") + 4 * len(REASONS)
    assert len(sent) == expected


def test_a_16_session_carries_the_csms_transaction_id_and_whole_wh() -> None:
    sent = [
        (type(request).__name__, camel(request))
        for _, request in requests("ocpp1.6")
        if type(request).__name__.endswith(("Transaction", "MeterValues"))
    ]
    first = [payload for _, payload in sent[:4]]
    assert [action for action, _ in sent[:4]] == [
        "StartTransaction",
        "MeterValues",
        "MeterValues",
        "StopTransaction",
    ]
    assert first[0] == {
        "connectorId": 1,
        "idTag": "04A2B3C4",
        "meterStart": 20_000,
        "timestamp": "1970-01-01T00:16:40.000Z",
    }
    assert first[1]["transactionId"] == first[3]["transactionId"] == 101
    sampled = first[2]["meterValue"][0]["sampledValue"]
    assert sampled[0]["measurand"] == "Energy.Active.Import.Register"
    assert sampled[0]["unit"] == "Wh" and isinstance(sampled[0]["value"], str)
    assert first[3]["meterStop"] == round(20_000 + 100_000 * 12 / 3600)  # 100 kW for 12 s
    assert first[3]["reason"] == "Local"
    stops = [payload["reason"] for action, payload in sent if action == "StopTransaction"]
    assert stops == [
        "Local",
        "Remote",
        "EVDisconnected",
        "Other",  # EnergyLimitReached is no 1.6 reason
        "Other",
        "HardReset",
        "DeAuthorized",
    ]


def test_a_16_statuses_follow_the_session() -> None:
    dialect = speaking("ocpp1.6")
    evse = Evse(1, Meter(50.0))
    assert dialect.connector_status(evse) == "Available"
    evse.plugged = True
    assert dialect.connector_status(evse) == "Preparing"
    evse.session = Session("TX-1", "04A2B3C4", 0.0, 1)
    assert dialect.connector_status(evse) == "Charging"
    evse.session, evse.finished = None, True  # the session ended, the EV stays
    assert dialect.connector_status(evse) == "Finishing"
    evse.faulted = True
    assert camel(dialect.status(1, dialect.connector_status(evse), 0.0))["errorCode"] == (
        "OtherError"
    )


def test_a_16_event_whose_start_was_never_answered_is_not_sent() -> None:
    dialect = speaking("ocpp1.6")
    evse = Evse(1, Meter(50.0))
    events = list(session_events(evse, Session("TX-9", "04A2B3C4", 1000.0, 1), "Local"))
    assert dialect.transaction(events[0]) is not None
    assert [dialect.transaction(event) for event in events[1:]] == [None, None, None]


def answers(version: str) -> Iterator[tuple[str, Any]]:
    """(action, answer) of every CSMS call a station of `version` handles, charging on EVSE 1
    (its CSMS transactionId 55) with EVSE 2 free."""
    station = SimulatedStation(StationSpec("emart_jeju_01", 100.0, evses=2, protocol=version))
    link: Any = station.protocol.link.__new__(station.protocol.link)
    assert isinstance(link, Attached)
    link.station = station
    session = Session("TX-A", "04A2B3C4", 0.0, 1)
    station.evses[1].session, station.evses[1].plugged = session, True
    if version == "ocpp1.6":
        station.protocol.transacted(
            {
                "event_type": "Started",
                "transaction_info": {"transaction_id": "TX-A"},
                "evse": {"id": 1},
            },
            result16.StartTransaction(transaction_id=55, id_tag_info={"status": "Accepted"}),
        )
        schedule = {
            "charging_rate_unit": "W",
            "charging_schedule_period": [{"start_period": 0, "limit": 11000}],
        }
        yield "RemoteStartTransaction", link.on_remote_start(id_tag="TAG-1")
        yield "RemoteStartTransaction", link.on_remote_start(id_tag="TAG-1", connector_id=1)
        yield "RemoteStopTransaction", link.on_remote_stop(transaction_id=55)
        yield "RemoteStopTransaction", link.on_remote_stop(transaction_id=56)
        for purpose, connector in (
            ("TxProfile", 1),
            ("TxProfile", 2),
            ("ChargePointMaxProfile", 0),
        ):
            profile = {
                "charging_profile_id": 1,
                "stack_level": 0,
                "charging_profile_purpose": purpose,
                "charging_profile_kind": "Absolute",
                "charging_schedule": schedule,
            }
            yield (
                "SetChargingProfile",
                link.on_set_charging_profile(connector_id=connector, cs_charging_profiles=profile),
            )
        yield "GetConfiguration", link.on_get_configuration()
        yield "GetConfiguration", link.on_get_configuration(key=["HeartbeatInterval", "Nope"])
        for key, value in (("HeartbeatInterval", "60"), ("HeartbeatInterval", "x"), ("Nope", "1")):
            yield "ChangeConfiguration", link.on_change_configuration(key=key, value=value)
        yield "Reset", link.on_reset(type="Soft")
        yield "ChangeAvailability", link.on_change_availability(connector_id=1, type="Inoperative")
        yield "ChangeAvailability", link.on_change_availability(connector_id=2, type="Inoperative")
        for message in ("Heartbeat", "MeterValues"):
            yield "TriggerMessage", link.on_trigger_message(requested_message=message)
        return
    token = {"id_token": "TAG-1", "type": "Local"}
    yield (
        "RequestStartTransaction",
        link.on_request_start(id_token=token, remote_start_id=1, evse_id=2),
    )
    yield "RequestStopTransaction", link.on_request_stop(transaction_id="TX-A")
    schedules = [
        {
            "id": 1,
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": 16}],
        }
    ]
    profile = {
        "id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": schedules,
    }
    yield "SetChargingProfile", link.on_set_charging_profile(evse_id=1, charging_profile=profile)
    item = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    yield "GetVariables", link.on_get_variables(get_variable_data=[item])
    yield (
        "SetVariables",
        link.on_set_variables(set_variable_data=[{**item, "attribute_value": "60"}]),
    )
    yield "Reset", link.on_reset(type="OnIdle")
    yield "Reset", link.on_reset(type="Immediate", evse_id=1)
    yield (
        "ChangeAvailability",
        link.on_change_availability(operational_status="Inoperative", evse={"id": 1}),
    )
    yield "TriggerMessage", link.on_trigger_message(requested_message="Heartbeat")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_answer_is_valid_in_its_version(version: str) -> None:
    given = [(action, valid_answer(version, action, answer)) for action, answer in answers(version)]
    statuses = [payload.get("status") for _, payload in given]
    if version == "ocpp1.6":
        assert statuses[:4] == ["Accepted", "Rejected", "Accepted", "Rejected"]  # 1 busy
        assert statuses[4:7] == ["Accepted", "Rejected", "Accepted"]
        assert given[7][1]["configurationKey"][0] == {
            "key": "HeartbeatInterval",
            "readonly": False,
            "value": "30",
        }
        assert given[8][1]["unknownKey"] == ["Nope"]
        assert statuses[9:12] == ["Accepted", "Rejected", "NotSupported"]
        assert statuses[-4:] == ["Scheduled", "Accepted", "Accepted", "NotImplemented"]
    else:
        assert statuses[:3] == ["Accepted", "Accepted", "Rejected"]
