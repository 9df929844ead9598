"""HTTP on the running event loop: `HttpServer` serves a FastAPI app with uvicorn (the proxy's
admin API, the CSMS's REST API and map), and `admin_app` is the proxy's admin API (default
127.0.0.1:9464): `/healthz` now, faults and metrics later, documented at `/docs`. Its handlers
only read state, so they never hold the forwarding loop up."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Generator
from typing import Any

import uvicorn
from fastapi import FastAPI

from proxy.settings import Endpoint

START_TIMEOUT = 5.0


def admin_app(health: Callable[[], dict[str, Any]]) -> FastAPI:
    app = FastAPI(
        title="ocppscope proxy admin",
        description="Health of the proxy and its store.",
        version="0.1.0",
    )
    started = time.time()

    @app.get("/healthz", summary="Proxy and store health")
    async def healthz() -> dict[str, Any]:
        """`status` is `ok`, or `degraded` while the store cannot write (frames are still
        forwarded). `store`: queue depth, write lag p50/p99 in ms over the latest 10,000
        rows, rows written per table, rows discarded because the buffer was full."""
        return {"uptime_seconds": round(time.time() - started, 1), **health()}

    return app


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
