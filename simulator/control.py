"""The simulator's control surface: a small HTTP API (default 127.0.0.1:9002, `--control`) to
steer stations while the fleet runs: plug an EV in, start or stop a session, unplug, fault or
repair an EVSE, drop a station's connection. Scenarios and people use the same endpoints; the
OpenAPI page is at /docs. Bodies and answers are JSON in camelCase, like the CSMS's API; behind
the same guard (token for changes, Host check, bounded bodies: proxy/apiguard.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, HTTPException
from pydantic import BaseModel, Field

from proxy.apiguard import ApiGuard, protect
from simulator.evse import Evse
from simulator.station import SimulatedStation

StopReason = Literal["Local", "Remote", "EVDisconnected", "EnergyLimitReached", "Other"]


class StartBody(BaseModel):
    idToken: str = Field(default="SIM-TAG", min_length=1, max_length=36)
    seconds: float | None = Field(
        default=None, gt=0, description="End after this many simulated s."
    )
    targetKwh: float | None = Field(default=None, gt=0, description="The EV's need; power tapers.")


class StopBody(BaseModel):
    reason: StopReason = "Local"


def evse_view(evse: Evse) -> dict[str, Any]:
    session = evse.session
    return {
        "id": evse.number,
        "status": evse.connector_status,
        "plugged": evse.plugged,
        "operative": evse.operative,
        "transactionId": session.transaction_id if session else None,
        "powerKw": round(evse.power_kw, 3),
        "sessionKwh": round(evse.meter.session_kwh, 4) if session else None,
    }


def station_view(station: SimulatedStation) -> dict[str, Any]:
    return {
        "id": station.spec.id,
        "profile": station.spec.profile,
        "protocol": station.spec.protocol,
        "connected": station.connected,
        "charging": station.charging,
        "powerKw": round(station.power_kw, 3),
        "registerKwh": round(station.register_wh / 1000, 4),
        "queued": station.queued,
        "reconnects": station.reconnects,
        "boots": station.boots,
        "evses": [evse_view(evse) for evse in station.evses.values()],
    }


def control_app(stations: Mapping[str, SimulatedStation], guard: ApiGuard) -> FastAPI:
    app = FastAPI(
        title="ocppscope simulator control",
        description="Steer the simulated stations while the fleet runs. Changes (POST) need "
        "`Authorization: Bearer TOKEN`.",
        version="0.1.0",
    )
    protect(app, guard)

    def find(station_id: str) -> SimulatedStation:
        if station_id not in stations:
            raise HTTPException(404, f"no simulated station {station_id!r}")
        return stations[station_id]

    def find_evse(station_id: str, evse: int) -> tuple[SimulatedStation, Evse]:
        station = find(station_id)
        try:
            return station, station.evse(evse)
        except KeyError as exc:
            raise HTTPException(404, exc.args[0]) from None

    @app.get("/stations", summary="Every station, its EVSEs and their state")
    async def list_stations() -> list[dict[str, Any]]:
        return [station_view(station) for station in stations.values()]

    @app.get("/stations/{station_id}", summary="One station")
    async def get_station(station_id: str) -> dict[str, Any]:
        return station_view(find(station_id))

    @app.post("/stations/{station_id}/evses/{evse}/plug-in", summary="An EV plugs in")
    async def plug_in(station_id: str, evse: int) -> dict[str, Any]:
        """Occupied; the EV waits for a start (here or RequestStartTransaction). 409 if an EV
        is already plugged in."""
        station, state = find_evse(station_id, evse)
        if not station.plug_in(evse):
            raise HTTPException(409, f"an EV is already plugged in at EVSE {evse}")
        return evse_view(state)

    @app.post("/stations/{station_id}/evses/{evse}/start", summary="Start a session")
    async def start(
        station_id: str, evse: int, body: Annotated[StartBody | None, Body()] = None
    ) -> dict[str, Any]:
        """Authorize the token and charge (plugging an EV in if none is). 409 when the EVSE is
        busy, faulted or unavailable; 403 when the CSMS refuses the token."""
        station, state = find_evse(station_id, evse)
        body = body or StartBody()
        if not state.free:
            raise HTTPException(409, f"EVSE {evse} is {state.connector_status.lower()}")
        transaction_id = await station.plug_in_and_charge(
            body.idToken, body.seconds, evse=evse, target_kwh=body.targetKwh
        )
        if transaction_id is None:
            raise HTTPException(403, f"the CSMS did not accept idToken {body.idToken!r}")
        return {"transactionId": transaction_id, **evse_view(state)}

    @app.post("/stations/{station_id}/evses/{evse}/stop", summary="Stop the session")
    async def stop(
        station_id: str, evse: int, body: Annotated[StopBody | None, Body()] = None
    ) -> dict[str, Any]:
        """End the session (stoppedReason `reason`, default Local); 409 if none runs."""
        station, state = find_evse(station_id, evse)
        session = state.session
        energy = await station.stop_charging((body or StopBody()).reason, evse)
        if session is None or energy is None:
            raise HTTPException(409, f"no session at EVSE {evse}")
        return {"transactionId": session.transaction_id, "energyKwh": round(energy, 4)}

    @app.post("/stations/{station_id}/evses/{evse}/unplug", summary="The EV leaves")
    async def unplug(station_id: str, evse: int) -> dict[str, Any]:
        """A running session ends with EVDisconnected; 409 if no EV is plugged in."""
        station, state = find_evse(station_id, evse)
        if not await station.unplug(evse):
            raise HTTPException(409, f"no EV is plugged in at EVSE {evse}")
        return evse_view(state)

    @app.post("/stations/{station_id}/evses/{evse}/fault", summary="The EVSE fails")
    async def fault(station_id: str, evse: int) -> dict[str, Any]:
        """Faulted; a running session ends (stoppedReason Other)."""
        station, state = find_evse(station_id, evse)
        await station.fault(evse)
        return evse_view(state)

    @app.post("/stations/{station_id}/evses/{evse}/repair", summary="The fault is cleared")
    async def repair(station_id: str, evse: int) -> dict[str, Any]:
        station, state = find_evse(station_id, evse)
        station.repair(evse)
        return evse_view(state)

    @app.post("/stations/{station_id}/disconnect", summary="Drop the connection")
    async def disconnect(station_id: str) -> dict[str, Any]:
        """Reset the TCP connection as a network failure would; the station backs off and
        reconnects. 409 when it has no connection."""
        station = find(station_id)
        if not station.drop_connection():
            raise HTTPException(409, f"{station_id} has no connection")
        return station_view(station)

    return app
