"""proxy.settings: parsing --listen and --upstream, mitmproxy's spelling of the upstream, data_dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.options import DEFAULT_LISTEN, DEFAULT_UPSTREAM
from proxy.settings import (
    Endpoint,
    ProxySettings,
    Upstream,
    data_dir,
    parse_listen,
    parse_upstream,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.0.0.0:9000", Endpoint("0.0.0.0", 9000)),
        ("127.0.0.1:1", Endpoint("127.0.0.1", 1)),
        ("localhost:65535", Endpoint("localhost", 65535)),
        (":9000", Endpoint("0.0.0.0", 9000)),
        ("[::1]:9000", Endpoint("::1", 9000)),
        ("[::]:443", Endpoint("::", 443)),
        (DEFAULT_LISTEN, Endpoint("0.0.0.0", 9000)),
    ],
)
def test_parse_listen(value: str, expected: Endpoint) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "9000", "host", "host:", "host:0", "host:65536", "host:-1", "host:90a", "host: 9000"],
)
def test_parse_listen_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="is not HOST:PORT") as raised:
        parse_listen(value)
    assert str(raised.value) == f"'{value}' is not HOST:PORT (e.g. 0.0.0.0:9000)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ws://127.0.0.1:9001", Upstream(False, "127.0.0.1", 9001)),
        ("ws://127.0.0.1:9001/", Upstream(False, "127.0.0.1", 9001)),
        ("wss://csms.example.com:8443", Upstream(True, "csms.example.com", 8443)),
        ("ws://csms.example.com", Upstream(False, "csms.example.com", 80)),
        ("wss://csms.example.com", Upstream(True, "csms.example.com", 443)),
        ("wss://CSMS.Example.com", Upstream(True, "csms.example.com", 443)),
        ("ws://[::1]:9001", Upstream(False, "::1", 9001)),
        (DEFAULT_UPSTREAM, Upstream(False, "127.0.0.1", 9001)),
    ],
)
def test_parse_upstream(value: str, expected: Upstream) -> None:
    assert parse_upstream(value) == expected


@pytest.mark.parametrize(
    "value", ["http://127.0.0.1:9001", "https://csms:443", "127.0.0.1:9001", "ws://", "", "ws:///x"]
)
def test_parse_upstream_wants_a_ws_url(value: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_upstream(value)
    assert str(raised.value) == f"'{value}' is not a ws:// or wss:// URL of the CSMS"


@pytest.mark.parametrize(
    "value", ["ws://127.0.0.1:9001/ocpp", "wss://csms:443/ocpp/CS01", "ws://csms:9001/?a=1"]
)
def test_parse_upstream_refuses_a_path(value: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_upstream(value)
    message = str(raised.value)
    assert message.startswith(f"'{value}' has a path: give only scheme, host and port")
    assert "forwarded unchanged" in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["ws://csms:99999", "ws://csms:port", "wss://csms:-1"])
def test_parse_upstream_refuses_a_bad_port(value: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_upstream(value)
    assert str(raised.value) == f"'{value}' has an invalid port"


@pytest.mark.parametrize(
    ("upstream", "spec", "shown"),
    [
        (Upstream(False, "127.0.0.1", 9001), "http://127.0.0.1:9001", "ws://127.0.0.1:9001"),
        (Upstream(True, "csms.example.com", 443), "https://csms.example.com:443", None),
    ],
)
def test_mitmproxy_spec_speaks_http(upstream: Upstream, spec: str, shown: str | None) -> None:
    """mitmproxy rejects reverse:ws://; the upgrade rides on http(s)."""
    assert upstream.mitmproxy_spec == spec
    assert str(upstream) == (shown or "wss://csms.example.com:443")


def test_mitmproxy_accepts_the_spec() -> None:
    from mitmproxy.proxy.mode_specs import ProxyMode, ReverseMode  # noqa: PLC0415

    for text in ("ws://127.0.0.1:9001", "wss://csms.example.com"):
        upstream = parse_upstream(text)
        mode = ProxyMode.parse(f"reverse:{upstream.mitmproxy_spec}@127.0.0.1:9000")
        assert isinstance(mode, ReverseMode)
        assert mode.address == (upstream.host, upstream.port)
        assert mode.scheme == ("https" if upstream.secure else "http")


def test_data_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OCPPSCOPE_DATA_DIR", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data"
    assert not (tmp_path / "data").exists()  # parsing only, no I/O


@pytest.mark.parametrize("configured", [None, ""])
def test_data_dir_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, configured: str | None
) -> None:
    if configured is None:
        monkeypatch.delenv("OCPPSCOPE_DATA_DIR", raising=False)
    else:
        monkeypatch.setenv("OCPPSCOPE_DATA_DIR", configured)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == tmp_path / ".local" / "share" / "ocppscope"


def test_proxy_settings_defaults() -> None:
    settings = ProxySettings(parse_listen(DEFAULT_LISTEN), parse_upstream(DEFAULT_UPSTREAM))
    assert settings.cert is None and settings.key is None
    assert settings.message_timeout == 30.0
    assert settings.idle_timeout == 7200.0
    assert settings.max_message_size == 4 * 1024 * 1024
    assert not (settings.quiet or settings.json_log or settings.upstream_insecure)
    with pytest.raises(AttributeError):
        settings.quiet = True  # type: ignore[misc]
