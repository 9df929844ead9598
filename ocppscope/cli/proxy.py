"""`ocppscope proxy` and `ocppscope ca`: the man-in-the-middle and the CA its wss:// certificates
come from."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import typer

from ocppscope.cli.options import fail, parse_backoff, with_options
from proxy.apiguard import api_token
from proxy.options import PROXY_OPTIONS
from proxy.settings import data_dir, settings_from_options


@with_options(PROXY_OPTIONS)
def proxy(**values: Any) -> None:
    """Run the man-in-the-middle: forward every frame, check and time it live."""
    import asyncio  # noqa: PLC0415 (keeps `check` free of the proxy's start-up cost)

    from addons import default_addons  # noqa: PLC0415
    from proxy.runtime import CertificateError, check_certificate, serve  # noqa: PLC0415
    from proxy.store.database import DatabaseError, database_for  # noqa: PLC0415

    try:
        if values["retry_backoff"]:
            parse_backoff(values["retry_backoff"])
        settings = settings_from_options(values, confdir=data_dir() / "mitmproxy")
        if settings.fault_plan is not None:
            from proxy.faults.plan import load_plan  # noqa: PLC0415

            load_plan(settings.fault_plan)
        if settings.cert:
            check_certificate(settings.cert, settings.key, "--cert")
        if settings.client_cert:
            check_certificate(settings.client_cert, None, "--client-cert")
        if settings.upstream_ca and not settings.upstream_ca.is_file():
            raise ValueError(f"--upstream-ca {settings.upstream_ca}: no such file")
        # Made only once the options are good: a refused command leaves no data directory.
        settings = replace(settings, admin_token=settings.admin_token or api_token())
        with database_for(settings) as settings_with_database:
            if values["workers"] > 1:
                from proxy.workers import serve_workers  # noqa: PLC0415

                serve_workers(settings_with_database, values["workers"], default_addons)
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
