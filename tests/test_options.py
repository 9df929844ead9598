"""proxy/options.py is the one declaration of the proxy's options: the `ocppscope proxy` command,
ProxySettings, the addons' mitmproxy options and docs/options.md all follow from its rows."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import typer.main
from mitmproxy import exceptions
from mitmproxy.test import taddons
from typer.testing import CliRunner

from addons import default_addons
from addons.store import Store
from ocppscope.cli.main import app
from proxy import runtime
from proxy.ocppj.session import Config
from proxy.options import (
    DEFAULT_LISTEN,
    DEFAULT_UPSTREAM,
    MESSAGE_TIMEOUT,
    PROXY_OPTIONS,
    reference,
)
from proxy.settings import (
    Endpoint,
    ProxySettings,
    parse_listen,
    parse_upstream,
    settings_from_options,
)

ROOT = Path(__file__).resolve().parents[1]
TABLE_DEFAULTS = {row.name: row.default for row in PROXY_OPTIONS}
NOT_SETTINGS = {"workers"}  # passed to serve_workers, not a setting
SETTINGS_DEFAULT_OTHERWISE = {
    "store": False,  # programmatic callers (tests, benchmarks) store nothing unless they ask
    "admin": None,  # ... and open no admin API
}
MITMPROXY_ONLY = {"ocpp_live"}  # the runtime's, not a user's option (off in workers)


def command(name: str) -> Any:
    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]


def declared_options() -> dict[str, Any]:
    """Every `ocpp_*` mitmproxy option the default addons declare, as mitmproxy holds it."""
    declared: dict[str, Any] = {}
    for addon in default_addons():
        with taddons.context(addon) as tctx:
            for name, held in tctx.options._options.items():
                if name.startswith("ocpp_"):
                    assert name not in declared, f"{name} declared by two addons"
                    declared[name] = held
    return declared


def test_every_row_is_an_option_of_proxy_in_the_tables_order() -> None:
    params = [p for p in command("proxy").params if p.name != "help"]
    assert [p.name for p in params] == [row.name for row in PROXY_OPTIONS]
    for param, row in zip(params, PROXY_OPTIONS, strict=True):
        assert param.param_type_name == "option"
        assert param.opts[0] == row.flag
        assert param.envvar == row.envvar, row.name
        assert param.default == row.default, row.name
        assert getattr(param, "help", None) == row.help, row.name
        assert (getattr(param, "min", None), getattr(param, "max", None)) == (row.min, row.max)


def test_proxy_help_shows_every_flag_and_environment_variable() -> None:
    result = CliRunner().invoke(app, ["proxy", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for row in PROXY_OPTIONS:
        assert row.flag in result.output
        if row.envvar:
            assert row.envvar in result.output


def test_environment_variables_reach_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCPPSCOPE_LISTEN", "nonsense")
    result = CliRunner().invoke(app, ["proxy"])
    assert result.exit_code == 2
    assert "'nonsense' is not HOST:PORT" in result.output


def test_the_committed_reference_is_what_the_table_generates() -> None:
    committed = (ROOT / "docs" / "options.md").read_text(encoding="utf-8")
    assert committed == reference(), "docs/options.md is stale: run `make docs`"


def test_the_reference_has_a_line_per_option() -> None:
    text = reference()
    for row in PROXY_OPTIONS:
        [line] = [line for line in text.splitlines() if line.startswith(f"| `{row.flag}` |")]
        assert (f"`{row.envvar}`" in line) == bool(row.envvar)
        assert (f"`{row.mitmproxy}`" in line) == bool(row.mitmproxy)
    assert "| `--workers` |  | `1` |  |" in text
    assert "(at least 1, at most 64)" in text


def test_settings_defaults_are_the_tables() -> None:
    made = ProxySettings(parse_listen(DEFAULT_LISTEN), parse_upstream(DEFAULT_UPSTREAM))
    from_table = settings_from_options(TABLE_DEFAULTS)
    names = {field.name for field in fields(ProxySettings)}
    assert {row.name for row in PROXY_OPTIONS} - names == NOT_SETTINGS
    assert from_table.admin == Endpoint("127.0.0.1", 9464)
    assert from_table.store is True
    for row in PROXY_OPTIONS:
        if row.name in names - {"listen", "upstream"}:
            expected = SETTINGS_DEFAULT_OTHERWISE.get(row.name, getattr(from_table, row.name))
            assert getattr(made, row.name) == expected, row.name


def test_one_message_timeout_default_for_the_engine_proxy_and_check() -> None:
    assert Config().message_timeout == MESSAGE_TIMEOUT == TABLE_DEFAULTS["message_timeout"]
    [timeout] = [p for p in command("check").params if p.name == "message_timeout"]
    assert timeout.default == MESSAGE_TIMEOUT


def test_the_addons_declare_each_rows_mitmproxy_option_from_the_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OCPPSCOPE_DATABASE_URL", raising=False)
    declared = declared_options()
    rows = {row.mitmproxy: row for row in PROXY_OPTIONS if row.mitmproxy}
    assert set(declared) - MITMPROXY_ONLY == set(rows)
    for name, row in rows.items():
        held = declared[name]
        assert held.typespec is row.mitmproxy_type, name
        assert held.default == ("" if row.default is None else row.default), name
        assert held.help == (row.mitmproxy_help or row.help), name


def test_in_mitmdump_the_environment_variable_is_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OCPPSCOPE_DATABASE_URL", "postgresql://u@h/db")
    with taddons.context(Store()) as tctx:
        assert tctx.options.ocpp_database_url == "postgresql://u@h/db"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("ocpp_store_buffer", 0, "ocpp_store_buffer must be at least 1"),
        ("ocpp_retention_days", -1, "ocpp_retention_days must be at least 0"),
    ],
)
def test_mitmdump_values_out_of_the_rows_bounds_are_refused(
    option: str, value: int, message: str
) -> None:
    addon = Store()
    with taddons.context(addon) as tctx, pytest.raises(exceptions.OptionsError, match=message):
        tctx.configure(addon, **{option: value})


def test_the_runtime_hands_every_setting_to_its_mitmproxy_option(tmp_path: Path) -> None:
    values = TABLE_DEFAULTS | {
        "message_timeout": 12.5,
        "retry_backoff": "1,0,4",
        "quiet": True,
        "json_log": True,
        "database_url": "postgresql://u@h/db",
        "store_buffer": 7,
        "retention_days": 3,
        "instance": "edge-1",
        "fault_plan": tmp_path / "plan.yaml",
    }
    options = runtime.mitmproxy_options(settings_from_options(values, confdir=tmp_path))
    for row in PROXY_OPTIONS:
        if row.mitmproxy:
            assert options[row.mitmproxy] == row.mitmproxy_value(values[row.name]), row.name
    assert options["ocpp_fault_plan"] == str(tmp_path / "plan.yaml")
    stored_nothing = settings_from_options(values | {"store": False}, confdir=tmp_path)
    assert runtime.mitmproxy_options(stored_nothing)["ocpp_database_url"] == ""
