"""The CSMS's REST API over real HTTP against intruders and bad input: a token for every change,
loopback Host names only, bounded bodies, strict numbers and 4xx (never 5xx) for nonsense."""

from __future__ import annotations

import json

from tests.csms.sim import API_TOKEN, Behaviour, csms, http, station
from tests.proxy_harness import run

CHANGES = (
    ("POST", "/chargers/emart_jeju_01/start", {"idToken": "T1"}),
    ("POST", "/chargers/emart_jeju_01/stop", {"transactionId": "TX-1"}),
    ("PATCH", "/chargers/emart_jeju_01/power", {"maxPowerKw": 50}),
)


def test_changes_need_the_token_in_any_scheme_case(database_url: str) -> None:
    async def scenario() -> None:
        async with csms(database_url) as running:
            for method, path, body in CHANGES:
                for authorization in ("", "Bearer wrong", f"Basic {API_TOKEN}", API_TOKEN):
                    reply = await http(
                        running, method, path, body, headers={"Authorization": authorization}
                    )
                    assert reply.status == 401, (method, path, authorization, reply.text)
                    assert "Bearer" in reply.body["detail"]
                for scheme in ("bearer", "BEARER", "Bearer"):
                    reply = await http(
                        running,
                        method,
                        path,
                        body,
                        headers={"Authorization": f"{scheme} {API_TOKEN}"},
                    )
                    assert reply.status == 409, (method, path, scheme, reply.text)  # offline
            # Reading stays open.
            reply = await http(running, "GET", "/chargers", headers={"Authorization": ""})
            assert reply.status == 200
            weird = await http(
                running,
                "POST",
                CHANGES[0][1],
                CHANGES[0][2],
                headers={"Authorization": "Bearer \u00e9t\u00e9"},
            )
            assert weird.status == 401

    run(scenario(), 45)


def test_a_foreign_host_gets_421_on_every_path(database_url: str) -> None:
    async def scenario() -> None:
        async with csms(database_url) as running:
            paths = [
                ("GET", "/chargers", None),
                ("GET", "/", None),
                ("GET", "/metrics", None),
                ("GET", "/openapi.json", None),
                *CHANGES,
            ]
            for method, path, body in paths:
                for host in ("evil.example", "evil.example:8080", "127.0.0.1.evil.example"):
                    reply = await http(running, method, path, body, headers={"Host": host})
                    assert reply.status == 421, (method, path, host, reply.text)
            for host in ("localhost", "LOCALHOST:8080", "127.0.0.1:1", "[::1]:8080"):
                reply = await http(running, "GET", "/chargers", headers={"Host": host})
                assert reply.status == 200, (host, reply.text)

    run(scenario(), 45)


def test_large_bodies_are_413_and_never_echoed(database_url: str) -> None:
    async def scenario() -> None:
        async with csms(database_url) as running:
            huge = json.dumps({"idToken": "x" * 2_000_000}).encode()
            reply = await http(running, "POST", CHANGES[0][1], data=huge)
            assert reply.status == 413, reply.text[:200]
            assert len(reply.text) < 500
            # Under the limit but invalid: a 422 naming the field, without the input.
            long = json.dumps({"idToken": "y" * 30_000}).encode()
            reply = await http(running, "POST", CHANGES[0][1], data=long)
            assert reply.status == 422, reply.text[:200]
            assert "yyyy" not in reply.text
            assert reply.body["detail"][0]["loc"] == ["body", "idToken"]

    run(scenario(), 45)


def test_numbers_are_strict_and_nonsense_is_4xx(database_url: str) -> None:
    async def scenario() -> None:
        async with (
            csms(database_url) as running,
            station(running, "emart_jeju_03", Behaviour()) as link,
        ):
            await link.cp.boot()
            power = "/chargers/emart_jeju_03/power"
            for raw in (
                b'{"maxPowerKw": true}',
                b'{"maxPowerKw": "50"}',
                b'{"maxPowerKw": NaN}',
                b'{"maxPowerKw": Infinity}',
                b'{"maxPowerKw": -Infinity}',
                b'{"maxPowerKw": 1e309}',
                b'{"maxPowerKw": 0.000000001}',
                b'{"maxPowerKw": null}',
            ):
                reply = await http(running, "PATCH", power, data=raw)
                assert reply.status == 422, (raw, reply.status, reply.text)
                assert reply.body["detail"][0]["loc"] == ["body", "maxPowerKw"], raw
            tiny = await http(running, "PATCH", power, data=b'{"maxPowerKw": 0.000000001}')
            assert "0.1" in tiny.body["detail"][0]["msg"]
            for raw in (
                b'{"idToken": 5}',
                b'{"idToken": "T1", "evseId": true}',
                b'{"idToken": "T1", "evseId": "1"}',
                b'{"idToken": "T1", "evseId": 1e309}',
            ):
                reply = await http(running, "POST", "/chargers/emart_jeju_03/start", data=raw)
                assert reply.status == 422, (raw, reply.status, reply.text)
            assert link.cp.commands == []
            # A whole number is still a number of kW.
            reply = await http(running, "PATCH", power, data=b'{"maxPowerKw": 11}')
            assert reply.status == 200, reply.text
            assert reply.body["limitW"] == 11000

    run(scenario(), 45)
