"""The `ocppscope` command line: every command and command group, registered in help order."""

from __future__ import annotations

import sys

import typer

from ocppscope.cli.bench import bench_app
from ocppscope.cli.check import check, rules
from ocppscope.cli.csms import csms
from ocppscope.cli.dashboards import dashboards_app
from ocppscope.cli.db import db_app
from ocppscope.cli.explore import explore
from ocppscope.cli.fault import fault_app
from ocppscope.cli.lab import demo, up
from ocppscope.cli.proxy import ca, proxy
from ocppscope.cli.report import report
from ocppscope.cli.scenario import scenario_app
from ocppscope.cli.simulate import simulate

app = typer.Typer(
    help="OCPP 2.0.1 man-in-the-middle: validate, time and record every frame.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(bench_app, name="bench")
app.add_typer(db_app, name="db")
app.add_typer(fault_app, name="fault")
app.add_typer(scenario_app, name="scenario")
app.add_typer(dashboards_app, name="dashboards")
for command in (up, demo, explore, report, check, proxy, csms, simulate, ca, rules):
    app.command()(command)


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
