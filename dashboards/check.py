"""Runs every query of the dashboards the way Grafana would, against a real Prometheus and a real
PostgreSQL: each variable's options fetched, each query expanded with All and with a single value,
each PromQL expression parsed by promtool and run as a range query, each SQL query run.

With every variable at All (what the dashboards open with) each query must return data; with a
single value it must run, and may return nothing (one station may have no findings).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from dashboards.prometheus import PrometheusApi, PrometheusError, parse_errors
from dashboards.queries import (
    PanelQuery,
    QueryError,
    Selection,
    TimeWindow,
    expand,
    panel_queries,
    selection_sets,
    variables,
)

STATEMENT_TIMEOUT_MS = 10_000
_LABEL_VALUES = re.compile(
    r"^\s*label_values\(\s*(?:(?P<match>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$"
)
"""Grafana's `label_values(metric, label)` / `label_values(label)` variable query."""


@dataclass(frozen=True)
class Outcome:
    """One query as Grafana would send it, and what came back."""

    dashboard: str
    panel: str
    language: str
    selection: str
    """`All`, or the variable set to a single value (`station=emart_jeju_01`)."""
    text: str
    error: str | None = None
    rows: int = 0
    """Series (PromQL) or rows (SQL) returned."""
    data_required: bool = True

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.data_required and self.rows == 0)

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return f"error: {self.error}"
        unit = "series" if self.language == "promql" else "rows"
        return f"{self.rows} {unit}" if self.rows else "no data"


async def check_dashboards(
    dashboards: Sequence[Mapping[str, Any]],
    prometheus: PrometheusApi,
    connection: asyncpg.Connection,
    window: TimeWindow,
    promtool: str | None = None,
) -> list[Outcome]:
    """Every query of every dashboard: its variables' options first (a variable that cannot be
    resolved is an outcome of its own), then each panel's queries under each selection set."""
    outcomes: list[Outcome] = []
    pending: list[Outcome] = []  # expanded, not yet run
    for dashboard in dashboards:
        try:
            defined = variables(dashboard)
            queries = panel_queries(dashboard)
        except QueryError as error:
            outcomes.append(Outcome(str(dashboard.get("title")), "", "", "", "", str(error)))
            continue
        options: dict[str, list[str]] = {}
        for query in queries:
            if query.variable is None:
                continue
            try:
                options[query.variable] = await _options(query, prometheus, connection, window)
            except (QueryError, PrometheusError, asyncpg.PostgresError) as error:
                outcomes.append(_outcome(query, "", query.text, error=str(error)))
                continue
            outcomes.append(_outcome(query, "", query.text, rows=len(options[query.variable])))
        try:
            sets = selection_sets(defined, options)
        except QueryError as error:
            outcomes.append(
                Outcome(str(dashboard.get("title")), "variables", "", "", "", str(error))
            )
            continue
        for query in queries:
            if query.variable is None:
                pending.extend(_expansions(query, sets, window))
    outcomes.extend(await _run(pending, prometheus, connection, window, promtool))
    return outcomes


def _expansions(
    query: PanelQuery, sets: Sequence[Mapping[str, Selection]], window: TimeWindow
) -> list[Outcome]:
    """The query under each selection set, once per distinct text (a query that uses no
    variable is the same text under every set). The first set has every variable at All."""
    seen: set[str] = set()
    expanded = []
    for index, selections in enumerate(sets):
        label = _label(selections, sets[0]) if index else "All"
        try:
            text = expand(query, selections, window)
        except QueryError as error:
            return [_outcome(query, label, query.text, error=str(error))]
        if text not in seen:
            seen.add(text)
            expanded.append(_outcome(query, label, text, data_required=not index))
    return expanded


def _label(selections: Mapping[str, Selection], base: Mapping[str, Selection]) -> str:
    changed = [name for name, chosen in selections.items() if chosen != base[name]]
    return ", ".join(f"{name}={','.join(selections[name].values)}" for name in changed)


async def _options(
    query: PanelQuery,
    prometheus: PrometheusApi,
    connection: asyncpg.Connection,
    window: TimeWindow,
) -> list[str]:
    """A variable's options as Grafana fetches them."""
    if query.language == "sql":
        rows = await _fetch(connection, query.text)
        return [str(row[0]) for row in rows if row[0] is not None]
    wanted = _LABEL_VALUES.match(query.text)
    if wanted is None:
        raise QueryError(f"{query.dashboard} / {query.panel}: only label_values(...) is supported")
    return await asyncio.to_thread(
        prometheus.label_values,
        wanted.group("label"),
        wanted.group("match"),
        window.start.timestamp(),
        window.end.timestamp(),
    )


async def _run(
    pending: Sequence[Outcome],
    prometheus: PrometheusApi,
    connection: asyncpg.Connection,
    window: TimeWindow,
    promtool: str | None,
) -> list[Outcome]:
    promql = [outcome for outcome in pending if outcome.error is None and _is_promql(outcome)]
    parse = await asyncio.to_thread(parse_errors, [o.text for o in promql], promtool)
    parsed = {id(outcome): error for outcome, error in zip(promql, parse, strict=True)}
    finished = []
    for outcome in pending:
        if outcome.error is not None:
            finished.append(outcome)
        elif id(outcome) in parsed:
            finished.append(await _promql(outcome, parsed[id(outcome)], prometheus, window))
        else:
            finished.append(await _sql(outcome, connection))
    return finished


def _is_promql(outcome: Outcome) -> bool:
    return outcome.language == "promql"


async def _promql(
    outcome: Outcome, parse_error: str | None, prometheus: PrometheusApi, window: TimeWindow
) -> Outcome:
    if parse_error is not None:
        return _with(outcome, error=f"promtool: {parse_error}")
    try:
        series = await asyncio.to_thread(
            prometheus.query_range,
            outcome.text,
            window.start.timestamp(),
            window.end.timestamp(),
            window.interval.total_seconds(),
        )
    except PrometheusError as error:
        return _with(outcome, error=str(error))
    return _with(outcome, rows=sum(1 for s in series if s.get("values")))


async def _sql(outcome: Outcome, connection: asyncpg.Connection) -> Outcome:
    try:
        rows = await _fetch(connection, outcome.text)
    except asyncpg.PostgresError as error:
        return _with(outcome, error=f"PostgreSQL: {error}")
    return _with(outcome, rows=len(rows))


async def _fetch(connection: asyncpg.Connection, sql: str) -> list[Any]:
    """A dashboard's SQL in a read-only transaction with a time limit, as Grafana's datasource
    should be configured (a panel must not be able to write or hang the database)."""
    async with connection.transaction(readonly=True):
        await connection.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        return list(await connection.fetch(sql))


def _outcome(query: PanelQuery, selection: str, text: str, **result: Any) -> Outcome:
    return Outcome(query.dashboard, query.panel, query.language, selection, text, **result)


def _with(outcome: Outcome, **changes: Any) -> Outcome:
    return Outcome(**{**outcome.__dict__, **changes})
