"""`ocppscope csms`: the reference CSMS."""

from __future__ import annotations

from typing import Annotated

import typer

from ocppscope.cli.options import fail
from proxy.settings import parse_listen


def csms(
    ocpp: Annotated[
        str, typer.Option(help="HOST:PORT for stations: ws://HOST:PORT/<path>/<stationId>.")
    ] = "127.0.0.1:9001",
    http: Annotated[
        str, typer.Option(help="HOST:PORT of the REST API (/docs) and the live map (/).")
    ] = "127.0.0.1:8080",
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="OCPPSCOPE_DATABASE_URL",
            help="PostgreSQL 14+; unset: the embedded one (shared with the proxy).",
            show_envvar=True,
        ),
    ] = None,
    price: Annotated[float, typer.Option(min=0, help="KRW per kWh.")] = 150.0,
    heartbeat_interval: Annotated[
        int, typer.Option(min=1, help="Seconds, granted in BootNotification responses.")
    ] = 30,
    reject_unknown: Annotated[
        bool,
        typer.Option(
            help="Reject the BootNotification of a station not in charger_info (default: "
            "register it)."
        ),
    ] = False,
    deny_token: Annotated[
        list[str] | None,
        typer.Option(help="An idToken to answer with Blocked (repeat the option for more)."),
    ] = None,
    max_stations: Annotated[
        int,
        typer.Option(
            min=1,
            help="Stations known at most; beyond, an unknown station's BootNotification is "
            "Rejected (TooManyStations).",
        ),
    ] = 100_000,
    command_timeout: Annotated[
        float,
        typer.Option(
            min=1, help="Seconds the REST API waits for a station's answer or transaction event."
        ),
    ] = 30.0,
) -> None:
    """Run the reference CSMS: OCPP 1.6J, 2.0.1 and 2.1 server, REST API and the live map of the fleet."""
    import asyncio  # noqa: PLC0415

    from csms.app import CsmsSettings, serve_csms  # noqa: PLC0415
    from csms.peer import Policy  # noqa: PLC0415
    from proxy.apiguard import api_token  # noqa: PLC0415
    from proxy.store.database import DatabaseError, resolved_database  # noqa: PLC0415

    try:
        ocpp_endpoint, http_endpoint = parse_listen(ocpp), parse_listen(http)
        policy = Policy(
            price_per_kwh=price,
            heartbeat_interval=heartbeat_interval,
            accept_unknown=not reject_unknown,
            max_stations=max_stations,
            denied_tokens=frozenset(deny_token or ()),
        )
        with resolved_database(database_url) as url:
            asyncio.run(
                serve_csms(
                    CsmsSettings(
                        ocpp_endpoint, http_endpoint, url, api_token(), policy, command_timeout
                    )
                )
            )
    except (ValueError, OSError, DatabaseError) as exc:
        fail(str(exc))
