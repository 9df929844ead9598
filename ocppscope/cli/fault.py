"""`ocppscope fault ...`: add, list and remove a running proxy's fault rules, or run a fault
plan, through its admin API (every worker of it). Rules are checked here first, so a bad
selector or value is a one-line error (exit 2) even before the proxy is asked; an unreachable
proxy is exit 1."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ocppscope.cli.options import EXIT_BAD_INPUT, LAB, AdminToken, AdminUrl, fail
from proxy.faults.client import AdminClient, AdminError
from proxy.faults.kinds import FaultError, Kind, kinds_help, param_help
from proxy.faults.plan import load_plan, run_plan
from proxy.faults.spec import DIRECTIONS, FaultSpec, parse_spec

fault_app = typer.Typer(
    help="Break the link on purpose: fault rules of a running proxy (its admin API).",
    no_args_is_help=True,
)
EXIT_UNREACHABLE = 1
SUMMARY_WAIT = 2.0
"""Seconds a plan's summary waits for the proxy to retire the rules whose time is up (it does
so every 0.5 s)."""


def _client(admin: str, token: str | None) -> AdminClient:
    if not admin.startswith(("http://", "https://")):
        fail(f"--admin '{admin}' is not an http:// URL")
    return AdminClient(admin, token)


def _send(client: AdminClient, method: str, path: str, body: Any = None) -> list[Any]:
    try:
        return client.each(method, path, body)
    except AdminError as exc:
        fail(str(exc), EXIT_BAD_INPUT if exc.bad_request else EXIT_UNREACHABLE)


def _checked(options: dict[str, Any]) -> dict[str, Any]:
    """The options given, parsed as the proxy parses them; the JSON body to post."""
    # `is`, not `in (None, False)`: 0 == False, and --probability 0 or --nth 0 must get through
    given = {
        name: value for name, value in options.items() if value is not None and value is not False
    }
    try:
        spec: FaultSpec = parse_spec(given)
    except FaultError as exc:
        fail(str(exc))
    return spec.body()


def _added(answers: list[Any]) -> None:
    rule = answers[0]
    workers = f" on {len(answers)} workers" if len(answers) > 1 else ""
    typer.echo(f"fault {rule['id']} added{workers}: {_summary(rule)}")


def _summary(rule: dict[str, Any]) -> str:
    parts = [rule["kind"], f"station {rule['station']}"]
    for name in ("direction", "action", "messageType", "nth"):
        if rule.get(name) is not None:
            parts.append(f"{name} {rule[name]}")
    if rule.get("probability", 1) != 1:
        parts.append(f"probability {rule['probability']:g}")
    if rule.get("count") is not None:
        parts.append(f"{rule['count']} times")
    if rule.get("for") is not None:
        parts.append(f"for {rule['for']:g} s")
    return ", ".join(parts)


@fault_app.command("add", epilog=f"Kinds:\n\n{kinds_help()}")
def add(
    kind: Annotated[Kind, typer.Argument(help="What to do to the matching frames/connections.")],
    station: Annotated[str, typer.Option(help="Station id or glob, e.g. 'emart_*'.")] = "*",
    direction: Annotated[
        str | None, typer.Option(help=f"One of {', '.join(DIRECTIONS)}; default both.")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(help="OCPP action of any version, e.g. TransactionEvent, StartTransaction."),
    ] = None,
    message_type: Annotated[
        str | None,
        typer.Option(help="CALL, CALLRESULT or CALLERROR; on 2.1 also CALLRESULTERROR, SEND."),
    ] = None,
    nth: Annotated[
        int | None, typer.Option(help="Only the Nth matching frame of each station.")
    ] = None,
    probability: Annotated[float, typer.Option(help="Chance per matching frame.")] = 1.0,
    count: Annotated[int | None, typer.Option(help="Retire after this many applications.")] = None,
    for_: Annotated[
        str | None, typer.Option("--for", help="Retire after this long: 500ms, 20s, 10m, 1h.")
    ] = None,
    delay: Annotated[str | None, typer.Option(help=param_help("delay"))] = None,
    jitter: Annotated[str | None, typer.Option(help=param_help("jitter"))] = None,
    code: Annotated[int | None, typer.Option(help=param_help("code"))] = None,
    reset: Annotated[bool, typer.Option("--reset", help=param_help("reset"))] = False,
    error_code: Annotated[str | None, typer.Option(help=param_help("errorCode"))] = None,
    field: Annotated[str | None, typer.Option(help=param_help("field"))] = None,
    admin: AdminUrl = LAB.admin_url,
    token: AdminToken = None,
) -> None:
    """Add a rule, e.g. `ocppscope fault add drop --station 'emart_*' --action Heartbeat
    --probability 0.5 --for 10m`."""
    body = _checked(
        {
            "kind": kind.value,
            "station": station,
            "direction": direction,
            "action": action,
            "messageType": message_type,
            "nth": nth,
            "probability": probability if probability != 1.0 else None,
            "count": count,
            "for": for_,
            "delay": delay,
            "jitter": jitter,
            "code": code,
            "reset": reset,
            "errorCode": error_code,
            "field": field,
        }
    )
    _added(_send(_client(admin, token), "POST", "/faults", body))


@fault_app.command("outage")
def outage(
    for_: Annotated[str, typer.Option("--for", help="How long the CSMS is 'down': 10s, 2m.")],
    station: Annotated[str, typer.Option(help="Station id or glob.")] = "*",
    reset: Annotated[bool, typer.Option("--reset", help="Reset TCP instead of closing.")] = False,
    admin: AdminUrl = LAB.admin_url,
    token: AdminToken = None,
) -> None:
    """The CSMS goes away: matching connections close now, and their handshakes get 503 until
    the time is up (the seed guide's scenario 5)."""
    body = _checked({"kind": "outage", "station": station, "for": for_, "reset": reset})
    _added(_send(_client(admin, token), "POST", "/faults", body))


@fault_app.command("disconnect")
def disconnect(
    station: Annotated[str, typer.Option(help="Station id or glob.")] = "*",
    code: Annotated[int, typer.Option(help="The close code both sides get.")] = 1001,
    reset: Annotated[bool, typer.Option("--reset", help="Reset TCP instead of closing.")] = False,
    admin: AdminUrl = LAB.admin_url,
    token: AdminToken = None,
) -> None:
    """Close the matching stations' connections now (they reconnect with their back-off)."""
    body = _checked(
        {"kind": "disconnect", "station": station, "code": code, "reset": reset, "count": None}
    )
    _added(_send(_client(admin, token), "POST", "/faults", body))


@fault_app.command("list")
def list_rules(admin: AdminUrl = LAB.admin_url, token: AdminToken = None) -> None:
    """The live rules (per worker) and how often each was applied."""
    answers = _send(_client(admin, token), "GET", "/faults?events=0")
    table = Table(title="fault rules", title_justify="left")
    for column in ("worker", "id", "rule", "applied", "expires in"):
        table.add_column(column, justify="right" if column in ("id", "applied") else "left")
    for worker, answer in enumerate(answers):
        for rule in answer["rules"]:
            table.add_row(
                str(worker),
                str(rule["id"]),
                _summary(rule),
                str(rule["applied"]),
                "-"
                if rule["expiresAt"] is None
                else f"{max(0.0, rule['expiresAt'] - time.time()):.0f} s",
            )
    Console().print(table)


@fault_app.command("remove")
def remove(
    rule_id: Annotated[int, typer.Argument(help="The rule's id (fault list).")],
    admin: AdminUrl = LAB.admin_url,
    token: AdminToken = None,
) -> None:
    """Remove one rule."""
    _send(_client(admin, token), "DELETE", f"/faults/{rule_id}")
    typer.echo(f"fault {rule_id} removed")


@fault_app.command("clear")
def clear(admin: AdminUrl = LAB.admin_url, token: AdminToken = None) -> None:
    """Remove every rule."""
    answers = _send(_client(admin, token), "DELETE", "/faults")
    removed = len({rule_id for answer in answers for rule_id in answer["removed"]})  # per worker
    typer.echo(f"{removed} fault rule{'s' if removed != 1 else ''} removed")


@fault_app.command("plan")
def plan(
    file: Annotated[Path, typer.Argument(help="The plan (YAML or TOML, see docs/faults.md).")],
    admin: AdminUrl = LAB.admin_url,
    token: AdminToken = None,
) -> None:
    """Run a timeline of rules against the running proxy, then print what each one did.
    Ctrl-C stops the plan and removes its rules."""
    try:
        timeline = load_plan(file)
    except FaultError as exc:
        fail(str(exc))
    client = _client(admin, token)
    _send(client, "GET", "/faults?events=0")  # reachable before the clock starts
    added: list[int] = []

    async def add_rule(spec: FaultSpec) -> None:
        answers = await asyncio.to_thread(_send, client, "POST", "/faults", spec.body())
        added.append(answers[0]["id"])
        typer.echo(f"fault {answers[0]['id']}: {_summary(answers[0])}")

    async def clear_rules() -> None:
        await asyncio.to_thread(_send, client, "DELETE", "/faults")
        typer.echo("every fault rule removed")

    async def timeline_run() -> bool:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await run_plan(timeline, add_rule, clear_rules, stop)

    typer.echo(f"plan {file}: {len(timeline.steps)} steps over {timeline.end:g} s")
    finished = asyncio.run(timeline_run())
    if not finished:
        for rule_id in added:
            with contextlib.suppress(AdminError):  # retired meanwhile
                client.each("DELETE", f"/faults/{rule_id}")
    _print_summary(added, _final_answers(client, added))
    if not finished:
        raise typer.Exit(130)


def _final_answers(client: AdminClient, added: list[int]) -> list[Any]:
    """The rules as the proxy has them once it retired those whose time is up: a plan ends when
    its last rule's `for` does, and read at that instant the rule is neither live nor retired
    yet (or still live, a few applications short)."""
    deadline = time.monotonic() + SUMMARY_WAIT
    while True:
        answers = _send(client, "GET", "/faults?events=0")
        if not _ending(added, answers) or time.monotonic() > deadline:
            return answers
        time.sleep(0.1)


def _ending(added: list[int], answers: list[Any]) -> bool:
    """Whether one of the rules is over (or about to be) but not retired yet on some worker."""
    soon = time.time() + 0.1
    for answer in answers:
        retired = {rule["id"] for rule in answer["retired"]}
        live = {rule["id"]: rule for rule in answer["rules"]}
        for rule_id in added:
            if rule_id in retired:
                continue
            rule = live.get(rule_id)
            if rule is None or (rule["expiresAt"] is not None and rule["expiresAt"] <= soon):
                return True
    return False


def _print_summary(added: list[int], answers: list[Any]) -> None:
    table = Table(title="fault plan: what each rule did", title_justify="left")
    for column in ("id", "rule", "applied"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for rule_id in added:
        seen = [
            rule
            for answer in answers
            for rule in (*answer["rules"], *answer["retired"])
            if rule["id"] == rule_id
        ]
        if seen:
            applied = sum(rule["applied"] for rule in seen)
            table.add_row(str(rule_id), _summary(seen[0]), str(applied))
    Console().print(table)
