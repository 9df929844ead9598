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
from proxy.check import InputError, observed_sides, run_check, survey
from proxy.ocppj.findings import Severity
from proxy.ocppj.session import Config
from proxy.options import MESSAGE_TIMEOUT, option

EXIT_FINDINGS = 1


WIDE = 100_000
"""Console width when the table goes to a file or a pipe: lines are never wrapped, so that grep
and diff see one finding per line."""


class OneSided(StrEnum):
    AUTO = "auto"
    CHARGER = "charger"
    CSMS = "csms"
    NONE = "none"


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
    one_sided: Annotated[
        OneSided,
        typer.Option(
            help="Whose frames the capture holds: auto detects per station (a station with frames "
            "of one direction only); charger or csms declares it for every station; none judges "
            "every station as a conversation. One-sided stations skip the rules that need both "
            "sides (the report lists them)."
        ),
    ] = OneSided.AUTO,
) -> None:
    """Check a recorded capture against the OCPP 2.0.1 rules; exit 1 when errors were found."""
    config = Config(message_timeout=message_timeout, backoff=parse_backoff(retry_backoff))
    try:
        # the look-ahead pass: every line is read (and its errors found) before any is judged
        observed = observed_sides(survey(read_capture(capture)), one_sided.value)
        report = run_check(read_capture(capture), config, observed)
    except CaptureError as exc:
        fail(str(exc))
    except InputError as exc:
        line = exc.ref if isinstance(exc.ref, int) else 0
        fail(str(CaptureError(capture, line, str(exc))))
    shown = [f for f in report.findings if f.severity.rank >= min_severity.rank]
    if output_format is Format.TABLE:
        wide = output is not None or not sys.stdout.isatty()
        console = Console(
            file=output.open("w", encoding="utf-8") if output else None,
            width=WIDE if wide else None,
            soft_wrap=wide,
        )
        render_table(report, console, shown, wrap=not wide)
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
