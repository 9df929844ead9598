"""The reference CSMS speaking OCPP 1.6J and 2.1 beside 2.0.1 on one endpoint: the `ocpp`
library's v16 and v21 ChargePoints (an independent implementation) as the chargers over real
sockets on 127.0.0.1, the CSMS in-process, its rows in a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from ocpp import v16, v21
from ocpp.charge_point import ChargePoint, camel_to_snake_case
from ocpp.routing import after, on
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from csms.app import RunningCsms
from tests.csms.sim import csms, http, ocpp_time, ocpp_url, station, transaction_event
from tests.csms.test_ocpp import charger_row, usage_rows
from tests.pg import fetch
from tests.proxy_harness import STEP, run, within

T0 = datetime(2024, 1, 21, 15, 30, 45, tzinfo=UTC)
ENERGY = "Energy.Active.Import.Register"
REFUSED_TAG = "NO-CARD"
"""An idTag the 1.6 charger below rejects a remote start for."""


class Charger16(v16.ChargePoint):
    """A 1.6 charge point that accepts remote starts and stops and answers them with its own
    StartTransaction and StopTransaction, as a real one does."""

    def __init__(self, charger_id: str, connection: Any) -> None:
        super().__init__(charger_id, connection, response_timeout=STEP)
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.transaction_id: int | None = None
        self.background: list[asyncio.Task[Any]] = []

    @on("RemoteStartTransaction")
    def on_remote_start(self, **request: Any) -> v16.call_result.RemoteStartTransaction:
        self.commands.append(("RemoteStartTransaction", request))
        refused = request["id_tag"] == REFUSED_TAG
        return v16.call_result.RemoteStartTransaction(status="Rejected" if refused else "Accepted")

    @after("RemoteStartTransaction")
    def started(self, id_tag: str, **request: Any) -> None:
        if id_tag != REFUSED_TAG:
            self._later(self.start(id_tag, request.get("connector_id") or 1, 20_000, T0))

    @on("RemoteStopTransaction")
    def on_remote_stop(self, **request: Any) -> v16.call_result.RemoteStopTransaction:
        self.commands.append(("RemoteStopTransaction", request))
        return v16.call_result.RemoteStopTransaction(status="Accepted")

    @after("RemoteStopTransaction")
    def stopped(self, transaction_id: int) -> None:
        self._later(self.stop(transaction_id, 21_700, T0 + timedelta(hours=1), "Remote"))

    @on("SetChargingProfile")
    def on_profile(self, **request: Any) -> v16.call_result.SetChargingProfile:
        self.commands.append(("SetChargingProfile", request))
        return v16.call_result.SetChargingProfile(status="Accepted")

    def _later(self, work: Any) -> None:
        self.background.append(asyncio.get_running_loop().create_task(work))

    async def boot(self) -> Any:
        return await self.call(
            v16.call.BootNotification(
                charge_point_vendor="ocppscope",
                charge_point_model="Sim16",
                firmware_version="1.6.0",
            )
        )

    async def start(self, id_tag: str, connector: int, meter_wh: int, when: datetime) -> Any:
        answer = await self.call(
            v16.call.StartTransaction(
                connector_id=connector,
                id_tag=id_tag,
                meter_start=meter_wh,
                timestamp=ocpp_time(when),
            )
        )
        self.transaction_id = answer.transaction_id
        return answer

    async def stop(self, transaction_id: int, meter_wh: int, when: datetime, reason: str) -> Any:
        return await self.call(
            v16.call.StopTransaction(
                meter_stop=meter_wh,
                timestamp=ocpp_time(when),
                transaction_id=transaction_id,
                reason=reason,
            )
        )


@contextlib.asynccontextmanager
async def linked(
    running: RunningCsms, charger_id: str, kind: type[ChargePoint], offered: list[str]
) -> AsyncIterator[tuple[Any, ClientConnection]]:
    """`kind` connected with `offered` subprotocols, its messages served until it closes."""
    ws = await within(
        connect(
            ocpp_url(running, charger_id),
            subprotocols=[Subprotocol(name) for name in offered],
            ping_interval=None,
        )
    )
    cp = kind(charger_id, ws)
    serving = asyncio.get_running_loop().create_task(_serve(cp, ws))
    try:
        yield cp, ws
    finally:
        await within(ws.close(), 5)
        for task in [serving, *getattr(cp, "background", [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await within(task, 5)


async def _serve(cp: ChargePoint, ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        for _ in range(10_000):
            await cp.route_message(await ws.recv())


async def eventually(check: Any, what: str) -> None:
    for _ in range(100):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def row_without_ids(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("charger_id", "transaction_id", "id_token")}


# ---- OCPP 1.6 --------------------------------------------------------------------------------------


def test_a_1_6_session_gives_the_same_usage_row_as_the_2_0_1_path(database_url: str) -> None:
    """meterStart 20000 Wh, meterStop 21700 Wh an hour later: 1.7 kWh, 255 KRW at 150 KRW/kWh,
    the row a 2.0.1 TransactionEvent session with the same registers gives."""

    async def scenario() -> None:
        async with csms(database_url) as running:
            async with linked(running, "emart_jeju_01", Charger16, ["ocpp1.6"]) as (cp, ws):
                assert ws.subprotocol == "ocpp1.6"
                boot = await cp.boot()
                assert (boot.status, boot.interval) == ("Accepted", 30)
                row = await charger_row(database_url, "emart_jeju_01")
                assert row is not None
                assert (row["ocpp_version"], row["vendor"], row["model"]) == (
                    "ocpp1.6",
                    "ocppscope",
                    "Sim16",
                )
                beat = await cp.call(v16.call.Heartbeat())
                assert beat.current_time.endswith("Z")
                await cp.call(
                    v16.call.StatusNotification(
                        connector_id=1, error_code="NoError", status="Preparing"
                    )
                )
                assert (await charger_row(database_url, "emart_jeju_01"))["connector_status"] == (  # type: ignore[index]
                    "Preparing"
                )
                authorized = await cp.call(v16.call.Authorize(id_tag="TAG-16"))
                assert authorized.id_tag_info == {"status": "Accepted"}
                started = await cp.start("TAG-16", 1, 20_000, T0)
                assert started.id_tag_info == {"status": "Accepted"}
                assert isinstance(started.transaction_id, int)
                # Sent again (its answer lost): the same transaction, not a second one.
                again = await cp.start("TAG-16", 1, 20_000, T0)
                assert again.transaction_id == started.transaction_id
                middle = ocpp_time(T0 + timedelta(minutes=30))
                await cp.call(
                    v16.call.MeterValues(
                        connector_id=1,
                        transaction_id=started.transaction_id,
                        meter_value=[
                            {
                                "timestamp": middle,
                                "sampled_value": [
                                    {"value": "20850", "measurand": ENERGY, "unit": "Wh"},
                                    {
                                        "value": "1.7",
                                        "measurand": "Power.Active.Import",
                                        "unit": "kW",
                                    },
                                ],
                            }
                        ],
                    )
                )
                live = await http(running, "GET", "/chargers/emart_jeju_01")
                assert live.body["transaction_id"] == str(started.transaction_id)
                assert (live.body["energy_kwh"], live.body["power_kw"]) == (0.85, 1.7)
                assert live.body["ocpp_version"] == "ocpp1.6"
                stopped = await cp.stop(
                    started.transaction_id, 21_700, T0 + timedelta(hours=1), "EVDisconnected"
                )
                assert stopped.id_tag_info is None
                await cp.stop(
                    started.transaction_id, 21_700, T0 + timedelta(hours=1), "EVDisconnected"
                )

            # The same registers over 2.0.1 on another station.
            async with station(running, "emart_jeju_02") as link:
                await link.cp.boot()
                for payload in (
                    transaction_event(
                        "Started", 0, T0, "TX-201", register_wh=20_000, id_token="TAG-16"
                    ),
                    transaction_event(
                        "Ended",
                        1,
                        T0 + timedelta(hours=1),
                        "TX-201",
                        register_wh=21_700,
                        stopped_reason="EVDisconnected",
                    ),
                ):
                    await link.cp.transaction_event(payload)

            [row16] = await usage_rows(database_url, str(started.transaction_id))
            [row201] = await usage_rows(database_url, "TX-201")
            assert row16["energy_consumed"] == Decimal("1.7000")
            assert row16["cost"] == Decimal("255.00")
            assert row16["duration_seconds"] == 3600
            assert (row16["id_token"], row16["evse_id"]) == ("TAG-16", 1)
            assert row16["charger_id"] == "emart_jeju_01"
            assert row_without_ids(row16) == row_without_ids(row201)
            rows = await fetch(
                database_url,
                "SELECT count(*) AS n FROM charger_usage_log WHERE charger_id = 'emart_jeju_01'",
            )
            assert rows[0]["n"] == 1

    run(scenario())


def test_a_1_6_session_spanning_a_restart_of_the_csms_is_one_row(database_url: str) -> None:
    """Started before the restart, stopped (and started again, its answer lost) after it."""

    async def scenario() -> None:
        async with (
            csms(database_url) as running,
            linked(running, "emart_jeju_09", Charger16, ["ocpp1.6"]) as (cp, _),
        ):
            await cp.boot()
            started = await cp.start("TAG-R", 1, 20_000, T0)
        async with (
            csms(database_url) as running,
            linked(running, "emart_jeju_09", Charger16, ["ocpp1.6"]) as (cp, _),
        ):
            await cp.boot()
            again = await cp.start("TAG-R", 1, 20_000, T0)
            assert again.transaction_id == started.transaction_id
            await cp.stop(started.transaction_id, 21_700, T0 + timedelta(hours=1), "Local")
        [row] = await usage_rows(database_url, str(started.transaction_id))
        assert (row["energy_consumed"], row["cost"]) == (Decimal("1.7000"), Decimal("255.00"))
        assert (row["duration_seconds"], row["id_token"]) == (3600, "TAG-R")

    run(scenario())


def test_a_1_6_transaction_id_a_2_0_1_station_also_chose_is_another_transaction(
    database_url: str,
) -> None:
    """The CSMS numbers 1.6 transactions (17), a 2.0.1 station names its own ("17" is a valid
    one): the same id on two chargers is two transactions, each with its own row and events."""

    async def scenario() -> None:
        async with (
            csms(database_url) as running,
            linked(running, "emart_jeju_04", Charger16, ["ocpp1.6"]) as (cp, _),
        ):
            await cp.boot()
            started = await cp.start("TAG-16", 1, 20_000, T0)
            same = str(started.transaction_id)
            async with station(running, "emart_jeju_05") as link:
                await link.cp.boot()
                for payload in (
                    transaction_event(
                        "Started", 0, T0, same, register_wh=10_000, id_token="TAG-201"
                    ),
                    transaction_event(
                        "Ended", 1, T0 + timedelta(hours=2), same, register_wh=15_000
                    ),
                ):
                    await link.cp.transaction_event(payload)
            await cp.stop(started.transaction_id, 21_700, T0 + timedelta(hours=1), "Local")
        rows = await fetch(
            database_url,
            "SELECT charger_id, energy_consumed, duration_seconds, id_token "
            "FROM charger_usage_log WHERE transaction_id = $1 ORDER BY charger_id",
            same,
        )
        assert [dict(row) for row in rows] == [
            {
                "charger_id": "emart_jeju_04",
                "energy_consumed": Decimal("1.7000"),
                "duration_seconds": 3600,
                "id_token": "TAG-16",
            },
            {
                "charger_id": "emart_jeju_05",
                "energy_consumed": Decimal("5.0000"),
                "duration_seconds": 7200,
                "id_token": "TAG-201",
            },
        ]
        events = await fetch(
            database_url,
            "SELECT charger_id, count(*) AS n FROM charger_transaction_event "
            "WHERE transaction_id = $1 GROUP BY charger_id ORDER BY charger_id",
            same,
        )
        assert [(row["charger_id"], row["n"]) for row in events] == [
            ("emart_jeju_04", 2),
            ("emart_jeju_05", 2),
        ]

    run(scenario())


def test_a_charger_back_on_1_6_gets_no_transactionid_its_2_0_1_firmware_used(
    database_url: str,
) -> None:
    """The next number of the 1.6 sequence is already the name of one of the charger's 2.0.1
    transactions (a charger moved from 2.0.1 to 1.6, or the sequence reset): it gets another."""

    async def scenario() -> None:
        async with csms(database_url) as running:
            [row] = await fetch(database_url, "SELECT nextval('ocpp16_transaction_id') AS n")
            taken = str(row["n"] + 1)
            async with station(running, "emart_jeju_06") as link:
                await link.cp.boot()
                await link.cp.transaction_event(
                    transaction_event("Started", 0, T0, taken, register_wh=10_000)
                )
            async with linked(running, "emart_jeju_06", Charger16, ["ocpp1.6"]) as (cp, _):
                await cp.boot()
                started = await cp.start("TAG-16", 1, 20_000, T0 + timedelta(days=1))
                assert str(started.transaction_id) != taken
                await cp.stop(
                    started.transaction_id, 21_700, T0 + timedelta(days=1, hours=1), "Local"
                )
        [usage] = await usage_rows(database_url, str(started.transaction_id))
        assert (usage["energy_consumed"], usage["end_time"]) == (
            Decimal("1.7000"),
            T0 + timedelta(days=1, hours=1),
        )
        [earlier] = await usage_rows(database_url, taken)
        assert (earlier["energy_consumed"], earlier["end_time"]) == (Decimal("0.0000"), None)

    run(scenario())


def test_remote_start_power_and_stop_over_rest_reach_a_1_6_charger_in_its_form(
    database_url: str,
) -> None:
    async def scenario() -> None:
        async with csms(database_url) as running:
            async with linked(running, "emart_jeju_03", Charger16, ["ocpp1.6"]) as (cp, _):
                await cp.boot()
                idle = await http(
                    running, "PATCH", "/chargers/emart_jeju_03/power", {"maxPowerKw": 7.4}
                )
                assert idle.status == 200, idle.text
                assert idle.body["chargingProfilePurpose"] == "TxDefaultProfile"
                action, profile = cp.commands[-1]
                assert action == "SetChargingProfile"
                assert profile["connector_id"] == 0
                assert (
                    profile["cs_charging_profiles"]["charging_profile_purpose"]
                    == "TxDefaultProfile"
                )
                assert profile["cs_charging_profiles"]["charging_schedule"][
                    "charging_schedule_period"
                ] == [{"start_period": 0, "limit": 7400.0}]

                refused = await http(
                    running, "POST", "/chargers/emart_jeju_03/start", {"idToken": REFUSED_TAG}
                )
                assert refused.status == 422
                assert "RemoteStartTransaction with Rejected" in refused.body["detail"]

                too_long = await http(
                    running, "POST", "/chargers/emart_jeju_03/start", {"idToken": "X" * 21}
                )
                assert too_long.status == 422
                assert "at most 20" in too_long.body["detail"]

                reply = await http(
                    running, "POST", "/chargers/emart_jeju_03/start", {"idToken": "APP-USER-7"}
                )
                assert reply.status == 200, reply.text
                assert cp.commands[-1] == (
                    "RemoteStartTransaction",
                    {"id_tag": "APP-USER-7"},
                )
                # The CSMS answers the REST call once it has the StartTransaction, maybe before
                # the charger has read the StartTransaction.conf.
                await eventually(lambda: cp.transaction_id is not None, "the charger's answer")
                assert reply.body["transactionId"] == str(cp.transaction_id)
                assert datetime.fromisoformat(reply.body["startTime"]) == T0

                charging = await http(
                    running, "PATCH", "/chargers/emart_jeju_03/power", {"maxPowerKw": 3.3}
                )
                assert charging.status == 200, charging.text
                action, profile = cp.commands[-1]
                assert profile["connector_id"] == 1
                assert profile["cs_charging_profiles"]["transaction_id"] == cp.transaction_id
                assert profile["cs_charging_profiles"]["charging_profile_purpose"] == "TxProfile"

                wrong = await http(
                    running, "POST", "/chargers/emart_jeju_03/stop", {"transactionId": "TX-a"}
                )
                assert wrong.status == 422
                assert "integer" in wrong.body["detail"]

                stop = await http(
                    running,
                    "POST",
                    "/chargers/emart_jeju_03/stop",
                    {"transactionId": str(cp.transaction_id)},
                )
                assert stop.status == 200, stop.text
                assert cp.commands[-1] == (
                    "RemoteStopTransaction",
                    {"transaction_id": cp.transaction_id},
                )
                assert stop.body == {
                    "transactionId": str(cp.transaction_id),
                    "energyKwh": 1.7,
                    "cost": 255.0,
                    "durationSeconds": 3600,
                    "stoppedReason": "Remote",
                }
            [usage] = await usage_rows(database_url, str(cp.transaction_id))
            remote = await fetch(
                database_url,
                "SELECT remote_start_id FROM charger_usage_log WHERE transaction_id = $1",
                str(cp.transaction_id),
            )
            assert remote[0]["remote_start_id"] == reply.body["remoteStartId"]
            assert usage["stopped_reason"] == "Remote"

    run(scenario())


async def exchange(ws: ClientConnection, frame: list[Any]) -> list[Any]:
    await ws.send(json.dumps(frame))
    return json.loads(await within(ws.recv(), 5))


@pytest.mark.parametrize(
    ("subprotocol", "frame", "code"),
    [
        # A 1.6 StartTransaction without meterStart: 1.6 spells the code with one "r".
        (
            "ocpp1.6",
            [
                "StartTransaction",
                {"connectorId": 1, "idTag": "T", "timestamp": "2024-01-21T15:30:45Z"},
            ],
            "OccurenceConstraintViolation",
        ),
        (
            "ocpp1.6",
            ["Heartbeat", {"unexpected": 1}],
            "OccurenceConstraintViolation",
        ),
        # A dateTime that is none: 1.6's FormationViolation, 2.1's FormatViolation.
        (
            "ocpp1.6",
            [
                "StartTransaction",
                {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "noon"},
            ],
            "FormationViolation",
        ),
        (
            "ocpp2.1",
            [
                "BootNotification",
                {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}, "x": 1},
            ],
            "OccurrenceConstraintViolation",
        ),
        # A 2.0.1 action that 1.6 does not have; a 2.1 action we do not take.
        ("ocpp1.6", ["TransactionEvent", {}], "NotImplemented"),
        ("ocpp2.1", ["NotifyDERAlarm", {}], "NotSupported"),
        ("ocpp2.0.1", ["NotifyDERAlarm", {}], "NotImplemented"),
    ],
)
def test_each_version_is_screened_by_its_own_schemas_and_codes(
    database_url: str, subprotocol: str, frame: list[Any], code: str
) -> None:
    async def scenario() -> None:
        async with (
            csms(database_url) as running,
            connect(
                ocpp_url(running, "emart_jeju_04"),
                subprotocols=[Subprotocol(subprotocol)],
                ping_interval=None,
            ) as ws,
        ):
            answer = await exchange(ws, [2, "m-1", *frame])
            assert answer[:3] == [4, "m-1", code], answer
            assert ws.close_code is None  # the connection stays

    run(scenario())


@pytest.mark.parametrize(
    ("subprotocol", "code"),
    [("ocpp1.6", "GenericError"), ("ocpp2.0.1", "MessageTypeNotSupported")],
)
def test_a_message_type_1_6_does_not_name_is_a_generic_error_there(
    database_url: str, subprotocol: str, code: str
) -> None:
    """OCPP-J 1.6 §4.2.3 has no MessageTypeNotSupported (2.0.1 §4.4 added it)."""

    async def scenario() -> None:
        async with (
            csms(database_url) as running,
            connect(
                ocpp_url(running, "emart_jeju_04"),
                subprotocols=[Subprotocol(subprotocol)],
                ping_interval=None,
            ) as ws,
        ):
            answer = await exchange(ws, [7, "m-7", "Heartbeat", {}])
            assert answer[:3] == [4, "m-7", code], answer

    run(scenario())


def test_a_2_1_send_gets_no_answer(database_url: str) -> None:
    """SEND (MessageTypeId 6) is answered by nothing in OCPP-J 2.1, not even a CALLERROR."""

    async def scenario() -> None:
        async with (
            csms(database_url) as running,
            connect(
                ocpp_url(running, "emart_jeju_08"),
                subprotocols=[Subprotocol("ocpp2.1")],
                ping_interval=None,
            ) as ws,
        ):
            await ws.send(json.dumps([6, "s-1", "NotifyPeriodicEventStream", {}]))
            answer = await exchange(ws, [2, "h-1", "Heartbeat", {}])
            assert answer[:2] == [3, "h-1"], answer

    run(scenario())


# ---- OCPP 2.1 --------------------------------------------------------------------------------------


def test_a_2_1_charger_boots_and_runs_a_transaction(database_url: str) -> None:
    async def scenario() -> None:
        async with csms(database_url) as running:
            async with linked(running, "emart_jeju_05", v21.ChargePoint, ["ocpp2.1"]) as (cp, ws):
                assert ws.subprotocol == "ocpp2.1"
                boot = await cp.call(
                    v21.call.BootNotification(
                        charging_station={"model": "Sim21", "vendor_name": "ocppscope"},
                        reason="PowerUp",
                    )
                )
                assert boot.status == "Accepted"
                await cp.call(
                    v21.call.StatusNotification(
                        timestamp=ocpp_time(T0),
                        connector_status="Occupied",
                        evse_id=1,
                        connector_id=1,
                    )
                )
                for payload in (
                    transaction_event(
                        "Started", 0, T0, "TX-21", register_wh=20_000, id_token="TAG-21"
                    ),
                    transaction_event(
                        "Ended", 1, T0 + timedelta(hours=1), "TX-21", register_wh=21_700
                    ),
                ):
                    answer = await cp.call(v21.call.TransactionEvent(**_snake(payload)))
                assert answer.total_cost == 255.0
            row = await charger_row(database_url, "emart_jeju_05")
            assert row is not None
            assert (row["ocpp_version"], row["model"]) == ("ocpp2.1", "Sim21")
            [usage] = await usage_rows(database_url, "TX-21")
            assert (usage["energy_consumed"], usage["cost"]) == (
                Decimal("1.7000"),
                Decimal("255.00"),
            )

    run(scenario())


def _snake(payload: dict[str, Any]) -> dict[str, Any]:
    return camel_to_snake_case(payload)


class Charger21(v21.ChargePoint):
    """A 2.1 station that accepts a remote start and a power limit, and starts as told."""

    def __init__(self, charger_id: str, connection: Any) -> None:
        super().__init__(charger_id, connection, response_timeout=STEP)
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.background: list[asyncio.Task[Any]] = []

    @on("RequestStartTransaction")
    def on_request_start(self, **request: Any) -> v21.call_result.RequestStartTransaction:
        self.commands.append(("RequestStartTransaction", request))
        return v21.call_result.RequestStartTransaction(status="Accepted")

    @after("RequestStartTransaction")
    def started(self, remote_start_id: int, **_: Any) -> None:
        event = transaction_event(
            "Started", 0, T0, "TX-21-R", register_wh=20_000, remote_start_id=remote_start_id
        )
        self.background.append(
            asyncio.get_running_loop().create_task(
                self.call(v21.call.TransactionEvent(**_snake(event)))
            )
        )

    @on("SetChargingProfile")
    def on_profile(self, **request: Any) -> v21.call_result.SetChargingProfile:
        self.commands.append(("SetChargingProfile", request))
        return v21.call_result.SetChargingProfile(status="Accepted")


def test_rest_commands_reach_a_2_1_charger_checked_by_the_2_1_schemas(database_url: str) -> None:
    async def scenario() -> None:
        async with (
            csms(database_url) as running,
            linked(running, "emart_jeju_07", Charger21, ["ocpp2.1"]) as (cp, _),
        ):
            await cp.call(
                v21.call.BootNotification(
                    charging_station={"model": "Sim21", "vendor_name": "ocppscope"},
                    reason="PowerUp",
                )
            )
            limit = await http(
                running, "PATCH", "/chargers/emart_jeju_07/power", {"maxPowerKw": 11}
            )
            assert limit.status == 200, limit.text
            action, request = cp.commands[-1]
            assert action == "SetChargingProfile"
            assert request["evse_id"] == 0
            assert request["charging_profile"]["charging_profile_purpose"] == ("TxDefaultProfile")
            start = await http(
                running, "POST", "/chargers/emart_jeju_07/start", {"idToken": "APP-21"}
            )
            assert start.status == 200, start.text
            assert start.body["transactionId"] == "TX-21-R"
            action, request = cp.commands[-1]
            assert action == "RequestStartTransaction"
            assert request["id_token"] == {"id_token": "APP-21", "type": "Central"}
            assert request["remote_start_id"] == start.body["remoteStartId"]

    run(scenario())


# ---- the choice of version ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["ocpp1.6", "ocpp2.0.1"], "ocpp1.6"),
        (["ocpp2.0.1", "ocpp1.6"], "ocpp2.0.1"),
        (["ocpp2.1", "ocpp2.0.1", "ocpp1.6"], "ocpp2.1"),
        (["ocpp1.5", "ocpp2.1"], "ocpp2.1"),
    ],
)
def test_the_first_offered_subprotocol_we_speak_is_chosen(
    database_url: str, offered: list[str], chosen: str
) -> None:
    """The station lists its versions in its order of preference (OCPP-J 2.0.1 §3.1.2)."""

    async def scenario() -> None:
        async with csms(database_url) as running:
            async with connect(
                ocpp_url(running, "emart_jeju_06"),
                subprotocols=[Subprotocol(name) for name in offered],
                ping_interval=None,
            ) as ws:
                assert ws.subprotocol == chosen
                await eventually(
                    lambda: running.endpoint.fleet.chargers["emart_jeju_06"].ocpp_version == chosen,
                    "the fleet to show the version",
                )
                reply = await http(running, "GET", "/chargers/emart_jeju_06")
                assert (reply.body["status"], reply.body["ocpp_version"]) == ("Online", chosen)
            row = await charger_row(database_url, "emart_jeju_06")
            assert row is not None and row["ocpp_version"] == chosen

    run(scenario())
