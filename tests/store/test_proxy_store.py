"""The store end to end: `ocppscope proxy` as a real process between real sockets, writing to a
real PostgreSQL that the tests stop, start and query. The counts on both ends of the wire are
the truth the table is held against."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.pg import PrivatePostgres, fetch
from tests.store.load import CsmsCounts, Station, answering_csms
from tests.support import environment, free_port, ocppscope_executable

OCPPSCOPE = ocppscope_executable()
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


async def healthz(port: int) -> dict[str, Any]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        response = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    return dict(json.loads(response.split(b"\r\n\r\n", 1)[1]))


async def wait_for(check: Callable[[], Any], seconds: float, what: str, every: float = 0.1) -> Any:
    """Await `check()` (sync or async) until it returns something truthy, at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(every)


class RunningProxy:
    def __init__(self, process: subprocess.Popen[bytes], port: int, admin: int, log: Path) -> None:
        self.process, self.port, self.admin, self.log = process, port, admin, log

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def health(self) -> dict[str, Any]:
        return await healthz(self.admin)

    async def terminate(self) -> int:
        """SIGTERM, as a service manager would; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        code = await wait_for(lambda: self.process.poll() is not None, 30, "the proxy to exit")
        assert code
        return int(self.process.returncode)


@contextlib.asynccontextmanager
async def proxy(
    tmp_path: Path, upstream_port: int, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[RunningProxy]:
    """`ocppscope proxy` on free ports of 127.0.0.1; killed if the test did not stop it."""
    port, admin = free_port(), free_port()
    log = tmp_path / "proxy.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                OCPPSCOPE,
                "proxy",
                "--quiet",
                "--listen",
                f"127.0.0.1:{port}",
                "--upstream",
                f"ws://127.0.0.1:{upstream_port}",
                "--admin",
                f"127.0.0.1:{admin}",
                *args,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env or environment(tmp_path / "data"),
        )
    running = RunningProxy(process, port, admin, log)
    try:

        async def answers() -> bool:
            assert process.poll() is None, f"the proxy exited: {log.read_text()}"
            with contextlib.suppress(OSError, TimeoutError, ValueError, IndexError):
                return bool(await running.health())
            return False

        await wait_for(answers, START_TIMEOUT, "the proxy's admin API")
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def drive(stations: list[Station], url: str, seconds: float, pause: float) -> None:
    until = time.monotonic() + seconds
    await asyncio.wait_for(
        asyncio.gather(*(station.run(url, pause, until) for station in stations)), seconds + 30
    )


@dataclass(frozen=True)
class Tally:
    """Frames forwarded (CALLs the CSMS got, answers the stations got) against rows stored."""

    forwarded: int
    calls_missing: int
    answers_missing: int
    duplicates: int
    rows: int

    @property
    def lost(self) -> int:
        return self.calls_missing + self.answers_missing


async def tally(url: str, counts: CsmsCounts, stations: list[Station]) -> Tally:
    rows = await fetch(
        url, "SELECT charger_id, message_id, direction, proxy_run, seq FROM ocpp_message_log"
    )
    calls = {
        (r["charger_id"], r["message_id"]) for r in rows if r["direction"] == "charger_to_csms"
    }
    answers = {
        (r["charger_id"], r["message_id"]) for r in rows if r["direction"] == "csms_to_charger"
    }
    answered = {(s.name, message_id) for s in stations for message_id in s.answered}
    keys = [(r["charger_id"], r["message_id"], r["direction"]) for r in rows]
    runs_seqs = {(r["proxy_run"], r["seq"]) for r in rows}
    return Tally(
        forwarded=len(counts.received) + len(answered),
        calls_missing=len(counts.received - calls),
        answers_missing=len(answered - answers),
        duplicates=max(len(keys) - len(set(keys)), len(rows) - len(runs_seqs)),
        rows=len(rows),
    )


async def assert_every_frame_stored(url: str, counts: CsmsCounts, stations: list[Station]) -> None:
    """Each CALL the CSMS got and each answer a station got is one row, none twice."""
    stored = await tally(url, counts, stations)
    assert stored.calls_missing == 0, f"{stored.calls_missing} forwarded CALLs not stored"
    assert stored.answers_missing == 0, f"{stored.answers_missing} forwarded answers not stored"
    assert stored.duplicates == 0, "a frame was stored twice"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_frames_connections_and_findings_are_stored(tmp_path: Path, database_url: str) -> None:
    async def scenario() -> None:
        async with (
            answering_csms() as (csms_port, counts),
            proxy(tmp_path, csms_port, "--database-url", database_url) as running,
        ):
            stations = [Station(f"emart_jeju_0{n}") for n in (1, 2, 3)]
            await drive(stations, running.url, seconds=1.0, pause=0.05)
            from websockets.asyncio.client import connect  # noqa: PLC0415

            async with connect(
                f"{running.url}/ocpp/emart_shinjeju_01",
                subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                ping_interval=None,
            ) as ws:
                await ws.send('[2,"broken"')
                await asyncio.sleep(0.2)

            async def written() -> bool:
                store = (await running.health())["store"]
                return store["queue_depth"] == 0 and store["written"]["findings"] >= 1

            await wait_for(written, 15, "the store to write everything")
            health = await running.health()
            assert health["status"] == "ok"
            assert health["store"]["connected"] is True
            assert health["store"]["discarded"] == 0
            assert await running.terminate() == 0

        await assert_every_frame_stored(database_url, counts, stations)
        rows = await fetch(
            database_url,
            "SELECT * FROM ocpp_message_log WHERE charger_id = 'emart_jeju_01' ORDER BY seq",
        )
        assert rows[0]["message_type"] == "CALL" and rows[0]["action"] == "Heartbeat"
        assert rows[1]["message_type"] == "CALLRESULT" and rows[1]["action"] == "Heartbeat"
        assert rows[1]["message_id"] == rows[0]["message_id"]
        assert rows[0]["rtt_ms"] is None and 0 < rows[1]["rtt_ms"] < 5_000
        assert json.loads(rows[0]["payload"]) == {}
        assert "currentTime" in json.loads(rows[1]["payload"])
        assert {r["status"] for r in rows} == {"sent"}
        assert rows[1]["logged_at"] >= rows[0]["logged_at"]

        broken = await fetch(
            database_url,
            "SELECT * FROM ocpp_message_log WHERE charger_id = 'emart_shinjeju_01'",
        )
        assert len(broken) == 1
        assert broken[0]["message_type"] == "INVALID"
        assert broken[0]["finding_ids"] == ["RPC-001"]
        assert json.loads(broken[0]["payload"]) == '[2,"broken"'

        findings = await fetch(
            database_url, "SELECT * FROM findings WHERE charger_id = 'emart_shinjeju_01'"
        )
        assert [f["rule_id"] for f in findings if f["rule_id"] == "RPC-001"] == ["RPC-001"]
        assert all(f["connection_id"] == broken[0]["connection_id"] for f in findings)

        events = await fetch(
            database_url,
            "SELECT * FROM proxy_connection_log WHERE charger_id = 'emart_jeju_02' ORDER BY seq",
        )
        assert [e["event"] for e in events] == ["open", "close"]
        assert events[0]["subprotocol"] == "ocpp2.0.1" and events[0]["tls"] is False
        assert events[0]["remote_address"].startswith("127.0.0.1:")
        assert events[1]["close_code"] == 1000 and events[1]["closed_by"] == "charger"
        assert events[0]["connection_id"] == events[1]["connection_id"]

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_a_station_id_too_long_to_store_is_refused_and_recorded(
    tmp_path: Path, database_url: str
) -> None:
    """PostgreSQL's btree indexes on charger_id refuse ids past 2,704 bytes: such a station was
    forwarded but never stored. Its handshake is refused (414) and the refusal recorded."""
    from websockets.asyncio.client import connect  # noqa: PLC0415
    from websockets.exceptions import InvalidStatus  # noqa: PLC0415

    station = "LONG-" + "x" * 3000

    async def scenario() -> None:
        async with (
            answering_csms() as (csms_port, counts),
            proxy(tmp_path, csms_port, "--database-url", database_url) as running,
        ):
            with pytest.raises(InvalidStatus) as refused:
                await connect(
                    f"{running.url}/ocpp/{station}",
                    subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                    open_timeout=5,
                )
            assert refused.value.response.status_code == 414

            async def written() -> bool:
                store = (await running.health())["store"]
                return store["queue_depth"] == 0 and store["written"]["proxy_connection_log"] >= 1

            await wait_for(written, 15, "the store to write the refusal")
            assert (await running.health())["store"]["rejected"] == 0
            assert counts.received == set()

        rows = await fetch(database_url, "SELECT * FROM proxy_connection_log")
        assert [(r["event"], r["http_status"]) for r in rows] == [("refused", 414)]
        assert rows[0]["path"] == f"/ocpp/{station}"
        assert station.startswith(rows[0]["charger_id"]) and len(rows[0]["charger_id"]) == 1024

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_an_outage_of_postgresql_delays_no_frame_and_loses_none(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    """100 stations for 30 s; PostgreSQL is stopped from 8 s to 18 s. The chargers' round trips
    during the outage stay those of before it, and afterwards the table has every frame once."""
    url = private_postgres.url()
    seconds, outage_from, outage_to = 30.0, 8.0, 18.0

    async def scenario() -> dict[str, float]:
        async with (
            answering_csms() as (csms_port, counts),
            proxy(tmp_path, csms_port, "--database-url", url) as running,
        ):
            stations = [Station(f"CS{n:03d}") for n in range(100)]
            started = time.monotonic()
            load = asyncio.get_running_loop().create_task(
                drive(stations, running.url, seconds, pause=0.2)
            )
            await asyncio.sleep(outage_from)
            await asyncio.to_thread(private_postgres.stop)
            stopped_at = time.monotonic()

            async def noticed() -> bool:
                return not (await running.health())["store"]["connected"]

            await wait_for(noticed, 10, "the store to notice the outage")
            during = await running.health()
            assert during["status"] == "degraded"
            await asyncio.sleep(max(0.0, started + outage_to - time.monotonic()))
            await asyncio.to_thread(private_postgres.start)
            restarted_at = time.monotonic()
            await load

            async def drained() -> bool:
                store = (await running.health())["store"]
                return store["connected"] and store["queue_depth"] == 0

            await wait_for(drained, 60, "the store to write its backlog")
            after = (await running.health())["store"]
            assert after["discarded"] == 0 and after["rejected"] == 0
            await assert_every_frame_stored(url, counts, stations)
            assert await running.terminate() == 0

        before = [  # after the 100 connections settle, before the outage
            rtt
            for s in stations
            for sent, rtt in s.round_trips
            if started + 2 <= sent < stopped_at - 1
        ]
        outage = [
            rtt
            for s in stations
            for sent, rtt in s.round_trips
            if stopped_at <= sent < restarted_at
        ]
        assert len(outage) > 1000, "too little traffic during the outage to judge"
        return {
            "p99_before_ms": percentile(before, 0.99) * 1000,
            "p99_outage_ms": percentile(outage, 0.99) * 1000,
            "max_outage_ms": max(outage) * 1000,
            "queued_during_outage": float(during["store"]["queue_depth"]),
        }

    numbers = asyncio.run(asyncio.wait_for(scenario(), 180))
    print(numbers)
    assert numbers["max_outage_ms"] < 1000, numbers
    assert numbers["p99_outage_ms"] <= 3 * numbers["p99_before_ms"] + 50, numbers


def test_sigterm_under_load_stores_everything_forwarded(tmp_path: Path, database_url: str) -> None:
    async def scenario() -> None:
        async with (
            answering_csms() as (csms_port, counts),
            proxy(tmp_path, csms_port, "--database-url", database_url) as running,
        ):
            stations = [Station(f"CS{n:02d}") for n in range(50)]
            load = asyncio.get_running_loop().create_task(
                drive(stations, running.url, seconds=60, pause=0.0)
            )
            await wait_for(lambda: counts.answered > 3000, 30, "load to build up")
            assert await running.terminate() == 0
            await load  # the stations see the proxy close their connections (1001)
        assert sum(len(s.answered) for s in stations) >= 3000
        await assert_every_frame_stored(database_url, counts, stations)

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_a_postgresql_crash_during_a_soak_loses_no_frame(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    """PostgreSQL killed (an immediate shutdown: no checkpoint, recovery at the next start) while
    20 stations call: the writer's uncommitted batch is retried, nothing lost, nothing twice."""
    url = private_postgres.url()

    async def scenario() -> Tally:
        async with (
            answering_csms() as (csms_port, counts),
            proxy(tmp_path, csms_port, "--database-url", url) as running,
        ):
            stations = [Station(f"CRASH{n:02d}") for n in range(20)]
            load = asyncio.get_running_loop().create_task(
                drive(stations, running.url, seconds=12, pause=0.05)
            )
            await wait_for(lambda: counts.answered > 500, 30, "load to build up")
            await asyncio.to_thread(private_postgres.stop, "immediate")
            await asyncio.sleep(3)
            await asyncio.to_thread(private_postgres.start)
            await load

            async def drained() -> bool:
                store = (await running.health())["store"]
                return store["connected"] and store["queue_depth"] == 0

            await wait_for(drained, 60, "the store to write its backlog")
            assert await running.terminate() == 0
        return await tally(url, counts, stations)

    stored = asyncio.run(asyncio.wait_for(scenario(), 120))
    print(f"PostgreSQL kill: {stored}")
    assert stored.lost == 0 and stored.duplicates == 0, stored


def test_kill_9_of_the_proxy_loses_only_its_unwritten_queue(
    tmp_path: Path, database_url: str
) -> None:
    """SIGKILL gives the proxy no chance to drain: what it had queued but not committed is
    lost (the figure printed); everything committed is there once."""

    async def scenario() -> Tally:
        async with (
            answering_csms() as (csms_port, counts),
            proxy(tmp_path, csms_port, "--database-url", database_url) as running,
        ):
            stations = [Station(f"KILL{n:02d}") for n in range(20)]
            load = asyncio.get_running_loop().create_task(
                drive(stations, running.url, seconds=30, pause=0.05)
            )
            await wait_for(lambda: counts.answered > 1000, 30, "load to build up")
            running.process.kill()
            await asyncio.to_thread(running.process.wait, 10)
            await load  # every station sees its connection die
        return await tally(database_url, counts, stations)

    stored = asyncio.run(asyncio.wait_for(scenario(), 90))
    print(f"proxy SIGKILL: {stored.lost} of {stored.forwarded} forwarded frames lost; {stored}")
    assert stored.duplicates == 0, stored
    assert stored.rows > 0 and stored.lost < stored.forwarded / 10, stored


def test_a_database_down_at_start_is_waited_for(tmp_path: Path, private_postgres: PrivatePostgres):
    """The proxy forwards from the first second; migrations run when PostgreSQL turns up."""
    private_postgres.stop()
    url = private_postgres.url()

    async def scenario() -> None:
        async with (
            answering_csms() as (csms_port, counts),
            proxy(tmp_path, csms_port, "--database-url", url) as running,
        ):
            assert (await running.health())["status"] == "degraded"
            stations = [Station("emart_jeju_01")]
            await drive(stations, running.url, seconds=1.0, pause=0.05)
            assert stations[0].answered
            await asyncio.to_thread(private_postgres.start)

            async def drained() -> bool:
                store = (await running.health())["store"]
                return store["connected"] and store["queue_depth"] == 0

            await wait_for(drained, 30, "the store to connect and write")
            await assert_every_frame_stored(url, counts, stations)
            assert await running.terminate() == 0

    asyncio.run(asyncio.wait_for(scenario(), 90))


def ocppscope(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OCPPSCOPE, *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_the_embedded_default_needs_no_setup(tmp_path: Path) -> None:
    """No URL anywhere: the proxy starts its own PostgreSQL, and `db url` opens the same one."""
    env = environment(tmp_path / "data")

    async def scenario() -> Station:
        async with (
            answering_csms() as (csms_port, _counts),
            proxy(tmp_path, csms_port, env=env) as running,
        ):
            station = Station("emart_jeju_01")
            await drive([station], running.url, seconds=0.5, pause=0.05)
            assert await running.terminate() == 0
        return station

    station = asyncio.run(asyncio.wait_for(scenario(), 90))
    printed = ocppscope(env, "db", "url")
    assert printed.returncode == 0, printed.stderr
    url = printed.stdout.strip()
    assert url.startswith("postgresql://") and str(tmp_path / "data") in url
    try:
        rows = asyncio.run(
            fetch(url, "SELECT count(*) AS n FROM ocpp_message_log WHERE action = 'Heartbeat'")
        )
        assert rows[0]["n"] == 2 * len(station.answered)
        stats = ocppscope(env, "db", "stats")
        assert stats.returncode == 0, stats.stderr
        assert "ocpp_message_log" in stats.stdout and "partitions: 1" in stats.stdout
    finally:
        stopped = ocppscope(env, "db", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["proxy", "--store-buffer", "0"], "--store-buffer"),
        (["proxy", "--retention-days", "-1"], "--retention-days"),
        (["proxy", "--admin", "nowhere"], "HOST:PORT"),
    ],
)
def test_bad_store_options_are_one_line_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = ocppscope(environment(tmp_path / "data"), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    env = environment(tmp_path / "data")
    env["OCPPSCOPE_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    result = ocppscope(env, "db", "stats")
    assert result.returncode == 2
    assert result.stderr.startswith("ocppscope: database postgresql://")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
