"""The CSMS's REST API (as the seed guide uses it), the live map and Prometheus `/metrics`, on
FastAPI.

Commands go to the station as OCPP CALLs and are answered with what the station then did: a
start answers with the transaction id once TransactionEvent Started (1.6: StartTransaction)
arrives, a stop with the final energy and cost once Ended (1.6: StopTransaction) arrives; each
command goes in the form of the station's OCPP version (csms/station.py, csms/station16.py).
Unknown charger 404, offline 409, the station refusing 422 with its reason, what its version
cannot say 422 too, no answer in time 504; FastAPI answers a malformed body with 422 naming
the field (strictly: `true` is no number, "50" no number either). Every change needs the bearer
token, every request a loopback or allowed Host (proxy/apiguard.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from ocpp.exceptions import OCPPError
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field

from csms.fleet import Fleet
from csms.metering import Usage
from csms.metrics import CsmsMetrics, RequestCounter
from csms.peer import Peer, remote_start_ids
from csms.server import OcppEndpoint
from proxy.apiguard import ApiGuard, protect
from proxy.metrics import metrics_router

STATIC = Path(__file__).with_name("static")
STREAM_KEEPALIVE = 15.0
STREAM_MIN_INTERVAL = 0.5
"""The map gets at most two fleet snapshots a second, however busy the fleet is."""


MIN_POWER_KW = 0.1
"""The smallest limit taken: below 100 W no charger draws anything, and the profile's limit in W
keeps one decimal (0.000001 W would be sent as 0)."""
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
"""JSON's own types only: `true` is no 1, "50" no 50; NaN and 1e309 (infinity) are no power."""


class StartBody(BaseModel):
    model_config = STRICT
    idToken: str = Field(min_length=1, max_length=36, description="IdToken of type Central")
    evseId: int | None = Field(default=None, ge=1, description="EVSE to start on (optional)")


class StopBody(BaseModel):
    model_config = STRICT
    transactionId: str = Field(min_length=1, max_length=36)


class PowerBody(BaseModel):
    model_config = STRICT
    maxPowerKw: float = Field(
        ge=MIN_POWER_KW, le=10_000, description="Limit in kW (0.1 to 10,000), sent in W"
    )


def create_app(endpoint: OcppEndpoint, guard: ApiGuard, command_timeout: float = 30.0) -> FastAPI:
    fleet = endpoint.fleet
    app = FastAPI(
        title="ocppscope reference CSMS",
        description="Chargers, remote start/stop and power limits over OCPP 1.6, 2.0.1 and 2.1.",
        version="0.1.0",
    )
    metrics = CsmsMetrics(fleet, CollectorRegistry())
    app.add_middleware(RequestCounter, counter=metrics.requests)
    protect(app, guard)
    app.include_router(metrics_router(metrics.registry))

    def station(charger_id: str) -> Peer:
        if charger_id not in fleet.chargers:
            raise HTTPException(404, f"unknown charger {charger_id}")
        connected = endpoint.stations.get(charger_id)
        if connected is None:
            raise HTTPException(409, f"charger {charger_id} is offline")
        return connected

    @app.get("/chargers", summary="Every charger with its live state")
    async def chargers() -> list[dict[str, Any]]:
        return fleet.snapshot()

    @app.get("/chargers/{charger_id}", summary="One charger: status, power kW, session energy kWh")
    async def charger(charger_id: str) -> dict[str, Any]:
        found = fleet.chargers.get(charger_id)
        if found is None:
            raise HTTPException(404, f"unknown charger {charger_id}")
        return found.as_json()

    @app.post(
        "/chargers/{charger_id}/start",
        summary="RequestStartTransaction (1.6: RemoteStartTransaction)",
    )
    async def start(charger_id: str, body: StartBody) -> dict[str, Any]:
        target = station(charger_id)
        remote_start_id = next(remote_start_ids)
        started = fleet.expect_start(charger_id, remote_start_id)
        try:
            answer = await _command(
                target.request_start(body.idToken, body.evseId, remote_start_id), command_timeout
            )
            _require_accepted(answer, target.names.start)
            usage = await _wait(started, command_timeout, target.names.started)
        finally:
            fleet.forget(started)
        return {
            "transactionId": usage.transaction_id,
            "remoteStartId": remote_start_id,
            "startTime": _iso(usage),
        }

    @app.post(
        "/chargers/{charger_id}/stop", summary="RequestStopTransaction (1.6: RemoteStopTransaction)"
    )
    async def stop(charger_id: str, body: StopBody) -> dict[str, Any]:
        target = station(charger_id)
        ended = fleet.expect_end(charger_id, body.transactionId)
        try:
            answer = await _command(target.request_stop(body.transactionId), command_timeout)
            _require_accepted(answer, target.names.stop)
            usage = await _wait(ended, command_timeout, target.names.ended)
        finally:
            fleet.forget(ended)
        return {
            "transactionId": usage.transaction_id,
            "energyKwh": usage.energy_kwh,
            "cost": usage.cost,
            "durationSeconds": usage.duration_seconds,
            "stoppedReason": usage.stopped_reason,
        }

    @app.patch("/chargers/{charger_id}/power", summary="SetChargingProfile with a power limit")
    async def power(charger_id: str, body: PowerBody) -> dict[str, Any]:
        target = station(charger_id)
        running = fleet.chargers[charger_id].transaction_id
        evse_id = (
            endpoint.ledger.transaction(charger_id, running).usage(0).evse_id if running else None
        )
        answer = await _command(
            target.limit_power(body.maxPowerKw, running, evse_id or 1), command_timeout
        )
        _require_accepted(answer, "SetChargingProfile")
        return {
            "status": answer.status,
            "chargingProfilePurpose": "TxProfile" if running else "TxDefaultProfile",
            "transactionId": running,
            "limitW": round(body.maxPowerKw * 1000, 1),
        }

    @app.get("/events", summary="Server-sent events: the fleet whenever it changes")
    async def events(request: Request) -> StreamingResponse:
        return StreamingResponse(_fleet_stream(fleet, request), media_type="text/event-stream")

    @app.get("/", include_in_schema=False)
    async def map_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _fleet_stream(fleet: Fleet, request: Request) -> AsyncIterator[str]:
    seen = -1
    while not await request.is_disconnected():
        version = await fleet.wait_change(seen, STREAM_KEEPALIVE)
        if version == seen:
            yield ": keep-alive\n\n"
            continue
        seen = version
        yield f"event: fleet\ndata: {json.dumps(fleet.snapshot())}\n\n"
        await asyncio.sleep(STREAM_MIN_INTERVAL)


async def _command(call: Any, timeout: float) -> Any:
    try:
        return await asyncio.wait_for(call, timeout)
    except TimeoutError:
        raise HTTPException(504, "the station did not answer in time") from None
    except ValueError as error:  # what the station's OCPP version cannot say (csms/station16.py)
        raise HTTPException(422, str(error)) from None
    except OCPPError as error:
        raise HTTPException(
            422, f"the station answered with CALLERROR {error.code}: {error.description}"
        ) from None


def _require_accepted(answer: Any, action: str) -> None:
    if answer.status != "Accepted":
        info = getattr(answer, "status_info", None) or {}  # OCPP 1.6 answers have none
        reason = info.get("reason_code") or info.get("additional_info") or "no reason given"
        raise HTTPException(422, f"the station answered {action} with {answer.status} ({reason})")


async def _wait(future: asyncio.Future[Usage], timeout: float, what: str) -> Usage:
    try:
        return await asyncio.wait_for(asyncio.shield(future), timeout)
    except TimeoutError:
        raise HTTPException(504, f"the station accepted but sent no {what} in time") from None


def _iso(usage: Usage) -> str:
    return usage.start_time.isoformat().replace("+00:00", "Z")
