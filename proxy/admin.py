"""HTTP on the running event loop: `HttpServer` serves a FastAPI app with uvicorn (the proxy's
admin API, the CSMS's REST API and map, the simulator's control API), and `admin_app` is the
proxy's admin API (default 127.0.0.1:9464): `/healthz`, the fault rules at `/faults`, Prometheus
`/metrics`, documented at `/docs`. Its handlers only read state or change the fault rules
(microseconds), and `/metrics` renders in a thread, so they never hold the forwarding loop up.
Every path is behind proxy/apiguard.py: loopback or allowed Host names, bounded bodies, and with
a token, changes (POST/DELETE /faults) need it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from typing import Annotated, Any, Protocol

import uvicorn
from fastapi import APIRouter, Body, FastAPI, HTTPException, Query

from proxy.apiguard import ApiGuard, protect
from proxy.faults.kinds import FaultError
from proxy.faults.record import FaultEvent
from proxy.faults.rules import FaultRule
from proxy.faults.spec import FaultSpec, parse_spec
from proxy.settings import Endpoint

START_TIMEOUT = 5.0
EVENTS_SHOWN = 1000
MAX_DETAIL = 300
"""Characters of a refusal's detail."""


class FaultControl(Protocol):
    """What `/faults` needs of whoever applies the fault rules (the faults addon): the API is
    below the addons, so it names the capability, not the addon."""

    recent: Sequence[FaultEvent]
    retired: Sequence[FaultRule]
    applied: Counter[str]

    def rules(self) -> list[FaultRule]: ...
    def add(self, spec: FaultSpec) -> FaultRule: ...
    def remove(self, rule_id: int) -> FaultRule | None: ...
    def clear(self) -> list[FaultRule]: ...


def admin_app(
    health: Callable[[], dict[str, Any]],
    faults: FaultControl | None = None,
    token: str | None = None,
    metrics: APIRouter | None = None,
) -> FastAPI:
    app = FastAPI(
        title="ocppscope proxy admin",
        description="Health of the proxy and its store; the fault rules (`/faults`). Changes "
        "(POST, DELETE) need `Authorization: Bearer TOKEN`.",
        version="0.1.0",
    )
    protect(app, ApiGuard(token))
    started = time.time()

    @app.get("/healthz", summary="Proxy and store health")
    async def healthz() -> dict[str, Any]:
        """`status` is `ok`, or `degraded` while the store cannot write (frames are still
        forwarded). `store`: queue depth, write lag p50/p99 in ms over the latest 10,000
        rows, rows written per table, rows discarded because the buffer was full."""
        return {"uptime_seconds": round(time.time() - started, 1), **health()}

    if faults is not None:
        app.include_router(fault_routes(faults))
    if metrics is not None:
        app.include_router(metrics)  # read-only, like /healthz: no token
    return app


def fault_routes(faults: FaultControl) -> APIRouter:
    """GET/POST/DELETE /faults: the rules a running proxy applies (see docs/faults.md "Fault
    injection" for the fields), and the latest fault events."""
    router = APIRouter(prefix="/faults", tags=["faults"])

    @router.get("", summary="Live rules and the latest fault events")
    async def list_faults(events: int = Query(100, ge=0, le=EVENTS_SHOWN)) -> dict[str, Any]:
        recent = list(faults.recent)[-events:] if events else []
        return {
            "rules": [rule.describe() for rule in faults.rules()],
            "retired": [rule.describe() for rule in faults.retired],
            "applied": dict(faults.applied),
            "events": [event.describe() for event in recent],
        }

    @router.post("", status_code=201, summary="Add a rule")
    async def add_fault(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """A JSON object: `kind` and the selector, probability, lifetime and parameters."""
        try:
            return faults.add(parse_spec(body)).describe()
        except FaultError as exc:  # its line may quote a value as long as the body: not all of it
            detail = str(exc)
            cut = detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 1] + "…"
            raise HTTPException(422, cut) from None

    @router.delete("/{rule_id}", summary="Remove one rule")
    async def remove_fault(rule_id: int) -> dict[str, Any]:
        rule = faults.remove(rule_id)
        if rule is None:
            raise HTTPException(404, f"no fault rule {rule_id}")
        return rule.describe()

    @router.delete("", summary="Remove every rule")
    async def clear_faults() -> dict[str, Any]:
        return {"removed": [rule.id for rule in faults.clear()]}

    return router


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """The proxy handles SIGINT/SIGTERM itself (it drains before exiting)."""
        yield


class HttpServer:
    """A FastAPI app served by uvicorn on the running event loop (the proxy's admin API, the
    CSMS's REST API and map)."""

    def __init__(self, app: FastAPI, endpoint: Endpoint, option: str = "--admin") -> None:
        self.endpoint = endpoint
        self.option = option
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=2,  # event streams stay open until told to stop
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None
        self.port = endpoint.port

    async def start(self) -> None:
        """Bind (OSError, in one line, when the port is taken) and serve in the background."""
        try:
            sock = socket.create_server((self.endpoint.host, self.endpoint.port), reuse_port=False)
        except OSError as exc:
            raise OSError(
                f"cannot listen on {self.endpoint.host}:{self.endpoint.port}: "
                f"{exc.strerror or exc} (see {self.option})"
            ) from None
        self.port = sock.getsockname()[1]
        self._task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[sock]), name="admin http"
        )
        for _ in range(int(START_TIMEOUT / 0.01)):
            if self._server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._task, START_TIMEOUT)
