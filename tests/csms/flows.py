"""Steps of the seed guide's REST scenarios against a connected simulated station, each checking
what the API answered and what the station received (shared by the API and conformance tests)."""

from __future__ import annotations

import time

from csms.app import RunningCsms
from tests.csms.sim import SimulatedStation, http

FLEET_SIZE = 34
ID_TOKEN = "APP-USER-7"


async def whole_fleet(running: RunningCsms) -> None:
    fleet = await http(running, "GET", "/chargers")
    assert fleet.status == 200
    assert len(fleet.body) == FLEET_SIZE
    by_id = {c["id"]: c for c in fleet.body}
    assert set(by_id) >= {
        "emart_jeju_01",
        "emart_jeju_02",
        "emart_jeju_03",
        "emart_shinjeju_01",
        "emart_shinjeju_02",
    }
    assert by_id["emart_jeju_01"]["max_power_kw"] == 100.0
    assert by_id["emart_shinjeju_01"]["max_power_kw"] == 50.0
    assert all(c["status"] == "Offline" for c in fleet.body)


async def idle(running: RunningCsms, cp: SimulatedStation) -> None:
    reply = await http(running, "GET", f"/chargers/{cp.id}")
    assert reply.status == 200
    assert reply.body["id"] == cp.id
    assert reply.body["status"] == "Online"
    assert reply.body["connector_status"] == "Available"
    assert reply.body["power_kw"] == 0.0
    assert reply.body["energy_kwh"] is None
    assert reply.body["transaction_id"] is None


def _limit_w(profile: dict) -> float:
    schedule = profile["charging_schedule"][0]
    assert schedule["charging_rate_unit"] == "W"
    first = schedule["charging_schedule_period"][0]
    assert first["start_period"] == 0
    return first["limit"]


async def limit_while_idle(running: RunningCsms, cp: SimulatedStation) -> None:
    """PATCH power on an idle station: TxDefaultProfile for the whole station (EVSE 0)."""
    reply = await http(running, "PATCH", f"/chargers/{cp.id}/power", {"maxPowerKw": 50})
    assert reply.status == 200, reply.text
    assert reply.body["status"] == "Accepted"
    assert reply.body["chargingProfilePurpose"] == "TxDefaultProfile"
    assert reply.body["limitW"] == 50000
    profile = cp.profiles[-1]
    assert profile["evse_id"] == 0
    assert profile["charging_profile_purpose"] == "TxDefaultProfile"
    assert "transaction_id" not in profile
    assert _limit_w(profile) == 50000


async def remote_start(running: RunningCsms, cp: SimulatedStation) -> str:
    """POST start: answered with the transaction id only once the station's Started arrived."""
    reply = await http(running, "POST", f"/chargers/{cp.id}/start", {"idToken": ID_TOKEN})
    answered_at = time.monotonic()
    assert reply.status == 200, reply.text
    transaction_id = reply.body["transactionId"]
    assert cp.meter is not None and cp.meter.transaction_id == transaction_id
    sent_at = cp.started_sent_at(transaction_id)
    assert sent_at is not None and sent_at <= answered_at
    assert reply.body["remoteStartId"] == cp.meter.remote_start_id
    assert [command for command, _ in cp.commands][-1] == "RequestStartTransaction"
    return transaction_id


async def charge(running: RunningCsms, cp: SimulatedStation, transaction_id: str) -> None:
    """Five Updated events 5 s apart on the station's clock: 25 s at 100 kW."""
    for _ in range(5):
        await cp.update(5)
    reply = await http(running, "GET", f"/chargers/{cp.id}")
    assert reply.body["status"] == "Online"
    assert reply.body["transaction_id"] == transaction_id
    assert reply.body["power_kw"] == 100.0
    assert reply.body["energy_kwh"] == 0.6944  # 100 x 25 / 3600


async def limit_while_charging(
    running: RunningCsms, cp: SimulatedStation, transaction_id: str
) -> None:
    """PATCH power while charging: TxProfile on the running transaction and its EVSE."""
    reply = await http(running, "PATCH", f"/chargers/{cp.id}/power", {"maxPowerKw": 50})
    assert reply.status == 200, reply.text
    assert reply.body["chargingProfilePurpose"] == "TxProfile"
    assert reply.body["transactionId"] == transaction_id
    profile = cp.profiles[-1]
    assert profile["evse_id"] == 1
    assert profile["charging_profile_purpose"] == "TxProfile"
    assert profile["transaction_id"] == transaction_id
    assert _limit_w(profile) == 50000


async def remote_stop(running: RunningCsms, cp: SimulatedStation, transaction_id: str) -> None:
    """POST stop: answered with the final energy and cost once Ended arrived (30 s, 100 kW)."""
    reply = await http(
        running, "POST", f"/chargers/{cp.id}/stop", {"transactionId": transaction_id}
    )
    assert reply.status == 200, reply.text
    assert reply.body["transactionId"] == transaction_id
    assert reply.body["energyKwh"] == 0.8333
    assert reply.body["cost"] == 125.0
    assert reply.body["durationSeconds"] == 30
    assert reply.body["stoppedReason"] == "Remote"
    assert cp.meter is None
    after = await http(running, "GET", f"/chargers/{cp.id}")
    assert after.body["transaction_id"] is None
    assert after.body["power_kw"] == 0.0
    assert after.body["energy_kwh"] is None
