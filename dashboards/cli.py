"""`ocppscope dashboards ...`: write the Grafana dashboards' JSON from the code that defines them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dashboards import JSON_DIR

dashboards_app = typer.Typer(
    help="Grafana dashboards generated from dashboards/ (traffic, conformance, charging).",
    no_args_is_help=True,
)
EXIT_FAILED, EXIT_BAD_INPUT = 1, 2


@dashboards_app.command()
def build(
    out: Annotated[
        Path,
        typer.Option("--out", help="Directory to write the JSON files into (made if missing)."),
    ] = JSON_DIR,
) -> None:
    """Write the three dashboards' JSON (by default into the package's dashboards/json)."""
    if out.exists() and not out.is_dir():
        typer.echo(f"error: --out {out} is not a directory", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    from dashboards.generate import write  # noqa: PLC0415 (the SDK: ~90 ms for every command)

    try:
        written = write(out)
    except OSError as error:
        typer.echo(f"error: cannot write into {out}: {error.strerror}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    for path in written:
        typer.echo(f"wrote {path}")
