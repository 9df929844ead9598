"""Conformance: the findings of the proxy's OCPP 1.6, 2.0.1 and 2.1 rules, over time from
Prometheus and per station, with their messages, from the findings table."""

from __future__ import annotations

from dashboards.common import (
    FULL,
    RATE,
    THIRD,
    VERSION,
    Panel,
    builders,
    dashboard,
    graph,
    label_variable,
    number,
    promql,
    sql_graph,
    sql_table,
    version_variable,
)

UID = "ocppscope-conformance"
CHOSEN = f'rule=~"$rule", {VERSION}'


def build() -> builders.Dashboard:
    return dashboard(
        UID,
        "ocppscope: Conformance",
        "Findings of the ocppscope conformance engine: which rules, which stations, what.",
        ["conformance"],
        (
            label_variable("rule", "Rule", "ocppscope_findings_total"),
            version_variable("ocppscope_findings_total"),
        ),
        (*_totals(), *_over_time(), *_stations()),
    )


def _totals() -> tuple[Panel, ...]:
    return tuple(
        number(
            f"{severity.capitalize()}s in range",
            f"Findings of severity {severity} over the whole time range, rules chosen in Rule, "
            "versions in Version.",
            "short",
            promql(
                f'sum(increase(ocppscope_findings_total{{severity="{severity}", {CHOSEN}}}'
                "[$__range]))",
                severity,
            ),
            width=THIRD,
        )
        for severity in ("error", "warning", "info")
    )


def _over_time() -> tuple[Panel, ...]:
    return (
        graph(
            "Findings by severity",
            "Findings per interval by severity; errors are violations of a MUST in the spec.",
            "short",
            promql(
                f"sum by (severity) (increase(ocppscope_findings_total{{{CHOSEN}}}{RATE}))",
                "{{severity}}",
            ),
        ),
        graph(
            "Findings by OCPP version",
            "Findings per interval by the subprotocol the connection selected (unknown: none of "
            "ocpp1.6, ocpp2.0.1, ocpp2.1, judged by the 2.0.1 rules).",
            "short",
            promql(
                "sum by (ocpp_version, severity) "
                f"(increase(ocppscope_findings_total{{{CHOSEN}}}{RATE}))",
                "{{ocpp_version}} {{severity}}",
            ),
        ),
        graph(
            "Findings by rule",
            "Findings per interval by rule id (RPC-*, TX-*, ...); a new rule appearing after a "
            "firmware or CSMS change is the thing to look at.",
            "short",
            promql(
                f"sum by (rule) (increase(ocppscope_findings_total{{{CHOSEN}}}{RATE}))",
                "{{rule}}",
            ),
        ),
        sql_graph(
            "Findings by rule, selected stations",
            "The same from the findings table, for the stations chosen in the Station picker.",
            "short",
            """
SELECT $__timeGroupAlias(logged_at, $__interval), rule_id AS metric, count(*) AS "findings"
FROM findings
WHERE $__timeFilter(logged_at) AND charger_id IN ($station)
GROUP BY 1, 2
ORDER BY 1
""",
        ),
    )


def _stations() -> tuple[Panel, ...]:
    return (
        sql_table(
            "Top offending stations",
            "Stations with the most errors in the range, then the most findings; one station "
            "far ahead usually runs a faulty firmware.",
            """
SELECT charger_id AS "station",
       count(*) FILTER (WHERE severity = 'error') AS "errors",
       count(*) FILTER (WHERE severity = 'warning') AS "warnings",
       count(*) AS "findings",
       count(DISTINCT rule_id) AS "rules",
       string_agg(DISTINCT ocpp_version, ', ') AS "versions",
       max(logged_at) AS "latest"
FROM findings
WHERE $__timeFilter(logged_at) AND charger_id IN ($station)
GROUP BY charger_id
ORDER BY "errors" DESC, "findings" DESC
LIMIT 20
""",
            width=FULL,
        ),
        sql_table(
            "Latest findings",
            "The newest findings with the engine's message and the spec section it cites; "
            "connection_id and message_id find the frame in ocpp_message_log.",
            """
SELECT logged_at AS "time", charger_id AS "station", ocpp_version AS "version", severity,
       rule_id AS "rule", action, direction, message, reference, connection_id, message_id
FROM findings
WHERE $__timeFilter(logged_at) AND charger_id IN ($station)
ORDER BY logged_at DESC
LIMIT 200
""",
            width=FULL,
        ),
    )
