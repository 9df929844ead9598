"""The simulator's control API while a fleet runs against the reference CSMS (real sockets on
127.0.0.1, a real PostgreSQL, clocks 10 times faster): what a scenario or a person can do to a
station, and the clear refusals for what cannot be done."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from rich.console import Console

from proxy.settings import Endpoint
from simulator.fleet import StationSpec
from simulator.runner import run_fleet
from tests.csms.sim import Reply, csms, request
from tests.pg import fetch
from tests.proxy_harness import run, within
from tests.support import free_port

STATION = "emart_jeju_01"
TOKEN = "control-token"


class User:
    """Someone steering the fleet through the control API on `port`."""

    def __init__(self, port: int, database_url: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.database_url = database_url

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        headers = {"Authorization": f"Bearer {TOKEN}", **(headers or {})}
        return await request(f"{self.base}{path}", method, body, 10, headers)

    async def station(self) -> dict[str, Any]:
        return (await self.call("GET", f"/stations/{STATION}")).body

    async def statuses_at_the_csms(self) -> list[str]:
        rows = await fetch(
            self.database_url,
            "SELECT status FROM charger_status_log WHERE charger_id = $1 ORDER BY id",
            STATION,
        )
        return [row["status"] for row in rows]

    async def steer(self) -> dict[str, Any]:
        """Everything the user does, in order; what they saw."""
        seen: dict[str, Any] = {}
        for _ in range(200):  # the API comes up before the stations connect
            listing = await self.call("GET", "/stations")
            if listing.status == 200 and listing.body[0]["connected"]:
                break
            await asyncio.sleep(0.05)
        at = f"/stations/{STATION}/evses"
        seen["no token"] = await self.call("POST", f"{at}/1/plug-in", headers={"Authorization": ""})
        seen["foreign host"] = await self.call("GET", "/stations", headers={"Host": "evil.example"})
        seen["plug-in"] = await self.call("POST", f"{at}/1/plug-in")
        seen["plug-in again"] = await self.call("POST", f"{at}/1/plug-in")
        seen["start"] = await self.call("POST", f"{at}/1/start", {"idToken": "TAG-7"})
        seen["start busy"] = await self.call("POST", f"{at}/1/start")
        await asyncio.sleep(0.5)  # 5 simulated seconds of charging
        seen["stop"] = await self.call("POST", f"{at}/1/stop")
        seen["stop again"] = await self.call("POST", f"{at}/1/stop")
        seen["still plugged"] = (await self.station())["evses"][0]["status"]
        seen["unplug"] = await self.call("POST", f"{at}/1/unplug")
        seen["start 2"] = await self.call("POST", f"{at}/2/start", {"seconds": 60})
        seen["fault"] = await self.call("POST", f"{at}/2/fault")
        seen["start faulted"] = await self.call("POST", f"{at}/2/start")
        seen["repair"] = await self.call("POST", f"{at}/2/repair")
        for _ in range(200):  # both reported before the connection goes
            seen["statuses"] = await self.statuses_at_the_csms()
            if "Faulted" in seen["statuses"] and seen["statuses"][-1] == "Available":
                break
            await asyncio.sleep(0.05)
        seen["disconnect"] = await self.call("POST", f"/stations/{STATION}/disconnect")
        for _ in range(200):
            seen["after reconnect"] = await self.station()
            if seen["after reconnect"]["reconnects"] and seen["after reconnect"]["connected"]:
                break
            await asyncio.sleep(0.05)
        seen["no station"] = await self.call("POST", "/stations/nope/evses/1/plug-in")
        seen["no evse"] = await self.call("POST", f"{at}/3/plug-in")
        seen["bad body"] = await self.call("POST", f"{at}/1/start", {"seconds": -1})
        return seen


def test_plug_in_start_stop_unplug_fault_repair_and_disconnect(database_url: str) -> None:
    port = free_port()

    async def scenario() -> dict[str, Any]:
        stop = asyncio.Event()
        async with csms(database_url) as running:
            fleet = asyncio.create_task(
                run_fleet(
                    [StationSpec(STATION, 100.0, evses=2)],
                    f"ws://127.0.0.1:{running.ocpp_port}/ocpp",
                    speed=10.0,
                    console=Console(file=io.StringIO()),
                    stop=stop,
                    control=Endpoint("127.0.0.1", port),
                    api_token=TOKEN,
                )
            )
            try:
                return await within(User(port, database_url).steer(), 40)
            finally:
                stop.set()
                await within(fleet, 40)

    seen = run(scenario(), 90)
    assert seen["no token"].status == 401
    assert seen["foreign host"].status == 421
    assert seen["plug-in"].status == 200 and seen["plug-in"].body["status"] == "Occupied"
    assert seen["plug-in again"].status == 409
    assert seen["start"].status == 200, seen["start"].text
    transaction_id = seen["start"].body["transactionId"]
    assert seen["start busy"].status == 409 and "occupied" in seen["start busy"].body["detail"]
    assert seen["stop"].status == 200
    assert seen["stop"].body["transactionId"] == transaction_id
    assert seen["stop"].body["energyKwh"] > 0.1  # at least 5 s at 100 kW
    assert seen["stop again"].status == 409
    assert seen["still plugged"] == "Occupied"  # plugged in by hand: it stays until unplugged
    assert seen["unplug"].status == 200 and seen["unplug"].body["status"] == "Available"
    assert seen["start 2"].status == 200, seen["start 2"].text
    assert seen["fault"].body["status"] == "Faulted" and seen["fault"].body["transactionId"] is None
    assert seen["start faulted"].status == 409 and "faulted" in seen["start faulted"].text
    assert seen["repair"].body["status"] == "Available"
    assert seen["disconnect"].status == 200
    assert seen["after reconnect"]["connected"] and seen["after reconnect"]["boots"] == 2
    assert seen["no station"].status == 404 and "nope" in seen["no station"].text
    assert seen["no evse"].status == 404 and "no EVSE 3" in seen["no evse"].text
    assert seen["bad body"].status == 422

    rows = run(
        fetch(
            database_url,
            "SELECT transaction_id, request->'transactionInfo'->>'stoppedReason' AS reason "
            "FROM charger_transaction_event WHERE request->>'eventType' = 'Ended' "
            "ORDER BY transaction_id",
        )
    )
    reasons = {row["transaction_id"]: row["reason"] for row in rows}
    assert reasons[transaction_id] == "Local"
    assert reasons[seen["start 2"].body["transactionId"]] == "Other"
    assert "Faulted" in seen["statuses"] and seen["statuses"][-1] == "Available", seen["statuses"]


def test_the_control_port_in_use_is_a_clear_error(database_url: str) -> None:
    port = free_port()

    async def scenario() -> str:
        blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
        try:
            await run_fleet(
                [StationSpec(STATION, 100.0)],
                "ws://127.0.0.1:9/ocpp",
                console=Console(file=io.StringIO()),
                control=Endpoint("127.0.0.1", port),
            )
        except OSError as exc:
            return str(exc)
        finally:
            blocker.close()
        return "no error"

    message = run(scenario(), 30)
    assert f"127.0.0.1:{port}" in message and "--control" in message
