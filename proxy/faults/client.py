"""Talking to running proxies' admin APIs about faults (the `ocppscope fault` commands and fault
plans run from the command line). With `--workers N` a proxy is N processes, each with its own
admin port (PORT, PORT+1, ...) and its own rules: the client finds them through /healthz and
sends every change to all of them."""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from proxy.apiguard import known_token

TIMEOUT = 10.0
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""For a proxy on this machine: never through http_proxy (urllib's default honours it even for
127.0.0.1, and the proxy it goes to then looks like a proxy that is not running)."""
_DEFAULT = urllib.request.build_opener()


class AdminError(Exception):
    """One line: what went wrong talking to the proxy. `bad_request` when the proxy refused
    what was asked (a 4xx), otherwise the proxy could not be reached or failed."""

    def __init__(self, message: str, bad_request: bool = False) -> None:
        super().__init__(message)
        self.bad_request = bad_request


@dataclass(frozen=True, slots=True)
class AdminClient:
    url: str
    """The admin API of the proxy (its first worker), e.g. http://127.0.0.1:9464."""
    token: str | None = None
    """None: OCPPSCOPE_API_TOKEN, else the data directory's (proxy/apiguard.py)."""

    def workers(self) -> list[str]:
        """The admin URL of every worker of the proxy."""
        health = self._request(self.url, "GET", "/healthz")
        parts = urlsplit(self.url)
        count = int(health.get("workers", 1)) if isinstance(health, dict) else 1
        if count <= 1 or parts.port is None:
            return [self.url]
        return [
            urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port + index}"))
            for index in range(count)
        ]

    def each(self, method: str, path: str, body: Any = None) -> list[Any]:
        """The same request to every worker; their answers in worker order."""
        return [self._request(url, method, path, body) for url in self.workers()]

    def _request(self, base: str, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{base.rstrip('/')}{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        token = self.token or known_token()
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            opener = _DIRECT if _loopback(urlsplit(base).hostname or "") else _DEFAULT
            with opener.open(request, timeout=TIMEOUT) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise AdminError(_detail(error), bad_request=400 <= error.code < 500) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise AdminError(
                f"cannot reach the proxy's admin API at {base}: {reason} "
                "(is `ocppscope proxy` running? see --admin)"
            ) from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read()).get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):  # FastAPI's validation errors
        detail = "; ".join(str(item.get("msg", item)) for item in detail)
    return f"the proxy answered {error.code}: {detail or error.reason}"
