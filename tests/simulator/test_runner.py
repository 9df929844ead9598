"""The seed's five stations as one fleet against the reference CSMS: each charges 30 simulated
seconds, and the CSMS records what physics says (100 kW: 0.833 kWh, 50 kW: 0.417 kWh)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from simulator.fleet import SEED_FLEET
from simulator.runner import run_fleet
from tests.csms.sim import csms
from tests.pg import fetch
from tests.proxy_harness import run
from tests.support import environment, ocppscope_executable


def test_the_seed_fleet_charges_and_the_csms_records_physics(database_url: str) -> None:
    output = io.StringIO()

    async def scenario() -> None:
        async with csms(database_url) as running:
            summary = await run_fleet(
                SEED_FLEET,
                f"ws://127.0.0.1:{running.ocpp_port}/ocpp",
                speed=10.0,
                duration=45.0,
                charge_seconds=30.0,
                console=Console(file=output, width=120),
            )
        assert summary.stations == 5 and summary.charging == 0
        assert summary.delivered_kwh == pytest.approx(3 * 0.8333 + 2 * 0.4167, rel=0.01)

    run(scenario(), 60)
    rows = run(
        fetch(
            database_url,
            "SELECT charger_id, energy_consumed, cost, duration_seconds FROM charger_usage_log "
            "ORDER BY charger_id",
        )
    )
    assert [r["charger_id"] for r in rows] == sorted(spec.id for spec in SEED_FLEET)
    for row in rows:
        expected_kwh = 0.8333 if row["charger_id"].startswith("emart_jeju") else 0.4167
        assert float(row["energy_consumed"]) == pytest.approx(expected_kwh, rel=0.01)
        assert float(row["cost"]) == pytest.approx(expected_kwh * 150, rel=0.02)
        assert row["duration_seconds"] == 30
    assert "fleet after" in output.getvalue()


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--count", "3", "--fleet", "f.toml"], "not both"),
        (["--url", "http://x"], "ws://"),
        (["--speed", "0"], "--speed"),
        (["--count", "0"], "--count"),
        (["--control", "nope"], "HOST:PORT"),
    ],
)
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], mentions: str) -> None:
    result = subprocess.run(
        [ocppscope_executable(), "simulate", *args],
        check=False,
        capture_output=True,
        text=True,
        env=environment(tmp_path),
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert mentions in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
