"""The lab as the seed guide runs it: a station, the proxy storing every frame, the CSMS behind.
REST commands reach the station through the proxy and show up in the proxy's message log as the
guide's Q4 expects, and the proxy's conformance engine finds nothing wrong with the CSMS."""

from __future__ import annotations

from pathlib import Path

from proxy.ocppj.actions import Direction
from proxy.ocppj.findings import Severity
from tests.csms import flows
from tests.csms.sim import csms, station
from tests.pg import fetch
from tests.proxy_harness import run, until

Q4 = """
SELECT action, message_type, status, logged_at
FROM ocpp_message_log
WHERE charger_id = 'emart_jeju_01'
  AND logged_at > NOW() - INTERVAL '20 minutes'
  AND action IN ('RequestStartTransaction', 'RequestStopTransaction')
ORDER BY logged_at;
"""


def test_commands_through_the_proxy_are_logged_and_conformant(
    tmp_path: Path, database_url: str
) -> None:
    async def scenario() -> None:
        from tests.proxy_harness import running_proxy  # noqa: PLC0415

        async with (
            csms(database_url) as lab,
            running_proxy(
                tmp_path / "mitmproxy",
                f"ws://127.0.0.1:{lab.ocpp_port}",
                store=True,
                database_url=database_url,
            ) as proxy,
        ):
            url = proxy.url("/ocpp/emart_jeju_01")
            async with station(lab, "emart_jeju_01", url=url) as link:
                await link.cp.boot()
                await link.cp.status("Available")
                transaction_id = await flows.remote_start(lab, link.cp)
                await flows.charge(lab, link.cp, transaction_id)
                await flows.limit_while_charging(lab, link.cp, transaction_id)
                await flows.remote_stop(lab, link.cp, transaction_id)

            def stored() -> bool:
                store = proxy.running.health()["store"]
                return store["queue_depth"] == 0 and store["written"]["ocpp_message_log"] > 0

            await until(stored, what="the proxy's store to write")
            rows = await fetch(database_url, Q4)
            assert [(r["action"], r["message_type"], r["status"]) for r in rows] == [
                ("RequestStartTransaction", "CALL", "sent"),
                ("RequestStartTransaction", "CALLRESULT", "sent"),
                ("RequestStopTransaction", "CALL", "sent"),
                ("RequestStopTransaction", "CALLRESULT", "sent"),
            ]
            csms_errors = [
                f
                for f in proxy.recorder.findings
                if f.severity is Severity.ERROR and f.direction is Direction.CSMS_TO_CHARGER
            ]
            assert not csms_errors, csms_errors

    run(scenario(), 60)
