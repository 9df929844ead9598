"""The admin API's /faults as it runs in the proxy: proxy.runtime.running_proxy with an admin
endpoint on 127.0.0.1 (the wiring `ocppscope proxy` uses), a CSMS and a charger from the harness,
plain HTTP from a thread; and the token `ocppscope proxy` makes, keeps and requires."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from addons import default_addons
from proxy.faults.client import AdminClient, AdminError
from proxy.runtime import RunningProxy, running_proxy
from proxy.settings import Endpoint, ProxySettings, parse_upstream
from tests.proxy_harness import Charger, charger, run, running_csms, until, within
from tests.support import environment, free_port, ocppscope_executable, stop_process

STATION = "CS-ADMIN"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""127.0.0.1 straight, whatever http_proxy the environment has."""
TOKEN = "s3cret-token"


@pytest.fixture(autouse=True)
def _collector_as_it_was() -> Iterator[None]:
    """running_proxy tunes the garbage collector for production; give the next tests theirs."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class Admin:
    """HTTP to the admin API from a thread (the server shares the test's event loop)."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    async def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        return await within(asyncio.to_thread(self._request, method, path, data, headers or {}))

    def _request(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, Any]:
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with DIRECT.open(request, timeout=5) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@contextlib.asynccontextmanager
async def proxy_with_admin(
    tmp_path: Path, upstream: str, token: str | None = None
) -> AsyncIterator[tuple[RunningProxy, Admin]]:
    settings = ProxySettings(
        listen=Endpoint("127.0.0.1", 0),
        upstream=parse_upstream(upstream),
        confdir=tmp_path / "mitmproxy",
        quiet=True,
        live_view=False,
        admin=Endpoint("127.0.0.1", free_port()),
        admin_token=token,
    )
    assert settings.admin is not None
    async with running_proxy(settings, default_addons()) as running:
        yield running, Admin(settings.admin.port)


def heartbeat(message_id: str) -> str:
    return json.dumps([2, message_id, "Heartbeat", {}])


def answered(station: Charger) -> list[str]:
    return [json.loads(m)[1] for m in station.connection.received]


# ---- the rules ---------------------------------------------------------------------------------


def test_add_list_apply_remove_and_clear_rules(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with (
            running_csms() as csms,
            proxy_with_admin(tmp_path, csms.url) as (running, admin),
        ):
            status, health = await admin("GET", "/healthz")
            assert (status, health["status"], health["workers"]) == (200, "ok", 1)
            status, rule = await admin(
                "POST", "/faults", {"kind": "drop", "action": "Heartbeat", "messageType": "CALL"}
            )
            seen["added"] = (status, rule)
            port = running.addresses[0][1]
            async with charger(f"ws://127.0.0.1:{port}/ocpp/{STATION}") as station:
                await station.connection.send(heartbeat("hb-1"))  # dropped
                await station.connection.send(
                    json.dumps([2, "dt-1", "DataTransfer", {"vendorId": "x"}])
                )
                await until(lambda: answered(station) == ["dt-1"], what="the DataTransfer answer")
                seen["listed"] = await admin("GET", "/faults")
                seen["removed"] = await admin("DELETE", "/faults/1")
                seen["removed again"] = await admin("DELETE", "/faults/1")
                await station.connection.send(heartbeat("hb-2"))  # delivered: no rule now
                await until(lambda: answered(station) == ["dt-1", "hb-2"], what="hb-2 answered")
            for body in ({"kind": "duplicate", "count": 2}, {"kind": "outage", "for": "1m"}):
                assert (await admin("POST", "/faults", body))[0] == 201
            seen["cleared"] = await admin("DELETE", "/faults")
            seen["after"] = await admin("GET", "/faults?events=0")
            seen["csms heartbeats"] = csms.counts["Heartbeat"]
        return seen

    seen = run(scenario(), 60)
    status, rule = seen["added"]
    assert status == 201
    assert {k: rule[k] for k in ("id", "kind", "station", "action", "messageType", "applied")} == {
        "id": 1,
        "kind": "drop",
        "station": "*",
        "action": "Heartbeat",
        "messageType": "CALL",
        "applied": 0,
    }
    status, listed = seen["listed"]
    assert status == 200
    assert [(r["id"], r["applied"]) for r in listed["rules"]] == [(1, 1)]
    assert listed["applied"] == {"drop": 1}
    events = [(e["fault"], e["event"]) for e in listed["events"]]
    assert events == [(1, "added"), (1, "applied")]
    applied = listed["events"][1]
    assert (applied["station"], applied["action"], applied["messageId"]) == (
        STATION,
        "Heartbeat",
        "hb-1",
    )
    assert applied["direction"] == "charger_to_csms"
    assert seen["removed"] == (200, {**listed["rules"][0], "applied": 1})
    assert seen["removed again"] == (404, {"detail": "no fault rule 1"})
    assert seen["cleared"] == (200, {"removed": [2, 3]})
    status, after = seen["after"]
    assert (status, after["rules"], after["events"]) == (200, [], [])
    assert [r["id"] for r in after["retired"]] == [1, 2, 3]
    assert seen["csms heartbeats"] == 1  # hb-1 never reached the CSMS, hb-2 did


def test_bad_requests_are_422_with_a_one_line_detail(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        async with (
            running_csms() as csms,
            proxy_with_admin(tmp_path, csms.url) as (_running, admin),
        ):
            client = AdminClient(admin.url)
            refused: AdminError | None = None
            try:
                await asyncio.to_thread(client.each, "POST", "/faults", {"kind": "outage"})
            except AdminError as exc:
                refused = exc
            return {
                "bad kind": await admin("POST", "/faults", {"kind": "explode"}),
                "bad field": await admin("POST", "/faults", {"kind": "drop", "statoin": "CS1"}),
                "bad action": await admin("POST", "/faults", {"kind": "drop", "action": "Teapot"}),
                "1.6 action": await admin(
                    "POST",
                    "/faults",
                    {
                        "kind": "reply-error",
                        "action": "StartTransaction",
                        "count": 1,
                        "errorCode": "OccurenceConstraintViolation",
                    },
                ),
                "not an object": await admin("POST", "/faults", [1, 2]),
                "not json": await admin("POST", "/faults", raw=b"{kind: drop"),
                "bad id": await admin("DELETE", "/faults/first"),
                "client": refused,
                "rules": (await admin("GET", "/faults"))[1]["rules"],
            }

    seen = run(scenario(), 60)
    for case, named in (
        ("bad kind", "kind 'explode'"),
        ("bad field", "unknown field 'statoin'"),
        ("bad action", "action 'Teapot' is not an action of OCPP 1.6, 2.0.1 or 2.1"),
    ):
        status, answer = seen[case]
        assert status == 422, case
        assert isinstance(answer["detail"], str) and "\n" not in answer["detail"]
        assert named in answer["detail"]
    for case in ("not an object", "not json", "bad id"):
        assert seen[case][0] == 422, case
    refused = seen["client"]
    assert isinstance(refused, AdminError) and refused.bad_request
    assert str(refused) == "the proxy answered 422: outage needs 'for': how long the server is down"
    status, added = seen["1.6 action"]
    assert status == 201 and added["action"] == "StartTransaction", seen["1.6 action"]
    assert added["errorCode"] == "OccurenceConstraintViolation"  # kept as asked
    assert [rule["id"] for rule in seen["rules"]] == [added["id"]]  # nothing half-added


# ---- the token ---------------------------------------------------------------------------------


def test_with_a_token_changes_need_it_and_reading_stays_open(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        async with (
            running_csms() as csms,
            proxy_with_admin(tmp_path, csms.url, token=TOKEN) as (_running, admin),
        ):
            drop = {"kind": "drop"}
            seen: dict[str, Any] = {
                "none": await admin("POST", "/faults", drop),
                "wrong": await admin("POST", "/faults", drop, {"Authorization": "Bearer nope"}),
                "no scheme": await admin("POST", "/faults", drop, {"Authorization": TOKEN}),
                "non-ascii": await admin(
                    "POST", "/faults", drop, {"Authorization": "Bearer s\u00e9cret"}
                ),
                "add": await admin("POST", "/faults", drop, {"Authorization": f"bearer {TOKEN}"}),
                "delete without": await admin("DELETE", "/faults"),
                "delete one without": await admin("DELETE", "/faults/1"),
                "list": await admin("GET", "/faults"),
                "health": await admin("GET", "/healthz"),
            }
            try:
                await asyncio.to_thread(AdminClient(admin.url).each, "POST", "/faults", drop)
            except AdminError as exc:
                seen["client without"] = exc
            seen["client"] = await asyncio.to_thread(
                AdminClient(admin.url, TOKEN).each, "POST", "/faults", drop
            )
            return seen

    seen = run(scenario(), 60)
    for case in ("none", "wrong", "no scheme", "non-ascii", "delete without", "delete one without"):
        status, answer = seen[case]
        assert status == 401, (case, seen[case])
        assert "Authorization: Bearer" in answer["detail"]
    assert seen["add"][0] == 201  # the scheme in lower case too
    assert [r["id"] for r in seen["list"][1]["rules"]] == [1]  # DELETE without a token did nothing
    assert seen["health"][0] == 200 and seen["health"][1]["status"] == "ok"
    assert seen["client without"].bad_request
    assert [r["id"] for r in seen["client"]] == [2]


def test_a_foreign_host_big_bodies_and_huge_numbers_are_refused(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        async with (
            running_csms() as csms,
            proxy_with_admin(tmp_path, csms.url, token=TOKEN) as (_running, admin),
        ):
            right = {"Authorization": f"Bearer {TOKEN}"}
            foreign = {**right, "Host": "rebound.example:9464"}
            seen: dict[str, Any] = {
                f"foreign {method} {path}": await admin(method, path, body, foreign)
                for method, path, body in (
                    ("GET", "/healthz", None),
                    ("GET", "/metrics", None),
                    ("GET", "/faults", None),
                    ("POST", "/faults", {"kind": "drop"}),
                    ("DELETE", "/faults", None),
                )
            }
            seen["big"] = await admin("POST", "/faults", raw=b" " * 200_000, headers=right)
            for field in ("count", "nth", "probability", "for", "delay"):
                seen[field] = await admin(
                    "POST",
                    "/faults",
                    raw=b'{"kind": "delay", "delay": 1, "%s": 1e309}' % field.encode(),
                    headers=right,
                )
            seen["nan"] = await admin(
                "POST", "/faults", raw=b'{"kind": "drop", "count": NaN}', headers=right
            )
            long = {"kind": "drop", "action": "x" * 60_000}
            seen["long"] = await admin("POST", "/faults", long, headers=right)
            seen["rules"] = (await admin("GET", "/faults", headers={"Host": "localhost:1"}))[1]
            return seen

    seen = run(scenario(), 60)
    foreign = [case for case in seen if case.startswith("foreign")]
    assert len(foreign) == 5
    for case in foreign:
        assert seen[case][0] == 421, (case, seen[case])
    assert seen["big"][0] == 413
    assert seen["long"][0] == 422 and len(seen["long"][1]["detail"]) <= 300
    for case in ("count", "nth", "probability", "for", "delay", "nan"):
        status, answer = seen[case]
        assert status == 422, (case, answer)
        assert isinstance(answer["detail"], str), (case, answer)
    assert seen["rules"]["rules"] == []


def test_the_proxy_command_makes_a_token_keeps_it_and_requires_it(tmp_path: Path) -> None:
    """Without OCPPSCOPE_API_TOKEN, `ocppscope proxy` makes one at first start, in the data
    directory, readable by its owner only; its admin API then refuses changes without it, even
    when it listens beyond loopback."""
    data = tmp_path / "data"
    env = environment(data)
    env.pop("OCPPSCOPE_API_TOKEN", None)
    port = free_port()
    command = [
        ocppscope_executable(),
        *("proxy", "--no-store", "--quiet", "--listen", f"127.0.0.1:{free_port()}"),
        *("--admin", f"0.0.0.0:{port}"),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    admin = Admin(port)
    try:

        async def scenario() -> dict[str, Any]:
            for _ in range(300):  # 30 s for the proxy to start
                try:
                    if (await admin("GET", "/healthz"))[0] == 200:
                        break
                except OSError:
                    await asyncio.sleep(0.1)
            token = (data / "api-token").read_text().strip()
            return {
                "mode": (data / "api-token").stat().st_mode & 0o777,
                "without": await admin("POST", "/faults", {"kind": "drop"}),
                "with": await admin(
                    "POST", "/faults", {"kind": "drop"}, {"Authorization": f"Bearer {token}"}
                ),
                "client": await asyncio.to_thread(AdminClient(admin.url).each, "GET", "/faults"),
                "token": token,
            }

        with pytest.MonkeyPatch.context() as patch:  # the client reads the same file
            patch.setenv("OCPPSCOPE_DATA_DIR", str(data))
            patch.delenv("OCPPSCOPE_API_TOKEN", raising=False)
            seen = run(scenario(), 60)
    finally:
        stop_process(process, 10)
    assert seen["mode"] == 0o600
    assert len(seen["token"]) >= 32
    assert seen["without"][0] == 401
    assert seen["with"][0] == 201
    assert [rule["id"] for rule in seen["client"][0]["rules"]] == [1]
