"""Small helpers several test modules share."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parent / "node"
"""The test set's Node packages (package.json, pinned by package-lock.json) and scripts."""


def ocppscope_executable() -> str:
    """The installed console script, next to this interpreter or on PATH."""
    beside = Path(sys.executable).with_name("ocppscope")
    if beside.exists():
        return str(beside)
    found = shutil.which("ocppscope")
    assert found, "the ocppscope console script is not installed (pip install -e .)"
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(
    process: subprocess.Popen[bytes], timeout: float, first: signal.Signals = signal.SIGTERM
) -> None:
    """Stop a child that still runs as a service manager would: `first` (SIGTERM, or SIGINT for
    Ctrl-C), SIGKILL after `timeout` s."""
    if process.poll() is not None:
        return
    process.send_signal(first)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def environment(data_dir: Path) -> dict[str, str]:
    """For `ocppscope` subprocesses: files under `data_dir`, plain output, no admin port, and
    none of the developer's own OCPPSCOPE_* settings."""
    env = {**os.environ, "COLUMNS": "220", "NO_COLOR": "1", "TERM": "dumb"}
    env["OCPPSCOPE_DATA_DIR"] = str(data_dir)
    for name in (
        "OCPPSCOPE_LISTEN",
        "OCPPSCOPE_UPSTREAM",
        "OCPPSCOPE_DATABASE_URL",
        "OCPPSCOPE_API_TOKEN",
        "OCPPSCOPE_ALLOWED_HOSTS",
    ):
        env.pop(name, None)
    env["OCPPSCOPE_ADMIN"] = "off"  # 9464 may be taken by a proxy the developer runs
    return env


def _cmdlines() -> dict[int, str]:
    """Every process's command line (psutil is not a dependency; /proc is enough on Linux)."""
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            lines[int(entry.name)] = raw.replace(b"\0", b" ").decode(errors="replace")
    return lines


def processes_naming(ports: list[str]) -> list[str]:
    """Processes whose command line names 127.0.0.1:PORT for one of `ports`: a benchmark's
    children left behind. Children are waited for before the benchmark exits; the kernel gets
    two seconds to clear them from /proc."""
    needles = [f"127.0.0.1:{port}" for port in ports]
    left: list[str] = []
    for _ in range(20):
        left = [
            f"{pid}: {line}"
            for pid, line in _cmdlines().items()
            if any(needle in line for needle in needles)
        ]
        if not left:
            break
        time.sleep(0.1)
    return left


def node_modules() -> None:
    """Install the pinned Node packages of tests/node (package-lock.json) when they are missing
    or older than the lock file."""
    installed = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True
    )
