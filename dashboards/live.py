"""What `ocppscope dashboards check` connects to: a Prometheus that scrapes the running proxy (every
worker) and CSMS — the user's, or one started for the check — and the lab's PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from dashboards import CSMS_JOB_NAME, PROXY_JOB_NAME
from dashboards.check import Outcome, check_dashboards
from dashboards.prometheus import PrometheusApi, PrometheusError, running_prometheus, wait_scraped
from dashboards.queries import TimeWindow
from proxy.faults.client import AdminClient, AdminError
from proxy.store.database import redact

SCRAPES = 3
"""Scrapes of every target before checking: a rate needs two samples within its window."""
SCRAPE_TIMEOUT = 30.0
"""Prometheus applies a new configuration's targets within 5 s; scrapes follow."""
DATA_POINTS = 1000
"""Grafana's $__interval is the range over the panel's width in pixels, at least the scrape
interval; 1,000 stands for a panel of full width."""


class CheckError(Exception):
    """One line: why the check could not run (not a failed query)."""


@dataclass(frozen=True)
class LiveCheck:
    dashboards: Sequence[Mapping[str, Any]]
    admin: AdminClient
    csms_url: str | None
    """None: the proxy is in front of another CSMS, which has no ocppscope metrics."""
    database_url: str
    window: timedelta
    scrape_interval: float
    prometheus_url: str | None = None
    """None: start a Prometheus of our own for the check."""


def run_check(check: LiveCheck) -> list[Outcome]:
    with _prometheus(check) as prometheus:
        end = datetime.now(UTC)
        scrape = timedelta(seconds=check.scrape_interval)
        window = TimeWindow(
            start=end - check.window,
            end=end,
            interval=max(scrape, check.window / DATA_POINTS),
            scrape_interval=scrape,
        )
        return asyncio.run(_checked(check, prometheus, window))


async def _checked(
    check: LiveCheck, prometheus: PrometheusApi, window: TimeWindow
) -> list[Outcome]:
    try:
        connection = await asyncpg.connect(check.database_url, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        raise CheckError(f"database {redact(check.database_url)}: {error}") from None
    try:
        return await check_dashboards(check.dashboards, prometheus, connection, window)
    finally:
        await connection.close()


@contextmanager
def _prometheus(check: LiveCheck) -> Iterator[PrometheusApi]:
    try:
        if check.prometheus_url is not None:
            yield PrometheusApi(check.prometheus_url)
            return
        with running_prometheus(_targets(check), check.scrape_interval) as prometheus:
            wait_scraped(prometheus, SCRAPES, check.scrape_interval, SCRAPE_TIMEOUT)
            yield prometheus
    except PrometheusError as error:
        raise CheckError(str(error)) from None


def _targets(check: LiveCheck) -> dict[str, list[str]]:
    """What to scrape, under the job names the dashboards' queries use."""
    try:
        workers = check.admin.workers()
    except AdminError as error:
        raise CheckError(str(error)) from None
    targets = {PROXY_JOB_NAME: [f"{url.rstrip('/')}/metrics" for url in workers]}
    if check.csms_url is not None:
        targets[CSMS_JOB_NAME] = [f"{check.csms_url.rstrip('/')}/metrics"]
    return targets
