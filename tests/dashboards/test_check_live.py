"""The dashboards checked as Grafana would run them: a real proxy and reference CSMS (processes,
over a real PostgreSQL) carry the seed's five scenarios at --speed 10, an outage, a dropped frame,
a lost TransactionEvent and a charger that never answers; a real Prometheus (Debian's) scrapes
them; every query of every panel, its variables expanded with All and with one value, is parsed
by promtool and returns data, every SQL panel runs against PostgreSQL. A dashboard with broken
queries fails the check, each broken panel named with its reason."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from dashboards import JSON_DIR
from dashboards.check import check_dashboards
from dashboards.prometheus import running_prometheus, wait_scraped
from dashboards.queries import TimeWindow, panel_queries
from proxy.endpoints import LabEndpoints
from proxy.faults.client import AdminClient
from scenarios.runner import run_scenarios
from simulator.fleet import StationSpec
from tests.csms.sim import request
from tests.pg import create_database, drop_database, pg_connection
from tests.proxy_harness import SUBPROTOCOL, run, within
from tests.scenarios.lab import running_lab
from tests.support import environment, ocppscope_executable

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/promtool").exists(), reason="Debian's prometheus package is not installed"
)

SPEED = 10.0
MESSAGE_TIMEOUT = 2.0
"""The proxy's MessageTimeout: the mute charger's unanswered CALL is flagged after 2 s."""
SCRAPE_INTERVAL = 1.0
MUTE = "mute_01"
SKIPPING = StationSpec("emart_jeju_01", 100.0, profile="skips-seqno")
"""Scenario 2 again with a station that skips a seqNo: a lost TransactionEvent."""


async def scrape(admin: str) -> str:
    reply = await request(f"{admin}/metrics", "GET")
    return reply.text


async def mute_charger(lab: LabEndpoints) -> None:
    """A charger that boots, sends a MessageId over OCPP-J's 36 characters (RPC-004, an error),
    has its Heartbeat dropped by a fault (a loss on the dashboards), and never answers the
    CSMS's RequestStartTransaction (RPC-008)."""
    admin = AdminClient(lab.admin_url, lab.admin_token)
    async with connect(f"{lab.proxy_url}/{MUTE}", subprotocols=[SUBPROTOCOL]) as ws:
        boot = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}
        await ws.send(json.dumps([2, "boot-1", "BootNotification", boot]))
        assert json.loads(await within(ws.recv()))[0] == 3
        await ws.send(json.dumps([2, "x" * 37, "Heartbeat", {}]))  # the CSMS refuses it too
        assert json.loads(await within(ws.recv()))[:3] == [4, "x" * 37, "RpcFrameworkError"]
        rule = {"kind": "drop", "station": MUTE, "action": "Heartbeat", "count": 1}
        await asyncio.to_thread(admin.each, "POST", "/faults", rule)
        await ws.send(json.dumps([2, "heartbeat-1", "Heartbeat", {}]))
        started = asyncio.create_task(
            request(
                f"{lab.csms_url}/chargers/{MUTE}/start",
                "POST",
                {"idToken": "T1"},
                headers={"Authorization": f"Bearer {lab.admin_token}"},
            )
        )
        assert json.loads(await within(ws.recv()))[2] == "RequestStartTransaction"
        for _ in range(100):
            if "ocppscope_calls_unanswered_total{" in await scrape(lab.admin_url):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the proxy never counted the unanswered CALL")
        assert (await within(started, 15)).status == 504


@pytest.fixture(scope="module")
def lab(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabEndpoints]:
    """The lab after its traffic, still running (the check scrapes its live counters)."""
    url = create_database(postgres_server)
    try:
        with running_lab(
            tmp_path_factory.mktemp("lab"), url, f"--message-timeout={MESSAGE_TIMEOUT:g}"
        ) as endpoints:
            run(run_scenarios(endpoints, [1, 2, 3, 4, 5], SPEED, lambda line: None), 150)
            run(run_scenarios(endpoints, [2], SPEED, lambda line: None, fleet=[SKIPPING]), 60)
            run(mute_charger(endpoints), 30)
            yield endpoints
    finally:
        drop_database(postgres_server, url)


def check(lab: LabEndpoints, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            ocppscope_executable(),
            "dashboards",
            "check",
            f"--admin={lab.admin_url}",
            f"--csms={lab.csms_url}",
            f"--database-url={lab.database_url}",
            *args,
        ],
        env=environment(tmp),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_panel_query_returns_data(lab: LabEndpoints) -> None:
    dashboards = [json.loads(path.read_text()) for path in sorted(JSON_DIR.glob("*.json"))]

    async def checked() -> list:
        with running_prometheus(
            {
                "ocppscope-proxy": [f"{lab.admin_url}/metrics"],
                "ocppscope-csms": [f"{lab.csms_url}/metrics"],
            },
            SCRAPE_INTERVAL,
        ) as prometheus:
            await asyncio.to_thread(wait_scraped, prometheus, 3, SCRAPE_INTERVAL, 30)
            end = datetime.now(UTC)
            window = TimeWindow(
                end - timedelta(minutes=5),
                end,
                timedelta(seconds=SCRAPE_INTERVAL),
                timedelta(seconds=SCRAPE_INTERVAL),
            )
            async with pg_connection(lab.database_url) as connection:
                return await check_dashboards(dashboards, prometheus, connection, window)

    outcomes = run(checked(), 90)
    failures = [
        f"{o.dashboard} / {o.panel} [{o.selection}]: {o.verdict}" for o in outcomes if o.failed
    ]
    assert not failures, "\n".join(failures)
    panels = {(q.dashboard, q.panel) for d in dashboards for q in panel_queries(d)}
    assert {(o.dashboard, o.panel) for o in outcomes} == panels
    for selection in ("All", "station=", "action=", "site=", "rule="):
        assert any(o.selection.startswith(selection) for o in outcomes), selection


def test_the_command_checks_the_committed_dashboards(lab: LabEndpoints, tmp_path: Path) -> None:
    done = check(lab, tmp=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every query returns data" in done.stdout


def test_broken_queries_fail_the_check(lab: LabEndpoints, tmp_path: Path) -> None:
    broken = tmp_path / "dashboards"
    broken.mkdir()
    for path in JSON_DIR.glob("*.json"):
        text = path.read_text()
        if path.stem == "ocppscope-traffic":
            text = text.replace(
                '[$__rate_interval]))"',
                '[$__rate_interval])"',  # unbalanced
            ).replace("ocppscope_stations_connected", "ocppscope_stations_conected")
        if path.stem == "ocppscope-conformance":
            text = text.replace("rule_id AS", "rule_identifier AS", 1)
        (broken / path.name).write_text(text)

    done = check(lab, f"--dir={broken}", tmp=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert "Frames/s" in out and "parse error" in out
    assert "Stations connected" in out and "no data" in out
    assert 'column "rule_identifier" does not exist' in out
