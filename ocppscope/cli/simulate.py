"""`ocppscope simulate`: a fleet of simulated stations."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ocppscope.cli.options import fail
from proxy.settings import parse_listen


def simulate(
    url: Annotated[
        str,
        typer.Option(
            help="Where the stations connect (the proxy or a CSMS); /<stationId> is added."
        ),
    ] = "ws://127.0.0.1:9000/ocpp",
    fleet: Annotated[
        Path | None,
        typer.Option(help="Fleet file (TOML or YAML; docs/simulator.md); default: seed's five."),
    ] = None,
    count: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Simulate N generated 50 kW stations.")
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0.01, max=1000, help="Run the stations' clocks K times faster.")
    ] = 1.0,
    duration: Annotated[
        float | None,
        typer.Option(min=1, help="Simulated seconds to run (default: until Ctrl-C)."),
    ] = None,
    charge: Annotated[
        float | None,
        typer.Option(min=1, help="Each station charges once for this many simulated seconds."),
    ] = None,
    protocol: Annotated[
        str,
        typer.Option(
            help="OCPP version of the stations: ocpp1.6, ocpp2.0.1 or ocpp2.1 (a fleet file's "
            "stations may name their own)."
        ),
    ] = "ocpp2.0.1",
    control: Annotated[
        str,
        typer.Option(
            help="HOST:PORT of the control API (plug in, start, stop, fault; docs/simulator.md), or 'off'."
        ),
    ] = "127.0.0.1:9002",
) -> None:
    """Run a fleet of simulated OCPP 1.6, 2.0.1 or 2.1 stations (boot, heartbeats, sessions, back-off,
    offline queue) until --duration passes or Ctrl-C."""
    import asyncio  # noqa: PLC0415

    from proxy.apiguard import api_token  # noqa: PLC0415
    from simulator.fleet import SEED_FLEET, FleetError, generated, load_fleet  # noqa: PLC0415
    from simulator.runner import simulate as run_simulation  # noqa: PLC0415
    from simulator.versions import VERSIONS  # noqa: PLC0415

    if fleet is not None and count is not None:
        fail("give --fleet or --count, not both")
    if protocol not in VERSIONS:
        fail(f"--protocol '{protocol}' is not one of {', '.join(VERSIONS)}")
    if not url.startswith(("ws://", "wss://")):
        fail(f"--url '{url}' is not a ws:// or wss:// URL")
    try:
        if fleet:
            specs = load_fleet(fleet, protocol)
        elif count:
            specs = generated(count, protocol=protocol)
        else:
            specs = [replace(spec, protocol=protocol) for spec in SEED_FLEET]
        control_endpoint = None if control == "off" else parse_listen(control)
    except (FleetError, ValueError) as exc:
        fail(str(exc))
    try:
        token = api_token() if control_endpoint is not None else None
        asyncio.run(run_simulation(specs, url, speed, duration, charge, control_endpoint, token))
    except OSError as exc:
        fail(str(exc))
