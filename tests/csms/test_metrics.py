"""The CSMS's /metrics while a simulated station charges through it: sessions, power, energy and
cost as charger_usage_log has them, REST requests by route template."""

from __future__ import annotations

from decimal import Decimal

from csms.app import RunningCsms
from tests.csms import flows
from tests.csms.sim import csms, http, station
from tests.pg import fetch
from tests.proxy_harness import run
from tests.test_metrics import Samples, family, scrape, value

SITE = {"site": "Emart Jeju"}
"""emart_jeju_01's site in charger_info."""


async def scraped(running: RunningCsms) -> Samples:
    return await scrape(f"http://127.0.0.1:{running.http_port}")


def test_sessions_power_energy_and_requests(database_url: str) -> None:
    async def scenario() -> None:
        async with csms(database_url) as running:
            before = await scraped(running)
            assert value(before, "ocppscope_csms_power_kw") == 0
            assert family(before, "ocppscope_csms_sessions_running") == {}
            async with station(running, "emart_jeju_01") as link:
                await link.cp.boot()
                await link.cp.status("Available")
                transaction_id = await flows.remote_start(running, link.cp)
                await flows.charge(running, link.cp, transaction_id)  # 25 s at 100 kW
                charging = await scraped(running)
                assert value(charging, "ocppscope_csms_sessions_running", **SITE) == 1
                assert value(charging, "ocppscope_csms_power_kw") == 100
                assert value(charging, "ocppscope_csms_site_power_kw", **SITE) == 100
                assert value(charging, "ocppscope_csms_energy_delivered_kwh_total", **SITE) == (
                    0.6944
                )
                await flows.remote_stop(running, link.cp, transaction_id)
                ended = link.cp.sent_events[-1][0]
                await link.cp.transaction_event(ended)  # a repeated Ended counts once
                await http(running, "GET", "/chargers/nobody")
                await http(running, "GET", "/nowhere")
                after = await scraped(running)

        [usage] = await fetch(
            database_url,
            "SELECT energy_consumed, cost FROM charger_usage_log WHERE transaction_id = $1",
            transaction_id,
        )
        assert (usage["energy_consumed"], usage["cost"]) == (Decimal("0.8333"), Decimal("125.00"))
        assert value(after, "ocppscope_csms_sessions_running", **SITE) == 0
        assert value(after, "ocppscope_csms_sessions_ended_total", **SITE) == 1
        energy = value(after, "ocppscope_csms_energy_delivered_kwh_total", **SITE)
        assert Decimal(str(energy)) == usage["energy_consumed"]
        assert value(after, "ocppscope_csms_revenue_krw_total", **SITE) == float(usage["cost"])
        assert value(after, "ocppscope_csms_power_kw") == 0

        requests = {
            (dict(labels)["route"], dict(labels)["status"]): count
            for labels, count in family(after, "ocppscope_csms_http_requests_total").items()
        }
        assert requests == {
            ("/metrics", "200"): 2,  # the scrapes before this one
            ("/chargers/{charger_id}/start", "200"): 1,
            ("/chargers/{charger_id}/stop", "200"): 1,
            ("/chargers/{charger_id}", "200"): 2,  # charge's and remote_stop's checks
            ("/chargers/{charger_id}", "404"): 1,
            ("unmatched", "404"): 1,
        }
        assert value(after, "process_resident_memory_bytes") > 0

    run(scenario(), 60)
