"""OCPP traffic: what passes through the proxy, how fast it is answered, what is lost, and
whether the stations, the store and the proxy itself keep up."""

from __future__ import annotations

from dashboards.common import (
    FULL,
    HALF,
    PROXY_JOB,
    QUARTER,
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
    row,
    sql_graph,
    sql_table,
    version_variable,
)

UID = "ocppscope-traffic"
ACTION = f'action=~"$action", {VERSION}'
QUANTILES = ("0.5", "0.95", "0.99")


def build() -> builders.Dashboard:
    board = dashboard(
        UID,
        "ocppscope: OCPP traffic",
        "Frames, round trips, losses and reconnects seen by the ocppscope proxy.",
        ["traffic"],
        (
            # `.*` also matches frames without an action (action=""), which a list would not.
            label_variable("action", "Action", "ocppscope_frames_total", all_value=".*"),
            version_variable("ocppscope_frames_total"),
        ),
        (*_overview(), *_traffic(), *_per_station()),
    )
    return board.with_row(_reconnects()).with_row(_health())


def _overview() -> tuple[Panel, ...]:
    return (
        number(
            "Stations connected",
            "Stations with an open WebSocket now; a drop is a disconnect wave.",
            "short",
            promql("ocppscope_stations_connected", "stations"),
        ),
        number(
            "Frames/s",
            "Every frame both ways, all actions, of the versions chosen in Version.",
            "reqps",
            promql(f"sum(rate(ocppscope_frames_total{{{VERSION}}}{RATE}))", "frames/s"),
        ),
        number(
            "CALL round trip p95",
            "95th percentile of CALL to answer through the proxy, all actions, of the versions "
            "chosen in Version.",
            "s",
            promql(_quantile("0.95", "le", VERSION), "p95"),
        ),
        number(
            "Unanswered CALLs in range",
            "CALLs not answered within MessageTimeout (RPC-008) over the whole time range.",
            "short",
            promql("sum(increase(ocppscope_calls_unanswered_total[$__range]))", "unanswered"),
        ),
    )


def _traffic() -> tuple[Panel, ...]:
    return (
        graph(
            "Frames/s by action",
            "Frames both ways per action; a boot storm shows as BootNotification, a stuck "
            "station as a flat Heartbeat line.",
            "reqps",
            promql(
                f"sum by (action) (rate(ocppscope_frames_total{{{ACTION}}}{RATE}))", "{{action}}"
            ),
        ),
        graph(
            "Frames/s by OCPP version",
            "Frames both ways per subprotocol the connections selected (ocpp1.6, ocpp2.0.1, "
            "ocpp2.1; unknown: none of them, judged as 2.0.1): the mix of a fleet.",
            "reqps",
            promql(
                f"sum by (ocpp_version) (rate(ocppscope_frames_total{{{ACTION}}}{RATE}))",
                "{{ocpp_version}}",
            ),
        ),
        graph(
            "CALL round trip",
            "Time from a CALL passing the proxy to its answer, all actions. p99 far above p95 "
            "means a few slow stations or a slow CSMS endpoint.",
            "s",
            *(
                promql(_quantile(q, "le", VERSION), f"p{_percent(q)}", ref_id=ref)
                for q, ref in zip(QUANTILES, "ABC", strict=True)
            ),
        ),
        graph(
            "CALL round trip p95 by OCPP version",
            "95th percentile of CALL to answer per subprotocol: whether one version's stations "
            "(or the CSMS's handling of it) answer slower than the others.",
            "s",
            promql(_quantile("0.95", "le, ocpp_version", ACTION), "{{ocpp_version}} p95"),
        ),
        graph(
            "CALL round trip by action",
            "The same percentiles per action: which message the CSMS (or a station) answers "
            "slowly.",
            "s",
            *(
                promql(_quantile(q, "le, action", ACTION), f"{{{{action}}}} p{_percent(q)}", ref)
                for q, ref in zip(QUANTILES, "ABC", strict=True)
            ),
        ),
        graph(
            "Unanswered CALLs",
            "CALLs that got no answer within MessageTimeout, by action and the CALL's "
            "direction (all versions); any is a lost frame or a hung peer.",
            "short",
            promql(
                "sum by (action, direction) "
                f'(increase(ocppscope_calls_unanswered_total{{action=~"$action"}}{RATE}))',
                "{{action}} {{direction}}",
            ),
        ),
        graph(
            "Losses",
            "TransactionEvents missing from seqNo gaps (TX-003) against frames a fault rule "
            "dropped or swallowed: a gap not explained by a fault is a real loss.",
            "short",
            promql(
                f"sum(increase(ocppscope_transaction_events_missing_total{RATE}))",
                "TransactionEvents missing (seqNo gaps)",
            ),
            promql(
                'sum by (kind) (increase(ocppscope_faults_applied_total{kind=~"drop|blackhole"}'
                f"{RATE}))",
                "frames dropped by fault: {{kind}}",
                ref_id="B",
            ),
        ),
        graph(
            "Findings by rule",
            "Conformance findings per rule; the Conformance dashboard has the stations and "
            "messages behind them.",
            "short",
            promql(
                f"sum by (rule) (increase(ocppscope_findings_total{{{VERSION}}}{RATE}))", "{{rule}}"
            ),
        ),
    )


def _per_station() -> tuple[Panel, ...]:
    return (
        sql_graph(
            "Round trip, selected stations",
            "p50 and p95 of the answers' rtt_ms in ocpp_message_log for the stations chosen "
            "in the Station picker.",
            "ms",
            """
SELECT $__timeGroupAlias(logged_at, $__interval),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY rtt_ms) AS "p50",
       percentile_cont(0.95) WITHIN GROUP (ORDER BY rtt_ms) AS "p95"
FROM ocpp_message_log
WHERE $__timeFilter(logged_at) AND rtt_ms IS NOT NULL AND charger_id IN ($station)
GROUP BY 1
ORDER BY 1
""",
        ),
        sql_graph(
            "Frames by status, selected stations",
            "What the proxy did with the selected stations' frames: sent, or dropped, delayed, "
            "duplicated, corrupted or injected by a fault, or after_close: sent after the other "
            "side's Close, so forwarded to no one.",
            "short",
            """
SELECT $__timeGroupAlias(logged_at, $__interval), status AS metric, count(*) AS "frames"
FROM ocpp_message_log
WHERE $__timeFilter(logged_at) AND charger_id IN ($station)
GROUP BY 1, 2
ORDER BY 1
""",
        ),
        sql_table(
            "Slowest stations",
            "Per station in the range: frames, answers and their round trips, slowest p95 "
            "first. A station far above the others is slow itself, not the CSMS.",
            """
SELECT charger_id AS "station",
       count(*) AS "frames",
       count(rtt_ms) AS "answers",
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY rtt_ms)::numeric, 1) AS "p50 ms",
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY rtt_ms)::numeric, 1) AS "p95 ms",
       round(max(rtt_ms)::numeric, 1) AS "max ms",
       count(*) FILTER (WHERE status <> 'sent') AS "faulted frames"
FROM ocpp_message_log
WHERE $__timeFilter(logged_at) AND charger_id IN ($station)
GROUP BY charger_id
ORDER BY "p95 ms" DESC NULLS LAST
LIMIT 50
""",
            width=FULL,
        ),
    )


def _reconnects() -> builders.Row:
    return row(
        "Reconnect storms",
        graph(
            "Connects and disconnects/s",
            "WebSocket connections opened and closed; both high and equal is a reconnect loop.",
            "ops",
            promql(f"sum(rate(ocppscope_connects_total{RATE}))", "connects"),
            promql(
                f"sum by (closed_by, code) (rate(ocppscope_disconnects_total{RATE}))",
                "closed by {{closed_by}} ({{code}})",
                ref_id="B",
            ),
        ),
        graph(
            "Refused handshakes/s",
            "Upgrades answered with an HTTP status instead of 101; 502 means the CSMS was "
            "unreachable.",
            "ops",
            promql(
                f"sum by (status) (rate(ocppscope_handshakes_refused_total{RATE}))",
                "HTTP {{status}}",
            ),
        ),
        graph(
            "Mean reconnect wait by attempt",
            "How long stations waited before each reconnect attempt (BACKOFF-007); waits that "
            "do not grow with the attempt mean no back-off.",
            "s",
            promql(
                f"sum by (attempt) (rate(ocppscope_reconnect_wait_seconds_sum{RATE})) / "
                f"sum by (attempt) (rate(ocppscope_reconnect_wait_seconds_count{RATE}))",
                "attempt {{attempt}}",
            ),
            width=FULL,
        ),
    )


def _health() -> builders.Row:
    return row(
        "Store and proxy process",
        number(
            "Store connected",
            "1 while the store writes to PostgreSQL; 0 means rows pile up in memory.",
            "bool_yes_no",
            promql("ocppscope_store_connected", "connected"),
            width=QUARTER,
        ),
        number(
            "Store queue",
            "Rows waiting in memory for PostgreSQL; growing means the database falls behind.",
            "short",
            promql("ocppscope_store_queue_depth", "rows"),
            width=QUARTER,
        ),
        number(
            "Rows discarded in range",
            "Frames forwarded but never stored: the buffer was full while PostgreSQL was away.",
            "short",
            promql("sum(increase(ocppscope_store_discarded_total[$__range]))", "rows"),
            width=HALF,
        ),
        graph(
            "Store write lag",
            "Queue-to-commit time of the latest rows; seconds here delay the per-station panels.",
            "s",
            promql("ocppscope_store_write_lag_seconds", "quantile {{quantile}}"),
            width=THIRD,
        ),
        graph(
            "Proxy CPU",
            "CPU time of the proxy process per second; 1 is a whole core.",
            "percentunit",
            promql(f"rate(process_cpu_seconds_total{{{PROXY_JOB}}}{RATE})", "cpu"),
            width=THIRD,
        ),
        graph(
            "Proxy memory",
            "Resident memory of the proxy process; steady growth is a leak.",
            "bytes",
            promql(f"process_resident_memory_bytes{{{PROXY_JOB}}}", "resident"),
            width=THIRD,
        ),
    )


def _quantile(quantile: str, by: str, selector: str) -> str:
    matchers = f"{{{selector}}}" if selector else ""
    return (
        f"histogram_quantile({quantile}, sum by ({by}) "
        f"(rate(ocppscope_call_duration_seconds_bucket{matchers}{RATE})))"
    )


def _percent(quantile: str) -> str:
    return str(round(float(quantile) * 100))
