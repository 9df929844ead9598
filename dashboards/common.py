"""What the three dashboards share: the SDK's imports, the two datasources, a SQL target (the SDK
has no builder for one), panel and variable makers, and the finishing touches (ids, JSON).

grafana-foundation-sdk 0.0.21 warns at import that its v1 dashboard model is superseded by v2; the
provisioned dashboards are v1 JSON on purpose (every Grafana since 9 loads them), so that one
warning is silenced here, where every SDK module is first imported.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dashboards import PROXY_JOB_NAME

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message=r"Prefer using dashboardv2\.Dashboard instead\.",
        category=DeprecationWarning,
    )
    from grafana_foundation_sdk.builders import common as common_builders
    from grafana_foundation_sdk.builders import dashboard as builders
    from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
    from grafana_foundation_sdk.cog import builder as cogbuilder
    from grafana_foundation_sdk.cog import variants as cogvariants
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import dashboard as models
    from grafana_foundation_sdk.models.common import DataSourceRef

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="ocppscope-prometheus")
POSTGRESQL = DataSourceRef(type_val="grafana-postgresql-datasource", uid="ocppscope-postgresql")
"""The uids docker-compose's provisioning gives the two datasources (dashboards/provisioning)."""

PROXY_JOB = f'job="{PROXY_JOB_NAME}"'
RATE = "[$__rate_interval]"
"""The window of a rate() or increase() per interval: Grafana's $__rate_interval (at least four
scrape intervals)."""

FULL, HALF, THIRD, QUARTER = 24, 12, 8, 6
"""Panel widths on Grafana's 24-column grid."""
HEIGHT = 8

Panel = cogbuilder.Builder[models.Panel]


@dataclass
class SqlQuery(cogvariants.Dataquery):
    """A grafana-postgresql-datasource target, in the JSON Grafana's SQL editor saves in code mode."""

    ref_id: str
    raw_sql: str
    format: str

    def to_json(self) -> dict[str, Any]:
        return {
            "datasource": POSTGRESQL.to_json(),
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }


class Sql(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builder of a SQL target: `result` is "table" or "time_series" (needs a `time` column)."""

    def __init__(self, raw_sql: str, ref_id: str = "A", result: str = "table") -> None:
        if result not in ("table", "time_series"):
            raise ValueError(f"SQL result format {result!r} is neither table nor time_series")
        self._query = SqlQuery(ref_id, raw_sql.strip(), result)

    def build(self) -> SqlQuery:
        return self._query


def promql(expr: str, legend: str, ref_id: str = "A") -> prometheus.Dataquery:
    """A range query whose series are named by `legend` (Grafana's {{label}} template)."""
    return (
        prometheus.Dataquery()
        .datasource(PROMETHEUS)
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref_id)
        .range()
    )


def graph(
    title: str, description: str, unit: str, *targets: cogbuilder.Builder[Any], width: int = HALF
) -> timeseries.Panel:
    """A time series panel on Prometheus."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(width)
        .height(HEIGHT)
    )
    for target in targets:
        panel.with_target(target)
    return panel


def number(
    title: str, description: str, unit: str, target: cogbuilder.Builder[Any], width: int = QUARTER
) -> stat.Panel:
    """A single value now (the last one of the range) with its sparkline, on Prometheus."""
    return (
        stat.Panel()
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(width)
        .height(HEIGHT // 2)
        .with_target(target)
    )


def sql_graph(title: str, description: str, unit: str, sql: str, width: int = HALF) -> Panel:
    """A time series panel on PostgreSQL: `sql` returns time, metric and value columns."""
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(POSTGRESQL)
        .unit(unit)
        .span(width)
        .height(HEIGHT)
        .with_target(Sql(sql, result="time_series"))
    )


def sql_table(title: str, description: str, sql: str, width: int = HALF) -> table.Panel:
    """A table panel on PostgreSQL."""
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(POSTGRESQL)
        .span(width)
        .height(HEIGHT)
        .with_target(Sql(sql))
    )


def label_variable(
    name: str, label: str, metric: str, all_value: str | None = None
) -> builders.QueryVariable:
    """A Prometheus label's values (`label_values(metric, name)`), multi-value with All."""
    variable = _picker(
        name,
        label,
        PROMETHEUS,
        f"label_values({metric}, {name})",
        models.VariableRefresh.ON_TIME_RANGE_CHANGED,
    )
    if all_value is not None:
        variable.all_value(all_value)
    return variable


VERSION = 'ocpp_version=~"$ocpp_version"'
"""The matcher of the Version picker."""


def version_variable(metric: str) -> builders.QueryVariable:
    """`$ocpp_version`: the OCPP versions the connections selected (ocpp1.6, ocpp2.0.1, ocpp2.1,
    and `unknown` for none of them), as `metric` labels them."""
    return label_variable("ocpp_version", "Version", metric)


def _station_variable() -> builders.QueryVariable:
    """`$station`: every charger the CSMS knows, for the SQL panels (no metric has a station
    label). All stands for the whole list, which Grafana sends as a quoted, comma-joined list."""
    return _picker(
        "station",
        "Station",
        POSTGRESQL,
        "SELECT charger_id FROM charger_info ORDER BY charger_id",
        models.VariableRefresh.ON_DASHBOARD_LOAD,
    )


def _picker(
    name: str,
    label: str,
    source: DataSourceRef,
    query: str,
    refresh: models.VariableRefresh,
) -> builders.QueryVariable:
    """A variable whose values `query` lists: several or All may be chosen, All at first."""
    return (
        builders.QueryVariable(name)
        .label(label)
        .datasource(source)
        .query(query)
        .refresh(refresh)
        .sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(models.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def row(title: str, *panels: Panel) -> builders.Row:
    """A collapsed row: its panels query only once the user opens it."""
    section = builders.Row(title)
    for panel in panels:
        section.with_panel(panel)
    return section


def dashboard(
    uid: str,
    title: str,
    description: str,
    tags: list[str],
    pickers: Sequence[builders.QueryVariable],
    panels: Iterable[Panel],
) -> builders.Dashboard:
    """A dashboard of the last hour, refreshed every 10 s (Prometheus scrapes every 5 s): its
    `pickers` of Prometheus labels, the Station picker of its SQL panels, then `panels`."""
    board = (
        builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["ocppscope", *tags])
        .time("now-1h", "now")
        .refresh("10s")
        .timezone("browser")
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .readonly()
    )
    for picker in pickers:
        board.with_variable(picker)
    board.with_variable(_station_variable())
    for panel in panels:
        board.with_panel(panel)
    return board


def render(board: builders.Dashboard) -> str:
    """The dashboard's JSON, ids numbered in order, keys sorted: the same code gives the same
    bytes, so the committed files can be compared with a fresh build."""
    model = board.build()
    for number_, panel in enumerate(_all_panels(model.panels or []), start=1):
        panel.id_val = number_
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def _all_panels(panels: list[Any]) -> Iterator[Any]:
    for panel in panels:
        yield panel
        yield from _all_panels(getattr(panel, "panels", None) or [])
