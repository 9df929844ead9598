"""A real headless Chromium for the page tests (Debian's, driven by Playwright): its launch, and
a watch on a page for script errors and for any request that would leave 127.0.0.1 (the pages
must work on a lab network without internet)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Browser, Page, Request, Route, async_playwright

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; scripts/ensure-system-packages installs it
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
"""Screenshots for a person to look at, at the repository's root."""


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run scripts/ensure-system-packages"
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), timeout=10_000)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Watch:
    """What the page did besides drawing: script errors, and any request off 127.0.0.1."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


async def watch(page: Page) -> Watch:
    """Start watching `page` (before it loads anything)."""
    seen = Watch()
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on(
        "console",
        lambda message: message.type == "error" and seen.errors.append(message.text),
    )

    async def local_only(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            seen.outside.append(request.url)
            await route.abort()

    await page.route("**/*", local_only)
    return seen
