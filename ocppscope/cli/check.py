"""`ocppscope check` and `ocppscope rules`: the conformance engine over a recorded capture."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ocppscope.check_report import render_rules, render_table, to_json, to_junit
from ocppscope.cli.options import fail, parse_backoff
from proxy.capture import CaptureError, read_capture
from proxy.check import run_check
from proxy.ocppj.findings import Severity
from proxy.ocppj.session import Config
from proxy.options import MESSAGE_TIMEOUT, option

EXIT_FINDINGS = 1


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    JUNIT = "junit"


def check(
    capture: Annotated[Path, typer.Argument(help="Capture file (JSON Lines; see docs/engine.md).")],
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
            min=option("message_timeout").min,
            help="Seconds before an unanswered CALL times out, until MessageTimeout "
            "is seen in the traffic.",
        ),
    ] = MESSAGE_TIMEOUT,
    retry_backoff: Annotated[
        str | None,
        typer.Option(
            help="RetryBackOffWaitMinimum,RandomRange,RepeatTimes to assume until learned from "
            "the traffic, e.g. 1,0,4 for waits of 1, 2, 4, 8, 16 s."
        ),
    ] = None,
) -> None:
    """Check a recorded capture against the OCPP 2.0.1 rules; exit 1 when errors were found."""
    config = Config(message_timeout=message_timeout, backoff=parse_backoff(retry_backoff))
    try:
        report = run_check(read_capture(capture), config)
    except CaptureError as exc:
        fail(str(exc))
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


def rules() -> None:
    """List every rule the conformance engine checks, with its severity and spec reference."""
    render_rules(Console())
