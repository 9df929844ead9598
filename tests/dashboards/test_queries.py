"""Expansion as Grafana does it: Grafana's own examples for each variable syntax, value format
and macro, and a clear error for anything Grafana would not replace."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from dashboards.queries import (
    PanelQuery,
    QueryError,
    Selection,
    TimeWindow,
    Variable,
    expand,
    panel_queries,
    selection_sets,
    variables,
    worth_checking,
)

START = datetime(2017, 4, 21, 5, 1, 17, tzinfo=UTC)
HOUR = TimeWindow(START, START + timedelta(hours=1), timedelta(seconds=15), timedelta(seconds=5))

ACTION = Variable("action", "promql", "label_values(m, action)", True, True, ".*")
SITE = Variable("site", "promql", "label_values(m, site)", True, True, None)
JOB = Variable("job", "promql", "label_values(up, job)", False, False, None)
STATION = Variable("station", "sql", "SELECT charger_id FROM charger_info", True, True, None)
OWNER = Variable("owner", "sql", "SELECT name FROM owners", False, False, None)
EVERY = (ACTION, SITE, JOB, STATION, OWNER)


def promql(text: str, window: TimeWindow = HOUR, **selections: Selection) -> str:
    return expand(PanelQuery("d", "p", "A", "promql", text, EVERY), selections, window)


def sql(text: str, window: TimeWindow = HOUR, **selections: Selection) -> str:
    return expand(PanelQuery("d", "p", "A", "sql", text, EVERY), selections, window)


@pytest.mark.parametrize("reference", ["$site", "${site}", "[[site]]"])
def test_the_three_variable_syntaxes(reference: str) -> None:
    text = f'm{{site=~"{reference}"}}'
    assert promql(text, site=Selection.of("north")) == 'm{site=~"north"}'


def test_promql_all_without_custom_value_is_a_regex_of_every_option() -> None:
    selection = Selection.everything(["Emart Jeju", "Emart.Seogwipo"])
    assert promql('m{site=~"$site"}', site=selection) == r'm{site=~"(Emart Jeju|Emart\\.Seogwipo)"}'


def test_promql_all_with_custom_value_is_that_value_unescaped() -> None:
    selection = Selection.everything(["Heartbeat", "BootNotification"])
    assert promql('m{action=~"$action"}', action=selection) == 'm{action=~".*"}'


def test_promql_several_values_and_one_value_of_a_multi_variable() -> None:
    assert promql("$site", site=Selection.of("a", "b", "c")) == "(a|b|c)"
    assert promql("$site", site=Selection.of("a.b")) == r"a\\.b"


def test_promql_regex_metacharacters_and_backslashes_are_escaped() -> None:
    value = "a$^*{}[]+?.()|b\\"
    escaped = r"a\\$\\^\\*\\{\\}\\[\\]\\+\\?\\.\\(\\)\\|b\\\\"
    assert promql("$site", site=Selection.of(value)) == escaped


def test_promql_a_single_value_variable_escapes_only_backslashes_and_quotes() -> None:
    assert promql("$job", job=Selection.of("o'brien.\\x")) == r"o\\'brien.\\x"


def test_sql_values_are_quoted_with_quotes_doubled_and_comma_joined() -> None:
    selection = Selection.of("emart_jeju_01", "o'brien")
    text = "charger_id IN ($station)"
    assert sql(text, station=selection) == "charger_id IN ('emart_jeju_01','o''brien')"
    assert sql(text, station=Selection.everything(["a", "b"])) == "charger_id IN ('a','b')"
    assert sql(text, station=Selection.of("a")) == "charger_id IN ('a')"


def test_sql_a_single_value_variable_is_not_quoted_only_its_quotes_doubled() -> None:
    assert sql("name = '$owner'", owner=Selection.of("o'brien")) == "name = 'o''brien'"


def test_sql_all_with_custom_value_is_that_value() -> None:
    custom = Variable("station", "sql", "SELECT 1", True, True, "NULL")
    query = PanelQuery("d", "p", "A", "sql", "x IN ($station)", (custom,))
    assert expand(query, {"station": Selection.everything(["a"])}, HOUR) == "x IN (NULL)"


def test_sql_time_macros() -> None:
    assert sql("WHERE $__timeFilter(logged_at)") == (
        "WHERE logged_at BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T06:01:17Z'"
    )
    assert sql("$__timeFrom() .. $__timeTo()") == "'2017-04-21T05:01:17Z' .. '2017-04-21T06:01:17Z'"
    assert sql("WHERE $__unixEpochFilter(t)") == "WHERE t >= 1492750877 AND t <= 1492754477"
    assert sql("$__unixEpochFrom() $__unixEpochTo()") == "1492750877 1492754477"


def test_sql_time_macros_are_in_utc_with_go_fractional_seconds() -> None:
    seoul = timezone(timedelta(hours=9))
    start = datetime(2017, 4, 21, 14, 1, 17, 500000, tzinfo=seoul)
    window = TimeWindow(start, start + timedelta(seconds=1), timedelta(seconds=1))
    assert sql("$__timeFrom()", window) == "'2017-04-21T05:01:17.5Z'"


def test_sql_time_group_in_seconds_from_an_interval_or_dollar_interval() -> None:
    assert sql("$__timeGroup(logged_at, '5m')") == "floor(extract(epoch from logged_at)/300)*300"
    ninety = TimeWindow(HOUR.start, HOUR.end, timedelta(seconds=90))
    assert sql("$__timeGroupAlias(logged_at, $__interval)", ninety) == (
        'floor(extract(epoch from logged_at)/60)*60 AS "time"'
    )
    assert sql("$__timeGroup(t, 500ms)") == "floor(extract(epoch from t)/0.5)*0.5"
    assert sql("$__timeGroup(t, 1y)") == "floor(extract(epoch from t)/3.1536e+07)*3.1536e+07"


def test_promql_interval_and_range_variables() -> None:
    assert promql("$__interval $__interval_ms") == "15s 15000"
    assert promql("$__range $__range_s") == "3600s 3600"
    long = TimeWindow(START, START + timedelta(hours=1, milliseconds=500), timedelta(seconds=90))
    assert promql("$__range_s $__range_ms $__interval", long) == "3601 3600500 1m"


@pytest.mark.parametrize(
    ("interval", "scrape", "expected"),
    [(15, 5, "20s"), (60, 15, "1m15s"), (10, 15, "1m0s"), (3600, 60, "1h1m0s"), (1.5, 0.1, "1.6s")],
)
def test_promql_rate_interval_is_interval_plus_scrape_at_least_four_scrapes(
    interval: float, scrape: float, expected: str
) -> None:
    window = TimeWindow(
        START, START + timedelta(days=1), timedelta(seconds=interval), timedelta(seconds=scrape)
    )
    assert promql("rate(m[$__rate_interval])", window) == f"rate(m[{expected}])"


@pytest.mark.parametrize(
    ("text", "language", "message"),
    [
        ('m{x=~"$nope"}', "promql", "unknown variable $nope"),
        ("rate(m[$__rateinterval])", "promql", "unknown macro $__rateinterval"),
        ("WHERE $__timeFilter(a)", "promql", "unknown macro $__timeFilter"),
        ("WHERE $__timeBucket(a)", "sql", "unknown macro $__timeBucket"),
        ("WHERE $__timeFilter AND 1", "sql", "unknown macro $__timeFilter"),
        ("WHERE $__rate_interval", "sql", "unknown macro $__rate_interval"),
        ("$__timeGroup(t, 5 minutes)", "sql", "error parsing interval 5 minutes"),
        ("$__timeFilter()", "sql", "needs one time column"),
        ("x IN (${station:csv})", "sql", "variable formats are not supported"),
        ("$job", "promql", "no selection given for $job"),
    ],
)
def test_what_grafana_would_not_replace_raises(text: str, language: str, message: str) -> None:
    query = PanelQuery("Traffic", "Losses", "A", language, text, EVERY)  # type: ignore[arg-type]
    station = {"station": Selection.of("a")}
    with pytest.raises(QueryError, match="^Traffic / Losses: .*" + re.escape(message)):
        expand(query, station, HOUR)


def test_selections_a_variable_does_not_offer_raise() -> None:
    with pytest.raises(QueryError, match=r"\$job takes one value"):
        promql("$job", job=Selection.of("a", "b"))
    with pytest.raises(QueryError, match=r"\$job offers no All"):
        promql("$job", job=Selection.everything(["a"]))


def test_a_time_window_must_be_aware_and_forward() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeWindow(datetime(2017, 1, 1), datetime(2017, 1, 2), timedelta(seconds=1))
    with pytest.raises(ValueError, match="end after"):
        TimeWindow(HOUR.end, HOUR.start, timedelta(seconds=1))


DASHBOARD = {
    "title": "Board",
    "templating": {
        "list": [
            {
                "type": "query",
                "name": "site",
                "datasource": {"type": "prometheus", "uid": "p"},
                "query": {"query": "label_values(m, site)", "refId": "X"},
                "multi": True,
                "includeAll": True,
                "allValue": "",
            },
            {"type": "interval", "name": "every", "query": "1m,5m"},
        ]
    },
    "panels": [
        {
            "title": "Top",
            "datasource": {"type": "prometheus", "uid": "p"},
            "targets": [{"refId": "A", "expr": "up"}, {"refId": "B", "expr": "m"}],
        },
        {
            "type": "row",
            "title": "Row",
            "panels": [
                {
                    "title": "Nested",
                    "datasource": {"type": "grafana-postgresql-datasource", "uid": "s"},
                    "targets": [{"refId": "A", "rawSql": "SELECT 1"}],
                }
            ],
        },
    ],
}


def test_panel_queries_reads_targets_nested_panels_and_query_variables() -> None:
    found = [(q.panel, q.ref_id, q.language, q.text, q.variable) for q in panel_queries(DASHBOARD)]
    assert found == [
        ("Top", "A", "promql", "up", None),
        ("Top", "B", "promql", "m", None),
        ("Nested", "A", "sql", "SELECT 1", None),
        ("variable site", "A", "promql", "label_values(m, site)", "site"),
    ]
    assert {q.dashboard for q in panel_queries(DASHBOARD)} == {"Board"}


def test_variables_reads_query_variables_only_an_empty_all_value_is_none() -> None:
    assert variables(DASHBOARD) == [
        Variable("site", "promql", "label_values(m, site)", True, True, None)
    ]


def test_an_unknown_datasource_type_raises() -> None:
    board = {
        "title": "B",
        "panels": [
            {
                "title": "P",
                "datasource": {"type": "loki"},
                "targets": [{"refId": "A", "expr": "{}"}],
            }
        ],
    }
    with pytest.raises(QueryError, match=r"^B / P: datasource .* neither Prometheus nor"):
        panel_queries(board)


def test_worth_checking_is_all_then_the_first_option() -> None:
    assert worth_checking(SITE, ["a", "b"]) == [Selection.everything(["a", "b"]), Selection.of("a")]
    assert worth_checking(JOB, ["a", "b"]) == [Selection.of("a")]
    assert worth_checking(SITE, []) == [Selection.everything([])]


def test_selection_sets_vary_one_variable_at_a_time() -> None:
    sets = selection_sets([SITE, JOB], {"site": ["a", "b"], "job": ["j"]})
    assert sets == [
        {"site": Selection.everything(["a", "b"]), "job": Selection.of("j")},
        {"site": Selection.of("a"), "job": Selection.of("j")},
    ]
    with pytest.raises(QueryError, match="variable job: it has no options"):
        selection_sets([SITE, JOB], {"site": ["a"]})
