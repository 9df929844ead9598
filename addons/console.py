"""Console: a live terminal view of stations, traffic, latency and findings; or, for machines,
one JSON object per event (`ocpp_json_log`), or nothing but warnings (`ocpp_quiet`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections import deque

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader
from rich.console import Console as RichConsole
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from addons._ocpp import connection_version, current_frame, declare_options, selected_subprotocol
from proxy.faults.record import FaultEvent
from proxy.latency import LatencyBook
from proxy.ocppj.events import station_from_path
from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.timefmt import format_datetime

REFRESH_SECONDS = 1.0
SHOWN_STATIONS = 12
SHOWN_FINDINGS = 10
STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


class _StationView:
    # Not a dataclass: mitmproxy loads addon scripts without registering them in sys.modules,
    # which dataclasses need.
    __slots__ = ("connected", "findings", "frames", "last_action", "last_seen", "version")

    def __init__(self) -> None:
        self.connected = 0
        self.version: str | None = None
        """What its latest connection selected (`known_version`)."""
        self.frames = 0
        self.findings = 0
        self.last_action = ""
        self.last_seen = 0.0


class Console:
    def __init__(self) -> None:
        self.stations: dict[str, _StationView] = {}
        self.latency = LatencyBook()
        self.recent: deque[Finding] = deque(maxlen=SHOWN_FINDINGS)
        self.totals = dict.fromkeys(Severity, 0)
        self.frames = 0
        self._rate: deque[tuple[float, int]] = deque(maxlen=10)
        self._out = RichConsole(highlight=False)
        self._live: Live | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._log_handler: logging.Handler | None = None

    def load(self, loader: Loader) -> None:
        declare_options(loader, "ocpp_quiet", "ocpp_json_log")
        loader.add_option(  # not an option of `ocppscope proxy`: the runtime's, off in workers
            "ocpp_live",
            bool,
            True,
            "Draw the live view when stdout is a terminal (else a line per finding).",
        )

    @property
    def mode(self) -> str:
        if ctx.options.ocpp_json_log:
            return "json"
        if ctx.options.ocpp_quiet:
            return "quiet"
        return "live" if ctx.options.ocpp_live and sys.stdout.isatty() else "lines"

    def running(self) -> None:
        self._log_handler = _ConsoleLogHandler(self)
        logging.getLogger("ocppscope").addHandler(self._log_handler)
        if self.mode == "live":
            self._live = Live(
                self._render(), console=self._out, auto_refresh=False, transient=False
            )
            self._live.start()
            self._refresher = asyncio.get_running_loop().create_task(self._refresh())

    async def done(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self._live is not None:
            self._live.update(self._render(), refresh=True)
            self._live.stop()
        if self._log_handler is not None:
            logging.getLogger("ocppscope").removeHandler(self._log_handler)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            assert self._live is not None
            self._live.update(self._render(), refresh=True)

    # ---- events ------------------------------------------------------------------------------

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        station = station_from_path(flow.request.path)
        view = self.stations.setdefault(station, _StationView())
        view.connected += 1
        view.last_seen = time.time()
        view.version = connection_version(flow)
        self._event(
            "connected",
            station=station,
            peer=_peer(flow),
            subprotocol=selected_subprotocol(flow),
            ocpp_version=view.version,
        )

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        station = station_from_path(flow.request.path)
        view = self.stations.setdefault(station, _StationView())
        view.connected = max(0, view.connected - 1)
        assert flow.websocket is not None
        self._event(
            "disconnected",
            station=station,
            code=flow.websocket.close_code,
            closed_by="charger" if flow.websocket.closed_by_client else "csms",
        )

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        frame = current_frame(flow)
        self.frames += 1
        view = self.stations.setdefault(frame.station, _StationView())
        view.frames += 1
        view.last_seen = frame.received_at
        if frame.action:
            view.last_action = frame.action
        if frame.rtt is not None and frame.action is not None:
            self.latency.record(frame.action, frame.direction.reverse, frame.rtt)

    def ocpp_finding(self, finding: Finding) -> None:
        self.totals[finding.severity] += 1
        self.recent.append(finding)
        self.stations.setdefault(finding.station, _StationView()).findings += 1
        if finding.rule_id == "RPC-008" and finding.action and finding.direction:
            self.latency.timed_out(finding.action, finding.direction)
        mode = self.mode
        if mode == "json":
            self._event(
                "finding",
                station=finding.station,
                rule=finding.rule_id,
                severity=str(finding.severity),
                message=finding.message,
                action=finding.action,
                message_id=finding.message_id,
                reference=finding.reference,
                ocpp_version=finding.version,
            )
        elif mode == "lines":
            self._out.print(_finding_line(finding), soft_wrap=True)
        elif mode == "live" and self._live is not None:
            self._live.console.print(_finding_line(finding), soft_wrap=True)

    def ocpp_fault(self, event: FaultEvent) -> None:
        """Every fault rule added, applied, removed or expired, as a line (or JSON event)."""
        mode = self.mode
        if mode == "json":
            fields = event.describe()  # its kind and event would clash with the record's own
            fields["fault_kind"], fields["fault_event"] = fields.pop("kind"), fields.pop("event")
            self._event("fault", **fields)
            return
        where = " ".join(part for part in (event.station, event.action, event.message_id) if part)
        line = Text.assemble(
            f"{format_datetime(event.at)[11:23]} ",
            (f"fault {event.fault_id} {event.kind} {event.event}", "magenta"),
            f" {where}" if where else "",
            f": {event.detail}" if event.detail else "",
        )
        if mode == "lines":
            self._out.print(line, soft_wrap=True)
        elif mode == "live" and self._live is not None:
            self._live.console.print(line, soft_wrap=True)

    def warn(self, message: str) -> None:
        if self.mode == "json":
            self._event("warning", message=message)
        else:
            self._out.print(Text(f"{format_datetime(time.time())[11:19]} {message}", "yellow"))

    def _event(self, kind: str, **fields: object) -> None:
        if self.mode == "json":
            record = {"time": format_datetime(time.time()), "event": kind, **fields}
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()

    # ---- the live view -------------------------------------------------------------------------

    def _render(self) -> Group:
        now = time.time()
        self._rate.append((now, self.frames))
        first_at, first_count = self._rate[0]
        rate = (self.frames - first_count) / (now - first_at) if now > first_at else 0.0
        online = sum(1 for view in self.stations.values() if view.connected)
        header = Text.assemble(
            ("ocppscope ", "bold"),
            f"{online} stations connected · {self.frames:,} frames · ",
            f"{rate:,.1f} frames/s · findings: ",
            (f"{self.totals[Severity.ERROR]} errors", STYLE[Severity.ERROR]),
            " ",
            (f"{self.totals[Severity.WARNING]} warnings", STYLE[Severity.WARNING]),
            " ",
            (f"{self.totals[Severity.INFO]} info", STYLE[Severity.INFO]),
        )
        return Group(header, self._stations_table(), self._latency_table(), self._findings_table())

    def _stations_table(self) -> Table:
        table = Table(title="Stations (most recently active)", title_justify="left")
        for column in ("station", "version", "online", "frames", "last action", "findings"):
            table.add_column(column)
        busiest = sorted(self.stations.items(), key=lambda item: -item[1].last_seen)
        for station, view in busiest[:SHOWN_STATIONS]:
            table.add_row(
                Text(station),
                view.version or Text("-", "dim"),
                "yes" if view.connected else Text("no", "dim"),
                str(view.frames),
                view.last_action,
                str(view.findings),
            )
        return table

    def _latency_table(self) -> Table:
        table = Table(title="Round trips (ms)", title_justify="left")
        for column in ("action", "answered by", "calls", "p50", "p99", "timeouts"):
            table.add_column(column)
        for row in self.latency.rows():
            table.add_row(
                row.action,
                row.caller.reverse.sender,
                str(row.count),
                _ms(row.p50_ms),
                _ms(row.p99_ms),
                str(row.timeouts),
            )
        return table

    def _findings_table(self) -> Table:
        table = Table(title="Latest findings", title_justify="left")
        for column in ("time", "station", "rule", "finding"):
            table.add_column(column, overflow="fold")
        for finding in reversed(self.recent):
            table.add_row(
                format_datetime(finding.timestamp)[11:23],
                Text(finding.station),
                Text(finding.rule_id, STYLE[finding.severity]),
                Text(finding.message),
            )
        return table


class _ConsoleLogHandler(logging.Handler):
    """ocppscope's own messages (listening, upstream down and back) go where the user looks."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.INFO)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.warn(record.getMessage())


def _finding_line(finding: Finding) -> Text:
    """Findings quote payload paths like meterValue[0]: plain Text, never console markup. The
    station's version follows its id when it selected one (a shared rule's id does not say it)."""
    version = f" ({finding.version})" if finding.version else ""
    return Text.assemble(
        f"{format_datetime(finding.timestamp)[11:23]} ",
        (f"{finding.rule_id} {finding.severity}", STYLE[finding.severity]),
        f" {finding.station}{version}: {finding.message}",
    )


def _ms(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def _peer(flow: http.HTTPFlow) -> str | None:
    peer = flow.client_conn.peername
    return f"{peer[0]}:{peer[1]}" if peer else None


addons = [Console()]
