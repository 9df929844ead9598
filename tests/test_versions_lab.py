"""A mixed fleet in the lab: OCPP 1.6J, 2.0.1 and 2.1 stations through one proxy to the reference
CSMS, each connection judged by the rules of the version it negotiated (issue 18's "done when").

`ocppscope up` runs the real proxy, CSMS and simulator; remote starts and stops go through the
REST API to one station of each version; the stored frames and findings are read back."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

from tests.pg import fetch
from tests.test_lab import DIRECT, Ports, online, started

FLEET = {
    "MIX-16-A": "ocpp1.6",
    "MIX-16-B": "ocpp1.6",
    "MIX-201-A": "ocpp2.0.1",
    "MIX-201-B": "ocpp2.0.1",
    "MIX-21-A": "ocpp2.1",
    "MIX-21-B": "ocpp2.1",
}
CHARGED = ("MIX-16-A", "MIX-201-A", "MIX-21-A")
OWN_ACTIONS = {
    "ocpp1.6": {"RemoteStartTransaction", "StartTransaction", "MeterValues", "StopTransaction"},
    "ocpp2.0.1": {"RequestStartTransaction", "TransactionEvent", "RequestStopTransaction"},
    "ocpp2.1": {"RequestStartTransaction", "TransactionEvent", "RequestStopTransaction"},
}


def fleet_file(path: Path) -> Path:
    path.write_text(
        "".join(
            f'[[station]]\nid = "{station}"\nmax_power_kw = 50\nprotocol = "{protocol}"\n\n'
            for station, protocol in FLEET.items()
        )
    )
    return path


def post(url: str, body: object, token: str) -> dict[str, object]:
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    with DIRECT.open(request, timeout=20) as response:
        return dict(json.loads(response.read()))


def test_a_mixed_fleet_is_judged_by_each_stations_own_version(
    tmp_path: Path, database_url: str
) -> None:
    ports = Ports.free()
    fleet = fleet_file(tmp_path / "fleet.toml")
    args = [*ports.args(), "--no-seed-fleet", "--fleet", str(fleet)]
    with started(tmp_path, args, database_url):
        csms = f"http://127.0.0.1:{ports.csms_http}"
        deadline = time.monotonic() + 60
        while not all(online(csms, station) for station in FLEET):
            assert time.monotonic() < deadline, "the mixed fleet never came online"
            time.sleep(0.5)
        token = (tmp_path / "data" / "api-token").read_text().strip()
        started_ids = {
            station: post(f"{csms}/chargers/{station}/start", {"idToken": "TAG0001"}, token)
            for station in CHARGED
        }
        time.sleep(6)  # a MeterValues / TransactionEvent Updated or more
        for station, answer in started_ids.items():
            stopped = post(
                f"{csms}/chargers/{station}/stop", {"transactionId": answer["transactionId"]}, token
            )
            assert stopped["stoppedReason"] == "Remote", (station, stopped)
        time.sleep(2)  # the proxy's store writes within a second
        # read while the lab runs: stopping it closes every station (WS-007 at the very end)
        versions = asyncio.run(
            fetch(database_url, "SELECT charger_id, ocpp_version FROM charger_info")
        )
        recorded = {row["charger_id"]: row["ocpp_version"] for row in versions}
        assert recorded.items() >= FLEET.items(), recorded
        actions = asyncio.run(
            fetch(database_url, "SELECT DISTINCT charger_id, action FROM ocpp_message_log")
        )
        for station in CHARGED:
            seen = {row["action"] for row in actions if row["charger_id"] == station}
            assert OWN_ACTIONS[FLEET[station]] <= seen, (station, seen)
        stored = asyncio.run(
            fetch(
                database_url,
                "SELECT DISTINCT charger_id, ocpp_version FROM ocpp_message_log "
                "UNION SELECT DISTINCT charger_id, ocpp_version FROM findings",
            )
        )
        # every frame and finding of a station carries the version its connections selected
        assert sorted((row["charger_id"], row["ocpp_version"]) for row in stored) == sorted(
            (station, version)
            for station, version in FLEET.items()
            if any(row["charger_id"] == station for row in stored)
        )
        assert FLEET.keys() <= {row["charger_id"] for row in stored}
        findings = asyncio.run(
            fetch(
                database_url,
                "SELECT charger_id, rule_id, severity, message FROM findings "
                "WHERE severity IN ('error', 'warning')",
            )
        )
        assert [dict(row) for row in findings] == []
