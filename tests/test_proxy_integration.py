"""The proxy over real sockets on 127.0.0.1: chargers and a CSMS built with the `ocpp` library on
both sides of a proxy started in-process with `proxy.runtime.start_proxy` (issue 3)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import ssl
from pathlib import Path

import pytest
from ocpp.v201 import call
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from addons.conformance import Conformance
from addons.latency import Latency
from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.backoff import BackoffGroup
from proxy.ocppj.findings import Severity
from tests.pg import fetch
from tests.proxy_harness import (
    STEP,
    Charger,
    LogRecords,
    charger,
    client_context,
    rss_bytes,
    run,
    running_csms,
    running_proxy,
    self_signed_certificate,
    server_context,
    until,
    within,
)

# ---- 1. frames arrive unchanged and in order ---------------------------------------------------

CHARGER_FRAMES = [
    '[2 , "odd-1" ,\n\t"Heartbeat" ,  { }  ]  ',
    '[2,"odd-2","BootNotification",{"chargingStation":{"model":"Ünïcødé ⚡ 充電",'
    '"vendorName":"Vend\\u00f6r \\ud83d\\ude00"},"reason":"PowerUp"}]',
    '\r\n[2,"odd-3","DataTransfer",{"vendorId":"org.ocppscope","data":'
    '{"n":1.50E+1,"z":-0.0,"s":"\\/\\t"}}]\r\n',
    '[2,"odd-4","DataTransfer",{"vendorId":"org.ocppscope","data":"' + "é" * 150_000 + '"}]',
]
CSMS_FRAMES = [
    '[2, "csms-odd-1",  "GetVariables", {"getVariableData": [ {"component": '
    '{"name": "ÖCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}} ]}\n]',
    '[2,"csms-odd-2","GetVariables",{"getVariableData":[{"component":{"name":"\\u00c4"},'
    '"variable":{"name":"x  y"}}]}]',
]
GET_INTERVAL = call.GetVariables(
    get_variable_data=[
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    ]
)


def test_frames_arrive_unchanged_and_in_order_both_ways(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(tmp_path / "conf", csms.url) as proxy,
            charger(proxy.url("/ocpp/CS-ORDER")) as station,
        ):
            assert (await station.boot()).status == "Accepted"
            for text in CHARGER_FRAMES:
                await station.connection.send(text)
            await until(lambda: len(station.connection.received) == 1 + len(CHARGER_FRAMES))
            side = csms.side("CS-ORDER")
            result = await within(side.cp.call(GET_INTERVAL))
            assert result.get_variable_result[0]["attribute_value"] == "300"
            for text in CSMS_FRAMES:
                await side.connection.send(text)
            await until(lambda: len(side.connection.received) == len(station.connection.sent))
            assert (await station.heartbeat()).current_time

            assert len(station.connection.sent) == 2 + len(CHARGER_FRAMES) + 1 + 2
            assert side.connection.received == station.connection.sent
            assert station.connection.received == side.connection.sent
            seen = proxy.recorder.frames
            assert [f.data for f in seen if f.direction is Direction.CHARGER_TO_CSMS] == (
                station.connection.sent
            )
            assert [f.data for f in seen if f.direction is Direction.CSMS_TO_CHARGER] == (
                side.connection.sent
            )

    run(scenario())


# ---- 2. the upgrade request reaches the CSMS as the charger sent it ----------------------------


def test_handshake_headers_subprotocol_auth_xff_and_encoded_path(tmp_path: Path) -> None:
    authorization = "Basic " + base64.b64encode("CS/01 ä:s3cr3t:with:colons".encode()).decode()
    path = "/ocpp/v2/CS%2F01%20%C3%A4"

    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(tmp_path / "conf", csms.url) as proxy,
        ):
            async with charger(
                proxy.url(path),
                subprotocols=["ocpp1.6", "ocpp2.0.1"],
                additional_headers={"Authorization": authorization},
            ) as station:
                assert station.ws.subprotocol == "ocpp2.0.1"  # the CSMS's choice, not the first
                assert (await station.boot()).status == "Accepted"
                (side,) = csms.sides
                assert side.path == path
                assert side.subprotocol == "ocpp2.0.1"
                assert side.headers["sec-websocket-protocol"] == "ocpp1.6, ocpp2.0.1"
                assert side.headers["authorization"] == authorization
                assert side.headers["x-forwarded-for"] == "127.0.0.1"
                await station.connection.send("not json at all")
                await until(lambda: "RPC-001" in proxy.recorder.rules(), what="RPC-001")
                finding = next(f for f in proxy.recorder.findings if f.rule_id == "RPC-001")
                assert finding.station == "CS/01 ä"
                assert {frame.station for frame in proxy.recorder.frames} == {"CS/01 ä"}

            async with charger(
                proxy.url("/ocpp/CS02"), additional_headers={"X-Forwarded-For": "203.0.113.7"}
            ) as second:
                await second.boot()
                assert csms.side("CS02").headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
                assert "authorization" not in csms.side("CS02").headers

    run(scenario())


# ---- 3. TLS on either side ---------------------------------------------------------------------


async def _boot_and_beat(station: Charger) -> None:
    assert (await station.boot()).status == "Accepted"
    assert (await station.heartbeat()).current_time


def test_wss_in_front(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path / "certs")

    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(tmp_path / "conf", csms.url, cert=cert, key=key) as proxy,
        ):
            async with charger(
                proxy.url("/ocpp/CS-TLS", secure=True), ssl=client_context(cert)
            ) as station:
                await _boot_and_beat(station)
            flow = proxy.recorder.flows[0]
            assert flow.client_conn.tls_established
            assert csms.side("CS-TLS").headers["x-forwarded-for"] == "127.0.0.1"

    run(scenario())


def test_a_certificate_the_charger_refuses_leaves_a_trace(
    tmp_path: Path, database_url: str
) -> None:
    """A charger that does not trust the proxy's certificate never gets to its upgrade: the
    failed TLS handshake is logged and stored as a refusal (no status, no station id yet)."""
    cert, key = self_signed_certificate(tmp_path / "certs")
    other, _ = self_signed_certificate(tmp_path / "other")

    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(
                tmp_path / "conf",
                csms.url,
                cert=cert,
                key=key,
                store=True,
                database_url=database_url,
            ) as proxy,
        ):
            with LogRecords.of("ocppscope.forwarding") as records:
                with pytest.raises(ssl.SSLError):
                    async with connect(
                        proxy.url("/ocpp/CS-DISTRUST", secure=True),
                        ssl=client_context(other),
                        open_timeout=STEP,
                    ):
                        pass
                await until(lambda: bool(records.messages), what="the TLS failure logged")
            assert "TLS handshake with the charger" in records.messages[0]
            await until(
                lambda: (
                    proxy.running.store_stats().get("queue_depth") == 0
                    and proxy.running.store_stats()["written"].get("proxy_connection_log", 0) >= 1
                ),
                what="the refusal stored",
            )
        rows = await fetch(database_url, "SELECT * FROM proxy_connection_log")
        assert [(r["event"], r["http_status"], r["tls"]) for r in rows] == [("refused", None, True)]
        assert rows[0]["remote_address"].startswith("127.0.0.1:")
        assert csms.sides == []

    run(scenario())


@pytest.mark.parametrize(
    ("frame", "code", "rule"),
    [
        (b'[2,"bad","Heartbeat",{"x":"\xff\xfe"}]', 1007, "RPC-001"),
        (b'[2,"big","Heartbeat",{"x":"' + b"y" * 70_000 + b'"}]', 1009, "WS-014"),
    ],
    ids=["not-utf8", "too-big"],
)
def test_a_message_the_proxy_cannot_pass_on_is_a_finding_and_a_proxy_close(
    tmp_path: Path, database_url: str, frame: bytes, code: int, rule: str
) -> None:
    """A text frame that is not UTF-8 or over --max-message-size never becomes a message: it
    left no row and no finding, and the close was recorded as the charger's."""

    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(
                tmp_path / "conf",
                csms.url,
                max_message_size=64 * 1024,
                store=True,
                database_url=database_url,
            ) as proxy,
        ):
            async with charger(proxy.url("/ocpp/CS-REFUSED")) as station:
                await station.boot()
                await within(station.ws.send(frame, text=True))
                assert await station.closed() == code
            await until(lambda: rule in proxy.recorder.rules("CS-REFUSED"), what=rule)
            (finding,) = [f for f in proxy.recorder.findings if f.rule_id == rule]
            assert finding.direction is Direction.CHARGER_TO_CSMS
            await until(
                lambda: (
                    proxy.running.store_stats().get("queue_depth") == 0
                    and proxy.running.store_stats()["written"].get("proxy_connection_log", 0) >= 2
                ),
                what="the close stored",
            )
        rows = await fetch(
            database_url,
            "SELECT close_code, closed_by FROM proxy_connection_log WHERE event = 'close'",
        )
        assert [(r["close_code"], r["closed_by"]) for r in rows] == [(code, "proxy")]
        stored = await fetch(database_url, "SELECT rule_id FROM findings")
        assert rule in [r["rule_id"] for r in stored]

    run(scenario())


@pytest.mark.parametrize("trust", ["insecure", "ca", "default"])
def test_wss_upstream(tmp_path: Path, trust: str) -> None:
    cert, key = self_signed_certificate(tmp_path / "certs")
    settings = {"insecure": {"upstream_insecure": True}, "ca": {"upstream_ca": cert}}
    settings["default"] = {}

    async def scenario() -> None:
        async with (
            running_csms(ssl_context=server_context(cert, key)) as csms,
            running_proxy(
                tmp_path / "conf", csms.url, cert=cert, key=key, **settings[trust]
            ) as proxy,
        ):
            assert csms.url.startswith("wss://")
            secure_front = trust != "insecure"  # ws -> wss and wss -> wss
            url = proxy.url("/ocpp/CS-UP", secure=secure_front)
            tls = {"ssl": client_context(cert)} if secure_front else {}
            if trust == "default":  # the CSMS's certificate is not trusted: the charger gets 502
                with pytest.raises(InvalidStatus) as refused:
                    async with charger(url, **tls):
                        pass
                assert refused.value.response.status_code == 502
                assert csms.sides == []
                return
            async with charger(url, **tls) as station:
                await _boot_and_beat(station)
            assert proxy.recorder.flows[0].client_conn.tls_established is secure_front
            assert csms.side("CS-UP").subprotocol == "ocpp2.0.1"

    run(scenario())


# ---- 4. the CSMS goes down and comes back ------------------------------------------------------


def test_upstream_down_then_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(tmp_path / "conf", csms.url, retry_backoff="1,0,4") as proxy,
        ):
            url = proxy.url("/ocpp/CS-BACK")
            with LogRecords.of("ocppscope.forwarding") as logs:
                async with charger(url) as station:
                    await station.boot()
                    await csms.stop()
                    assert await station.closed() == 1001  # the CSMS's close, relayed

                statuses = []
                for _ in range(3):  # far quicker than RetryBackOffWaitMinimum 1 s allows
                    with pytest.raises(InvalidStatus) as refused:
                        async with charger(url):
                            pass
                    statuses.append(refused.value.response.status_code)
                    await asyncio.sleep(0.05)
                assert statuses == [502, 502, 502]
                unreachable = [m for m in logs.messages if "unreachable" in m]
                assert len(unreachable) == 1, logs.messages

                conformance = proxy.addon(Conformance)
                assert (
                    len(
                        conformance.monitor.sessions["CS-BACK"]
                        .group(BackoffGroup)
                        .reconnects.attempts
                    )
                    == 3
                )
                rules = proxy.recorder.rules("CS-BACK")
                assert "BACKOFF-002" in rules  # attempt 1 came < 1 s after the loss
                assert "BACKOFF-003" in rules  # attempts 2, 3 did not double the wait

                await csms.start()  # same port
                async with charger(url) as station:
                    await _boot_and_beat(station)
                back = [m for m in logs.messages if "back after" in m]
                assert back == ["upstream back after 3 failed charger attempt(s)"]
                assert len([m for m in logs.messages if "unreachable" in m]) == 1

    run(scenario())


# ---- 5. 200 stations at once -------------------------------------------------------------------

STATIONS = 200
HEARTBEATS = 3


def test_200_concurrent_stations(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(tmp_path / "conf", csms.url) as proxy,
        ):
            all_booted = asyncio.Event()
            booted = 0
            answers: list[object] = []

            async def one(number: int) -> None:
                nonlocal booted
                async with charger(proxy.url(f"/ocpp/CS{number:03d}")) as station:
                    answers.append((await station.boot()).status)
                    booted += 1
                    if booted == STATIONS:
                        all_booted.set()
                    await within(all_booted.wait(), 30)
                    for _ in range(HEARTBEATS):
                        answers.append((await station.heartbeat()).current_time)

            await within(asyncio.gather(*(one(n) for n in range(STATIONS))), 45)
            assert csms.most_open == STATIONS
            assert csms.counts["BootNotification"] == STATIONS
            assert csms.counts["Heartbeat"] == STATIONS * HEARTBEATS
            assert answers.count("Accepted") == STATIONS
            assert len(answers) == STATIONS * (1 + HEARTBEATS)
            errors = [f for f in proxy.recorder.findings if f.severity is Severity.ERROR]
            assert errors == []

    run(scenario(), timeout=50)


# ---- 6. invalid frames are reported and still forwarded ----------------------------------------

INVALID_BOOT = (
    '[2,"bad-boot","BootNotification",{"reason":"Exploded",'
    '"chargingStation":{"vendorName":"ocppscope","serialNumber":42}}]'
)
NOT_JSON = '[2,"no-json","Heartbeat",{]'


def test_invalid_frames_are_reported_and_forwarded(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(tmp_path / "conf", csms.url) as proxy,
            charger(proxy.url("/ocpp/CS-BAD")) as station,
        ):
            await station.connection.send(INVALID_BOOT)
            await until(lambda: len(station.connection.received) == 1)  # the CSMS's CALLERROR
            await station.connection.send(NOT_JSON)
            await station.boot()
            side = csms.side("CS-BAD")
            assert side.connection.received[:2] == [INVALID_BOOT, NOT_JSON]
            await until(
                lambda: {"SCH-001", "RPC-001"} <= set(proxy.recorder.rules()),
                what=f"SCH-001 and RPC-001 in {proxy.recorder.rules()}",
            )
            schema = [f for f in proxy.recorder.findings if f.rule_id == "SCH-001"]
            assert schema[0].message_id == "bad-boot"
            assert schema[0].station == "CS-BAD"
            assert schema[0].severity is Severity.ERROR

    run(scenario())


# ---- 7. a charger sending garbage does not disturb the others ----------------------------------


def _garbage(rng: random.Random) -> list[str | bytes]:
    return [
        "",
        "garbage",
        "[",
        "[9]",
        "{}",
        '[3,"nobody-asked",{}]',
        '[4,"nobody-asked","Oops","",{}]',
        '[2,"x","NoSuchAction",{}]',
        '[2,"' + "i" * 100 + '","Heartbeat",{}]',
        "[" * 5000 + "]" * 5000,
        "\x00\x01\x02",
        rng.randbytes(512),
        b"\xff\xfe\xfd not utf-8",
        b'[2,"bin","Heartbeat",{}]',
    ]


async def _junk_tcp(port: int, rng: random.Random) -> list[bytes]:
    """Not even HTTP: random bytes (held open, as an HTTP server would), random
    bytes ending a header block, a broken TLS ClientHello, a bad request."""
    answers = []
    for payload in (
        rng.randbytes(4096),
        rng.randbytes(4096) + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00" + rng.randbytes(512),
        b"GET /ocpp/X HTTP/1.1\r\nHost: \xff\r\nUpgrade: websocket\r\n\r\n",
    ):
        reader, writer = await within(asyncio.open_connection("127.0.0.1", port))
        try:
            writer.write(payload)
            await within(writer.drain())
            with contextlib.suppress(ConnectionError, TimeoutError):
                answers.append(await within(reader.read(65536), 0.5))
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await within(writer.wait_closed())
    return answers


def test_garbage_does_not_disturb_other_chargers(tmp_path: Path) -> None:
    async def scenario() -> None:
        rng = random.Random(3)
        async with (
            running_csms() as csms,
            running_proxy(tmp_path / "conf", csms.url, max_message_size=256 * 1024) as proxy,
        ):
            stop = asyncio.Event()
            beats = {f"GOOD{n}": 0 for n in range(5)}

            async def good(station_id: str) -> None:
                async with charger(proxy.url(f"/ocpp/{station_id}")) as station:
                    await station.boot()
                    for _ in range(500):
                        if stop.is_set():
                            break
                        assert (await station.heartbeat()).current_time
                        beats[station_id] += 1
                        await asyncio.sleep(0.01)
                    assert station.ws.close_code is None  # still open

            async def junk_websocket() -> None:
                async with charger(proxy.url("/ocpp/JUNK")) as station:
                    for _ in range(10):
                        for message in _garbage(rng):
                            await station.connection.send(message)
                    await station.connection.send("x" * (300 * 1024))  # over max_message_size
                    assert await station.closed() == 1009

            good_tasks = [asyncio.ensure_future(good(s)) for s in beats]
            try:
                await until(lambda: all(beats.values()), what="every good charger answered")
                _, answers = await within(
                    asyncio.gather(junk_websocket(), _junk_tcp(proxy.port, rng)), 20
                )
                assert any(answer.startswith(b"HTTP/1.1 400 ") for answer in answers)
                before = dict(beats)
                await until(
                    lambda: all(beats[s] >= before[s] + 5 for s in beats),
                    what="good chargers still answered after the garbage",
                )
            finally:
                stop.set()
                await within(asyncio.gather(*good_tasks, return_exceptions=False), 20)
            assert csms.counts["Heartbeat"] >= sum(beats.values())
            assert "RPC-001" in proxy.recorder.rules("JUNK")
            good_findings = {
                f.rule_id for f in proxy.recorder.findings if f.station.startswith("GOOD")
            }
            assert good_findings <= {"HB-002"}  # info: heartbeats far more often than 300 s
            async with charger(proxy.url("/ocpp/AFTER")) as station:  # still accepting
                await station.boot()

    run(scenario(), timeout=50)


# ---- 8. latency --------------------------------------------------------------------------------


def test_latency_book_counts_every_call(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(tmp_path / "conf", csms.url) as proxy,
        ):
            for station_id in ("LAT1", "LAT2"):
                async with charger(proxy.url(f"/ocpp/{station_id}")) as station:
                    await station.boot()
                    for _ in range(4):
                        await station.heartbeat()
                    await within(csms.side(station_id).cp.call(GET_INTERVAL))
            rows = {(row.action, row.caller): row for row in proxy.addon(Latency).book.rows()}
            boot = rows[("BootNotification", Direction.CHARGER_TO_CSMS)]
            heartbeat = rows[("Heartbeat", Direction.CHARGER_TO_CSMS)]
            get_variables = rows[("GetVariables", Direction.CSMS_TO_CHARGER)]
            assert (boot.count, heartbeat.count, get_variables.count) == (2, 8, 2)
            for row in (boot, heartbeat, get_variables):
                assert row.timeouts == 0
                assert row.p50_ms is not None
                assert 0 < row.p50_ms <= row.p99_ms < STEP * 1000
            assert set(rows) == {
                ("BootNotification", Direction.CHARGER_TO_CSMS),
                ("Heartbeat", Direction.CHARGER_TO_CSMS),
                ("GetVariables", Direction.CSMS_TO_CHARGER),
            }
            lines = proxy.running.master.commands.execute("ocppscope.latency")
            assert len(lines) == 3
            assert any(line.startswith("Heartbeat from station: n=8 ") for line in lines)

    run(scenario())


# ---- 9. stop() ---------------------------------------------------------------------------------


def test_stop_closes_live_chargers_with_1001(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            running_csms() as csms,
            running_proxy(tmp_path / "conf", csms.url) as proxy,
            charger(proxy.url("/ocpp/STOP1")) as first,
            charger(proxy.url("/ocpp/STOP2")) as second,
        ):
            await first.boot()
            await second.boot()
            url = proxy.url("/ocpp/STOP3")
            await proxy.stop()
            assert await first.closed() == 1001
            assert await second.closed() == 1001
            for side in csms.sides:
                await within(side.closed.wait())
                assert side.close_code == 1001
            assert {flow.websocket.close_code for flow in proxy.recorder.ended} == {1001}
            with pytest.raises(OSError):
                await within(connect(url, open_timeout=STEP))

    run(scenario())


# ---- 10. memory stays flat on a long-lived connection ------------------------------------------

MESSAGES = 20_000
BOOT = (
    '[2,"boot","BootNotification",{"reason":"PowerUp",'
    '"chargingStation":{"model":"Integration","vendorName":"ocppscope"}}]'
)


def test_memory_stays_flat_over_20000_messages(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            running_csms(record=False) as csms,
            running_proxy(tmp_path / "conf", csms.url) as proxy,
        ):
            proxy.recorder.keep_frames = False
            async with connect(
                proxy.url("/ocpp/CS-LONG"), subprotocols=["ocpp2.0.1"], open_timeout=STEP
            ) as ws:

                async def calls(first: int, count: int) -> None:
                    for number in range(first, first + count):
                        await within(ws.send(f'[2,"{number}","Heartbeat",{{}}]'))
                        reply = await within(ws.recv())
                        assert reply.startswith(f'[3,"{number}",')

                await within(ws.send(BOOT))
                assert '"Accepted"' in await within(ws.recv())
                await calls(0, 1000)  # warm up: caches, schema validators, buffers
                before = rss_bytes()
                await calls(1000, MESSAGES // 2)
                grown = rss_bytes() - before
                print(f"RSS grew {grown / 1e6:.2f} MB over {MESSAGES} messages")
                (flow,) = proxy.recorder.flows
                assert flow.websocket is not None
                assert flow.websocket.messages == []
                assert proxy.recorder.most_messages_held == 1
                assert csms.counts["Heartbeat"] == 1000 + MESSAGES // 2
                # without TrimMessages: 4.7 MB here, and every message kept in the flow
                assert grown < 2 * 1024 * 1024, f"RSS grew {grown / 1e6:.1f} MB"

    run(scenario(), timeout=50)
