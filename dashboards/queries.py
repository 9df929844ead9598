"""Every query of a dashboard's JSON, and the text Grafana sends for it once the variables and
macros are expanded. Pure: no I/O; the check that runs the expanded queries against Prometheus and
PostgreSQL is built on it.

Grafana's rules, as its source has them (grafana/grafana):
- Variable references: the regex of public/app/features/variables/utils.ts, `$name`,
  `[[name]]`, `[[name:format]]`, `${name}`, `${name:format}`.
- Values (packages/grafana-prometheus/src/escaping.ts and datasource.ts `interpolateQueryExpr`;
  packages/grafana-sql/src/datasource/SqlDatasource.ts `interpolateVariable`): a variable neither
  multi-value nor with All is escaped as a plain value; otherwise each value is escaped for a
  regex (PromQL) or single-quoted with quotes doubled (SQL), and several are joined as `(a|b)`
  (PromQL) or `'a','b'` (SQL). All stands for every option, unless the variable has a custom
  all value, which is sent as it is.
- PromQL's `$__interval`, `$__rate_interval`, `$__range`... are replaced by the backend
  (pkg/promlib/models/query.go `interpolateVariables`); SQL's `$__timeFilter(c)`... by
  pkg/tsdb/grafana-postgresql-datasource/macros.go, after the frontend replaced `$__interval`.
Anything else starting with `$` that Grafana would not replace raises a QueryError instead of
being sent as it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

Language = Literal["promql", "sql"]

LANGUAGES: dict[str, Language] = {
    "prometheus": "promql",
    "grafana-postgresql-datasource": "sql",
}
"""Datasource type → the language of its queries."""

_REFERENCE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}"
)
"""Grafana's variableRegex (public/app/features/variables/utils.ts)."""
_SQL_MACRO = re.compile(r"\$__(\w+)\(([^)]*)\)")
"""A SQL macro call, as the SQL backend finds them (pkg/tsdb/sqleng)."""
_LEFT_MACRO = re.compile(r"\$__\w+")
_REGEX_METACHARACTERS = re.compile(r"[$^*{}\[\]+?.()|]")
_INTERVAL = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNITS_MS = {
    "y": 365 * 86_400_000,
    "w": 7 * 86_400_000,
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}


class QueryError(ValueError):
    """A dashboard's query that Grafana could not run as it stands, in one line."""


@dataclass(frozen=True)
class Variable:
    """A query variable of a dashboard: `all_value` is its custom all value, None if it has none."""

    name: str
    language: Language
    query: str
    multi: bool
    include_all: bool
    all_value: str | None


@dataclass(frozen=True)
class PanelQuery:
    """One query a dashboard makes Grafana send: a panel's target, or a variable's options query
    (`variable` names it; its text is Grafana's variable syntax, e.g. label_values(...))."""

    dashboard: str
    panel: str
    ref_id: str
    language: Language
    text: str
    variables: tuple[Variable, ...]
    """The dashboard's variables, which `expand` needs to know how to format values."""
    variable: str | None = None


@dataclass(frozen=True)
class Selection:
    """What the user picked for a variable: some of its options, or All (`values` then holds
    every option All stands for)."""

    values: tuple[str, ...]
    all: bool = False

    @classmethod
    def of(cls, *values: str) -> Selection:
        if not values:
            raise ValueError("a selection needs at least one value, or All")
        return cls(tuple(values))

    @classmethod
    def everything(cls, options: Sequence[str]) -> Selection:
        return cls(tuple(options), all=True)


@dataclass(frozen=True)
class TimeWindow:
    """The dashboard's time range and the panel's interval (Grafana's $__interval, computed
    from the range and the panel's width; the check chooses it). `scrape_interval` is the
    Prometheus datasource's, which $__rate_interval depends on."""

    start: datetime
    end: datetime
    interval: timedelta
    scrape_interval: timedelta = timedelta(seconds=15)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a time window needs timezone-aware start and end")
        if self.end <= self.start:
            raise ValueError("a time window must end after it starts")
        if self.interval <= timedelta(0) or self.scrape_interval <= timedelta(0):
            raise ValueError("interval and scrape interval must be positive")


def variables(dashboard: Mapping[str, Any]) -> list[Variable]:
    """The dashboard's query variables, in order."""
    found = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        name = variable["name"]
        query = variable.get("query")
        if isinstance(query, Mapping):
            query = query.get("query") or query.get("rawSql")
        if not isinstance(query, str):
            raise QueryError(f"{_title(dashboard)}: variable {name} has no query text")
        found.append(
            Variable(
                name=name,
                language=_language(dashboard, f"variable {name}", variable.get("datasource")),
                query=query,
                multi=bool(variable.get("multi")),
                include_all=bool(variable.get("includeAll")),
                all_value=variable.get("allValue") or None,
            )
        )
    return found


def panel_queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """Every target of every panel (those in rows too), then every query variable."""
    title = _title(dashboard)
    defined = tuple(variables(dashboard))
    found = []
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets") or []:
            name = panel.get("title", "")
            language = _language(
                dashboard, name, target.get("datasource") or panel.get("datasource")
            )
            text = target.get("expr" if language == "promql" else "rawSql")
            if not isinstance(text, str):
                raise QueryError(f"{title} / {name}: target {target.get('refId')} has no query")
            found.append(PanelQuery(title, name, target.get("refId", ""), language, text, defined))
    for variable in defined:
        found.append(
            PanelQuery(
                title,
                f"variable {variable.name}",
                "A",
                variable.language,
                variable.query,
                defined,
                variable=variable.name,
            )
        )
    return found


def worth_checking(variable: Variable, options: Sequence[str]) -> list[Selection]:
    """The selections of a variable worth running each query with: All (when offered), which
    expands to the longest text, and the first option alone, the narrowest."""
    selections = [Selection.everything(options)] if variable.include_all else []
    if options:
        selections.append(Selection.of(options[0]))
    return selections


def selection_sets(
    defined: Sequence[Variable], options: Mapping[str, Sequence[str]]
) -> list[dict[str, Selection]]:
    """Whole-dashboard selections: every variable at its first worth-checking selection, then
    each variable in turn at each other one (the rest unchanged)."""
    choices = {v.name: worth_checking(v, options.get(v.name, ())) for v in defined}
    if any(not choice for choice in choices.values()):
        empty = ", ".join(name for name, choice in choices.items() if not choice)
        raise QueryError(f"no selection possible for variable {empty}: it has no options")
    base = {name: choice[0] for name, choice in choices.items()}
    sets = [base]
    for name, choice in choices.items():
        sets.extend({**base, name: other} for other in choice[1:])
    return sets


def expand(query: PanelQuery, selections: Mapping[str, Selection], window: TimeWindow) -> str:
    """The text Grafana sends for `query` with these selections over this window."""
    where = f"{query.dashboard} / {query.panel}"
    defined = {variable.name: variable for variable in query.variables}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        if match.group(3) or match.group(5) or match.group(6):
            raise QueryError(f"{where}: {match.group(0)}: variable formats are not supported")
        if name.startswith("__"):
            return _builtin(query.language, name, window, match.group(0), where)
        variable = defined.get(name)
        if variable is None:
            raise QueryError(f"{where}: unknown variable ${name}")
        selection = selections.get(name)
        if selection is None:
            raise QueryError(f"{where}: no selection given for ${name}")
        return _format(query.language, variable, selection, where)

    text = _REFERENCE.sub(replace, query.text)
    if query.language == "sql":
        text = _SQL_MACRO.sub(lambda match: _sql_macro(match, window, where), text)
    left = _LEFT_MACRO.search(text)
    if left is not None:
        raise QueryError(f"{where}: unknown macro {left.group(0)}")
    return text


def _builtin(language: Language, name: str, window: TimeWindow, whole: str, where: str) -> str:
    """A `$__name` Grafana replaces itself: the interval and range variables (PromQL, and
    $__interval in SQL, which the frontend replaces); SQL macros are left for `_sql_macro`."""
    interval_ms = _ms(window.interval)
    if name == "__interval":
        return _grafana_interval(interval_ms)
    if name == "__interval_ms":
        return str(interval_ms)
    if language == "sql":
        if name.removeprefix("__") in _SQL_MACROS and whole == f"${name}":
            return whole
        raise QueryError(f"{where}: unknown macro {whole}")
    range_ms = _ms(window.end - window.start)
    range_s = (range_ms + 500) // 1000
    scrape_ms = _ms(window.scrape_interval)
    rate_ms = max(interval_ms + scrape_ms, 4 * scrape_ms)
    replacements = {
        "__range": f"{range_s}s",
        "__range_s": str(range_s),
        "__range_ms": str(range_ms),
        "__rate_interval": _go_duration(rate_ms),
        "__rate_interval_ms": str(rate_ms),
    }
    if name not in replacements:
        raise QueryError(f"{where}: unknown macro {whole}")
    return replacements[name]


def _format(language: Language, variable: Variable, selection: Selection, where: str) -> str:
    if selection.all:
        if not variable.include_all:
            raise QueryError(f"{where}: ${variable.name} offers no All")
        if variable.all_value is not None:
            return variable.all_value
    elif len(selection.values) > 1 and not variable.multi:
        raise QueryError(f"{where}: ${variable.name} takes one value, not several")
    values = selection.values
    if language == "promql":
        if not variable.multi and not variable.include_all:
            return values[0].replace("\\", "\\\\").replace("'", "\\\\'")
        escaped = [_regex_escape(value) for value in values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    if not variable.multi and not variable.include_all:
        return values[0].replace("'", "''")
    return ",".join("'" + value.replace("'", "''") + "'" for value in values)


def _regex_escape(value: str) -> str:
    """prometheusSpecialRegexEscape: backslashes doubled twice and metacharacters given two
    backslashes, since the value lands in a PromQL string that is then a regex."""
    value = value.replace("\\", "\\\\\\\\")
    return _REGEX_METACHARACTERS.sub(lambda match: "\\\\" + match.group(0), value)


def _sql_macro(match: re.Match[str], window: TimeWindow, where: str) -> str:
    name = match.group(1)
    args = [arg.strip() for arg in match.group(2).split(",")] if match.group(2).strip() else []
    expand_macro = _SQL_MACROS.get(name)
    if expand_macro is None:
        raise QueryError(f"{where}: unknown macro $__{name}")
    try:
        return expand_macro(args, window)
    except ValueError as error:
        raise QueryError(f"{where}: {match.group(0)}: {error}") from None


def _time_filter(args: list[str], window: TimeWindow) -> str:
    return f"{_column(args)} BETWEEN {_quoted_time(window.start)} AND {_quoted_time(window.end)}"


def _time_group(args: list[str], window: TimeWindow) -> str:
    if len(args) not in (2, 3):
        raise ValueError("needs a time column, an interval and an optional fill value")
    seconds = _go_float(parse_interval(args[1].strip("'")) / 1000)
    return f"floor(extract(epoch from {args[0]})/{seconds})*{seconds}"


def _unix_epoch_filter(args: list[str], window: TimeWindow) -> str:
    column = _column(args)
    return f"{column} >= {_epoch(window.start)} AND {column} <= {_epoch(window.end)}"


_SQL_MACROS = {
    "timeFilter": _time_filter,
    "timeFrom": lambda args, window: _quoted_time(window.start),
    "timeTo": lambda args, window: _quoted_time(window.end),
    "timeGroup": _time_group,
    "timeGroupAlias": lambda args, window: _time_group(args, window) + ' AS "time"',
    "unixEpochFilter": _unix_epoch_filter,
    "unixEpochFrom": lambda args, window: str(_epoch(window.start)),
    "unixEpochTo": lambda args, window: str(_epoch(window.end)),
}
"""pkg/tsdb/grafana-postgresql-datasource/macros.go (without TimescaleDB)."""


def _column(args: list[str]) -> str:
    if len(args) != 1 or not args[0]:
        raise ValueError("needs one time column")
    return args[0]


def _quoted_time(moment: datetime) -> str:
    """Go's time.RFC3339Nano in UTC, quoted: fractional seconds without trailing zeros."""
    moment = moment.astimezone(UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return f"'{moment:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}Z'"


def _epoch(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def parse_interval(text: str) -> int:
    """Milliseconds of an interval such as 15m, in gtime.ParseInterval's units."""
    match = _INTERVAL.fullmatch(text)
    if match is None:
        raise ValueError(f"error parsing interval {text}")
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


def _ms(duration: timedelta) -> int:
    return duration // timedelta(milliseconds=1)


def _grafana_interval(ms: int) -> str:
    """gtime.FormatInterval: the largest unit that fits, truncated (90 s is "1m")."""
    for unit in ("y", "d", "h", "m", "s", "ms"):
        if ms >= _UNITS_MS[unit]:
            return f"{ms // _UNITS_MS[unit]}{unit}"
    return "1ms"


def _go_duration(ms: int) -> str:
    """Go's time.Duration.String() for whole milliseconds: 20s, 1m0s, 1h2m3.5s, 500ms."""
    if ms < 1000:
        return f"{ms}ms"
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds = str(Decimal(ms) / 1000)
    if "." in seconds:
        seconds = seconds.rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def _go_float(value: float) -> str:
    """Go's %v of a float64 (strconv 'g', shortest): plain from 1e-4 up to 1e6, else with an
    exponent of at least two digits (a year's interval is 3.1536e+07)."""
    digits = Decimal(repr(value)).normalize()
    exponent = digits.adjusted()
    if -4 <= exponent < 6:
        return format(digits, "f")
    mantissa = format(digits.scaleb(-exponent), "f")
    return f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"


def _panels(panels: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels") or [])


def _language(dashboard: Mapping[str, Any], where: str, datasource: Any) -> Language:
    kind = datasource.get("type") if isinstance(datasource, Mapping) else None
    language = LANGUAGES.get(kind or "")
    if language is None:
        raise QueryError(
            f"{_title(dashboard)} / {where}: datasource {datasource!r} is neither "
            "Prometheus nor PostgreSQL"
        )
    return language


def _title(dashboard: Mapping[str, Any]) -> str:
    return str(dashboard.get("title", "untitled dashboard"))
