"""The CSMS's REST API end to end over real HTTP, against a connected simulated station (the
`ocpp` library's ChargePoint) that answers RequestStart/StopTransaction and SetChargingProfile."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ocpp.v201 import call

from csms.peer import Policy
from tests.csms import flows
from tests.csms.sim import Behaviour, csms, http, session_events, station
from tests.pg import fetch
from tests.proxy_harness import run, until


def test_start_status_power_and_stop(database_url: str) -> None:
    async def scenario() -> None:
        async with csms(database_url) as running:
            await flows.whole_fleet(running)
            async with station(running, "emart_jeju_01") as link:
                await link.cp.boot()
                await link.cp.status("Available")
                await flows.idle(running, link.cp)
                await flows.limit_while_idle(running, link.cp)
                transaction_id = await flows.remote_start(running, link.cp)
                await flows.charge(running, link.cp, transaction_id)
                await flows.limit_while_charging(running, link.cp, transaction_id)
                await flows.remote_stop(running, link.cp, transaction_id)

                rows = await fetch(
                    database_url,
                    "SELECT energy_consumed, cost, duration_seconds, end_time - start_time AS span,"
                    " id_token, remote_start_id FROM charger_usage_log "
                    "WHERE transaction_id = $1",
                    transaction_id,
                )
                assert [dict(r) for r in rows] == [
                    {
                        "energy_consumed": Decimal("0.8333"),
                        "cost": Decimal("125.00"),
                        "duration_seconds": 30,
                        "span": timedelta(seconds=30),
                        "id_token": flows.ID_TOKEN,
                        "remote_start_id": link.cp.sent_events[0][0]["transactionInfo"][
                            "remoteStartId"
                        ],
                    }
                ]

            async def offline() -> bool:
                found = await http(running, "GET", "/chargers/emart_jeju_01")
                return found.body["status"] == "Offline"

            for _ in range(100):
                if await offline():
                    break
                await asyncio.sleep(0.05)
            assert await offline()

    run(scenario(), 45)


def test_error_codes(database_url: str) -> None:
    async def scenario() -> None:
        async with csms(database_url) as running:
            # Unknown charger: 404, whatever the call.
            for method, path, body in (
                ("GET", "/chargers/nowhere_99", None),
                ("POST", "/chargers/nowhere_99/start", {"idToken": "T1"}),
                ("POST", "/chargers/nowhere_99/stop", {"transactionId": "TX-1"}),
                ("PATCH", "/chargers/nowhere_99/power", {"maxPowerKw": 50}),
            ):
                reply = await http(running, method, path, body)
                assert reply.status == 404, (method, path, reply.text)
                assert "nowhere_99" in reply.body["detail"]

            # Known but offline: 409.
            for method, path, body in (
                ("POST", "/chargers/emart_jeju_02/start", {"idToken": "T1"}),
                ("POST", "/chargers/emart_jeju_02/stop", {"transactionId": "TX-1"}),
                ("PATCH", "/chargers/emart_jeju_02/power", {"maxPowerKw": 50}),
            ):
                reply = await http(running, method, path, body)
                assert reply.status == 409, (method, path, reply.text)
                assert "offline" in reply.body["detail"]

            refusing = Behaviour(start="Rejected", profile="Rejected")
            async with station(running, "emart_jeju_03", refusing) as link:
                await link.cp.boot()
                # The station refuses: 422 with its reason.
                start = await http(
                    running, "POST", "/chargers/emart_jeju_03/start", {"idToken": "T1"}
                )
                assert start.status == 422, start.text
                assert "Rejected" in start.body["detail"]
                assert "EVSEBusy" in start.body["detail"]
                power = await http(
                    running, "PATCH", "/chargers/emart_jeju_03/power", {"maxPowerKw": 50}
                )
                assert power.status == 422, power.text
                assert "NoProfileSupport" in power.body["detail"]
                stop = await http(
                    running, "POST", "/chargers/emart_jeju_03/stop", {"transactionId": "TX-NONE"}
                )
                assert stop.status == 422, stop.text
                assert "RequestStopTransaction" in stop.body["detail"]
                assert link.cp.meter is None
                assert [c for c, _ in link.cp.commands] == [
                    "RequestStartTransaction",
                    "SetChargingProfile",
                    "RequestStopTransaction",
                ]

                # Malformed bodies: 422 naming the field, and nothing sent to the station.
                for path, body, field in (
                    ("/chargers/emart_jeju_03/start", {}, "idToken"),
                    ("/chargers/emart_jeju_03/start", {"idToken": ""}, "idToken"),
                    ("/chargers/emart_jeju_03/start", {"idToken": "T1", "colour": 1}, "colour"),
                    ("/chargers/emart_jeju_03/stop", {"transaction": "TX-1"}, "transactionId"),
                    ("/chargers/emart_jeju_03/power", {"maxPowerKw": "x"}, "maxPowerKw"),
                    ("/chargers/emart_jeju_03/power", {"maxPowerKw": -5}, "maxPowerKw"),
                    ("/chargers/emart_jeju_03/power", {"maxPowerKw": 5, "w": 1}, "w"),
                ):
                    method = "PATCH" if path.endswith("power") else "POST"
                    reply = await http(running, method, path, body)
                    assert reply.status == 422, (path, body, reply.text)
                    fields = [error["loc"][-1] for error in reply.body["detail"]]
                    assert field in fields, (path, body, reply.body)
                assert len(link.cp.commands) == 3

            docs = await http(running, "GET", "/docs")
            assert docs.status == 200
            assert "swagger" in docs.text.lower()
            spec = await http(running, "GET", "/openapi.json")
            assert spec.status == 200
            paths = spec.body["paths"]
            assert {"get"} <= set(paths["/chargers"])
            assert {"get"} <= set(paths["/chargers/{charger_id}"])
            assert {"post"} <= set(paths["/chargers/{charger_id}/start"])
            assert {"post"} <= set(paths["/chargers/{charger_id}/stop"])
            assert {"patch"} <= set(paths["/chargers/{charger_id}/power"])

    run(scenario(), 45)


def test_a_station_that_accepts_but_never_starts_gives_504(database_url: str) -> None:
    async def scenario() -> None:
        async with csms(database_url, Policy(), command_timeout=1.0) as running:
            silent = Behaviour(send_started=False)
            async with station(running, "emart_shinjeju_01", silent) as link:
                await link.cp.boot()
                began = time.monotonic()
                reply = await http(
                    running, "POST", "/chargers/emart_shinjeju_01/start", {"idToken": "T1"}
                )
                assert reply.status == 504, reply.text
                assert "Started" in reply.body["detail"]
                assert 0.9 <= time.monotonic() - began < 5
                assert [c for c, _ in link.cp.commands] == ["RequestStartTransaction"]

            # A station that does not answer the CALL in time: 504 as well.
            slow = Behaviour(answer_delay=1.5)
            async with station(running, "emart_shinjeju_02", slow) as link:
                await link.cp.boot()
                reply = await http(
                    running, "PATCH", "/chargers/emart_shinjeju_02/power", {"maxPowerKw": 20}
                )
                assert reply.status == 504, reply.text
                # The late answer that follows does no harm: the station still works.
                await until(lambda: len(link.cp.commands) == 1, 5, "the command to arrive")
                await asyncio.sleep(1.0)
                assert (await link.cp.send(call.Heartbeat())).current_time

    run(scenario(), 45)


def test_an_old_offline_replay_does_not_hide_the_running_transaction(database_url: str) -> None:
    async def scenario() -> None:
        async with csms(database_url) as running, station(running, "emart_jeju_01") as link:
            await link.cp.boot()
            await link.cp.status("Available")
            transaction_id = await flows.remote_start(running, link.cp)
            await link.cp.update(5)
            old = session_events(
                "TX-QUEUED-OLD", datetime.now(UTC) - timedelta(hours=2), offline=True
            )
            for payload in old:
                await link.cp.transaction_event(payload)
            reply = await http(running, "GET", "/chargers/emart_jeju_01")
            assert reply.body["transaction_id"] == transaction_id
            assert reply.body["power_kw"] == 100.0

    run(scenario())
