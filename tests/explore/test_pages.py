"""The session explorer in a real headless Chromium against `ocppscope explore` as a process, over
rows a real proxy stored in a real PostgreSQL while a station talked to a CSMS through it.

The station boots, sends a Heartbeat with a property its schema forbids (a finding), hangs up,
comes back after a pause (a back-off wait), has a DataTransfer answered by a reply-error fault
and stays connected; the pages must show all of it, follow a new frame live, and export a
capture that `ocppscope check` judges as the proxy did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

from ocpp.exceptions import OCPPError
from ocpp.v201 import call
from playwright.async_api import Page, expect

from addons.faults import Faults
from proxy.faults.spec import parse_spec
from tests.browser import ARTIFACTS, chromium, watch
from tests.explore.explorer import running_explorer
from tests.pg import fetch
from tests.proxy_harness import Charger, charger, run, running_csms, running_proxy, within
from tests.support import environment, ocppscope_executable

STATION = "EXPLORE-01"
BAD_HEARTBEAT = '[2, "bad-1", "Heartbeat", {"mood": "odd"}]'
"""Spaced as no serialiser here would write it: the raw pane shows the bytes the station sent."""
FRAMES = 12
"""Two boots, three Heartbeats and a DataTransfer, each with its answer."""
LIVE_WITHIN = 2_000
"""Milliseconds a new frame may take to appear without a reload (the issue's 2 s)."""


async def stored_frames(database_url: str) -> int:
    rows = await fetch(
        database_url, "SELECT count(*) FROM ocpp_message_log WHERE charger_id = $1", STATION
    )
    return int(rows[0][0])


async def stored_findings(database_url: str) -> tuple[Counter[str], int]:
    """The rule ids of the station's stored findings, and how many are errors."""
    rows = await fetch(
        database_url, "SELECT rule_id, severity FROM findings WHERE charger_id = $1", STATION
    )
    errors = sum(row["severity"] == "error" for row in rows)
    return Counter(row["rule_id"] for row in rows), errors


async def until_stored(database_url: str, frames: int) -> None:
    for _ in range(200):
        if await stored_frames(database_url) >= frames:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the store never held {frames} frames of {STATION}")


async def first_visit(station: Charger) -> None:
    await station.boot()
    await station.heartbeat()
    await within(station.ws.send(BAD_HEARTBEAT))
    await asyncio.sleep(0.3)  # its answer arrives


async def stations_page(page: Page, url: str, rules: Counter[str], errors: int) -> None:
    await page.goto(f"{url}/", wait_until="load")
    row = page.locator(f'tr[data-station="{STATION}"]')
    await expect(row).to_contain_text("ocpp2.0.1")
    await expect(row.locator(".state")).to_have_text("connected")
    await expect(row.locator('[data-severity="error"]')).to_have_text(str(errors))
    rule = next(iter(rules))
    await page.fill("#rule", rule)
    await page.press("#rule", "Enter")
    await expect(page.locator("#stations tbody tr")).to_have_count(1)
    await page.fill("#rule", "NOPE-999")
    await page.press("#rule", "Enter")
    await expect(page.locator("#stations tbody tr")).to_have_count(0)
    await page.fill("#rule", "")
    await page.fill("#match", "explore-0")
    await page.press("#match", "Enter")
    await expect(page.locator("#stations tbody tr")).to_have_count(1)
    await row.get_by_role("link", name=STATION).click()
    await page.wait_for_url(f"{url}/stations/{STATION}")


async def ladder(page: Page, rules: Counter[str]) -> None:
    rungs = page.locator("#ladder .rung[data-key]")
    await expect(rungs).to_have_count(FRAMES)
    kept = page.locator('.rung[data-type="CALL"]', has_text="DataTransfer")
    await expect(kept).to_contain_text("dropped")
    await expect(kept.locator(".note")).to_contain_text("reply-error")
    injected = page.locator('.rung[data-type="CALLERROR"]', has_text="DataTransfer")
    await expect(injected).to_contain_text("injected")
    events = page.locator("#connections tbody tr")
    await expect(events).to_have_count(3)
    await expect(events.nth(0)).to_have_attribute("data-event", "open")
    await expect(events.nth(1)).to_contain_text("1000")
    assert float((await events.nth(2).locator("td").last.inner_text()).split()[0]) >= 0.3
    answer = page.locator('.rung[data-type="CALLRESULT"]').first
    await expect(answer.locator(".rtt")).to_have_text(re.compile(r"^\d+(\.\d+)? ms$"))
    shown = Counter(
        await page.locator('#ladder .note[data-kind="finding"] .rule').all_inner_texts()
    )
    assert shown == rules, (shown, rules)
    bad = page.locator(".rung", has_text="#bad-1").first
    await expect(bad.locator(".ref").first).to_contain_text("OCPP")
    # keyboard: Tab reaches one rung (the newest); from the first, walk down to the bad
    # Heartbeat and open it
    await expect(page.locator('#ladder [tabindex="0"]')).to_have_count(1)
    await expect(rungs.last).to_have_attribute("tabindex", "0")
    await rungs.first.focus()
    keys = await rungs.evaluate_all("(all) => all.map((rung) => rung.dataset.key)")
    target = await bad.get_attribute("data-key")
    for _ in range(keys.index(target)):
        await page.keyboard.press("ArrowDown")
    await expect(bad).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#frame-json")).to_contain_text('"mood": "odd"')
    await expect(page.locator("#frame-raw")).to_have_text(BAD_HEARTBEAT)


async def live(page: Page, station: Charger) -> float:
    """Milliseconds from sending a Heartbeat to its answer standing on the unreloaded page."""
    await page.evaluate("window.loadedOnce = true")
    await expect(page.locator("#live")).to_have_text("live")
    rungs = page.locator("#ladder .rung[data-key]")
    before = await rungs.count()
    began = time.monotonic()
    await station.heartbeat()
    await expect(rungs).to_have_count(before + 2, timeout=LIVE_WITHIN)
    elapsed = (time.monotonic() - began) * 1000
    assert await page.evaluate("window.loadedOnce === true"), "the page was reloaded"
    return elapsed


async def exports(page: Page, tmp_path: Path, database_url: str) -> None:
    """The capture link's file, judged by `ocppscope check`, finds what the proxy found; the
    JSON and JUnit links give the same report."""
    rules, _ = await stored_findings(database_url)  # the live Heartbeat's too
    async with page.expect_download() as download:
        await page.click("#export-capture")
    capture = tmp_path / "export.jsonl"
    await (await download.value).save_as(capture)
    checked = await asyncio.to_thread(
        subprocess.run,
        [ocppscope_executable(), "check", str(capture), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(tmp_path / "data"),
        check=False,
    )
    report = json.loads(checked.stdout)
    assert Counter(finding["rule"] for finding in report["findings"]) == rules, checked.stdout
    async with page.expect_download() as download:
        await page.click("#export-json")
    exported = json.loads(Path(await (await download.value).path()).read_text())
    assert exported["findings"] == report["findings"]
    async with page.expect_download() as download:
        await page.click("#export-junit")
    suites = ET.parse(await (await download.value).path()).getroot()
    assert suites.find("testsuite").get("name") == STATION  # type: ignore[union-attr]


async def scenario(tmp_path: Path, database_url: str) -> None:
    async with (
        running_csms() as csms,
        running_proxy(tmp_path / "conf", csms.url, store=True, database_url=database_url) as proxy,
    ):
        async with charger(proxy.url(f"/ocpp/{STATION}")) as station:
            await first_visit(station)
        await asyncio.sleep(0.4)  # the station's back-off before it reconnects
        async with charger(proxy.url(f"/ocpp/{STATION}")) as station:
            await station.boot()
            await station.heartbeat()
            proxy.addon(Faults).add(parse_spec({"kind": "reply-error", "action": "DataTransfer"}))
            with contextlib.suppress(OCPPError):  # the proxy's CALLERROR InternalError
                await within(station.cp.call(call.DataTransfer(vendor_id="ocppscope")))
            await until_stored(database_url, FRAMES)
            rules, errors = await stored_findings(database_url)
            assert rules, "the bad Heartbeat raised no finding"
            with running_explorer(tmp_path, database_url) as url:
                async with chromium() as browser:
                    page = await browser.new_page(viewport={"width": 1440, "height": 900})
                    page.set_default_timeout(10_000)
                    seen = await watch(page)
                    await stations_page(page, url, rules, errors)
                    await ladder(page, rules)
                    await page.screenshot(path=str(ARTIFACTS / "explore-ladder.png"))
                    elapsed = await live(page, station)
                    print(f"live: a new frame on the page {elapsed:.0f} ms after it was sent")
                    await exports(page, tmp_path, database_url)
                    assert seen.errors == [], seen.errors
                    assert seen.outside == [], seen.outside


def test_explorer_shows_a_conversation_live_and_exports_it(
    tmp_path: Path, database_url: str
) -> None:
    run(scenario(tmp_path, database_url), timeout=180)
