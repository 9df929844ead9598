"""Conformance: one engine session per station; every finding goes out as an `ocpp_finding` event."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from addons._ocpp import (
    RECONNECT_KEY,
    OcppFindingHook,
    RefusedHandshakes,
    check_bounds,
    close_details,
    current_frame,
    declare_options,
    offered_subprotocols,
    selected_subprotocol,
)
from proxy.connections import proxy_close
from proxy.ocppj import events
from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.backoff import BackoffGroup
from proxy.ocppj.events import station_from_path
from proxy.ocppj.findings import Finding
from proxy.ocppj.session import Monitor
from proxy.ocppj.state import Backoff

TICK_SECONDS = 1.0


class Conformance(RefusedHandshakes):
    def __init__(self) -> None:
        self.monitor = Monitor()
        self._ticker: asyncio.Task[None] | None = None

    def load(self, loader: Loader) -> None:
        declare_options(loader, "ocpp_message_timeout", "ocpp_retry_backoff")

    def configure(self, updated: set[str]) -> None:
        check_bounds("ocpp_message_timeout")
        config = self.monitor.config
        config.message_timeout = ctx.options.ocpp_message_timeout
        spec = ctx.options.ocpp_retry_backoff
        if not spec:
            config.backoff = None
            return
        try:
            minimum, spread, repeat = spec.split(",")
            config.backoff = Backoff(float(minimum), float(spread), int(repeat))
        except ValueError:
            raise exceptions.OptionsError(
                f"ocpp_retry_backoff '{spec}' is not MIN,RANGE,REPEAT (e.g. 1,0,4)"
            ) from None

    def running(self) -> None:
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="ocpp ticks")

    async def done(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        self._publish(self.monitor.finish(time.time()))

    async def _tick(self) -> None:
        """Timeouts fire only when time passes; the engine has no clock, so we lend it ours."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self._publish(self.monitor.tick(time.time()))

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        station = station_from_path(flow.request.path)
        client = flow.client_conn
        certificates = client.certificate_list if client.tls_established else ()
        presented: bool | None = bool(certificates)
        # mitmproxy's TLS addon declares request_client_cert (off unless set): a station that was
        # not asked for a certificate may still have one, so whether it has is unknown.
        if client.tls_established and not getattr(ctx.options, "request_client_cert", False):
            presented = presented or None
        outcome = self.monitor.feed(
            events.ConnectionOpened(
                timestamp=flow.response.timestamp_end or time.time(),
                station=station,
                connection_id=flow.id,
                path=flow.request.path,
                offered_subprotocols=offered_subprotocols(flow),
                selected_subprotocol=selected_subprotocol(flow),
                request_headers={k.lower(): v for k, v in flow.request.headers.items()},
                response_headers={k.lower(): v for k, v in flow.response.headers.items()},
                tls=client.tls_established,
                tls_version=client.tls_version if client.tls_established else None,
                client_certificate=presented,
                client_certificate_cn=certificates[0].cn if certificates else None,
            )
        )
        episodes = self.monitor.session(station).group(BackoffGroup).reconnects.episodes
        if episodes and episodes[-1].connection_id == flow.id:  # back after a lost link
            flow.metadata[RECONNECT_KEY] = episodes[-1]
        self._publish(outcome.findings)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        frame = current_frame(flow)
        mark = frame.fault
        if mark is not None and not mark.judged:  # a fault kept it from its receiver, or made it up
            if mark.excused is not None:
                self.monitor.excuse(
                    frame.station, frame.connection_id, frame.direction.reverse, mark.excused
                )
            return
        frame.outcome = self.monitor.feed(
            events.Frame(
                frame.received_at,
                frame.station,
                frame.connection_id,
                frame.direction,
                frame.data,
                after_close=frame.after_close,
            )
        )
        self._publish(frame.outcome.findings)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        code, closed_by = close_details(flow)
        refused = proxy_close(flow)
        outcome = self.monitor.feed(
            events.ConnectionClosed(
                timestamp=flow.websocket.timestamp_end or time.time(),
                station=station_from_path(flow.request.path),
                connection_id=flow.id,
                code=code,
                closed_by=closed_by,
                direction=None
                if refused is None
                else Direction.CHARGER_TO_CSMS
                if refused.from_client
                else Direction.CSMS_TO_CHARGER,
            )
        )
        self._publish(outcome.findings)

    def handshake_refused(self, flow: http.HTTPFlow, status: int) -> None:
        """A refused upgrade is a failed reconnect attempt (the back-off rules)."""
        outcome = self.monitor.feed(
            events.HandshakeRefused(time.time(), station_from_path(flow.request.path), status)
        )
        self._publish(outcome.findings)

    def _publish(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            ctx.master.addons.trigger(OcppFindingHook(finding))


addons = [Conformance()]
