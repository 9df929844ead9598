"""The map dashboard in a real headless Chromium (Debian's, driven by Playwright) against the real
`ocppscope csms`, a real PostgreSQL and a station speaking OCPP 2.0.1 with the `ocpp` library.

One station of the seeded fleet connects, charges at 100 kW, faults and goes away; the page,
loaded once, must follow each step within a few seconds from its event stream alone. The
screenshots land in test-artifacts/ at the repository's root, for a person to look at.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocpp.v201 import call
from playwright.async_api import Page, expect

from tests.browser import ARTIFACTS, Watch, chromium, watch
from tests.proxy_harness import Charger, charger, run, within
from tests.support import environment, free_port, ocppscope_executable

STATION = "emart_jeju_01"
TRANSACTION = "TX-MAP-0001"
FLEET_SIZE = 34
SITES = ("Emart Jeju", "Emart Shinjeju", "Emart Seogwipo")
SOON = 5_000
"""Milliseconds the page may take to show a change: the issue's "within a few seconds"."""
REGISTER_WH = 1_000_000.0
"""The station's meter register when the session starts (it has delivered 1 MWh before)."""


@dataclass(frozen=True, slots=True)
class Csms:
    ocpp: str
    http: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def running_csms(tmp_path: Path, database_url: str) -> Iterator[Csms]:
    """`ocppscope csms` on free ports of 127.0.0.1, until its fleet answers on GET /chargers."""
    ocpp_port, http_port = free_port(), free_port()
    log_path = tmp_path / "csms.log"
    command = [
        ocppscope_executable(),
        "csms",
        "--ocpp",
        f"127.0.0.1:{ocpp_port}",
        "--http",
        f"127.0.0.1:{http_port}",
        "--database-url",
        database_url,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=environment(tmp_path), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            csms = Csms(f"ws://127.0.0.1:{ocpp_port}", f"http://127.0.0.1:{http_port}", process)
            _wait_for_fleet(csms, process, log_path)
            yield csms
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_for_fleet(csms: Csms, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30  # migrations and seeding on a fresh database
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ocppscope csms exited: {log_path.read_text()[-2000:]}")
        with (
            contextlib.suppress(OSError, ValueError),
            urllib.request.urlopen(f"{csms.http}/chargers", timeout=2) as answer,
        ):
            if len(json.loads(answer.read())) == FLEET_SIZE:
                return
        time.sleep(0.2)
    raise AssertionError(f"no fleet of {FLEET_SIZE} at {csms.http}/chargers after 30 s")


# ---- what the station says --------------------------------------------------------------------


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _status(connector_status: str) -> call.StatusNotification:
    return call.StatusNotification(
        timestamp=_iso(datetime.datetime.now(datetime.UTC)),
        connector_status=connector_status,
        evse_id=1,
        connector_id=1,
    )


def _meter(moment: datetime.datetime, context: str, power_w: float, register_wh: float) -> Any:
    return {
        "timestamp": _iso(moment),
        "sampled_value": [
            {
                "value": power_w,
                "measurand": "Power.Active.Import",
                "context": context,
                "unit_of_measure": {"unit": "W"},
            },
            {
                "value": register_wh,
                "measurand": "Energy.Active.Import.Register",
                "context": context,
                "unit_of_measure": {"unit": "Wh"},
            },
        ],
    }


def _session() -> tuple[call.TransactionEvent, call.TransactionEvent]:
    """Started 30 s ago and Updated now at 100 kW: 100 kW x 30 s = 833 Wh = 0.833 kWh."""
    now = datetime.datetime.now(datetime.UTC)
    began = now - datetime.timedelta(seconds=30)
    started = call.TransactionEvent(
        event_type="Started",
        timestamp=_iso(began),
        trigger_reason="Authorized",
        seq_no=0,
        transaction_info={"transaction_id": TRANSACTION, "charging_state": "Charging"},
        id_token={"id_token": "JEJU-MAP-0001", "type": "ISO14443"},
        evse={"id": 1, "connector_id": 1},
        meter_value=[_meter(began, "Transaction.Begin", 100_000.0, REGISTER_WH)],
    )
    updated = call.TransactionEvent(
        event_type="Updated",
        timestamp=_iso(now),
        trigger_reason="MeterValuePeriodic",
        seq_no=1,
        transaction_info={"transaction_id": TRANSACTION, "charging_state": "Charging"},
        meter_value=[_meter(now, "Sample.Periodic", 100_000.0, REGISTER_WH + 833.0)],
    )
    return started, updated


# ---- the browser ------------------------------------------------------------------------------


async def _open_map(page: Page, csms: Csms) -> Watch:
    seen = await watch(page)
    await page.goto(f"{csms.http}/", wait_until="load")
    # A mark that survives only as long as the document does: no reload may happen.
    await page.evaluate("window.loadedOnce = true")
    return seen


def _dot(page: Page, charger_id: str = STATION) -> Any:
    return page.locator(f'[data-charger-id="{charger_id}"]')


def _dots_in(page: Page, state: str) -> Any:
    return page.locator(f'[data-charger-id][data-state="{state}"]')


async def _no_scroll_bars(page: Page) -> None:
    sizes = await page.evaluate(
        "() => { const e = document.documentElement;"
        " return [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]; }"
    )
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes


async def _scenario(csms: Csms) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        page.set_default_timeout(10_000)
        seen = await _open_map(page, csms)
        await _fleet_at_rest(page)
        async with charger(f"{csms.ocpp}/ocpp/{STATION}", STATION) as station:
            await _charging_then_faulted(page, station)
        # The station hangs up: grey again, without reloading the page.
        await expect(_dot(page)).to_have_attribute("data-state", "offline", timeout=SOON)
        await expect(_dots_in(page, "offline")).to_have_count(FLEET_SIZE)
        await expect(_total(page, "online")).to_have_text("0", timeout=SOON)
        assert await page.evaluate("window.loadedOnce === true"), "the page was reloaded"
        await _small_screen(page)
        assert seen.errors == [], seen.errors
        assert seen.outside == [], seen.outside
        await _server_gone(page, csms)


def _total(page: Page, name: str) -> Any:
    return page.locator(f'#totals [data-total="{name}"] .value')


async def _fleet_at_rest(page: Page) -> None:
    """The whole fleet at its three sites, all grey: nobody is connected yet."""
    await expect(page.locator("[data-charger-id]")).to_have_count(FLEET_SIZE)
    await expect(_dots_in(page, "offline")).to_have_count(FLEET_SIZE)
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    for site in SITES:
        await expect(page.locator("#sites")).to_contain_text(site)
    await expect(_total(page, "online")).to_have_text("0")


async def _charging_then_faulted(page: Page, station: Charger) -> None:
    boot = await station.boot()
    assert boot.status == "Accepted"
    await station.heartbeat()
    await within(station.cp.call(_status("Available")))
    await expect(_dot(page)).to_have_attribute("data-state", "online", timeout=SOON)

    started, updated = _session()
    await within(station.cp.call(_status("Occupied")))
    await within(station.cp.call(started))
    await within(station.cp.call(updated))
    await expect(_dot(page)).to_have_attribute("data-state", "charging", timeout=SOON)
    await expect(_dots_in(page, "offline")).to_have_count(FLEET_SIZE - 1)
    await expect(_total(page, "online")).to_have_text("1", timeout=SOON)
    await expect(page.locator('#sites tr[data-site="Emart Jeju"]')).to_contain_text("100.0")

    # Hovering shows the live numbers of the session.
    await _dot(page).hover()
    card = page.locator("#hover-card")
    await expect(card).to_be_visible()
    await expect(card).to_contain_text(STATION)
    await expect(card).to_contain_text("100.0 kW", timeout=SOON)
    await expect(card).to_contain_text("0.833 kWh", timeout=SOON)
    await expect(card).to_contain_text(TRANSACTION)
    await expect(card.locator("dd", has_text="2.0.1")).to_have_count(1)  # its OCPP version
    await expect(_dot(page)).to_have_attribute("data-ocpp", "ocpp2.0.1")
    await expect(card).to_contain_text("s ago")
    await _no_scroll_bars(page)
    await page.screenshot(path=str(ARTIFACTS / "map.png"), full_page=True)

    # A fault turns the dot red while the station stays connected.
    await within(station.cp.call(_status("Faulted")))
    await expect(_dot(page)).to_have_attribute("data-state", "faulted", timeout=SOON)
    await expect(card).to_contain_text("Faulted", timeout=SOON)
    await page.mouse.move(5, 5)
    await expect(card).to_be_hidden()


async def _small_screen(page: Page) -> None:
    """The smaller wall screen fits too."""
    await page.set_viewport_size({"width": 1280, "height": 720})
    await expect(page.locator("[data-charger-id]")).to_have_count(FLEET_SIZE)
    await _no_scroll_bars(page)
    await page.screenshot(path=str(ARTIFACTS / "map-1280x720.png"), full_page=True)


async def _server_gone(page: Page, csms: Csms) -> None:
    """The CSMS stops with the page open: the page says its picture is no longer live (the
    stream ends when the server has shut down, a couple of seconds after SIGTERM)."""
    csms.process.terminate()
    live = page.locator("#live")
    await expect(live).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    await expect(page.locator("body")).to_have_class(re.compile(r"\bstale\b"))


def test_map_follows_a_station_live(tmp_path: Path, database_url: str) -> None:
    with running_csms(tmp_path, database_url) as csms:
        run(_scenario(csms), timeout=120)
