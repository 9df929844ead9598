"""The explorer behind the same guard as the other APIs: a foreign Host header (DNS rebinding
from a browser tab) reaches nothing, static files included; nothing changes without the token."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from tests.explore.explorer import DIRECT, running_explorer


def status(url: str, method: str = "GET", host: str | None = None) -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    if host:
        request.add_header("Host", host)
    try:
        with DIRECT.open(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


PATHS = ("/", "/stations/CP-1", "/api/stations", "/static/explore.css")


def test_a_foreign_host_gets_421_loopback_names_pass_and_a_post_needs_the_token(
    tmp_path: Path, database_url: str
) -> None:
    with running_explorer(tmp_path, database_url) as url:
        for path in PATHS:
            for host in ("evil.example", "evil.example:8090", "127.0.0.1.evil.example"):
                assert status(url + path, host=host) == 421, (path, host)
            assert status(url + path) == 200, path
        for host in ("localhost:8090", "127.0.0.1", "[::1]:8090"):
            assert status(url + "/api/stations", host=host) == 200, host
        assert status(url + "/api/stations", method="POST") == 401
