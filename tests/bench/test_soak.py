"""`ocppscope bench soak`, tiny: five stations for 20 s through the real proxy with half of the
TransactionEvent answers and Heartbeats dropped, an outage and disconnects, against the
reference CSMS on the embedded PostgreSQL; no energy lost and nothing left behind. A bad option
is one line and exit code 2."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support import environment, ocppscope_executable, processes_naming


def _soak(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ocppscope_executable(), "bench", "soak", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=environment(data_dir),
    )


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="PR_SET_PDEATHSIG, /proc")
def test_tiny_soak_loses_no_energy_and_leaves_nothing(tmp_path: Path) -> None:
    done = _soak(tmp_path, "--minutes", "0.34", "--stations", "5", "--drop", "0.5")
    output = done.stdout
    assert done.returncode == 0, output + done.stderr[-3000:]
    assert "zero energy lost" in output
    assert re.search(r"kWh lost\s*[│|]\s*0\.0000", output), output
    assert re.search(r"transactions missing at the CSMS\s*[│|]\s*0\b", output), output
    ended = re.search(r"transactions ended by the stations\s*[│|]\s*(\d+)", output)
    assert ended and int(ended.group(1)) > 0, output
    applied = re.search(r"faults applied\s*[│|]\s*(.*?)\s*[│|]", output)
    assert applied and "drop" in applied.group(1), output
    used = re.search(r"ports used: ([\d ]+); work directory (\S+) \(removed\)", output)
    assert used, output
    ports, workdir = used[1].split(), used[2]
    assert len(ports) == 4  # the CSMS's OCPP and HTTP ports, the proxy's listen and admin ports
    assert not processes_naming(ports)
    assert not Path(workdir).exists()


def test_bad_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _soak(tmp_path, "--drop", "2")
    assert done.returncode == 2
    assert "--drop" in done.stderr
