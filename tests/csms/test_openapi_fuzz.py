"""schemathesis against the reference CSMS's own OpenAPI: the real server on 127.0.0.1, valid and
invalid requests (bounded examples) with the token, and never a 5xx. One station is connected and
accepts power limits, so that valid PATCHes reach it and come back."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode

from tests.csms.sim import API_TOKEN, csms, station
from tests.proxy_harness import run

EXAMPLES = 100
"""Per operation, generation mode and charger: enough for wrong types, out-of-range numbers and
long strings in every field, bounded so the test takes seconds. (schemathesis sends standard
JSON only: NaN, Infinity and 1e309 are tests/csms/test_api_guard.py's.)"""
STATION = "emart_jeju_03"
STREAMING = "/events"
"""Server-sent events never end: no request to it can be judged by its status."""


def fuzz(base_url: str) -> list[tuple[str, int]]:
    """Every operation's cases sent, valid and invalid, to any charger and to the connected one;
    (operation, status) of each."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").exclude(path=STREAMING)
    seen: list[tuple[str, int]] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        fixed = {"charger_id": STATION} if "{charger_id}" in operation.path else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_parameters in (None, fixed) if fixed else (None,):
                strategy = operation.as_strategy(mode, path_parameters=path_parameters)
                send_all(strategy, operation.label, base_url, seen)
    return seen


def send_all(
    strategy: SearchStrategy[schemathesis.Case],
    label: str,
    base_url: str,
    seen: list[tuple[str, int]],
) -> None:
    """EXAMPLES cases of `strategy`, each sent with the token; AssertionError at a 5xx."""
    auth = {"Authorization": f"Bearer {API_TOKEN}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=auth, timeout=20)
        seen.append((label, response.status_code))
        assert response.status_code < 500, (label, case.body, response.text[:300])

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters)
        send()


def test_no_request_gets_a_5xx(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> list[tuple[str, int]]:
        async with csms(database_url) as running, station(running, STATION) as link:
            await link.cp.boot()
            return await asyncio.to_thread(fuzz, f"http://127.0.0.1:{running.http_port}")

    seen = run(scenario(), 600)
    statuses = sorted({status for _, status in seen})
    with capsys.disabled():
        print(
            f"\nschemathesis: {len(seen)} cases, statuses {statuses}, "
            f"5xx: {sum(status >= 500 for _, status in seen)}"
        )
    assert len(seen) >= 200
    assert all(status < 500 for _, status in seen)
    assert {200, 404, 422} <= set(statuses)  # found, not found, refused: all were reached
