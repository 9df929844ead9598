"""The `ocppscope` command line."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from proxy.capture import CaptureError, read_capture
from proxy.check import run_check
from proxy.ocppj.findings import Severity
from proxy.ocppj.session import Config
from proxy.ocppj.state import Backoff
from proxy.report import render_rules, render_table, to_json, to_junit

app = typer.Typer(
    help="OCPP 2.0.1 man-in-the-middle: validate, time and record every frame.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(
    help="Benchmarks that print numbers measured in the same run.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")

EXIT_FINDINGS, EXIT_BAD_INPUT = 1, 2


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    JUNIT = "junit"


def _backoff(value: str | None) -> Backoff | None:
    if value is None:
        return None
    parts = value.split(",")
    try:
        minimum, spread, repeat = float(parts[0]), float(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        raise typer.BadParameter("expected MIN,RANGE,REPEAT, e.g. 1,0,4") from None
    if len(parts) != 3 or minimum < 0 or spread < 0 or repeat < 0:
        raise typer.BadParameter("expected three non-negative numbers MIN,RANGE,REPEAT")
    return Backoff(minimum, spread, repeat)


@app.command()
def check(
    capture: Annotated[Path, typer.Argument(help="Capture file (JSON Lines; see README).")],
    output_format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = (
        Format.TABLE
    ),
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report here instead of standard output."),
    ] = None,
    min_severity: Annotated[
        Severity,
        typer.Option(help="Hide findings below this severity (the summary still counts them)."),
    ] = (Severity.INFO),
    message_timeout: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Seconds before an unanswered CALL times out, until MessageTimeout "
            "is seen in the traffic.",
        ),
    ] = 30.0,
    retry_backoff: Annotated[
        str | None,
        typer.Option(
            help="RetryBackOffWaitMinimum,RandomRange,RepeatTimes to assume until learned from "
            "the traffic, e.g. 1,0,4 for waits of 1, 2, 4, 8, 16 s."
        ),
    ] = None,
) -> None:
    """Check a recorded capture against the OCPP 2.0.1 rules; exit 1 when errors were found."""
    config = Config(message_timeout=message_timeout, backoff=_backoff(retry_backoff))
    try:
        report = run_check(read_capture(capture), config)
    except CaptureError as exc:
        _fail(str(exc))
    shown = [f for f in report.findings if f.severity.rank >= min_severity.rank]
    if output_format is Format.TABLE:
        console = Console(
            file=output.open("w", encoding="utf-8") if output else None,
            width=160 if output else None,
        )
        render_table(report, console, shown)
    else:
        text = to_json(report, shown) if output_format is Format.JSON else to_junit(report)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    if report.count(Severity.ERROR):
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def rules() -> None:
    """List every rule the conformance engine checks, with its severity and spec reference."""
    render_rules(Console())


@bench_app.command("engine")
def bench_engine(
    stations: Annotated[int, typer.Option(min=1, max=10_000, help="Simulated stations.")] = 50,
    minutes: Annotated[
        int, typer.Option(min=1, max=600, help="Simulated minutes of traffic per station.")
    ] = 10,
) -> None:
    """Frames/s of the conformance engine on one core, next to the ocpp library's validation."""
    from proxy.bench_engine import run_engine_benchmark  # noqa: PLC0415 (heavy, bench only)

    run_engine_benchmark(stations, minutes, Console())


def _fail(message: str) -> typer.Exit:
    typer.echo(f"ocppscope: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def main() -> None:
    """Console entry point: usage errors are one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        typer.echo("ocppscope: aborted", err=True)
        code = 130
    except typer.TyperException as exc:
        message = exc.format_message()
        if message:  # empty when the usage was printed instead (no command given)
            context = getattr(exc, "ctx", None)
            where = f" (see '{context.command_path} --help')" if context else ""
            typer.echo(f"ocppscope: {message}{where}", err=True)
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else 0)
