"""`ocppscope bench proxy`, tiny: four rows with numbers, exit 0, no process left behind."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ocppscope.bench.proxy import parse_station_counts
from ocppscope.bench.proxy_csms import csms_response
from ocppscope.bench.proxy_traffic import StationTraffic
from tests.support import processes_naming

OCPPSCOPE = Path(sys.executable).parent / "ocppscope"
ROW = re.compile(r"^[│|]\s*2\s*[│|]\s*(direct|mitmdump|ocppscope \+ store|ocppscope)\b(.*)$")
NUMBER = re.compile(r"\d[\d,]*\.?\d*")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU and RSS from /proc")
def test_tiny_run_prints_four_rows_and_leaves_no_process() -> None:
    done = subprocess.run(
        [str(OCPPSCOPE), "bench", "proxy", "--stations", "2", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = done.stdout
    assert done.returncode == 0, output + done.stderr

    rows = {match[1]: match[2] for line in output.splitlines() if (match := ROW.match(line))}
    assert set(rows) == {"direct", "mitmdump", "ocppscope", "ocppscope + store"}, output
    for path, rest in rows.items():
        cells = [cell.strip() for cell in re.split(r"[│|]", rest.rstrip("│| "))[1:]]
        calls_per_second = float(cells[0].replace(",", ""))
        assert calls_per_second > 0, (path, cells)
        assert NUMBER.fullmatch(cells[4]), (path, "RTT p50", cells)  # every path has a latency
        if path != "direct":
            assert re.fullmatch(r"\d+\.\d\dx", cells[1]), (path, "vs mitmdump", cells)
            assert NUMBER.fullmatch(cells[2]), (path, "CPU per call", cells)
            assert NUMBER.fullmatch(cells[3]), (path, "RSS", cells)
            assert re.fullmatch(r"-?\d+\.\d\d", cells[6]), (path, "added p50", cells)
        assert cells[-1] == "0", (path, "errors", cells)
    assert "ocppscope/mitmdump calls/s" in output

    ports = re.search(r"ports used: ([\d ]+)", output)
    assert ports, output
    port_list = ports[1].split()
    assert len(port_list) == 4  # the CSMS, mitmdump, ocppscope, ocppscope with its store
    assert not processes_naming(port_list)


@pytest.mark.unit
def test_station_traffic_is_a_compliant_charging_cycle() -> None:
    from proxy.ocppj.actions import Direction  # noqa: PLC0415
    from proxy.ocppj.events import ConnectionOpened, Frame  # noqa: PLC0415
    from proxy.ocppj.session import Monitor  # noqa: PLC0415

    monitor = Monitor()
    traffic = StationTraffic("BENCH-00001")
    now = time.time()
    path = "/ocpp/BENCH-00001"
    monitor.feed(ConnectionOpened(now, traffic.station, "c1", path, ("ocpp2.0.1",), "ocpp2.0.1"))
    calls = [traffic.boot(), traffic.status("Available")]
    calls += [traffic.next_call() for _ in range(3 * len(StationTraffic.CYCLE))]
    rules = []
    for message_id, text in calls:
        action = text.split('"')[3]
        outcome = monitor.feed(Frame(now, traffic.station, "c1", Direction.CHARGER_TO_CSMS, text))
        rules += [finding.rule_id for finding in outcome.findings]
        reply = f'[3,"{message_id}",{json.dumps(csms_response(action))}]'
        outcome = monitor.feed(Frame(now, traffic.station, "c1", Direction.CSMS_TO_CHARGER, reply))
        rules += [finding.rule_id for finding in outcome.findings]
    assert set(rules) <= {"HB-002"}, rules  # back-to-back heartbeats: reported once, as info


@pytest.mark.unit
def test_station_counts_are_checked() -> None:
    assert parse_station_counts("1, 100,1000") == [1, 100, 1000]
    for bad in ("", "0", "1,x", "9999"):
        with pytest.raises(ValueError):
            parse_station_counts(bad)
