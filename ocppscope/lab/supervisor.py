"""The lab's supervisor (`ocppscope up`, `ocppscope demo`): one PostgreSQL for everyone, the
children of a `LabPlan` started in order and waited for, their logs followed with a coloured
prefix, and everything stopped in reverse order on Ctrl-C, SIGTERM or the unexpected death of a
child.

The children are `proxy.processes.Children`: each in its own session (Ctrl-C in the terminal reaches
only the supervisor, which stops them in order) and killed by the kernel if the supervisor dies
(PR_SET_PDEATHSIG). Their output goes to log files that a watcher thread follows, so the files
stay for reading after the lab has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import socket
import threading
import urllib.request
from collections.abc import Awaitable, Iterator
from pathlib import Path
from types import FrameType
from typing import TypeVar

from rich.console import Console
from rich.text import Text

from ocppscope.lab.plan import ChildSpec, LabPlan
from proxy.apiguard import TOKEN_ENV, api_token
from proxy.endpoints import LabEndpoints, reachable_host
from proxy.processes import Child, Children, ocppscope_command
from proxy.settings import Endpoint
from proxy.store.database import DatabaseError, configured_url, resolved_database

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130
START_TIMEOUT = 60.0
"""Seconds a child may take to be ready (the first start of the embedded PostgreSQL is not in
it; migrations and mitmproxy's start-up are)."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_WAIT = 10.0
"""Seconds after each stop signal before the next one (then SIGKILL)."""
POLL = 0.2
COLOURS = {"csms": "cyan", "proxy": "magenta", "explore": "yellow", "fleet": "green"}
T = TypeVar("T")

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Health checks of children on this machine never go through http_proxy."""


class LabError(RuntimeError):
    """The lab cannot start or stopped by itself; one line, and the exit code to leave with."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def check_ports_free(plan: LabPlan) -> None:
    """LabError (exit 2) naming the option of the first address a child could not listen on.
    The probe sets SO_REUSEADDR as servers do, so a port in TIME_WAIT counts as free."""
    try:
        plan.check()
    except ValueError as exc:
        raise LabError(str(exc), EXIT_BAD_INPUT) from None
    for option, endpoint in plan.bound():
        family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
        with socket.socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((endpoint.host, endpoint.port))
            except OSError as exc:
                raise LabError(
                    f"{option} {endpoint.host}:{endpoint.port}: {exc.strerror or exc} "
                    "(give another port with that option)",
                    EXIT_BAD_INPUT,
                ) from None


def http_ok(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):  # URLError and HTTPError are OSErrors
        return False


def accepts(endpoint: Endpoint) -> bool:
    try:
        with socket.create_connection((reachable_host(endpoint).strip("[]"), endpoint.port), 0.5):
            return True
    except OSError:
        return False


class LogFollower:
    """Prints the new complete lines of each child's log, prefixed with its coloured name."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.offsets: dict[Path, int] = {}

    def pump(self, children: list[Child]) -> None:
        for child in children:
            offset = self.offsets.get(child.log, 0)
            try:
                with child.log.open("rb") as log:
                    log.seek(offset)
                    chunk = log.read()
            except OSError:
                continue
            complete = chunk.rfind(b"\n") + 1
            self.offsets[child.log] = offset + complete
            prefix = (f"{child.name:>7} │ ", COLOURS.get(child.name, "blue"))
            for line in chunk[:complete].decode(errors="replace").splitlines():
                self.console.print(Text.assemble(prefix, line), soft_wrap=True)


class Lab:
    """A running lab: its endpoints, and why it stopped (a signal or a child's death)."""

    def __init__(self, endpoints: LabEndpoints, children: Children) -> None:
        self.endpoints = endpoints
        self.children = children
        self.stopped = threading.Event()
        self.failure: str | None = None
        """Set when a child died on its own: the one line the lab exits 1 with."""
        self.signal: str | None = None
        self.started: list[Child] = []

    def interrupt(self, signum: int, _frame: FrameType | None = None) -> None:
        """Signal handler: SIGINT or SIGTERM asks the lab to stop."""
        self.signal = signal.Signals(signum).name
        self.stopped.set()

    def wait(self) -> None:
        """Until a signal or a child's death stops the lab."""
        while not self.stopped.wait(0.5):
            pass

    async def run(self, work: Awaitable[T]) -> T:
        """`work`'s result; cancelled, then LabError, as soon as the lab stops."""
        task = asyncio.ensure_future(work)
        while not task.done():
            await asyncio.wait({task}, timeout=POLL)
            if self.stopped.is_set() and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                raise self.stop_reason()
        return task.result()

    def stop_reason(self) -> LabError:
        if self.failure is not None:
            return LabError(self.failure)
        return LabError(f"stopped by {self.signal}", EXIT_INTERRUPTED)

    def watch(self, follower: LogFollower | None, closing: threading.Event) -> None:
        """The watcher thread: follow the logs, and stop the lab when a child dies."""
        while not closing.wait(POLL):
            started = list(self.started)
            if follower is not None:
                follower.pump(started)
            for child in started:
                code = child.process.poll()
                if code is not None and not closing.is_set() and not self.stopped.is_set():
                    self.failure = death(child, code)
                    self.stopped.set()


def death(child: Child, code: int) -> str:
    """One line on a child that ended on its own: by what, its last line, where its log is."""
    if code < 0:
        how = f"was killed by {signal.Signals(-code).name}"
    else:
        last = child.tail().rsplit(" | ", 1)[-1]
        how = f"exited with code {code}" + (f": {last}" if last else "")
    return f"{child.name} {how} (log: {child.log})"


def child_environment(database_url: str, token: str) -> dict[str, str]:
    """Every child on the supervisor's database (no second embedded server, no race starting
    one) and its API token, writing its lines as they come."""
    return {
        **os.environ,
        "OCPPSCOPE_DATABASE_URL": database_url,
        TOKEN_ENV: token,
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",  # rich's width for the lines children write to their logs
    }


def _start(lab: Lab, specs: list[ChildSpec], env: dict[str, str]) -> None:
    """Start the children, waiting for the ready ones before each that needs them."""
    pending: list[tuple[Child, ChildSpec]] = []
    for spec in specs:
        if spec.after_ready:
            _wait_ready(lab, pending)
            pending = []
        child = lab.children.start(
            spec.name, [*ocppscope_command(), *spec.args], env, log_stdout=True
        )
        lab.started.append(child)
        pending.append((child, spec))
    _wait_ready(lab, pending)


def _stopped_or_ready(lab: Lab, spec: ChildSpec) -> bool:
    return lab.stopped.is_set() or is_ready(spec)


def is_ready(spec: ChildSpec) -> bool:
    if spec.health_url is not None:
        return http_ok(spec.health_url)
    return spec.listens is None or accepts(spec.listens)


def awaited(spec: ChildSpec) -> str:
    """What the child must do to be ready, for the error when it does not."""
    if spec.health_url is not None:
        return f"answer {spec.health_url}"
    if spec.listens is not None:
        return f"listen on port {spec.listens.port}"
    return "start"


def _wait_ready(lab: Lab, started: list[tuple[Child, ChildSpec]]) -> None:
    for child, spec in started:
        try:
            lab.children.wait_until(
                child,
                functools.partial(_stopped_or_ready, lab, spec),
                awaited(spec),
                START_TIMEOUT,
            )
        except RuntimeError as exc:
            raise LabError(str(exc)) from None
        if lab.stopped.is_set():
            raise lab.stop_reason()


@contextlib.contextmanager
def _stop_signals(lab: Lab) -> Iterator[None]:
    """SIGINT and SIGTERM stop the lab in order instead of interrupting whatever runs."""
    previous = {signum: signal.signal(signum, lab.interrupt) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def running_lab(
    plan: LabPlan, log_dir: Path, console: Console, *, stream_logs: bool = True
) -> Iterator[Lab]:
    """Start the lab, yield it once every child is ready, stop it on the way out. LabError when
    a port is taken (exit 2), the database cannot start (2), or a child does not come up (1)."""
    check_ports_free(plan)
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.log"):
        old.unlink()
    with contextlib.ExitStack() as stack:
        try:
            database_url = stack.enter_context(resolved_database(configured_url()))
        except DatabaseError as exc:
            raise LabError(str(exc), EXIT_BAD_INPUT) from None
        children = Children(log_dir)
        token = api_token()
        lab = Lab(plan.endpoints(database_url, token), children)
        stack.enter_context(_stop_signals(lab))
        closing = threading.Event()
        follower = LogFollower(console) if stream_logs else None
        watcher = threading.Thread(target=lab.watch, args=(follower, closing), name="lab-watch")
        watcher.start()
        try:
            _start(lab, plan.children(), child_environment(database_url, token))
            yield lab
        finally:
            closing.set()
            names = ", ".join(child.name for child in reversed(children.running))
            if names:
                console.print(f"[dim]stopping {names}[/]")
            children.stop_all(STOP_SIGNALS, STOP_WAIT)
            watcher.join()
            if follower is not None:
                follower.pump(lab.started)
