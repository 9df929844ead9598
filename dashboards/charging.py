"""Charging: what the reference CSMS delivers, per site from its metrics and per transaction and
charger from charger_usage_log."""

from __future__ import annotations

from dashboards.common import (
    FULL,
    QUARTER,
    RATE,
    Panel,
    builders,
    dashboard,
    graph,
    label_variable,
    number,
    promql,
    sql_table,
)

UID = "ocppscope-charging"
SITE = 'site=~"$site"'

OVERLAPPING_RANGE = (
    "u.start_time <= $__timeTo() AND (u.end_time IS NULL OR u.end_time >= $__timeFrom())"
)
"""Transactions that were running at some moment of the time range, not only those started in it."""


def build() -> builders.Dashboard:
    return dashboard(
        UID,
        "ocppscope: Charging",
        "Sessions, power, energy and revenue of the reference CSMS, per site and charger.",
        ["charging"],
        (label_variable("site", "Site", "ocppscope_csms_site_power_kw"),),
        (*_now(), *_over_time(), *_tables()),
    )


def _now() -> tuple[Panel, ...]:
    return (
        number(
            "Sessions running",
            "Transactions started and not yet ended at the sites chosen in Site.",
            "short",
            promql(f"sum(ocppscope_csms_sessions_running{{{SITE}}})", "running"),
            width=QUARTER,
        ),
        number(
            "Power now",
            "Power drawn now at the chosen sites, summed from each charger's latest meter value.",
            "kwatt",
            promql(f"sum(ocppscope_csms_site_power_kw{{{SITE}}})", "kW"),
            width=QUARTER,
        ),
        number(
            "Energy in range",
            "kWh delivered over the whole time range at the chosen sites.",
            "kwatth",
            promql(
                f"sum(increase(ocppscope_csms_energy_delivered_kwh_total{{{SITE}}}[$__range]))",
                "kWh",
            ),
            width=QUARTER,
        ),
        number(
            "Revenue in range",
            "Cost of that energy, as charger_usage_log.cost grows.",
            "currencyKRW",
            promql(f"sum(increase(ocppscope_csms_revenue_krw_total{{{SITE}}}[$__range]))", "KRW"),
            width=QUARTER,
        ),
    )


def _over_time() -> tuple[Panel, ...]:
    return (
        graph(
            "Sessions by site",
            "Transactions running, and ended per interval; running that never falls back is "
            "a session whose Ended event was lost.",
            "short",
            promql(
                f"sum by (site) (ocppscope_csms_sessions_running{{{SITE}}})", "{{site}} running"
            ),
            promql(
                f"sum by (site) (increase(ocppscope_csms_sessions_ended_total{{{SITE}}}{RATE}))",
                "{{site}} ended",
                ref_id="B",
            ),
        ),
        graph(
            "Power by site",
            "kW drawn now per site; a site at its grid limit shows as a flat top.",
            "kwatt",
            promql(f"ocppscope_csms_site_power_kw{{{SITE}}}", "{{site}}"),
        ),
        graph(
            "Energy delivered per hour",
            "kWh per hour by site (the counter's rate): compare with Power by site, a gap "
            "means meter values that never became usage records.",
            "kwatth",
            promql(
                "sum by (site) "
                f"(rate(ocppscope_csms_energy_delivered_kwh_total{{{SITE}}}{RATE})) * 3600",
                "{{site}}",
            ),
        ),
        graph(
            "Revenue per hour",
            "KRW per hour by site, as the sessions' cost grows.",
            "currencyKRW",
            promql(
                f"sum by (site) (rate(ocppscope_csms_revenue_krw_total{{{SITE}}}{RATE})) * 3600",
                "{{site}}",
            ),
        ),
    )


def _tables() -> tuple[Panel, ...]:
    return (
        sql_table(
            "Recent transactions",
            "Transactions of the chosen stations running during the range, newest first; an "
            "empty end with a stopped reason, or energy 0 at the end, is worth a look.",
            f"""
SELECT u.start_time AS "started", u.end_time AS "ended", u.charger_id AS "station",
       i.site, u.transaction_id, u.id_token, u.energy_consumed AS "kWh", u.cost AS "KRW",
       u.duration_seconds AS "seconds", u.stopped_reason
FROM charger_usage_log u
LEFT JOIN charger_info i USING (charger_id)
WHERE {OVERLAPPING_RANGE} AND u.charger_id IN ($station)
ORDER BY u.start_time DESC
LIMIT 200
""",
            width=FULL,
        ),
        sql_table(
            "Energy per charger",
            "Per charger over the transactions running during the range: sessions, kWh, KRW "
            "and the power it draws now, most energy first.",
            f"""
SELECT u.charger_id AS "station", i.site, count(*) AS "sessions",
       sum(u.energy_consumed) AS "kWh", sum(u.cost) AS "KRW",
       max(i.current_power) AS "kW now"
FROM charger_usage_log u
LEFT JOIN charger_info i USING (charger_id)
WHERE {OVERLAPPING_RANGE} AND u.charger_id IN ($station)
GROUP BY u.charger_id, i.site
ORDER BY "kWh" DESC
LIMIT 100
""",
            width=FULL,
        ),
    )
