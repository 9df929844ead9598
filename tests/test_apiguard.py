"""proxy/apiguard.py without a server: the token's sources and its file, Host names, the bearer
check, and the middleware driven as ASGI (what each refusal answers, and that an allowed request
reaches the app with its body whole)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from proxy.apiguard import (
    HOSTS_ENV,
    TOKEN_ENV,
    ApiGuard,
    GuardMiddleware,
    allowed_hosts,
    api_token,
    known_token,
)


@pytest.fixture(autouse=True)
def _no_configured_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(HOSTS_ENV, raising=False)


def test_a_token_is_made_once_kept_private_and_read_back(tmp_path: Path) -> None:
    assert known_token(tmp_path) is None
    made = api_token(tmp_path)
    assert len(made) >= 32
    assert (tmp_path / "api-token").stat().st_mode & 0o777 == 0o600
    assert api_token(tmp_path) == made == known_token(tmp_path)


def test_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api_token(tmp_path)
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    assert api_token(tmp_path) == known_token(tmp_path) == "from-env"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("LocalHost:8080", True),
        ("127.0.0.1", True),
        ("127.0.0.1:9464", True),
        ("[::1]:8080", True),
        ("[::1]", True),
        ("csms:8080", True),  # configured
        ("localhost.", True),
        (None, False),
        ("", False),
        ("evil.example", False),
        ("127.0.0.1.evil.example", False),
        ("localhost.evil.example:80", False),
        ("[::2]:80", False),
        ("10.0.0.1", False),
    ],
)
def test_host_names(host: str | None, allowed: bool) -> None:
    guard = ApiGuard("t", allowed_hosts(" csms , Proxy"))
    assert guard.host_allowed(host) is allowed


def test_configured_hosts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOSTS_ENV, "lab.example:80,[fd00::1]")
    assert ApiGuard("t").host_allowed("lab.example:8080")
    assert ApiGuard("t").host_allowed("[fd00::1]:9464")


@pytest.mark.parametrize(
    ("authorization", "ok"),
    [
        ("Bearer s3cret", True),
        ("bearer s3cret", True),
        ("BEARER  s3cret ", True),
        ("Bearer s3cre", False),
        ("Bearer s3cret2", False),
        ("Basic s3cret", False),
        ("s3cret", False),
        ("Bearer", False),
        ("", False),
        (None, False),
        ("Bearer s\u00e9cret", False),
        ("Bearer \udcff", False),
    ],
)
def test_the_bearer_check(authorization: str | None, ok: bool) -> None:
    assert ApiGuard("s3cret").authorized(authorization) is ok


class App:
    """An ASGI app that records the body it was given and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def exchange(
    guard: ApiGuard, method: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict[str, Any] | None, App]:
    """One request through the middleware; its status, JSON detail (refusals) and the app."""
    app = App()
    scope = {
        "type": "http",
        "method": method,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks or [b""])
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(GuardMiddleware(app, guard)(scope, receive, send))
    status = sent[0]["status"]
    body = sent[1]["body"]
    return status, (json.loads(body) if status != 200 else None), app


def test_the_middleware_refuses_in_order_and_passes_the_rest() -> None:
    guard = ApiGuard("tok", max_body=10)
    right = {"Host": "localhost:8080", "Authorization": "Bearer tok"}
    status, detail, app = exchange(guard, "POST", {**right, "Host": "x.example"}, [b"{}"])
    assert (status, app.bodies) == (421, [])
    assert detail is not None and "OCPPSCOPE_ALLOWED_HOSTS" in detail["detail"]
    status, _, app = exchange(guard, "DELETE", {"Host": "localhost"}, [])
    assert (status, app.bodies) == (401, [])
    status, _, app = exchange(guard, "POST", {**right, "Content-Length": "11"}, [b"x" * 11])
    assert (status, app.bodies) == (413, [])
    status, _, app = exchange(guard, "PATCH", right, [b"12345", b"678901"])  # chunked, 11
    assert (status, app.bodies) == (413, [])
    status, _, app = exchange(guard, "PATCH", right, [b"12345", b"67890"])
    assert (status, app.bodies) == (200, [b"1234567890"])
    status, _, app = exchange(guard, "GET", {"Host": "127.0.0.1"}, [])  # reading: no token
    assert (status, app.bodies) == (200, [b""])
