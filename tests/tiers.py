"""Which tier each test module's tests belong to, for `make test-fast` (`pytest -m unit`).

unit: pure tests, no sockets, no processes, no database (tests/purity.py makes them fail if they
reach for one). integration: everything else, the servers, the CLIs as processes, PostgreSQL.
A test module not listed here fails collection: say which tier a new module is. A module whose
tests differ lists its default here and marks the others itself (`@pytest.mark.unit`); a test's
own marker wins over its module's default.
"""

from __future__ import annotations

UNIT_MODULES = frozenset(
    {
        "tests/addons/test_conformance.py",
        "tests/addons/test_console.py",
        "tests/addons/test_forwarding.py",
        "tests/addons/test_latency.py",
        "tests/addons/test_metrics.py",
        "tests/csms/test_metering.py",
        "tests/dashboards/test_queries.py",
        "tests/faults/test_book.py",
        "tests/faults/test_plan.py",
        "tests/faults/test_rules.py",
        "tests/ocppj/test_device_model.py",
        "tests/ocppj/test_groups.py",
        "tests/ocppj/test_messages.py",
        "tests/ocppj/test_observed.py",
        "tests/ocppj/test_properties.py",
        "tests/ocppj/test_rules_answers.py",
        "tests/ocppj/test_rules_backoff.py",
        "tests/ocppj/test_rules_boot.py",
        "tests/ocppj/test_rules_catalogue.py",
        "tests/ocppj/test_rules_heartbeat.py",
        "tests/ocppj/test_rules_remote.py",
        "tests/ocppj/test_rules_rpc.py",
        "tests/ocppj/test_rules_status.py",
        "tests/ocppj/test_rules_transactions.py",
        "tests/ocppj/test_rules_transport.py",
        "tests/scenarios/test_checks.py",
        "tests/scenarios/test_report.py",
        "tests/simulator/test_backoff.py",
        "tests/simulator/test_fleet.py",
        "tests/simulator/test_meter.py",
        "tests/store/test_backlog.py",
        "tests/store/test_records.py",
        "tests/test_apiguard.py",
        "tests/test_capture.py",
        "tests/test_docs.py",
        "tests/test_latency.py",
        "tests/test_options.py",
        "tests/test_settings.py",
    }
)

INTEGRATION_MODULES = frozenset(
    {
        "tests/addons/test_stock_mitmdump.py",
        "tests/csms/test_api.py",
        "tests/csms/test_api_guard.py",
        "tests/csms/test_cli.py",
        "tests/csms/test_conformance.py",
        "tests/csms/test_map.py",
        "tests/csms/test_openapi_fuzz.py",
        "tests/csms/test_robustness.py",
        "tests/csms/test_metrics.py",
        "tests/csms/test_ocpp.py",
        "tests/csms/test_through_proxy.py",
        "tests/dashboards/test_check_live.py",
        "tests/dashboards/test_cli.py",
        "tests/dashboards/test_generate.py",
        "tests/dashboards/test_prometheus.py",
        "tests/faults/test_admin_api.py",
        "tests/faults/test_fault_cli.py",
        "tests/faults/test_kinds.py",
        "tests/faults/test_scenarios.py",
        "tests/scenarios/test_report_db.py",
        "tests/scenarios/test_run.py",
        "tests/bench/test_simulate.py",
        "tests/simulator/test_commands.py",
        "tests/simulator/test_control.py",
        "tests/simulator/test_profiles.py",
        "tests/simulator/test_reconnect.py",
        "tests/simulator/test_runner.py",
        "tests/bench/test_soak.py",
        "tests/simulator/test_station.py",
        "tests/store/test_migrations.py",
        "tests/store/test_proxy_store.py",
        "tests/store/test_writer.py",
        "tests/bench/test_proxy.py",
        "tests/bench/test_store.py",
        "tests/ocppj/test_schema_differential.py",
        "tests/test_check_cli.py",
        "tests/test_check_shapes.py",
        "tests/test_compose.py",
        "tests/test_lab.py",
        "tests/test_metrics.py",
        "tests/test_packaging.py",
        "tests/test_proxy_cli.py",
        "tests/test_proxy_integration.py",
        "tests/test_runtime.py",
        "tests/test_workers.py",
    }
)
