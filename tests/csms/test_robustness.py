"""Bad input to the reference CSMS over a real WebSocket: each frame gets the CALLERROR OCPP-J
2.0.1 §4.3 (Table 8) names for it, the connection stays, and the log has one line per bad frame
and no traceback."""

from __future__ import annotations

import json
import logging

import pytest
from ocpp.v201 import call
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from csms.peer import Policy
from tests.csms.sim import csms, ocpp_url, station
from tests.pg import fetch
from tests.proxy_harness import SUBPROTOCOL, run, within

STATUS = {
    "timestamp": "2026-01-01T00:00:00Z",
    "connectorStatus": "Available",
    "evseId": 1,
    "connectorId": 1,
}
DEEP = 100_000
HUGE = "1" * 5000
BAD_FRAMES: list[tuple[str, str, str]] = [
    # (what, frame, [MessageId, errorCode] expected)
    ("not JSON", '[2, "a1", "Heartbeat", {', "-1 RpcFrameworkError"),
    ("not an array", '{"a": 1}', "-1 RpcFrameworkError"),
    ("no MessageId", "[2]", "-1 RpcFrameworkError"),
    ("numeric MessageId", '[2, 17, "Heartbeat", {}]', "-1 RpcFrameworkError"),
    ("unknown MessageTypeId", '[7, "a2", "Heartbeat", {}]', "a2 MessageTypeNotSupported"),
    ("deep array", "[" * DEEP + "]" * DEEP, "-1 RpcFrameworkError"),
    ("payload not an object", '[2, "a3", "Heartbeat", [1]]', "a3 FormatViolation"),
    ("unknown action", '[2, "a4", "Teleport", {}]', "a4 NotImplemented"),
    ("the CSMS's own action", '[2, "a5", "RequestStartTransaction", {}]', "a5 NotSupported"),
    (
        "timestamp yesterday",
        json.dumps([2, "a6", "StatusNotification", {**STATUS, "timestamp": "yesterday"}]),
        "a6 FormatViolation",
    ),
    (
        "transaction timestamp yesterday",
        json.dumps(
            [
                2,
                "a61",
                "TransactionEvent",
                {
                    "eventType": "Started",
                    "timestamp": "yesterday",
                    "triggerReason": "Authorized",
                    "seqNo": 0,
                    "transactionInfo": {"transactionId": "TX-Y"},
                },
            ]
        ),
        "a61 FormatViolation",
    ),
    (
        "missing field",
        json.dumps(
            [2, "a7", "StatusNotification", {k: v for k, v in STATUS.items() if k != "evseId"}]
        ),
        "a7 OccurrenceConstraintViolation",
    ),
    (
        "wrong type",
        json.dumps([2, "a8", "StatusNotification", {**STATUS, "evseId": "one"}]),
        "a8 TypeConstraintViolation",
    ),
    (
        "huge integer in a field",
        json.dumps([2, "a9", "StatusNotification", {**STATUS, "evseId": 10**30}]),
        "a9 PropertyConstraintViolation",
    ),
    (
        "an integer of 5000 digits",
        json.dumps([2, "b1", "StatusNotification", {**STATUS, "evseId": "HUGE"}]).replace(
            '"HUGE"', HUGE
        ),
        "b1 TypeConstraintViolation",  # beyond a double: no JSON Schema number,
    ),
    (
        "deep customData",
        '[2, "b2", "Heartbeat", {"customData": {"vendorId": "x", "d": %s}}]'
        % ("[" * DEEP + "]" * DEEP),
        "b2 FormatViolation",
    ),
    (
        "1e400",
        json.dumps([2, "b3", "StatusNotification", STATUS]).replace(
            '"evseId": 1', '"evseId": 1e400'
        ),
        "b3 TypeConstraintViolation",
    ),
]


def test_every_bad_frame_gets_its_callerror_and_the_station_stays(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def scenario() -> list[tuple[str, list[object]]]:
        answers = []
        async with (
            csms(database_url, Policy()) as running,
            connect(
                ocpp_url(running, "emart_jeju_01"),
                subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                max_size=None,
                ping_interval=None,
            ) as ws,
        ):
            for what, frame, _ in BAD_FRAMES:
                await ws.send(frame)
                answers.append((what, json.loads(await within(ws.recv()))))
            # Still connected, still answering.
            await ws.send(json.dumps([2, "ok", "Heartbeat", {}]))
            answers.append(("heartbeat", json.loads(await within(ws.recv()))))
            custom = {"customData": {"vendorId": "x", "n": "HUGE"}}
            huge_ok = json.dumps([2, "ok2", "Heartbeat", custom]).replace('"HUGE"', HUGE)
            await ws.send(huge_ok)
            answers.append(("huge customData, nothing else", json.loads(await within(ws.recv()))))
        return answers

    answers = run(scenario(), 60)
    for (what, _, expected), (_, answer) in zip(BAD_FRAMES, answers, strict=False):
        assert answer[0] == 4, (what, answer)
        assert f"{answer[1]} {answer[2]}" == expected, (what, answer)
        assert len(answer) == 5 and isinstance(answer[4], dict) and len(answer[3]) <= 255, answer
    assert answers[-2][1][:2] == [3, "ok"]
    assert answers[-1][1][:2] == [3, "ok2"]
    tracebacks = [r.getMessage()[:200] for r in caplog.records if r.exc_info or r.exc_text]
    assert tracebacks == []
    refused = [r for r in caplog.records if "CALLERROR" in r.getMessage()]
    assert len(refused) == len(BAD_FRAMES)
    assert all("\n" not in r.getMessage() and len(r.getMessage()) < 400 for r in refused)


def test_registrations_stop_at_the_limit(database_url: str) -> None:
    """The 34 seed chargers plus one newcomer fill a limit of 35; the next is Rejected, not
    registered, and a known station is still accepted."""

    async def scenario() -> None:
        async with csms(database_url, Policy(max_stations=35)) as running:
            async with station(running, "newcomer_01") as link:
                assert (await link.cp.boot()).status == "Accepted"
            async with station(running, "newcomer_02") as link:
                boot = await link.cp.boot()
                assert boot.status == "Rejected"
                assert boot.status_info["reason_code"] == "TooManyStations"
            assert "newcomer_02" not in running.endpoint.fleet.chargers
            rows = await fetch(database_url, "SELECT count(*) AS n FROM charger_info")
            assert rows[0]["n"] == 35
            async with station(running, "newcomer_01") as link:
                assert (await link.cp.boot()).status == "Accepted"

    run(scenario(), 45)


@pytest.mark.parametrize("length", [49, 3000])
def test_a_station_identity_over_48_characters_is_refused(database_url: str, length: int) -> None:
    """OCPP-J 2.0.1 §3.1.1: an identity is at most 48 characters; a longer one (which no index
    of the tables could hold at 3000) gets 400 before the upgrade, and 48 are fine."""

    async def scenario() -> None:
        async with csms(database_url) as running:
            with pytest.raises(InvalidStatus) as refused:
                async with station(running, "L" * length):
                    pass
            assert refused.value.response.status_code == 400
            async with station(running, "L" * 48) as link:  # its serial would be too long to boot
                assert (await link.cp.send(call.Heartbeat())).current_time

    run(scenario(), 45)
