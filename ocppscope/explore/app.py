"""The explorer's web app: two pages (the stations, one station's conversation), their JSON
API, a server-sent event stream of a station's new frames, and the exports.

Every route is read-only, behind the same guard as the other APIs (`proxy.apiguard`): a foreign
Host header is 421 on every path, static files included.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from csms.api import STATIC as CSMS_STATIC
from ocppscope.explore import queries
from ocppscope.explore.export import capture_text, findings_report
from ocppscope.explore.ladder import backoff_waits, build_ladder
from proxy.apiguard import ApiGuard, protect

STATIC = Path(__file__).with_name("static")
PAGE = 250
"""Frames per page: the newest first, earlier ones on demand, so a conversation of 10,000 frames
opens as fast as one of 250 (measured by tests/explore/test_large.py, see docs/explore.md)."""
MAX_PAGE = 5_000
POLL = 0.5
"""Seconds between the live stream's looks at the database: new frames show within this plus
the store's write delay (tens of milliseconds)."""
LOOKBACK = 5.0
"""Seconds before the newest frame seen that each look covers again: with several proxy workers
(or a batch committed late) a row may be committed after a later one, and is still sent."""
LIVE_LIMIT = 2_000
"""The newest frames each look takes: a station sending more than this in LOOKBACK seconds has
the rest shown on the next load, never holds the stream up."""
KEEPALIVE = 15.0
EXPORT_TYPES = {
    "capture": ("application/x-ndjson", "jsonl"),
    "json": ("application/json", "json"),
    "junit": ("application/xml", "xml"),
}

Since = Annotated[datetime | None, Query(alias="from", description="Start of the range (UTC).")]
Until = Annotated[datetime | None, Query(alias="to", description="End of the range (UTC).")]


def create_app(pool: asyncpg.Pool, guard: ApiGuard) -> FastAPI:
    app = FastAPI(
        title="ocppscope explore",
        description="Stations and their conversations, from the proxy's database.",
        version="0.1.0",
    )
    protect(app, guard)

    @app.get("/", include_in_schema=False)
    async def stations_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/stations/{station}", include_in_schema=False)
    async def station_page(station: str) -> FileResponse:
        return FileResponse(STATIC / "station.html")

    @app.get("/api/stations", summary="Every station seen, with its state and finding counts")
    async def stations(
        match: Annotated[str | None, Query(description="Part of the station id.")] = None,
        rule: Annotated[
            str | None, Query(description="Only stations with this rule's findings.")
        ] = None,
    ) -> list[dict[str, Any]]:
        async with pool.acquire() as connection:
            return await queries.stations(connection, match, rule)

    @app.get("/api/stations/{station}", summary="A page of the station's ladder")
    async def station(
        station: str,
        since: Since = None,
        until: Until = None,
        before: Annotated[str | None, Query(description="Key of the page's next frame.")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE,
    ) -> dict[str, Any]:
        since, until = _utc(since), _utc(until)
        position = _position(before)
        async with pool.acquire() as connection:
            frames = await queries.frames_before(
                connection, station, position, since, until, limit + 1
            )
            earlier = len(frames) > limit
            frames = frames[1:] if earlier else frames
            low = queries.Position.parse(frames[0].key).at if earlier and frames else since
            high = position.at if position else until
            findings = await queries.findings(connection, station, low, high)
            faults = await queries.faults(connection, station, low, high)
            events = await queries.connections(connection, station, since, until)
        if not frames and not events and position is None:
            raise HTTPException(404, f"no frames or connections of {station!r} in this range")
        return {
            "station": station,
            "connections": _connections(events) if position is None else None,
            "rungs": [rung.as_json() for rung in build_ladder(frames, findings, faults)],
            "earlier": frames[0].key if earlier else None,
        }

    @app.get("/api/stations/{station}/frames/{key}", summary="One frame with its text")
    async def frame(station: str, key: str) -> dict[str, Any]:
        _position(key)
        async with pool.acquire() as connection:
            found = await queries.frame(connection, station, key)
        if found is None:
            raise HTTPException(404, "no such frame")
        return found

    @app.get("/api/stations/{station}/live", summary="Server-sent events: new rungs")
    async def live(
        station: str, request: Request, since: Since = None, after: str | None = None
    ) -> StreamingResponse:
        position = _position(after)
        start = position.at.timestamp() if position else time.time()
        stream = _live(pool, station, request, start, _utc(since))
        return StreamingResponse(stream, media_type="text/event-stream")

    @app.get("/api/stations/{station}/export", summary="The range as a capture or findings")
    async def export(
        station: str,
        since: Since = None,
        until: Until = None,
        output_format: Annotated[
            Literal["capture", "json", "junit"], Query(alias="format")
        ] = "capture",
    ) -> PlainTextResponse:
        async with pool.acquire() as connection:
            rows = await queries.capture_rows(connection, station, _utc(since), _utc(until))
        capture = capture_text(rows, station)
        body = (
            capture
            if output_format == "capture"
            else await asyncio.to_thread(findings_report, capture, output_format)
        )
        media, suffix = EXPORT_TYPES[output_format]
        name = f"{_file_safe(station)}-{output_format}.{suffix}"
        return PlainTextResponse(
            body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/static/dom.js", include_in_schema=False)
    async def dom_js() -> FileResponse:
        """The map's element builders, shared rather than copied."""
        return FileResponse(CSMS_STATIC / "dom.js")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def _position(key: str | None) -> queries.Position | None:
    if key is None:
        return None
    try:
        return queries.Position.parse(key)
    except ValueError:
        raise HTTPException(422, f"not a frame key: {key!r}") from None


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "station"


def _connections(events: list[queries.ConnectionEvent]) -> list[dict[str, Any]]:
    return [
        {
            "at": event.at,
            "event": event.event,
            "connection": event.connection_id,
            "subprotocol": event.subprotocol,
            "remote": event.remote_address,
            "code": event.close_code,
            "closedBy": event.closed_by,
            "httpStatus": event.http_status,
            "waitS": wait,
        }
        for event, wait in zip(events, backoff_waits(events), strict=True)
    ]


async def _live(
    pool: asyncpg.Pool, station: str, request: Request, start: float, since: datetime | None
) -> AsyncIterator[str]:
    """Every POLL: the rungs of the last LOOKBACK seconds that are new or have new findings or
    faults, and the connection list (from `since`) when it changed. The page replaces rungs by
    key."""
    newest = start
    sent: dict[str, tuple[int, float]] = {}
    known_events = -1
    quiet = 0.0
    while not await request.is_disconnected():
        window = queries.moment(newest - LOOKBACK)
        async with pool.acquire() as connection:
            frames = await queries.frames_before(
                connection, station, None, window, None, LIVE_LIMIT
            )
            findings = await queries.findings(connection, station, window, None)
            faults = await queries.faults(connection, station, window, None)
            events = await queries.connections(connection, station, since, None)
        fresh = []
        for rung in build_ladder(frames, findings, faults):
            seen = (len(rung.findings) + len(rung.faults), rung.at)
            if sent.get(rung.key) != seen:
                sent[rung.key] = seen
                fresh.append(rung.as_json())
            newest = max(newest, rung.at)
        if len(events) != known_events:
            known_events = len(events)
            yield f"event: connections\ndata: {json.dumps(_connections(events))}\n\n"
        if fresh:
            quiet = 0.0
            yield f"event: rungs\ndata: {json.dumps(fresh)}\n\n"
        elif quiet >= KEEPALIVE:
            quiet = 0.0
            yield ": keep-alive\n\n"
        horizon = newest - LOOKBACK - 1.0
        sent = {key: seen for key, seen in sent.items() if seen[1] >= horizon}
        await asyncio.sleep(POLL)
        quiet += POLL
