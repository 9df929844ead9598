"""Faults on an OCPP 1.6J station beside a 2.0.1 one, through the real proxy to the reference CSMS
on 127.0.0.1, stored in PostgreSQL: rules name 1.6 actions (StartTransaction, StopTransaction),
a reply-error answers in the spelling of the connection's version (OCPP-J 1.6 §4.2.3's
OccurenceConstraintViolation), and a code 1.6 lacks leaves the 1.6 connection alone."""

from __future__ import annotations

import json
from pathlib import Path

from proxy.faults.spec import parse_spec
from proxy.ocppj.findings import Severity
from simulator.fleet import StationSpec
from tests.faults.test_scenarios import fleet_through_proxy, seed_station, serious
from tests.pg import fetch
from tests.proxy_harness import Proxy, run, until

V16, V201 = "FAULT-16", "FAULT-201"


def test_faults_on_1_6_actions_and_codes_are_applied_and_stored(
    database_url: str, tmp_path: Path
) -> None:
    station16 = seed_station(StationSpec(V16, 50.0, protocol="ocpp1.6"))
    station16.set_variable("MessageAttemptInterval", 1)
    station201 = seed_station(StationSpec(V201, 50.0))
    rules = [
        # asked in the 2.0.1 spelling; the 1.6 station gets its own
        {"kind": "reply-error", "action": "StartTransaction", "count": 1,
         "errorCode": "OccurrenceConstraintViolation"},
        # not a 1.6 code: only the 2.0.1 station's Heartbeat is answered by the proxy
        {"kind": "reply-error", "action": "Heartbeat", "errorCode": "RpcFrameworkError"},
        {"kind": "delay", "action": "StopTransaction", "delay": "300ms", "count": 1},
    ]  # fmt: skip

    async def scenario() -> Proxy:
        async with fleet_through_proxy(
            [station16, station201],
            database_url,
            tmp_path,
            store=True,
        ) as (proxy, faults):
            for rule in rules:
                faults.add(parse_spec(rule))
            await station16.heartbeat()  # answered by the CSMS
            assert await station16.plug_in_and_charge("TAG-0001") is not None
            await until(lambda: bool(station16.delivered), 15, "StartTransaction, sent again")
            await station16.stop_charging("Local")
            await until(lambda: not station16.queued, 10, "the StopTransaction")
            try:
                await station201.heartbeat()
            except Exception as refused:  # the proxy's CALLERROR, raised by the ocpp library
                assert "RpcFrameworkError" in str(refused), refused  # a code it does not know
            else:
                raise AssertionError("the 2.0.1 Heartbeat was not answered with a CALLERROR")
            return proxy

    proxy = run(scenario(), 60)
    injected = [
        json.loads(f.data)
        for f in proxy.recorder.frames
        if f.fault is not None and f.fault.status == "injected" and isinstance(f.data, str)
    ]
    assert [(m[0], m[2]) for m in injected] == [
        (4, "OccurenceConstraintViolation"),
        (4, "RpcFrameworkError"),
    ]
    assert not serious(proxy.recorder.findings, V16), "1.6: a valid CALLERROR, nothing worse"
    assert not [f for f in proxy.recorder.findings if f.rule_id == "RPC-012"]

    events = run(
        fetch(
            database_url,
            "SELECT fault_id, kind, charger_id, action FROM fault_events "
            "WHERE event = 'applied' ORDER BY seq",
        )
    )
    assert [tuple(r.values()) for r in events] == [
        (1, "reply-error", V16, "StartTransaction"),
        (3, "delay", V16, "StopTransaction"),
        (2, "reply-error", V201, "Heartbeat"),
    ]
    rows = run(
        fetch(
            database_url,
            "SELECT charger_id, message_type, action, status, payload->>'errorCode' AS code "
            "FROM ocpp_message_log "
            "WHERE action IN ('StartTransaction', 'StopTransaction', 'Heartbeat') ORDER BY seq",
        )
    )
    logged = [tuple(r.values()) for r in rows]
    start = [r[1:] for r in logged if r[0] == V16 and r[2] == "StartTransaction"]
    assert start == [
        ("CALL", "StartTransaction", "dropped", None),  # answered by the proxy instead
        ("CALLERROR", "StartTransaction", "injected", "OccurenceConstraintViolation"),
        ("CALL", "StartTransaction", "sent", None),
        ("CALLRESULT", "StartTransaction", "sent", None),
    ]
    stop = [r[1:4] for r in logged if r[0] == V16 and r[2] == "StopTransaction"]
    assert stop == [
        ("CALL", "StopTransaction", "delayed"),
        ("CALLRESULT", "StopTransaction", "sent"),
    ]
    heartbeats = [(r[0], r[1], r[3]) for r in logged if r[2] == "Heartbeat"]
    assert (V16, "CALLRESULT", "sent") in heartbeats
    assert (V201, "CALLERROR", "injected") in heartbeats
    errors = [f for f in proxy.recorder.findings if f.severity is Severity.ERROR]
    assert not errors, errors
