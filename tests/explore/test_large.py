"""A station with over 10,000 stored frames opens in the explorer in a real Chromium: the figure
is printed (run with -s), not asserted, since it depends on the machine; what is asserted is that
the page shows the newest page of frames and that earlier pages come by keyset, in order.

The frames are the engine bench's traffic of one station over 520 minutes (BootNotification,
Heartbeats, StatusNotifications, transactions with meter values), judged by the engine and
written by the store's own writer into a real PostgreSQL.
"""

from __future__ import annotations

import time
from pathlib import Path

from playwright.async_api import Page

from ocppscope.bench.engine import synthetic_traffic
from ocppscope.explore.app import PAGE
from proxy.frame import observed_frames
from proxy.store.records import RowMaker, Table
from proxy.store.writer import StoreWriter, WriterOptions
from tests.browser import chromium, watch
from tests.explore.explorer import running_explorer
from tests.pg import fetch
from tests.proxy_harness import run

MINUTES = 520
"""Of the bench's traffic: about 10,100 frames of one station."""


async def store_conversation(database_url: str) -> tuple[str, int]:
    """The station's frames written as the proxy writes them; its id and frame count."""
    frames = observed_frames(synthetic_traffic(1, MINUTES))
    maker = RowMaker("explore-bench")
    writer = StoreWriter(WriterOptions(database_url, retention_days=0), maker)
    writer.start()
    try:
        first = frames[0]
        writer.submit(
            Table.CONNECTIONS,
            maker.opened(
                first.received_at - 1, first.station, first.connection_id, None,
                f"/ocpp/{first.station}", "ocpp2.0.1", False,
            ),
        )  # fmt: skip
        for frame in frames:
            writer.submit(Table.MESSAGES, maker.message(frame))
            for finding in frame.findings:
                writer.submit(Table.FINDINGS, maker.finding(finding))
    finally:
        await writer.stop()
    stored = await fetch(database_url, "SELECT count(*) FROM ocpp_message_log")
    return first.station, int(stored[0][0])


async def drawn(page: Page, count: int) -> None:
    """Until the ladder has `count` rungs, looked at every animation frame (expect() polls
    with growing pauses, which would be measured too)."""
    await page.wait_for_function(
        f"document.querySelectorAll('#ladder .rung[data-key]').length >= {count}", polling="raf"
    )


async def scenario(tmp_path: Path, database_url: str) -> None:
    station, count = await store_conversation(database_url)
    assert count >= 10_000, count
    with running_explorer(tmp_path, database_url) as url:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(10_000)
            seen = await watch(page)
            rungs = page.locator("#ladder .rung[data-key]")
            await page.goto(f"{url}/", wait_until="load")  # where a user comes from
            timings = []
            for _ in range(3):  # the first visit also warms the server's pool and caches
                began = time.monotonic()
                await page.goto(f"{url}/stations/{station}", wait_until="commit")
                await drawn(page, PAGE)
                timings.append((time.monotonic() - began) * 1000)
            api = await page.evaluate(
                "performance.getEntriesByType('resource')"
                ".filter((e) => e.name.includes('/api/stations/') && !e.name.includes('/live'))"
                ".map((e) => e.duration)"
            )
            began = time.monotonic()
            await page.click("#earlier")
            await drawn(page, 2 * PAGE)
            earlier = (time.monotonic() - began) * 1000
            times = await rungs.evaluate_all("(all) => all.map((rung) => rung.dataset.key)")
            micros = [int(key.split(".")[0]) for key in times]
            assert micros == sorted(micros), "the ladder is out of time order"
            print(
                f"\n{count} frames: page open to {PAGE} rungs drawn in "
                + ", ".join(f"{ms:.0f}" for ms in timings)
                + f" ms (the first visit from the stations page first); its JSON request {api[0]:.0f} ms;"
                f" the page before it {earlier:.0f} ms"
            )
            assert seen.errors == [], seen.errors


def test_ten_thousand_frames_open_with_one_page(tmp_path: Path, database_url: str) -> None:
    run(scenario(tmp_path, database_url), timeout=240)
