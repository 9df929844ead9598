"""`ocppscope dashboards build`, run as a user runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dashboards import JSON_DIR
from tests.support import environment, ocppscope_executable


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ocppscope_executable(), "dashboards", "build", *args],
        capture_output=True,
        text=True,
        env=environment(tmp_path / "data"),
        timeout=120,
        check=False,
    )


def test_build_writes_the_three_committed_files(tmp_path: Path) -> None:
    out = tmp_path / "out" / "json"
    result = run(tmp_path, "--out", str(out))
    assert result.returncode == 0, result.stderr
    written = sorted(path.name for path in out.iterdir())
    assert written == sorted(path.name for path in JSON_DIR.glob("*.json"))
    assert len(written) == 3
    for name in written:
        assert (out / name).read_bytes() == (JSON_DIR / name).read_bytes()
        assert f"wrote {out / name}" in result.stdout


def test_build_into_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("")
    result = run(tmp_path, "--out", str(target))
    assert result.returncode == 2
    assert result.stderr == f"ocppscope: --out {target} is not a directory\n"
