"""Property tests: whatever arrives on the wire, the engine answers with findings and never raises."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.ocppj.actions import ACTIONS, Direction
from proxy.ocppj.errors import ERROR_CODES, LEGACY_ERROR_CODES
from proxy.ocppj.events import (
    ConnectionClosed,
    ConnectionOpened,
    Event,
    Frame,
    HandshakeRefused,
)
from proxy.ocppj.findings import Finding
from proxy.ocppj.rules import RULES
from proxy.ocppj.session import Config, Monitor, Outcome
from proxy.ocppj.state import Backoff
from proxy.ocppj.versions import VERSIONS

T0 = 1_795_478_400.0  # 2026-11-24T00:00:00Z
STATIONS = ("CS01", "CS02")
CONNECTIONS = ("c1", "c2", "c3")
PROPERTY = settings(
    # PROPERTY_EXAMPLES=5000 pytest tests/ocppj/test_properties.py for a longer hunt
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---- JSON and OCPP-flavoured values --------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: json.dumps writes them and json.loads reads them
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)

FIELDS = (  # noqa: SIM905 (a word list reads better as words)
    "attributeStatus attributeType attributeValue chargingProfile chargingProfileKind "
    "chargingProfilePurpose chargingSchedule chargingState chargingStation component "
    "connectorId connectorStatus currentTime customData eventType evse evseId id idToken "
    "idTokenInfo instance interval location measurand meterValue multiplier name offline "
    "phase reason remoteStartId reportData requestedMessage sampledValue seqNo "
    "setVariableData setVariableResult getVariableResult status stoppedReason timestamp "
    "transactionId transactionInfo triggerReason type unit unitOfMeasure value variable "
    "variableAttribute vendorId"
).split()
WORDS = (  # noqa: SIM905 (a word list reads better as words)
    "Started Updated Ended Accepted Rejected Pending Available Occupied Faulted Charging "
    "EVConnected Idle RemoteStart RemoteStop MeterValuePeriodic Remote Local Actual Default "
    "OCPPCommCtrlr HeartbeatInterval MessageTimeout MessageAttempts RetryBackOffWaitMinimum "
    "RetryBackOffRandomRange RetryBackOffRepeatTimes TransactionEvent StatusNotification "
    "BootNotification Heartbeat TxProfile TxDefaultProfile Wh kWh W Outlet "
    "Energy.Active.Import.Register Power.Active.Import TX1 TX2 2026-11-24T00:00:00Z "
    "2026-11-24T00:00:30.500Z 2026-11-24T00:00:00.1234567Z 2025-01-01T00:00"
).split()
ocpp_scalars = (
    st.sampled_from(WORDS) | st.integers(-2, 70) | st.sampled_from([0.5, 1e3, 30.0]) | scalars
)
ocpp_objects = st.recursive(
    st.dictionaries(st.sampled_from(FIELDS), ocpp_scalars, max_size=5),
    lambda children: st.dictionaries(
        st.sampled_from(FIELDS),
        ocpp_scalars | children | st.lists(children, max_size=2),
        max_size=4,
    ),
    max_leaves=8,
)
payloads = ocpp_objects | st.dictionaries(st.text(max_size=8), json_values, max_size=3)

message_ids = st.sampled_from(["1", "2", "3", "-1", "", "x" * 37]) | st.text(max_size=40)
actions = st.sampled_from(sorted(ACTIONS))
error_codes = st.sampled_from(sorted({*ERROR_CODES, *LEGACY_ERROR_CODES})) | st.text(max_size=20)
directions = st.sampled_from(list(Direction))


def _dumps(value: Any) -> str:
    return json.dumps(value)


calls = st.builds(lambda i, a, p: _dumps([2, i, a, p]), message_ids, actions, payloads)
results = st.builds(lambda i, p: _dumps([3, i, p]), message_ids, payloads | json_values)
errors = st.builds(
    lambda i, code, text, details: _dumps([4, i, code, text, details]),
    message_ids,
    error_codes,
    st.text(max_size=300),
    json_values,
)
arrays = st.builds(
    lambda kind, rest: _dumps([kind, *rest]),
    st.sampled_from([2, 3, 4, 5, 6]),
    st.lists(message_ids | actions | error_codes | payloads | json_values, max_size=5),
)
json_texts = json_values.map(_dumps)
text_frames: st.SearchStrategy[str | bytes] = st.text()
binary_frames: st.SearchStrategy[str | bytes] = st.binary() | calls.map(str.encode)
any_frame: st.SearchStrategy[str | bytes] = st.one_of(
    calls, calls, results, errors, arrays, json_texts, text_frames, binary_frames
)

# ---- payloads shaped like the real ones, so that the rule groups past the schema are reached ----

times = st.sampled_from(
    [
        "2026-11-24T00:00:00Z",
        "2026-11-24T00:00:10.250Z",
        "2026-11-24T00:05:00+00:00",
        "2026-11-24T00:00:00.1234567Z",
        "2030-01-01T00:00:00Z",
        "noon",
    ]
)
tokens = st.fixed_dictionaries(
    {
        "idToken": st.sampled_from(["04A1B2", "APP-1"]),
        "type": st.sampled_from(["ISO14443", "Central"]),
    }
)
small = st.integers(-1, 3)
transaction_ids = st.sampled_from(["TX1", "TX2"])
statuses = st.sampled_from(["Accepted", "Rejected", "Pending", "Scheduled"])
comm_variables = st.sampled_from(
    [
        "HeartbeatInterval",
        "MessageTimeout",
        "RetryBackOffWaitMinimum",
        "RetryBackOffRandomRange",
        "RetryBackOffRepeatTimes",
        "MessageAttempts",
    ]
)
variable_values = st.sampled_from(["0", "1", "2", "30", "-5", "x", ""])


def _component_variable(with_value: bool) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {
        "component": st.just({"name": "OCPPCommCtrlr"}),
        "variable": st.builds(
            lambda name, instance: {"name": name} | ({"instance": instance} if instance else {}),
            comm_variables,
            st.sampled_from([None, "Default", "TransactionEvent"]),
        ),
    }
    if with_value:
        fields["attributeValue"] = variable_values
    return st.fixed_dictionaries(fields, optional={"attributeType": st.just("Actual")})


meter_values = st.lists(
    st.fixed_dictionaries(
        {
            "timestamp": times,
            "sampledValue": st.lists(
                st.fixed_dictionaries(
                    {"value": st.sampled_from([0, 10.5, 1e3, 900, -1, 1e308])},
                    optional={
                        "measurand": st.sampled_from(
                            ["Energy.Active.Import.Register", "Power.Active.Import"]
                        ),
                        "unitOfMeasure": st.fixed_dictionaries(
                            {},
                            optional={
                                "unit": st.sampled_from(["Wh", "kWh", "W"]),
                                "multiplier": st.integers(-12, 12),
                            },
                        ),
                        "phase": st.just("L1"),
                    },
                ),
                min_size=1,
                max_size=2,
            ),
        }
    ),
    min_size=1,
    max_size=2,
)
SHAPED: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "BootNotification": (
        st.fixed_dictionaries(
            {
                "reason": st.sampled_from(["PowerUp", "Triggered", "Watchdog"]),
                "chargingStation": st.just({"model": "M", "vendorName": "V"}),
            }
        ),
        st.fixed_dictionaries(
            {"currentTime": times, "interval": st.integers(-1, 40), "status": statuses}
        ),
    ),
    "Heartbeat": (st.just({}), st.fixed_dictionaries({"currentTime": times})),
    "StatusNotification": (
        st.fixed_dictionaries(
            {
                "timestamp": times,
                "connectorStatus": st.sampled_from(["Available", "Occupied", "Faulted"]),
                "evseId": small,
                "connectorId": small,
            }
        ),
        st.just({}),
    ),
    "TransactionEvent": (
        st.fixed_dictionaries(
            {
                "eventType": st.sampled_from(["Started", "Updated", "Ended", "Paused"]),
                "timestamp": times,
                "triggerReason": st.sampled_from(["Authorized", "RemoteStart", "RemoteStop"]),
                "seqNo": small,
                "transactionInfo": st.fixed_dictionaries(
                    {"transactionId": transaction_ids},
                    optional={
                        "chargingState": st.sampled_from(["Charging", "EVConnected"]),
                        "stoppedReason": st.sampled_from(["Remote", "Local"]),
                        "remoteStartId": small,
                    },
                ),
            },
            optional={
                "offline": st.booleans(),
                "evse": st.fixed_dictionaries({"id": small}, optional={"connectorId": small}),
                "idToken": tokens,
                "meterValue": meter_values,
            },
        ),
        st.fixed_dictionaries({}, optional={"idTokenInfo": st.just({"status": "Accepted"})}),
    ),
    "RequestStartTransaction": (
        st.fixed_dictionaries(
            {"idToken": tokens, "remoteStartId": small},
            optional={
                "evseId": small,
                "chargingProfile": st.fixed_dictionaries(
                    {"chargingProfilePurpose": st.sampled_from(["TxProfile", "TxDefaultProfile"])},
                    optional={"transactionId": transaction_ids},
                ),
            },
        ),
        st.fixed_dictionaries({"status": statuses}, optional={"transactionId": transaction_ids}),
    ),
    "RequestStopTransaction": (
        st.fixed_dictionaries({"transactionId": transaction_ids}),
        st.fixed_dictionaries({"status": statuses}),
    ),
    "TriggerMessage": (
        st.fixed_dictionaries(
            {
                "requestedMessage": st.sampled_from(
                    ["BootNotification", "StatusNotification", "Heartbeat", "TransactionEvent"]
                )
            },
            optional={
                "evse": st.fixed_dictionaries({"id": small}, optional={"connectorId": small})
            },
        ),
        st.fixed_dictionaries({"status": statuses}),
    ),
    "GetVariables": (
        st.fixed_dictionaries(
            {"getVariableData": st.lists(_component_variable(False), max_size=2)}
        ),
        st.fixed_dictionaries(
            {
                "getVariableResult": st.lists(
                    st.builds(
                        lambda item, status: item | {"attributeStatus": status},
                        _component_variable(True),
                        statuses,
                    ),
                    max_size=2,
                )
            }
        ),
    ),
    "SetVariables": (
        st.fixed_dictionaries({"setVariableData": st.lists(_component_variable(True), max_size=2)}),
        st.fixed_dictionaries(
            {
                "setVariableResult": st.lists(
                    st.builds(
                        lambda item, status: item | {"attributeStatus": status},
                        _component_variable(False),
                        statuses,
                    ),
                    max_size=2,
                )
            }
        ),
    ),
}
SENDER = {
    "BootNotification": Direction.CHARGER_TO_CSMS,
    "Heartbeat": Direction.CHARGER_TO_CSMS,
    "StatusNotification": Direction.CHARGER_TO_CSMS,
    "TransactionEvent": Direction.CHARGER_TO_CSMS,
}


@st.composite
def exchanges(draw: st.DrawFn) -> list[tuple[Direction, list[Any]]]:
    """A CALL of a shaped (or any real) action, then its CALLRESULT, a CALLERROR or nothing."""
    if draw(st.integers(0, 4)):
        action = draw(st.sampled_from(sorted(SHAPED)))
        request, response = (draw(strategy) for strategy in SHAPED[action])
    else:
        action, request, response = draw(actions), draw(payloads), draw(payloads)
    direction = SENDER.get(action) or draw(directions)
    message_id = draw(st.sampled_from(["a", "b", "c", "d"]) | st.uuids().map(str))
    frames = [(direction, [2, message_id, action, request])]
    answer = draw(st.sampled_from(["result"] * 6 + ["error", "none"]))
    if answer == "result":
        frames.append((direction.reverse, [3, message_id, response]))
    elif answer == "error":
        frames.append((direction.reverse, [4, message_id, draw(error_codes), "", {}]))
    return frames


@st.composite
def conversations(draw: st.DrawFn) -> list[Event]:
    """One station's life: connections come and go, CALLs and answers in between, time moves."""
    now = T0
    connection = 0
    events: list[Event] = [
        ConnectionOpened(now, "CS01", "c0", "/ocpp/CS01", ("ocpp2.0.1",), "ocpp2.0.1")
    ]
    for _ in range(draw(st.integers(1, 10))):
        now += draw(gaps)
        step = draw(st.sampled_from(["exchange"] * 8 + ["lost", "closed", "refused", "open"]))
        if step == "exchange":
            for direction, message in draw(exchanges()):
                events.append(Frame(now, "CS01", f"c{connection}", direction, _dumps(message)))
                now += draw(st.sampled_from([0.01, 0.5, 31.0]))
        elif step in ("lost", "closed"):
            closed_by = None if step == "lost" else draw(st.sampled_from(["charger", "csms"]))
            events.append(ConnectionClosed(now, "CS01", f"c{connection}", 1006, closed_by))
        elif step == "refused":
            events.append(HandshakeRefused(now, "CS01", 503))
        else:
            connection += 1
            events.append(
                ConnectionOpened(
                    now, "CS01", f"c{connection}", "/ocpp/CS01", ("ocpp2.0.1",), "ocpp2.0.1"
                )
            )
    return events


# ---- event sequences ----------------------------------------------------------------------

gaps = st.sampled_from([0.0, 0.001, 0.05, 1.0, 4.0, 29.9, 30.0, 31.0, 61.0, 301.0]) | st.floats(
    0, 400, allow_nan=False
)
subprotocols = st.none() | st.lists(
    st.sampled_from(["ocpp2.0.1", "ocpp2.1", "ocpp1.6", ""]), max_size=3
)
headers = st.dictionaries(
    st.sampled_from(["sec-websocket-extensions", "authorization", "host"]),
    st.sampled_from(["permessage-deflate", "Basic Q1MwMTpwYXNz", ""]) | st.text(max_size=10),
    max_size=3,
)


@st.composite
def opened(draw: st.DrawFn, at: float) -> Event:
    station = draw(st.sampled_from(STATIONS))
    offered = draw(subprotocols)
    return ConnectionOpened(
        at,
        station,
        draw(st.sampled_from(CONNECTIONS)),
        draw(st.sampled_from([f"/ocpp/{station}", f"/ocpp/2.0.1/{station}", f"/{station}", ""])),
        tuple(offered) if offered is not None else None,
        draw(st.none() | st.sampled_from(["ocpp2.0.1", "ocpp2.1", "ocpp1.6"])),
        draw(headers),
        draw(headers),
        "open",
    )


@st.composite
def closed(draw: st.DrawFn, at: float) -> Event:
    return ConnectionClosed(
        at,
        draw(st.sampled_from(STATIONS)),
        draw(st.sampled_from(CONNECTIONS)),
        draw(st.none() | st.sampled_from([1000, 1001, 1006, 1011, 4000])),
        draw(st.sampled_from(["charger", "csms", None])),
        ref="close",
    )


@st.composite
def refused(draw: st.DrawFn, at: float) -> Event:
    return HandshakeRefused(
        at, draw(st.sampled_from(STATIONS)), draw(st.none() | st.sampled_from([401, 404, 503]))
    )


@st.composite
def framed(draw: st.DrawFn, at: float, data: st.SearchStrategy[str | bytes]) -> Event:
    return Frame(
        at,
        draw(st.sampled_from(STATIONS)),
        draw(st.sampled_from(CONNECTIONS)),
        draw(directions),
        draw(data),
        "frame",
    )


@st.composite
def traffic(
    draw: st.DrawFn,
    data: st.SearchStrategy[str | bytes] = any_frame,
    connection_events: bool = True,
    max_events: int = 10,
) -> list[Event]:
    """Non-decreasing timestamps; frames, and (optionally) opens, closes and refusals between."""
    now = T0 + draw(st.floats(-1e6, 1e6, allow_nan=False))
    events: list[Event] = []
    if draw(st.booleans()):
        events.append(draw(opened(now)))
    for _ in range(draw(st.integers(1, max_events))):
        now += draw(gaps)
        kind = draw(
            st.sampled_from(["frame"] * 4 + (["open", "close", "refused"] * connection_events))
        )
        if kind == "frame":
            events.append(draw(framed(now, data)))
        elif kind == "open":
            events.append(draw(opened(now)))
        elif kind == "close":
            events.append(draw(closed(now)))
        else:
            events.append(draw(refused(now)))
    return events


configs = st.builds(
    Config,
    message_timeout=st.sampled_from([30.0, 0.001, 5.0]),
    backoff=st.none()
    | st.builds(
        Backoff,
        st.floats(0, 60, allow_nan=False),
        st.floats(0, 60, allow_nan=False),
        st.integers(0, 8),
    ),
    remembered_ids=st.sampled_from([1024, 1, 2]),
)

# ---- the property ------------------------------------------------------------------------


def assert_findings(findings: object, station: str | None = None) -> None:
    assert type(findings) is list
    for finding in findings:
        assert type(finding) is Finding
        rule = RULES.get(finding.rule_id)
        assert rule is not None, finding
        assert finding.severity in rule.severities, finding
        assert finding.reference in {rule.reference_for(version) for version in VERSIONS}
        assert isinstance(finding.message, str)
        assert finding.message
        assert math.isfinite(finding.timestamp)
        if station is not None:
            assert finding.station == station


def drive(events: Sequence[Event], config: Config | None = None) -> None:
    """Feed every event, tick now and then, finish: every answer must be well formed."""
    monitor = Monitor(config)
    for number, event in enumerate(events):
        outcome = monitor.feed(event)
        assert type(outcome) is Outcome
        assert_findings(outcome.findings, event.station)
        if outcome.rtt is not None:
            assert outcome.rtt >= 0
        if number % 7 == 6:
            assert_findings(monitor.tick(event.timestamp))
    last = events[-1].timestamp if events else T0
    assert_findings(monitor.finish(last))
    assert_findings(monitor.finish(last + 3600.0))


@PROPERTY
@given(traffic(text_frames, connection_events=False))
def test_arbitrary_text_frames(events: list[Event]) -> None:
    drive(events)


@PROPERTY
@given(traffic(st.binary(), connection_events=False))
def test_arbitrary_binary_frames(events: list[Event]) -> None:
    drive(events)


@PROPERTY
@given(traffic(json_texts, connection_events=False))
def test_arbitrary_json_values(events: list[Event]) -> None:
    drive(events)


@PROPERTY
@given(traffic(arrays))
def test_arrays_starting_with_a_message_type(events: list[Event]) -> None:
    drive(events)


@PROPERTY
@given(traffic(st.one_of(calls, calls, results, errors)), configs)
def test_calls_of_real_actions_both_ways_with_responses(
    events: list[Event], config: Config
) -> None:
    drive(events, config)


@PROPERTY
@given(traffic(any_frame, max_events=14), configs)
def test_anything_interleaved_with_opens_closes_and_refusals(
    events: list[Event], config: Config
) -> None:
    drive(events, config)


@PROPERTY
@given(conversations(), configs)
def test_conversations_of_shaped_calls_and_answers(events: list[Event], config: Config) -> None:
    """Boot, heartbeats, transactions, remote control and variables with random details."""
    drive(events, config)
