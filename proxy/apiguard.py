"""The guard of every HTTP API ocppscope serves (the proxy's admin API, the reference CSMS's REST
API): whoever reaches the port must still not change anything, nor reach it from a browser tab.

- Host: only loopback names (localhost, 127.0.0.1, [::1], any port) and the hosts configured in
  `OCPPSCOPE_ALLOWED_HOSTS` (comma-separated); anything else is 421, so a page that rebinds its
  own DNS name to 127.0.0.1 reaches nothing.
- Token: POST, PUT, PATCH and DELETE need `Authorization: Bearer <token>` (scheme in any case,
  compared in constant time), else exactly 401. GETs stay open.
- Body: more than `max_body` bytes is 413, before the app reads any of it.
- Validation errors (422) name the field and the rule, never the input (which may be huge, or
  NaN, which JSON cannot render).

The token is `OCPPSCOPE_API_TOKEN`, else the one in the data directory, made at first start
(`api_token`); clients on the same machine read it the same way (`known_token`)."""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from proxy.settings import data_dir

TOKEN_ENV = "OCPPSCOPE_API_TOKEN"
HOSTS_ENV = "OCPPSCOPE_ALLOWED_HOSTS"
TOKEN_FILE = "api-token"
MAX_BODY = 64 * 1024
"""Bytes of a request body: the largest body any of these APIs takes is a fault rule (< 1 KiB)."""
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
GUARDED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def token_path(directory: Path | None = None) -> Path:
    return (directory or data_dir()) / TOKEN_FILE


def known_token(directory: Path | None = None) -> str | None:
    """The token a client sends: `OCPPSCOPE_API_TOKEN`, else the data directory's, else None."""
    given = os.environ.get(TOKEN_ENV)
    if given:
        return given
    try:
        return token_path(directory).read_text().strip() or None
    except OSError:
        return None


def api_token(directory: Path | None = None) -> str:
    """The token a server requires: as `known_token`, made (readable by its owner only) and
    kept in the data directory when there is none yet."""
    known = known_token(directory)
    if known:
        return known
    path = token_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token


def allowed_hosts(configured: str | None = None) -> frozenset[str]:
    """Loopback names plus `configured` (default: `OCPPSCOPE_ALLOWED_HOSTS`), comma-separated."""
    text = os.environ.get(HOSTS_ENV, "") if configured is None else configured
    extra = {_host_name(part) for part in text.split(",") if part.strip()}
    return LOOPBACK_NAMES | extra


def _host_name(host: str) -> str:
    """The name in a Host header or a configured host: no port, no brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        host = name
    return host.rstrip(".")


@dataclass(frozen=True, slots=True)
class ApiGuard:
    token: str | None
    """What POST/PUT/PATCH/DELETE need; None only for an API a test or an embedding program
    serves on loopback itself (every `ocppscope` command gives one)."""
    hosts: frozenset[str] = field(default_factory=allowed_hosts)
    max_body: int = MAX_BODY

    def host_allowed(self, host: str | None) -> bool:
        return host is not None and _host_name(host) in self.hosts

    def authorized(self, authorization: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, given = (authorization or "").strip().partition(" ")
        # bytes: compare_digest refuses str with non-ASCII characters (a 500, not a 401)
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8", "surrogateescape"), self.token.encode()
        )


class GuardMiddleware:
    """ASGI middleware applying an ApiGuard to every HTTP request, before routing."""

    def __init__(self, app: Asgi, guard: ApiGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        guard = self.guard
        if not guard.host_allowed(headers.get("host")):
            await _refuse(
                send,
                421,
                "this API answers only on localhost or an allowed host name "
                f"(add the name to {HOSTS_ENV})",
            )
            return
        if scope["method"] in GUARDED_METHODS and not guard.authorized(
            headers.get("authorization")
        ):
            await _refuse(
                send,
                401,
                f"this API needs Authorization: Bearer <token> (the token: {TOKEN_ENV}, or the "
                "file api-token in the data directory)",
                {"www-authenticate": "Bearer"},
            )
            return
        length = headers.get("content-length", "")
        if length and (not length.isdigit() or int(length) > guard.max_body):
            await _refuse(send, 413, f"the request body is larger than {guard.max_body} bytes")
            return
        body = await _read_body(receive, guard.max_body)
        if body is None:
            await _refuse(send, 413, f"the request body is larger than {guard.max_body} bytes")
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when it grows past `limit` (a chunked body has no length)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then whatever comes next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(
    send: Send, status: int, detail: str, extra: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.encode(), value.encode()) for name, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 without the input it echoes (a 100 MB body, NaN that JSON cannot render)."""
    assert isinstance(error, RequestValidationError)
    detail = [
        {"type": item.get("type"), "loc": list(item.get("loc", ())), "msg": item.get("msg")}
        for item in error.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


def protect(app: FastAPI, guard: ApiGuard) -> None:
    """Put `guard` in front of every route of `app`, and its 422s without the input."""
    app.add_middleware(GuardMiddleware, guard=guard)
    app.add_exception_handler(RequestValidationError, _validation_error)
