"""`ocppscope proxy` and `ocppscope ca`: the man-in-the-middle and the CA its wss:// certificates
come from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ocppscope.cli.options import fail, parse_backoff
from proxy.settings import (
    DEFAULT_ADMIN,
    DEFAULT_LISTEN,
    DEFAULT_UPSTREAM,
    ProxySettings,
    check_admin_exposure,
    data_dir,
    parse_listen,
    parse_upstream,
)


def proxy(
    listen: Annotated[
        str,
        typer.Option(
            envvar="OCPPSCOPE_LISTEN",
            help="HOST:PORT chargers connect to (ws:// and wss:// on the "
            "same port; point a charger at ws://HOST:PORT/<stationId>).",
        ),
    ] = DEFAULT_LISTEN,
    upstream: Annotated[
        str,
        typer.Option(
            envvar="OCPPSCOPE_UPSTREAM",
            help="The CSMS: ws://HOST:PORT or wss://HOST:PORT. The "
            "charger's path is forwarded unchanged.",
        ),
    ] = DEFAULT_UPSTREAM,
    cert: Annotated[
        Path | None,
        typer.Option(
            help="PEM certificate for wss:// on the listening side (with its key in the same file, "
            "or --key). Without it, certificates are issued by ocppscope's CA (see 'ocppscope ca')."
        ),
    ] = None,
    key: Annotated[Path | None, typer.Option(help="PEM private key of --cert.")] = None,
    upstream_ca: Annotated[
        Path | None,
        typer.Option(help="PEM CA bundle to verify a wss:// CSMS with (default: the system's)."),
    ] = None,
    upstream_insecure: Annotated[
        bool,
        typer.Option(
            help="Do not verify the wss:// CSMS's certificate (test CSMSs with self-signed ones)."
        ),
    ] = False,
    client_cert: Annotated[
        Path | None,
        typer.Option(
            help="PEM certificate and key the proxy presents when the CSMS asks for a client "
            "certificate (security profile 3). The CSMS sees this one, never the charger's."
        ),
    ] = None,
    message_timeout: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Seconds before an unanswered CALL times out, until MessageTimeout "
            "is seen on the wire.",
        ),
    ] = 30.0,
    retry_backoff: Annotated[
        str | None,
        typer.Option(
            help="RetryBackOffWaitMinimum,RandomRange,RepeatTimes to assume until seen on the wire, "
            "e.g. 1,0,4."
        ),
    ] = None,
    idle_timeout: Annotated[
        float,
        typer.Option(
            min=1,
            help="Seconds without any traffic before a connection is cut (above the longest "
            "HeartbeatInterval of your chargers).",
        ),
    ] = 7200.0,
    max_message_size: Annotated[
        int,
        typer.Option(
            min=1024,
            help="Largest WebSocket message in bytes; a bigger one closes the connection "
            "with 1009.",
        ),
    ] = 4 * 1024 * 1024,
    quiet: Annotated[bool, typer.Option(help="No live view; only ocppscope's own messages.")] = (
        False
    ),
    json_log: Annotated[
        bool,
        typer.Option(help="One JSON object per line for every connection, finding and message."),
    ] = False,
    store: Annotated[
        bool,
        typer.Option(
            help="Store every frame, connection and finding in PostgreSQL "
            "(OCPPSCOPE_DATABASE_URL, or the embedded server)."
        ),
    ] = True,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="OCPPSCOPE_DATABASE_URL",
            help="postgresql://USER:PASSWORD@HOST:PORT/DB (PostgreSQL 14+); unset: an embedded "
            "PostgreSQL under the data directory, started and stopped with the proxy.",
            show_envvar=True,
        ),
    ] = None,
    store_buffer: Annotated[
        int,
        typer.Option(
            min=1,
            help="Rows held in memory while PostgreSQL is unavailable; beyond that, rows are "
            "discarded, counted and recorded in store_discards. Frames are always forwarded.",
        ),
    ] = 100_000,
    retention_days: Annotated[
        int,
        typer.Option(
            min=0,
            help="Days of frames to keep; older daily partitions are dropped (0: keep all).",
        ),
    ] = 30,
    instance: Annotated[
        str | None,
        typer.Option(help="This proxy's name in the tables (default: HOSTNAME:PORT)."),
    ] = None,
    admin: Annotated[
        str,
        typer.Option(
            envvar="OCPPSCOPE_ADMIN",
            help="HOST:PORT of the admin HTTP API (/healthz, /docs), or 'off'. With --workers, "
            "worker N listens on PORT+N.",
        ),
    ] = DEFAULT_ADMIN,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="OCPPSCOPE_ADMIN_TOKEN",
            help="Bearer token the admin API's /faults requires; needed when --admin is not "
            "on loopback.",
        ),
    ] = None,
    fault_plan: Annotated[
        Path | None,
        typer.Option(help="Run this fault plan (YAML or TOML) from start-up; see docs/faults.md."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Proxy processes behind the one port; each station always lands on the same "
            "one (by station id, or the charger's address for wss://). With more than one, "
            "findings print as lines instead of the live view.",
        ),
    ] = 1,
) -> None:
    """Run the man-in-the-middle: forward every frame, check and time it live."""
    import asyncio  # noqa: PLC0415 (keeps `check` free of the proxy's start-up cost)

    from addons import default_addons  # noqa: PLC0415
    from proxy.runtime import CertificateError, check_certificate, serve  # noqa: PLC0415
    from proxy.store.database import DatabaseError, database_for  # noqa: PLC0415

    try:
        if retry_backoff:
            parse_backoff(retry_backoff)
        settings = ProxySettings(
            listen=parse_listen(listen),
            upstream=parse_upstream(upstream),
            cert=cert,
            key=key,
            upstream_ca=upstream_ca,
            upstream_insecure=upstream_insecure,
            client_cert=client_cert,
            message_timeout=message_timeout,
            retry_backoff=retry_backoff or "",
            idle_timeout=idle_timeout,
            max_message_size=max_message_size,
            quiet=quiet,
            json_log=json_log,
            confdir=data_dir() / "mitmproxy",
            store=store,
            database_url=database_url or None,
            store_buffer=store_buffer,
            retention_days=retention_days,
            instance=instance or "",
            admin=None if admin == "off" else parse_listen(admin),
            admin_token=admin_token or None,
            fault_plan=fault_plan,
        )
        check_admin_exposure(settings)
        if fault_plan is not None:
            from proxy.faults.plan import load_plan  # noqa: PLC0415

            load_plan(fault_plan)
        if cert:
            check_certificate(cert, key, "--cert")
        if client_cert:
            check_certificate(client_cert, None, "--client-cert")
        if upstream_ca and not upstream_ca.is_file():
            raise ValueError(f"--upstream-ca {upstream_ca}: no such file")
        with database_for(settings) as settings_with_database:
            if workers > 1:
                from proxy.workers import serve_workers  # noqa: PLC0415

                serve_workers(settings_with_database, workers, default_addons)
            else:
                asyncio.run(serve(settings_with_database, default_addons()))
    except (ValueError, CertificateError, OSError, DatabaseError) as exc:
        fail(str(exc))


def ca() -> None:
    """Print the path of the CA certificate to install on chargers for wss:// through the proxy."""
    from mitmproxy.certs import CertStore  # noqa: PLC0415

    confdir = data_dir() / "mitmproxy"
    confdir.mkdir(parents=True, exist_ok=True)
    CertStore.from_store(confdir, "mitmproxy", 2048)
    typer.echo(confdir / "mitmproxy-ca-cert.pem")
