"""An independent charger in C# (csharp/Charger.cs: System.Net.WebSockets.ClientWebSocket, compiled
and run with Mono) through the real proxy to the reference CSMS, over ws and over wss with the
proxy's own CA pinned by the charger: the frames are byte-identical on both sides of the proxy and
stored one row each, a clean session has no finding, its transaction is in the CSMS's
charger_usage_log, and the one schema-violating frame of `--broken` is judged SCH-001.

The CSMS side is read from the `ocpp` library's log of what the reference CSMS received and sent
("<id>: receive message <text>", "<id>: send <text>"), the exact texts its websocket gave it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from proxy.ocppj.actions import Direction
from proxy.ocppj.findings import Severity
from tests.csms.sim import csms, http
from tests.pg import fetch
from tests.proxy_harness import (
    LogRecords,
    Proxy,
    run,
    running_csms,
    running_proxy,
    until,
    within,
)

SOURCE = Path(__file__).parent / "csharp" / "Charger.cs"
MCS, MONO = shutil.which("mcs"), shutil.which("mono")
STATION = "emart_jeju_02"
MESSAGE_TYPES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}
CHARGER_SECONDS = 60.0
"""How long one run of the C# charger may take (Mono starts in well under a second)."""

pytestmark = pytest.mark.skipif(
    MCS is None or MONO is None,
    reason="Mono is not installed (Debian's mono-mcs, mono-runtime and "
    "libmono-system-runtime-serialization4.0-cil; `make test` installs them with "
    "scripts/ensure-system-packages --test-tools)",
)


@pytest.fixture(scope="session")
def charger_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Charger.cs compiled once per session, warnings as errors."""
    assert MCS is not None
    exe = tmp_path_factory.mktemp("csharp") / "Charger.exe"
    references = [
        f"-r:{name}.dll" for name in ("System.Runtime.Serialization", "System.Xml", "Mono.Security")
    ]
    built = subprocess.run(
        [MCS, "-nologo", "-warnaserror", f"-out:{exe}", *references, str(SOURCE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return exe


@dataclass(frozen=True)
class ChargerRun:
    returncode: int
    stdout: str
    stderr: str
    sent: list[str]
    received: list[str]


async def run_charger(exe: Path, url: str, workdir: Path, *flags: str) -> ChargerRun:
    """One run of the C# charger, killed if it outlives CHARGER_SECONDS; the frames it logged.
    Its Mono trust store (where `--ca` goes) is one of its own, in `workdir`."""
    assert MONO is not None
    log = workdir / "frames.log"
    process = await asyncio.create_subprocess_exec(
        MONO, str(exe), url, str(log), *flags, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "XDG_CONFIG_HOME": str(workdir / "mono-config")},
    )  # fmt: skip
    try:
        stdout, stderr = await within(process.communicate(), CHARGER_SECONDS)
    finally:
        if process.returncode is None:
            process.kill()
            await within(process.wait())
    frames: dict[str, list[str]] = {"send": [], "recv": []}
    for line in log.read_text().splitlines():
        way, data = line.split(" ", 1)
        frames[way].append(base64.b64decode(data).decode())
    assert process.returncode is not None
    return ChargerRun(
        process.returncode, stdout.decode(), stderr.decode(), frames["send"], frames["recv"]
    )


def csms_texts(logs: LogRecords, station: str, what: str) -> list[str]:
    """The texts the reference CSMS's ocpp library logged as `what` ("receive message", "send")."""
    return [
        str(record.args[1])
        for record in logs.records
        if isinstance(record.args, tuple)
        and record.msg == f"%s: {what} %s"
        and record.args[0] == station
    ]


def sent_by(proxy: Proxy, direction: Direction) -> list[str | bytes]:
    return [frame.data for frame in proxy.recorder.frames if frame.direction is direction]


def answered(proxy: Proxy, action_text: str) -> bool:
    """Whether the charger sent a frame containing `action_text` and every CALL is answered."""
    ours = sent_by(proxy, Direction.CHARGER_TO_CSMS)
    theirs = sent_by(proxy, Direction.CSMS_TO_CHARGER)
    return any(action_text in str(data) for data in ours) and len(ours) == len(theirs)


async def stored_rows(proxy: Proxy, database_url: str) -> list[dict[str, object]]:
    """The station's rows of ocpp_message_log once the proxy's store has written every frame."""

    def written() -> bool:
        store = proxy.running.health()["store"]
        done = store["written"]["ocpp_message_log"] >= len(proxy.recorder.frames)
        return bool(store["queue_depth"] == 0 and done)

    await until(written, what="the proxy's store to write every frame")
    rows = await fetch(
        database_url,
        "SELECT direction, message_type, message_id, payload, size_bytes, finding_ids "
        "FROM ocpp_message_log WHERE charger_id = $1 ORDER BY seq",
        STATION,
    )
    return [dict(row) for row in rows]


def assert_stored_one_to_one(rows: list[dict[str, object]], proxy: Proxy) -> None:
    """One row per frame the proxy passed on, in its order, saying what the frame says."""
    frames = proxy.recorder.frames
    assert len(rows) == len(frames)
    for row, frame in zip(rows, frames, strict=True):
        message = json.loads(frame.data)
        assert row["direction"] == frame.direction.value
        assert row["message_id"] == message[1]
        assert row["message_type"] == MESSAGE_TYPES[message[0]]
        assert row["size_bytes"] == len(str(frame.data).encode())
        if message[0] != 4:  # a CALLERROR's row holds {errorCode, ...}
            assert json.loads(str(row["payload"])) == message[-1]


@pytest.mark.parametrize("secure", [False, True], ids=["ws", "wss"])
def test_csharp_charger_session_through_the_proxy(
    tmp_path: Path, database_url: str, charger_exe: Path, secure: bool
) -> None:
    confdir = tmp_path / "mitmproxy"

    async def scenario() -> None:
        with LogRecords.of("ocpp") as logs:
            async with (
                csms(database_url) as lab,
                running_proxy(
                    confdir,
                    f"ws://127.0.0.1:{lab.ocpp_port}",
                    store=True,
                    database_url=database_url,
                ) as proxy,
            ):
                flags = ["--await-command"]
                if secure:  # mitmproxy's CA, which signs the certificate the proxy presents
                    flags += ["--ca", str(confdir / "mitmproxy-ca-cert.pem")]
                url = proxy.url(f"/ocpp/{STATION}", secure=secure)
                charger = asyncio.create_task(run_charger(charger_exe, url, tmp_path, *flags))
                await until(
                    lambda: charger.done() or answered(proxy, '"eventType":"Updated"'),
                    seconds=CHARGER_SECONDS,
                    what="the C# charger's meter value to be answered",
                )
                assert not charger.done(), (await charger).stderr
                limit = await http(lab, "PATCH", f"/chargers/{STATION}/power", {"maxPowerKw": 50})
                assert limit.status == 200, limit.text
                assert limit.body["status"] == "Accepted"
                result = await charger
                assert result.returncode == 0, result.stderr
                assert "commands answered: 1" in result.stdout

                assert result.sent == csms_texts(logs, STATION, "receive message")
                assert result.received == csms_texts(logs, STATION, "send")
                assert result.sent == sent_by(proxy, Direction.CHARGER_TO_CSMS)
                assert result.received == sent_by(proxy, Direction.CSMS_TO_CHARGER)
                assert len(result.sent) == 9 and len(result.received) == 9
                assert proxy.recorder.flows[0].client_conn.tls_established is secure

                assert_stored_one_to_one(await stored_rows(proxy, database_url), proxy)
                noted = [f for f in proxy.recorder.findings if f.severity is not Severity.INFO]
                assert noted == []

                transaction_id = result.stdout.split("transaction ", 1)[1].split()[0]
                (usage,) = await fetch(
                    database_url,
                    "SELECT charger_id, evse_id, id_token, energy_consumed, cost, stopped_reason "
                    "FROM charger_usage_log WHERE transaction_id = $1",
                    transaction_id,
                )
                assert dict(usage) == {
                    "charger_id": STATION,
                    "evse_id": 1,
                    "id_token": "CSHARP-0001",
                    "energy_consumed": Decimal("1.7"),  # 20000 Wh to 21700 Wh
                    "cost": Decimal("255"),  # at the seed's price
                    "stopped_reason": "Local",
                }

    run(scenario(), CHARGER_SECONDS + 30)


def test_csharp_charger_schema_violation_is_found(
    tmp_path: Path, database_url: str, charger_exe: Path
) -> None:
    async def scenario() -> None:
        async with (
            csms(database_url) as lab,
            running_proxy(
                tmp_path / "mitmproxy",
                f"ws://127.0.0.1:{lab.ocpp_port}",
                store=True,
                database_url=database_url,
            ) as proxy,
        ):
            url = proxy.url(f"/ocpp/{STATION}")
            result = await run_charger(charger_exe, url, tmp_path, "--broken")
            assert result.returncode == 0, result.stderr
            assert '"evseId":"1"' in result.sent[1]
            assert '"TypeConstraintViolation"' in result.received[1]  # Table 8's code for it

            noted = [f for f in proxy.recorder.findings if f.severity is not Severity.INFO]
            assert [(f.rule_id, f.message_id, f.action, f.direction) for f in noted] == [
                ("SCH-001", "cs-2", "StatusNotification", Direction.CHARGER_TO_CSMS)
            ]
            rows = await stored_rows(proxy, database_url)
            assert_stored_one_to_one(rows, proxy)
            (broken,) = [r for r in rows if "SCH-001" in (r["finding_ids"] or [])]
            assert (broken["message_id"], broken["finding_ids"]) == ("cs-2", ["SCH-001"])

    run(scenario(), CHARGER_SECONDS + 30)


def test_csharp_charger_trusts_no_certificate_without_the_ca(
    tmp_path: Path, charger_exe: Path
) -> None:
    """Without --ca, the proxy's certificate is refused: the charger trusts nothing by default."""

    async def scenario() -> None:
        async with (
            running_csms() as upstream,
            running_proxy(tmp_path / "mitmproxy", upstream.url) as proxy,
        ):
            url = proxy.url(f"/ocpp/{STATION}", secure=True)
            result = await run_charger(charger_exe, url, tmp_path)
            assert result.returncode == 1
            assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
            assert result.sent == []
            assert proxy.recorder.flows == []
            assert upstream.sides == []

    run(scenario(), CHARGER_SECONDS + 30)
