"""The conformance engine over the reference CSMS's own traffic: every frame both ways of rich
sessions, as the stations saw them, fed to a Monitor. The CSMS must not be at fault."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from ocpp.v201 import call

from csms.peer import Policy
from proxy.check import run_check
from proxy.ocppj.actions import Direction
from proxy.ocppj.events import Event
from proxy.ocppj.findings import Finding, Severity
from tests.csms import flows
from tests.csms.sim import csms, ocpp_time, session_events, station
from tests.proxy_harness import run, until


def csms_errors(trace: list[Event]) -> tuple[list[Finding], str]:
    """Errors on frames the CSMS sent; and every finding, printable."""
    report = run_check(sorted(trace, key=lambda event: event.timestamp))
    shown = "\n".join(
        f"{f.severity} {f.rule_id} {f.direction} {f.action} {f.station}: {f.message}"
        for f in report.findings
    )
    print(shown or "no findings")
    errors = [
        f
        for f in report.findings
        if f.severity is Severity.ERROR and f.direction is Direction.CSMS_TO_CHARGER
    ]
    return errors, shown


def frames_sent_by_csms(trace: list[Event]) -> list[list]:
    return [
        json.loads(event.data)
        for event in trace
        if getattr(event, "direction", None) is Direction.CSMS_TO_CHARGER
    ]


def test_a_rich_session_gives_no_csms_errors(database_url: str) -> None:
    trace: list[Event] = []

    async def scenario() -> None:
        async with csms(database_url, Policy(denied_tokens=frozenset({"STOLEN-01"}))) as running:
            async with station(running, "emart_jeju_01", trace=trace) as link:
                cp = link.cp
                await cp.boot()
                await cp.send(
                    call.SecurityEventNotification(
                        type="StartupOfTheDevice", timestamp=ocpp_time(datetime.now(UTC))
                    )
                )
                await cp.status("Available")
                await cp.send(call.Heartbeat())
                await cp.send(call.Authorize(id_token={"id_token": "TAG-1", "type": "ISO14443"}))
                await cp.send(
                    call.Authorize(id_token={"id_token": "STOLEN-01", "type": "ISO14443"})
                )
                await flows.idle(running, cp)
                await flows.limit_while_idle(running, cp)
                await flows.limit_while_idle(running, cp)  # and again: a new limit
                await cp.status("Occupied")
                transaction_id = await flows.remote_start(running, cp)
                await flows.charge(running, cp, transaction_id)
                now = ocpp_time(datetime.now(UTC))
                await cp.send(
                    call.MeterValues(
                        evse_id=1,
                        meter_value=[
                            {
                                "timestamp": now,
                                "sampled_value": [
                                    {
                                        "value": 99000,
                                        "measurand": "Power.Active.Import",
                                        "unit_of_measure": {"unit": "W"},
                                    }
                                ],
                            }
                        ],
                    )
                )
                await cp.send(
                    call.NotifyEvent(
                        generated_at=now,
                        seq_no=0,
                        event_data=[
                            {
                                "event_id": 7,
                                "timestamp": now,
                                "trigger": "Delta",
                                "actual_value": "Occupied",
                                "event_notification_type": "HardWiredNotification",
                                "component": {"name": "Connector", "evse": {"id": 1}},
                                "variable": {"name": "AvailabilityState"},
                            }
                        ],
                    )
                )
                await flows.limit_while_charging(running, cp, transaction_id)
                await flows.remote_stop(running, cp, transaction_id)
                await cp.status("Available")
                await cp.send(call.FirmwareStatusNotification(status="Idle"))

                # A local session: Authorize, then Started/Updated/Ended from the station.
                start = datetime.now(UTC).replace(microsecond=0)
                for payload in session_events("TX-LOCAL-1", start, power_kw=50):
                    await cp.transaction_event(payload)
                await cp.send(call.Heartbeat())

            # An offline replay on a new connection, out of order, and a repeated Ended.
            async with station(running, "emart_jeju_01", trace=trace) as link:
                await link.cp.boot()
                old = session_events("TX-OFFLINE-1", start - timedelta(hours=1), offline=True)
                replay = [old[0], *random.Random(3).sample(old[1:], len(old) - 1)]
                for payload in [*replay, old[-1]]:
                    await link.cp.transaction_event(payload)
                await link.cp.status("Available")

    run(scenario(), 45)
    sent = frames_sent_by_csms(trace)
    actions = {frame[2] for frame in sent if frame[0] == 2}
    assert actions == {"RequestStartTransaction", "RequestStopTransaction", "SetChargingProfile"}
    assert all(frame[0] != 4 for frame in sent), [f for f in sent if f[0] == 4]
    errors, shown = csms_errors(trace)
    assert not errors, shown


def test_a_rejected_unknown_station_gives_no_csms_errors(database_url: str) -> None:
    trace: list[Event] = []

    async def scenario() -> None:
        async with (
            csms(database_url, Policy(accept_unknown=False)) as running,
            station(running, "stranger_01", trace=trace) as link,
        ):
            boot = await link.cp.boot()
            assert boot.status == "Rejected"

    run(scenario())
    errors, shown = csms_errors(trace)
    assert not errors, shown


def test_junk_from_a_station_is_answered_correctly(database_url: str) -> None:
    """What the CSMS sends back to messages it cannot take: CALLERRORs with 2.0.1 codes."""
    trace: list[Event] = []

    async def scenario() -> None:
        async with (
            csms(database_url) as running,
            station(running, "emart_jeju_02", trace=trace) as link,
        ):
            await link.cp.boot()
            for frame in (
                # An action the CSMS does not implement.
                [2, "junk-1", "NotifyDisplayMessages", {"requestId": 1}],
                # A payload that breaks the schema (required field missing).
                [2, "junk-2", "StatusNotification", {"evseId": 1}],
                # An unknown property.
                [2, "junk-3", "Heartbeat", {"colour": "red"}],
                # An action that only the CSMS sends.
                [2, "junk-4", "RequestStartTransaction", {"idToken": {}}],
            ):
                await link.connection.send(json.dumps(frame))
                await until(
                    lambda frame=frame: any(
                        getattr(e, "direction", None) is Direction.CSMS_TO_CHARGER
                        and json.loads(e.data)[1] == frame[1]
                        for e in trace
                    ),
                    5,
                    f"an answer to {frame[2]}",
                )
            await link.cp.send(call.Heartbeat())

    run(scenario())
    answers = {frame[1]: frame for frame in frames_sent_by_csms(trace)}
    for message_id in ("junk-1", "junk-2", "junk-3", "junk-4"):
        assert answers[message_id][0] == 4, answers[message_id]
    assert answers["junk-1"][2] in {"NotImplemented", "NotSupported"}
    errors, shown = csms_errors(trace)
    assert not errors, shown


def test_an_unknown_message_type_is_answered_with_message_type_not_supported(
    database_url: str,
) -> None:
    trace: list[Event] = []

    async def scenario() -> None:
        async with (
            csms(database_url) as running,
            station(running, "emart_jeju_02", trace=trace) as link,
        ):
            await link.cp.boot()
            await link.connection.send(json.dumps([7, "future-1", "Heartbeat", {}]))
            await until(
                lambda: any(
                    getattr(e, "direction", None) is Direction.CSMS_TO_CHARGER
                    and json.loads(e.data)[1] == "future-1"
                    for e in trace
                ),
                3,
                "an answer to MessageTypeId 7",
            )

    run(scenario())
    answer = next(f for f in frames_sent_by_csms(trace) if f[1] == "future-1")
    assert answer[:3] == [4, "future-1", "MessageTypeNotSupported"]
