"""/metrics of a real proxy over HTTP: after a charger's known traffic, with a known finding and
a frame dropped by a fault, the counters say exactly that."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from addons import default_addons
from proxy.runtime import running_proxy
from proxy.settings import Endpoint, ProxySettings, parse_upstream
from tests.csms.sim import request
from tests.pg import fetch
from tests.proxy_harness import charger, run, running_csms, within
from tests.store.load import answering_csms
from tests.support import free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
V201 = "ocpp2.0.1"
LONG_ID = "x" * 37
"""A MessageId one character over OCPP-J's 36: RPC-004."""


async def scrape(base: str) -> Samples:
    def get() -> tuple[str, str]:
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
            return response.headers["Content-Type"], response.read().decode()

    content_type, text = await within(asyncio.to_thread(get))
    assert content_type.startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape_until(base: str, done: Callable[[Samples], bool], what: str) -> Samples:
    for _ in range(200):
        samples = await scrape(base)
        if done(samples):
            return samples
        await asyncio.sleep(0.05)
    raise AssertionError(f"/metrics never showed {what}")


def settled(samples: Samples) -> bool:
    """The CSMS's four Heartbeat answers seen, and the fifth Heartbeat dropped."""
    answers = value(
        samples,
        "ocppscope_frames_total",
        direction="csms_to_charger",
        message_type="CALLRESULT",
        action="Heartbeat",
        ocpp_version=V201,
    )
    return (answers, value(samples, "ocppscope_faults_applied_total", kind="drop")) == (4, 1)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def family(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (sample, labels), v in samples.items() if sample == name and v}


def test_metrics_say_what_went_through(tmp_path: Path, database_url: str) -> None:
    async def scenario() -> None:
        async with running_csms() as upstream:
            settings = ProxySettings(
                listen=Endpoint("127.0.0.1", 0),
                upstream=parse_upstream(upstream.url),
                confdir=tmp_path,
                quiet=True,
                store=True,
                database_url=database_url,
                admin=Endpoint("127.0.0.1", free_port()),
            )
            assert settings.admin is not None
            admin = f"http://127.0.0.1:{settings.admin.port}"
            async with running_proxy(settings, default_addons()) as proxy:
                assert value(await scrape(admin), "ocppscope_stations_connected") == 0
                url = f"ws://127.0.0.1:{proxy.addresses[0][1]}/ocpp/CS01"
                async with charger(url) as station:
                    await station.boot()
                    for _ in range(3):
                        await station.heartbeat()
                    await station.ws.send(json.dumps([2, LONG_ID, "Heartbeat", {}]))
                    rule = {"kind": "drop", "station": "CS01", "action": "Heartbeat", "count": 1}
                    added = await request(
                        f"{admin}/faults", "POST", {**rule, "messageType": "CALL"}
                    )
                    assert added.status == 201, added.text
                    await station.ws.send(json.dumps([2, "dropped-1", "Heartbeat", {}]))

                    during = await scrape_until(admin, settled, "four answers and the drop")
                    assert value(during, "ocppscope_stations_connected") == 1
                after = await scrape_until(
                    admin,
                    lambda s: value(s, "ocppscope_stations_connected") == 0,
                    "the station gone",
                )
                stored = await scrape_until(
                    admin,
                    lambda s: (
                        value(s, "ocppscope_store_connected") == 1
                        and value(s, "ocppscope_store_queue_depth") == 0
                    ),
                    "the store written up",
                )

        assert upstream.counts["Heartbeat"] == 4  # the dropped one never reached the CSMS
        frames = family(after, "ocppscope_frames_total")
        up, down = "charger_to_csms", "csms_to_charger"
        assert frames == {
            frozenset(
                {"direction": d, "message_type": t, "action": a, "ocpp_version": V201}.items()
            ): n
            for d, t, a, n in [
                (up, "CALL", "BootNotification", 1),
                (down, "CALLRESULT", "BootNotification", 1),
                (up, "CALL", "Heartbeat", 4),
                (down, "CALLRESULT", "Heartbeat", 4),
            ]
        }
        assert family(after, "ocppscope_findings_total") == {
            frozenset({"rule": "RPC-004", "severity": "error", "ocpp_version": V201}.items()): 1,
            # heartbeats back to back, far faster than the 300 s interval the CSMS gave
            frozenset({"rule": "HB-002", "severity": "info", "ocpp_version": V201}.items()): 1,
        }
        assert family(after, "ocppscope_faults_applied_total") == {
            frozenset({"kind": "drop"}.items()): 1
        }
        assert value(after, "ocppscope_stations_connected") == 0
        assert value(after, "ocppscope_connects_total") == 1
        assert family(after, "ocppscope_disconnects_total") == {
            frozenset({"closed_by": "charger", "code": "1000"}.items()): 1
        }
        heartbeats = {"action": "Heartbeat", "direction": up}
        timed = {**heartbeats, "ocpp_version": V201}
        assert value(after, "ocppscope_call_duration_seconds_count", **timed) == 4
        assert value(after, "ocppscope_call_duration_seconds_bucket", le="+Inf", **timed) == 4
        assert value(after, "ocppscope_calls_unanswered_total", **heartbeats) == 0
        assert value(stored, "ocppscope_store_write_lag_seconds", quantile="0.99") > 0
        assert ("ocppscope_store_discarded_total", frozenset()) in stored
        assert value(after, "process_cpu_seconds_total") > 0
        assert value(after, "process_resident_memory_bytes") > 10_000_000

    run(scenario(), 60)


VERSION_STATIONS = {"V16": "ocpp1.6", "V201": "ocpp2.0.1", "VNONE": None}
"""Station -> the subprotocol it offers (and the CSMS selects); VNONE offers none."""


def test_each_connection_is_stored_and_counted_under_the_version_it_selected(
    tmp_path: Path, database_url: str
) -> None:
    """A 1.6 and a 2.0.1 station, and one that selected no subprotocol (judged by the 2.0.1
    rules, WS-002), through one proxy: their frames and findings in PostgreSQL and their series
    in /metrics each carry their own version, `unknown` (NULL when stored) for the third."""
    from websockets.asyncio.client import connect  # noqa: PLC0415

    async def scenario() -> Samples:
        async with answering_csms(("ocpp1.6", "ocpp2.0.1")) as (csms_port, _counts):
            settings = ProxySettings(
                listen=Endpoint("127.0.0.1", 0),
                upstream=parse_upstream(f"ws://127.0.0.1:{csms_port}"),
                confdir=tmp_path,
                quiet=True,
                store=True,
                database_url=database_url,
                admin=Endpoint("127.0.0.1", free_port()),
            )
            assert settings.admin is not None
            admin = f"http://127.0.0.1:{settings.admin.port}"
            async with running_proxy(settings, default_addons()) as proxy:
                base = f"ws://127.0.0.1:{proxy.addresses[0][1]}/ocpp"
                for name, offered in VERSION_STATIONS.items():
                    async with connect(
                        f"{base}/{name}",
                        subprotocols=[offered] if offered else None,  # type: ignore[list-item]
                        ping_interval=None,
                        open_timeout=10,
                    ) as ws:
                        assert ws.subprotocol == offered
                        for n, payload in enumerate(({}, {"bogus": 1})):  # the second: SCH-*
                            await ws.send(json.dumps([2, f"h{n}", "Heartbeat", payload]))
                            await within(ws.recv())
                return await scrape_until(
                    admin,
                    lambda s: (
                        value(s, "ocppscope_stations_connected") == 0
                        and value(s, "ocppscope_store_queue_depth") == 0
                        and sum(family(s, "ocppscope_frames_total").values()) == 12
                    ),
                    "every frame counted and stored",
                )

    after = run(scenario(), 60)
    labels = {"unknown" if version is None else version for version in VERSION_STATIONS.values()}
    for name in ("ocppscope_frames_total", "ocppscope_findings_total"):
        assert {dict(key)["ocpp_version"] for key in family(after, name)} == labels, name
    for label in labels:
        answered = {"action": "Heartbeat", "direction": "charger_to_csms", "ocpp_version": label}
        assert value(after, "ocppscope_call_duration_seconds_count", **answered) == 2, label

    for table in ("ocpp_message_log", "findings"):
        rows = asyncio.run(
            fetch(
                database_url,
                f"SELECT charger_id, ocpp_version, count(*) AS n FROM {table} GROUP BY 1, 2",
            )
        )
        assert len(rows) == len(VERSION_STATIONS), (table, rows)  # one version per station
        assert {row["charger_id"]: row["ocpp_version"] for row in rows} == VERSION_STATIONS
