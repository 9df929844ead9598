"""The lab's HTTP APIs as the scenarios use them: the reference CSMS's REST API (the guide's
server commands) and the proxy's admin API (faults, and whether the store has written
everything). Blocking urllib, called from a thread."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from proxy.apiguard import known_token
from proxy.faults.client import AdminClient, AdminError

TIMEOUT = 60.0
"""Seconds a REST command may take: the CSMS waits up to its --command-timeout for the station."""
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StepFailed(Exception):
    """One line: a step of a scenario the lab did not do."""


@dataclass(frozen=True, slots=True)
class CsmsClient:
    url: str
    """The reference CSMS's REST API, e.g. http://127.0.0.1:8080."""
    token: str | None = None
    """Its bearer token; None: OCPPSCOPE_API_TOKEN, else the data directory's."""

    async def get(self, path: str) -> Any:
        return await asyncio.to_thread(self._request, "GET", path, None)

    async def post(self, path: str, body: Any) -> Any:
        return await asyncio.to_thread(self._request, "POST", path, body)

    async def patch(self, path: str, body: Any) -> Any:
        return await asyncio.to_thread(self._request, "PATCH", path, body)

    def _request(self, method: str, path: str, body: Any) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url.rstrip('/')}{path}", data, method=method)
        request.add_header("Content-Type", "application/json")
        token = self.token or known_token()
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with _DIRECT.open(request, timeout=TIMEOUT) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            try:
                detail = json.loads(error.read()).get("detail")
            except (ValueError, AttributeError):
                detail = error.reason
            raise StepFailed(f"{method} {path} answered {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise StepFailed(f"cannot reach the CSMS's REST API at {self.url}: {reason}") from None


FLUSH_TIMEOUT = 30.0
FLUSH_POLL = 0.1


async def store_flushed(admin: AdminClient) -> None:
    """Wait until every proxy worker's store has written what it was given and stopped
    counting up: the checks read the database, not the proxy."""
    deadline = time.monotonic() + FLUSH_TIMEOUT
    previous = None
    while time.monotonic() < deadline:
        try:
            health = await asyncio.to_thread(admin.each, "GET", "/healthz")
        except AdminError as error:
            raise StepFailed(str(error)) from None
        stores = [h.get("store", {}) for h in health]
        if not all(s.get("enabled") for s in stores):
            raise StepFailed(
                f"the proxy at {admin.url} does not store frames (--no-store): the scenarios "
                "are verified from its database"
            )
        written = [s.get("written") for s in stores]
        if all(s.get("queue_depth") == 0 for s in stores) and written == previous:
            return
        previous = written
        await asyncio.sleep(FLUSH_POLL)
    raise StepFailed(f"the proxy's store did not catch up within {FLUSH_TIMEOUT:g} s")
