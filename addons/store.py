"""Store: every frame, connection event and finding into PostgreSQL, off the forwarding path.

Needs the conformance and latency addons before it (frames carry their outcome and round trip).
Rows are queued in memory and written by a background task (proxy/store/writer.py); with no
`ocpp_database_url` the addon does nothing. In stock mitmdump:
`mitmdump -s addons/conformance.py -s addons/latency.py -s addons/store.py --set ocpp_database_url=...`
"""

from __future__ import annotations

import socket
import time

from mitmproxy import ctx, http, tls
from mitmproxy.addonmanager import Loader

from addons._ocpp import (
    RefusedHandshakes,
    check_bounds,
    close_details,
    current_frame,
    declare_options,
    selected_subprotocol,
)
from proxy.faults.record import FaultEvent
from proxy.ocppj.events import station_from_path
from proxy.ocppj.findings import Finding
from proxy.store.records import RowMaker, Table
from proxy.store.writer import StoreWriter, WriterOptions


class Store(RefusedHandshakes):
    def __init__(self) -> None:
        self.writer: StoreWriter | None = None

    def load(self, loader: Loader) -> None:
        declare_options(
            loader, "ocpp_database_url", "ocpp_store_buffer", "ocpp_retention_days", "ocpp_instance"
        )

    def configure(self, updated: set[str]) -> None:
        check_bounds("ocpp_store_buffer", "ocpp_retention_days")

    def running(self) -> None:
        url = ctx.options.ocpp_database_url
        if not url or self.writer is not None:
            return
        options = WriterOptions(
            url=url,
            buffer_rows=ctx.options.ocpp_store_buffer,
            retention_days=ctx.options.ocpp_retention_days,
        )
        self.writer = StoreWriter(
            options, RowMaker(ctx.options.ocpp_instance or socket.gethostname())
        )
        self.writer.start()

    async def done(self) -> None:
        """Runs after the proxy closed its connections: write everything still queued."""
        if self.writer is not None:
            await self.writer.stop()

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        if self.writer is None:
            return
        assert flow.response is not None
        client = flow.client_conn
        self.writer.submit(
            Table.CONNECTIONS,
            self.writer.rows.opened(
                at=flow.response.timestamp_end or time.time(),
                station=station_from_path(flow.request.path),
                connection_id=flow.id,
                remote_address=_address(client.peername),
                path=flow.request.path,
                subprotocol=selected_subprotocol(flow),
                tls=client.tls_established,
            ),
        )

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        if self.writer is not None:
            frame = current_frame(flow)
            if frame.recorded:
                self.writer.submit(Table.MESSAGES, self.writer.rows.message(frame))

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        if self.writer is None:
            return
        assert flow.websocket is not None
        code, closed_by = close_details(flow)
        self.writer.submit(
            Table.CONNECTIONS,
            self.writer.rows.closed(
                at=flow.websocket.timestamp_end or time.time(),
                station=station_from_path(flow.request.path),
                connection_id=flow.id,
                code=code,
                closed_by=closed_by,
            ),
        )

    def handshake_refused(self, flow: http.HTTPFlow, status: int) -> None:
        if self.writer is None:
            return
        self.writer.submit(
            Table.CONNECTIONS,
            self.writer.rows.refused(
                at=time.time(),
                station=station_from_path(flow.request.path),
                remote_address=_address(flow.client_conn.peername),
                path=flow.request.path,
                status=status,
                tls=flow.client_conn.tls_established,
            ),
        )

    def tls_failed_client(self, data: tls.TlsData) -> None:
        """A charger that refused the proxy's certificate: a refusal before any upgrade, so
        with no HTTP status, path or station id."""
        if self.writer is None:
            return
        self.writer.submit(
            Table.CONNECTIONS,
            self.writer.rows.refused(
                at=time.time(),
                station="",
                remote_address=_address(data.conn.peername),
                path=None,
                status=None,
                tls=True,
            ),
        )

    def ocpp_finding(self, finding: Finding) -> None:
        if self.writer is not None:
            self.writer.submit(Table.FINDINGS, self.writer.rows.finding(finding))

    def ocpp_fault(self, event: FaultEvent) -> None:
        if self.writer is not None:
            self.writer.submit(Table.FAULTS, self.writer.rows.fault(event))

    def stats(self) -> dict[str, object]:
        """For the admin /healthz: queue depth, write lag, discards."""
        if self.writer is None:
            return {"enabled": False}
        return {"enabled": True, **self.writer.stats()}


def _address(peername: tuple[str, int] | None) -> str | None:
    if not peername:
        return None
    host, port = peername[0], peername[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


addons = [Store()]
