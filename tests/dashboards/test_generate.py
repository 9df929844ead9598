"""The committed dashboards are what the code generates, and are fit for Grafana: every panel on
one of the two provisioned datasources, described, with its own id and its own place."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from dashboards import JSON_DIR
from dashboards.generate import BUILDERS, generated, stale_files, write
from dashboards.queries import panel_queries, variables

DATASOURCES = {
    "ocppscope-prometheus": "prometheus",
    "ocppscope-postgresql": "grafana-postgresql-datasource",
}
FILES = ["ocppscope-charging.json", "ocppscope-conformance.json", "ocppscope-traffic.json"]


def load(name: str) -> dict[str, Any]:
    return json.loads((JSON_DIR / name).read_text(encoding="utf-8"))


@pytest.mark.unit
def test_the_committed_json_is_what_the_code_generates() -> None:
    assert sorted(generated()) == FILES
    assert stale_files(JSON_DIR) == []


@pytest.mark.unit
def test_generating_twice_gives_the_same_bytes() -> None:
    assert generated() == generated()


@pytest.mark.unit
def test_an_edited_a_missing_and_an_extra_file_are_stale(tmp_path: Path) -> None:
    write(tmp_path)
    assert stale_files(tmp_path) == []
    edited = tmp_path / "ocppscope-traffic.json"
    edited.write_text(edited.read_text().replace("Frames/s by action", "Frames by action"))
    (tmp_path / "ocppscope-charging.json").unlink()
    (tmp_path / "ocppscope-old.json").write_text("{}\n")
    assert stale_files(tmp_path) == [
        "ocppscope-charging.json",
        "ocppscope-old.json",
        "ocppscope-traffic.json",
    ]


@pytest.mark.unit
def test_a_missing_directory_has_every_file_stale(tmp_path: Path) -> None:
    assert stale_files(tmp_path / "absent") == FILES


@pytest.mark.unit
@pytest.mark.parametrize("name", FILES)
def test_the_uid_is_the_file_stem(name: str) -> None:
    assert load(name)["uid"] == Path(name).stem
    assert Path(name).stem in BUILDERS


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for panel in panels:
        found.append(panel)
        found.extend(all_panels(panel.get("panels", [])))
    return found


@pytest.mark.unit
@pytest.mark.parametrize("name", FILES)
def test_every_panel_names_a_provisioned_datasource_a_title_and_a_description(name: str) -> None:
    for panel in all_panels(load(name)["panels"]):
        if panel["type"] == "row":
            assert panel["title"] and panel["collapsed"] is True
            continue
        assert panel["title"] and panel["description"], panel
        source = panel["datasource"]
        assert DATASOURCES[source["uid"]] == source["type"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == source, panel["title"]


@pytest.mark.unit
@pytest.mark.parametrize("name", FILES)
def test_panel_ids_are_unique(name: str) -> None:
    ids = [panel["id"] for panel in all_panels(load(name)["panels"])]
    assert len(ids) == len(set(ids))


def overlap(a: dict[str, int], b: dict[str, int]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


@pytest.mark.unit
@pytest.mark.parametrize("name", FILES)
def test_panels_fit_the_grid_without_overlapping(name: str) -> None:
    top = load(name)["panels"]
    layers = [top] + [panel["panels"] for panel in top if panel["type"] == "row"]
    for layer in layers:
        for panel in layer:
            position = panel["gridPos"]
            assert position["x"] >= 0 and position["x"] + position["w"] <= 24, panel["title"]
        for a, b in combinations(layer, 2):
            assert not overlap(a["gridPos"], b["gridPos"]), (a["title"], b["title"])


@pytest.mark.unit
@pytest.mark.parametrize("name", FILES)
def test_each_dashboard_filters_sql_by_station_and_has_a_prometheus_variable(name: str) -> None:
    dashboard = load(name)
    defined = {variable.name: variable for variable in variables(dashboard)}
    assert defined["station"].language == "sql"
    assert any(variable.language == "promql" for variable in defined.values())
    assert all(variable.multi and variable.include_all for variable in defined.values())
    sql = [query for query in panel_queries(dashboard) if query.language == "sql"]
    panels = [query for query in sql if query.variable is None]
    assert panels and all("IN ($station)" in query.text for query in panels)


def test_importing_the_dashboards_warns_nothing() -> None:
    """With DeprecationWarnings as errors: the SDK's warning at import is silenced."""
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", "import dashboards.generate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.unit
def test_every_sql_and_promql_target_uses_grafanas_time_macros() -> None:
    """Rates over $__rate_interval, SQL panels bounded by the dashboard's time range."""
    for name in FILES:
        for query in panel_queries(load(name)):
            if query.variable is not None:
                continue
            if query.language == "promql" and "rate(" in query.text:
                assert "[$__rate_interval]" in query.text, query.panel
            if query.language == "sql":
                assert "$__timeFilter(" in query.text or "$__timeFrom()" in query.text, query.panel
