"""Small helpers several test modules share."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path


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
