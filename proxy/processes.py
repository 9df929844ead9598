"""What the benchmarks and `ocppscope up` share: child processes that are always stopped and die
with their parent (PR_SET_PDEATHSIG), free ports on 127.0.0.1, and CPU and memory read from /proc."""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PR_SET_PDEATHSIG = 1
TICKS = os.sysconf("SC_CLK_TCK")

_libc: Any = None


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel kills it when its parent dies."""
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): field 3 onwards."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process, its exited children it waited for, and its living children (e.g. a
    PostgreSQL postmaster and its backends)."""
    fields = _stat_fields(pid)
    total = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                child = _stat_fields(int(entry.name))
                if int(child[1]) == pid:  # ppid
                    total += int(child[11]) + int(child[12])
    return total / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def machine_busy_seconds() -> float:
    """CPU seconds all processes on this machine used, summed over every core (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def raise_fd_limit(needed: int) -> int:
    """Raise the soft limit on open files towards `needed` (at most the hard limit); children
    started afterwards inherit it. The soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def console_script(name: str) -> Path:
    """A console script of this environment (next to the interpreter; symlinks not resolved)."""
    return Path(sys.executable).parent / name


def ocppscope_command() -> list[str]:
    """How to run `ocppscope`: its console script, or this interpreter when it is not installed."""
    executable = console_script("ocppscope")
    if executable.exists():
        return [str(executable)]
    return [sys.executable, "-c", "from ocppscope.cli.main import main; main()"]


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-3:])


class Children:
    """Every process a benchmark or the lab starts; `stop_all` ends each one (TERM, or the
    signals given, then KILL)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[Child] = []
        self.ports: list[int] = []

    def start(
        self,
        name: str,
        command: list[str],
        env: dict[str, str] | None = None,
        *,
        log_stdout: bool = False,
    ) -> Child:
        """Start `command`; its stderr (and with `log_stdout` its stdout too) goes to the log."""
        global _libc  # noqa: PLW0603 (loaded once in the parent so the child only makes a call)
        if _libc is None and sys.platform.startswith("linux"):
            with contextlib.suppress(OSError):
                _libc = ctypes.CDLL(None, use_errno=True)
        log = self.workdir / f"{name}-{len(self.running)}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=stderr if log_stdout else subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                start_new_session=True,  # Ctrl-C reaches only us; we stop them in order
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads at this point)
            )
        child = Child(name, process, log)
        self.running.append(child)
        return child

    def wait_listening(self, child: Child, port: int, timeout: float = START_TIMEOUT) -> None:
        def listening() -> bool:
            with socket.socket() as probe:
                probe.settimeout(0.5)
                return probe.connect_ex((HOST, port)) == 0

        self.wait_until(child, listening, f"listen on {HOST}:{port}", timeout)

    def wait_until(
        self,
        child: Child,
        ready: Callable[[], bool],
        what: str,
        timeout: float = START_TIMEOUT,
    ) -> None:
        """Poll `ready()` every 0.1 s until it holds; RuntimeError when the child exits first
        or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise RuntimeError(
                    f"{child.name} exited with {child.process.returncode}: {child.tail()}"
                )
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{child.name} did not {what} within {timeout:.0f} s")

    def stop(
        self,
        child: Child,
        signals: Sequence[signal.Signals] = (signal.SIGTERM,),
        wait: float = STOP_TIMEOUT,
    ) -> None:
        """Send each of `signals` in turn, waiting up to `wait` seconds after each, then KILL."""
        process = child.process
        for signum in signals:
            if process.poll() is not None:
                break
            process.send_signal(signum)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(wait)
        if process.poll() is None:
            process.kill()
            process.wait(STOP_TIMEOUT)
        if child in self.running:
            self.running.remove(child)

    def stop_all(
        self, signals: Sequence[signal.Signals] = (signal.SIGTERM,), wait: float = STOP_TIMEOUT
    ) -> None:
        """Stop every child, the last started first."""
        for child in reversed(list(self.running)):
            with contextlib.suppress(Exception):
                self.stop(child, signals, wait)
