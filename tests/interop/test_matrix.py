"""Issue 18's interop matrix: independent OCPP-J implementations at both ends of the real proxy,
for each subprotocol, the proxy storing on a real PostgreSQL.

The implementations are the `ocpp` library's v16, v201 and v21 modules (ChargePoint over a
`websockets` connection, as its users write one) and npm's ocpp-rpc in strict mode
(tests/node/interop.js, a Node process), as charger and as CSMS. Every pair plays the same script
of its version (SCRIPTS): the charger's CALLs, the CSMS's answers, and one CALL of the CSMS's own
after the Heartbeat. Each pair shows that
- every frame reached the other end byte for byte as its sender sent it (both ends record what
  went onto and came off their socket: `Recording` around the library's connection, ocpp-rpc's
  'message' event),
- the store holds one ocpp_message_log row per frame, in order, with its direction, action and
  raw bytes,
- a clean session raises no finding at all, of any severity,
- a schema violation, sent on purpose past the sender's own validation, is found as SCH-001 on
  the frame that carries it and nothing else: the `ocpp` library's charger sends a number as a
  string in a CALL, or, where the charger is ocpp-rpc (which validates everything it sends), the
  `ocpp` library's CSMS answers BootNotification with a status outside its enumeration.
What the implementations do that the rules find is pinned down too: both libraries refuse a
value outside an enumeration with their FormatViolation (RPC-016; the `ocpp` library even under
1.6, which spells it FormationViolation: RPC-012), and ocpp-rpc's server declines the
permessage-deflate that OCPP-J 2.0.1 requires a CSMS to accept unless told to (WS-011).
docs/interop.md tells what each pair proves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import ocpp.v16
import ocpp.v21
import ocpp.v201
import pytest
from ocpp.charge_point import camel_to_snake_case
from ocpp.routing import after, on
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from proxy.ocppj.actions import Direction
from proxy.ocppj.messages import CALL, TYPE_NAMES
from tests.pg import fetch
from tests.proxy_harness import STEP, Recording, now_iso, run, running_proxy, until, within
from tests.support import NODE_DIR, node_modules

STATION = "MATRIX-01"
NODE = shutil.which("node")
LIBRARY = {"ocpp1.6": ocpp.v16, "ocpp2.0.1": ocpp.v201, "ocpp2.1": ocpp.v21}
"""The `ocpp` library's module for each subprotocol."""
LIBRARY_ADDS = {"offline": False}
"""What the `ocpp` library puts in a payload unasked: its v21 TransactionEvent dataclass defaults
`offline` to False (OCPP 2.1 TransactionEventRequest: optional, false when absent)."""


@dataclass(frozen=True)
class Call:
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Script:
    """One session of a version, as data every implementation plays."""

    calls: tuple[Call, ...]
    """The charger's CALLs, in order."""
    answers: dict[str, dict[str, Any]]
    """The CSMS's answer to each action the charger calls."""
    command: Call | None
    """The CSMS's own CALL, sent after it has answered the Heartbeat."""
    reply: dict[str, Any] = field(default_factory=dict)
    """The charger's answer to `command`."""
    bad_call: str | None = None
    """The action whose CALL from the charger breaks its schema (past the sender's validation)."""
    bad_answer: str | None = None
    """The action whose answer from the CSMS breaks its schema (past the sender's validation)."""

    @property
    def charger_answers(self) -> dict[str, dict[str, Any]]:
        """What the charger answers to each action the CSMS calls."""
        return {self.command.action: self.reply} if self.command else {}

    @property
    def frames(self) -> int:
        """How many frames each end sends: its CALLs and answers."""
        return len(self.calls) + (self.command is not None)


def script_16() -> Script:
    """OCPP 1.6J: a boot, a transaction authorized beforehand, ChangeConfiguration from the CSMS."""
    now = now_iso()
    tag = "MATRIX-0001"
    energy = [{"timestamp": now, "sampledValue": [{"value": "20850", "unit": "Wh"}]}]
    return Script(
        calls=(
            Call("BootNotification", {"chargePointVendor": "ocppscope", "chargePointModel": "M"}),
            Call("Heartbeat", {}),
            Call(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
            ),
            Call("Authorize", {"idTag": tag}),
            Call(
                "StartTransaction",
                {"connectorId": 1, "idTag": tag, "meterStart": 20000, "timestamp": now},
            ),
            Call("MeterValues", {"connectorId": 1, "transactionId": 4711, "meterValue": energy}),
            Call(
                "StopTransaction",
                {"transactionId": 4711, "meterStop": 21700, "timestamp": now, "reason": "Local"},
            ),
        ),
        answers={
            "BootNotification": {"currentTime": now, "interval": 300, "status": "Accepted"},
            "Heartbeat": {"currentTime": now},
            "StatusNotification": {},
            "Authorize": {"idTagInfo": {"status": "Accepted"}},
            "StartTransaction": {"transactionId": 4711, "idTagInfo": {"status": "Accepted"}},
            "MeterValues": {},
            "StopTransaction": {"idTagInfo": {"status": "Accepted"}},
        },
        command=Call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "60"}),
        reply={"status": "Accepted"},
    )


def script_2x() -> Script:
    """OCPP 2.0.1 and 2.1 alike: a boot, a transaction Started, Updated and Ended by the charger,
    SetVariables from the CSMS."""
    now = now_iso()
    transaction = "matrix-tx-1"

    def event(kind: str, seq: int, trigger: str, wh: float, **more: Any) -> Call:
        meter = [{"timestamp": now, "sampledValue": [{"value": wh}]}]
        info = {"transactionId": transaction, **more.pop("info", {})}
        return Call(
            "TransactionEvent",
            {"eventType": kind, "timestamp": now, "triggerReason": trigger, "seqNo": seq,
             "transactionInfo": info, "meterValue": meter, **more},
        )  # fmt: skip

    variable = {
        "component": {"name": "SampledDataCtrlr"},
        "variable": {"name": "TxUpdatedInterval"},
    }
    return Script(
        calls=(
            Call(
                "BootNotification",
                {"chargingStation": {"model": "M", "vendorName": "ocppscope"}, "reason": "PowerUp"},
            ),
            Call("Heartbeat", {}),
            Call(
                "StatusNotification",
                {"timestamp": now, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
            ),
            event(
                "Started",
                0,
                "CablePluggedIn",
                20000,
                evse={"id": 1, "connectorId": 1},
                info={"chargingState": "EVConnected"},
            ),
            event("Updated", 1, "MeterValuePeriodic", 20850, info={"chargingState": "Charging"}),
            event(
                "Ended", 2, "EVCommunicationLost", 21700, info={"stoppedReason": "EVDisconnected"}
            ),
        ),
        answers={
            "BootNotification": {"currentTime": now, "interval": 300, "status": "Accepted"},
            "Heartbeat": {"currentTime": now},
            "StatusNotification": {},
            "TransactionEvent": {},
        },
        command=Call("SetVariables", {"setVariableData": [{"attributeValue": "60", **variable}]}),
        reply={"setVariableResult": [{"attributeStatus": "Accepted", **variable}]},
    )


SCRIPTS: dict[str, Callable[[], Script]] = {
    "ocpp1.6": script_16,
    "ocpp2.0.1": script_2x,
    "ocpp2.1": script_2x,
}
STATUS_FIELDS = {
    # (a field of integer type, the field of the status enumeration)
    "ocpp1.6": ("connectorId", "status"),
    "ocpp2.0.1": ("evseId", "connectorStatus"),
    "ocpp2.1": ("evseId", "connectorStatus"),
}
"""The StatusNotification fields that the charger's broken CALL gets wrong."""


def broken_charger(script: Script, protocol: str, breach: str = "type") -> Script:
    """BootNotification, then a StatusNotification with a number given as a string ("type") or
    a status outside its enumeration ("enum")."""
    boot, status = script.calls[0], script.calls[2]
    number, enum = STATUS_FIELDS[protocol]
    wrong = {number: str(status.payload[number])} if breach == "type" else {enum: "Plugged"}
    bad = Call(status.action, {**status.payload, **wrong})
    return replace(script, calls=(boot, bad), command=None, bad_call=status.action)


def broken_csms(script: Script) -> Script:
    """A BootNotification answered with a status not in the schema's enum."""
    boot = script.calls[0]
    answers = {**script.answers, boot.action: {**script.answers[boot.action], "status": "Maybe"}}
    return replace(script, calls=(boot,), answers=answers, command=None, bad_answer=boot.action)


class End(Protocol):
    """One end of a session: the texts it put on and took off its socket, in order."""

    @property
    def sent(self) -> list[str]: ...

    @property
    def received(self) -> list[str]: ...


def texts(frames: list[str | bytes]) -> list[str]:
    assert all(isinstance(frame, str) for frame in frames), frames  # OCPP-J is text frames
    return [str(frame) for frame in frames]


def payload(library: ModuleType, kind: str, action: str, body: dict[str, Any]) -> Any:
    """The library's dataclass (`call` or `call_result`) for a payload given as on the wire."""
    return getattr(getattr(library, kind), action)(**camel_to_snake_case(body))


# ---- the `ocpp` library ------------------------------------------------------------------------


def library_class(
    library: ModuleType,
    answers: dict[str, dict[str, Any]],
    invalid: str | None = None,
    command: Call | None = None,
) -> type:
    """A ChargePoint of `library` that answers `answers` with `@on` handlers (the one for
    `invalid` skips the library's own validation) and sends `command` `@after` the Heartbeat."""
    namespace: dict[str, Any] = {}
    for action, answer in answers.items():

        def respond(
            self: Any, _answer: dict[str, Any] = answer, _action: str = action, **_: Any
        ) -> Any:
            return payload(library, "call_result", _action, _answer)

        respond.__name__ = f"matrix_on_{action}"  # the library routes by method name
        namespace[respond.__name__] = on(action, skip_schema_validation=action == invalid)(respond)
    if command is not None:

        async def send_command(self: Any, **_: Any) -> None:
            await self.call(payload(library, "call", command.action, command.payload))

        send_command.__name__ = "matrix_after_Heartbeat"
        namespace[send_command.__name__] = after("Heartbeat")(send_command)
    return type("MatrixChargePoint", (library.ChargePoint,), namespace)


async def serve_until_closed(cp: Any) -> None:
    with contextlib.suppress(ConnectionClosed):
        await cp.start()


@dataclass
class LibraryCsms:
    """The `ocpp` library's CSMS on a websockets server, one ChargePoint per connection."""

    protocol: str
    script: Script
    connections: list[Recording] = field(default_factory=list)

    @property
    def sent(self) -> list[str]:
        return texts([t for c in self.connections for t in c.sent])

    @property
    def received(self) -> list[str]:
        return texts([t for c in self.connections for t in c.received])

    async def handle(self, ws: ServerConnection) -> None:
        connection = Recording(ws)
        self.connections.append(connection)
        script = self.script
        cls = library_class(
            LIBRARY[self.protocol], script.answers, script.bad_answer, script.command
        )
        await serve_until_closed(cls(STATION, connection, response_timeout=STEP))


@contextlib.asynccontextmanager
async def library_csms(protocol: str, script: Script) -> AsyncIterator[tuple[str, LibraryCsms]]:
    end = LibraryCsms(protocol, script)
    async with serve(
        end.handle,
        "127.0.0.1",
        0,
        subprotocols=[Subprotocol(protocol)],
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}", end


@dataclass
class LibraryCharger:
    connection: Recording | None = None

    @property
    def sent(self) -> list[str]:
        return texts(self.connection.sent if self.connection else [])

    @property
    def received(self) -> list[str]:
        return texts(self.connection.received if self.connection else [])

    async def run(self, url: str, protocol: str, script: Script) -> None:
        """Connect, make the script's calls, answer the CSMS's command, close with 1000."""
        library = LIBRARY[protocol]
        cls = library_class(library, script.charger_answers)
        async with connect(url, subprotocols=[Subprotocol(protocol)], ping_interval=None) as ws:
            self.connection = Recording(ws)
            cp = cls(STATION, self.connection, response_timeout=STEP)
            serving = asyncio.create_task(serve_until_closed(cp))
            for step in script.calls:
                body = payload(library, "call", step.action, step.payload)
                await within(cp.call(body, skip_schema_validation=step.action == script.bad_call))
            await until(lambda: len(self.sent) == script.frames, what="the command answered")
            await within(ws.close())
            await within(serving)


# ---- ocpp-rpc (tests/node/interop.js) ----------------------------------------------------------


@dataclass
class NodeEnd:
    """ocpp-rpc in a Node process, and the lines it printed."""

    process: asyncio.subprocess.Process
    lines: list[dict[str, Any]] = field(default_factory=list)

    def frames(self, outbound: bool) -> list[str]:
        return [
            line["frame"]["message"]
            for line in self.lines
            if "frame" in line and line["frame"]["outbound"] is outbound
        ]

    @property
    def sent(self) -> list[str]:
        return self.frames(outbound=True)

    @property
    def received(self) -> list[str]:
        return self.frames(outbound=False)

    def said(self, key: str) -> list[Any]:
        return [line[key] for line in self.lines if key in line]

    async def read(self) -> None:
        assert self.process.stdout is not None
        for _ in range(10_000):
            line = await self.process.stdout.readline()
            if not line:
                return
            self.lines.append(json.loads(line))


@contextlib.asynccontextmanager
async def node_end(
    role: str, protocol: str, script: Script, url: str = "", deflate: bool = True
) -> AsyncIterator[NodeEnd]:
    """interop.js as `role`; stopped (its standard input closed, then killed) on the way out."""
    assert NODE is not None
    node_modules()
    command = script.command
    config = {
        "role": role,
        "protocol": protocol,
        "url": url,
        "station": STATION,
        "calls": [asdict(call) for call in script.calls],
        "answers": script.answers if role == "csms" else script.charger_answers,
        "command": command and {"after": "Heartbeat", **asdict(command)},
        "deflate": deflate,
    }
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(NODE_DIR / "interop.js"),
        json.dumps(config),
        cwd=NODE_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    end = NodeEnd(process)
    reading = asyncio.create_task(end.read())
    try:
        yield end
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            await within(process.wait())
        finally:
            if process.returncode is None:
                process.kill()
                await within(process.wait())
            await within(reading)


@contextlib.asynccontextmanager
async def node_csms(
    protocol: str, script: Script, deflate: bool = True
) -> AsyncIterator[tuple[str, NodeEnd]]:
    """ocpp-rpc's server; `deflate=False` leaves it declining permessage-deflate, its default."""
    async with node_end("csms", protocol, script, deflate=deflate) as end:
        await until(
            lambda: bool(end.said("listening")) or end.process.returncode is not None,
            what="ocpp-rpc's server to listen",
        )
        (port,) = end.said("listening")
        yield f"ws://127.0.0.1:{port}", end


async def node_charger(url: str, protocol: str, script: Script) -> NodeEnd:
    """interop.js as the charger, run to its end: it closes (1000) once its script is done."""
    endpoint, station = url.rsplit("/", 1)
    assert station == STATION
    async with node_end("charger", protocol, script, endpoint) as charger:
        await within(charger.process.wait())
    assert charger.process.returncode == 0, charger.lines
    assert charger.said("closed") == [1000], charger.lines
    return charger


# ---- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    charger: str
    csms: str
    protocol: str

    def __str__(self) -> str:
        return f"{self.charger}-to-{self.csms}-{self.protocol}"


NEEDS_NODE = pytest.mark.skipif(
    NODE is None, reason="node is not installed: no ocpp-rpc (npm) for this pair's Node end"
)
OCPP_RPC_21 = pytest.mark.skip(
    reason="ocpp-rpc 2.2.1's strict mode rejects every OCPP 2.1 call and answer: its bundled "
    "ocpp2.1 schemas are named urn:<Action>Request/Response while its validator looks up "
    "urn:<Action>.req/.conf (\"Schema 'urn:BootNotification.req' is missing from subprotocol "
    "schema 'ocpp2.1'\"); a fix is proposed in mikuso/ocpp-rpc pull request #94; 2.2.1 is its latest release"
)


def marks(pair: Pair) -> list[pytest.MarkDecorator]:
    if "ocpp-rpc" not in (pair.charger, pair.csms):
        return []
    return [NEEDS_NODE, OCPP_RPC_21] if pair.protocol == "ocpp2.1" else [NEEDS_NODE]


PAIRS = [
    pytest.param(pair, id=str(pair), marks=marks(pair))
    for pair in (
        Pair(charger, csms, protocol)
        for protocol in ("ocpp1.6", "ocpp2.0.1", "ocpp2.1")
        for charger, csms in (("ocpp", "ocpp"), ("ocpp-rpc", "ocpp"), ("ocpp", "ocpp-rpc"))
    )
]


@dataclass(frozen=True)
class Session:
    charger: End
    csms: End
    rows: list[dict[str, Any]]
    findings: list[tuple[str, str | None, str | None, Direction | None]]
    """(rule, action, message id, direction) of every finding, whatever its severity."""


async def play(
    pair: Pair, script: Script, confdir: Path, database_url: str, deflate: bool = True
) -> Session:
    """The session through a storing proxy; everything started is stopped on the way out."""
    csms_end = (
        node_csms(pair.protocol, script, deflate)
        if pair.csms == "ocpp-rpc"
        else library_csms(pair.protocol, script)
    )
    async with (
        csms_end as (upstream, csms),
        running_proxy(confdir, upstream, store=True, database_url=database_url) as proxy,
    ):
        url = proxy.url(f"/ocpp/{STATION}")
        charger: End
        if pair.charger == "ocpp":
            charger = LibraryCharger()
            await within(charger.run(url, pair.protocol, script), 3 * STEP)
        else:
            charger = await within(node_charger(url, pair.protocol, script), 3 * STEP)
        await until(
            lambda: len(csms.received) == len(charger.sent) and bool(proxy.recorder.ended),
            what="the CSMS to get every frame and the connection to end",
        )
        frames = len(proxy.recorder.frames)

        def stored() -> bool:
            stats = proxy.running.store_stats()
            return bool(
                stats.get("queue_depth") == 0
                and stats["written"].get("ocpp_message_log", 0) >= frames
            )

        await until(stored, what="the store to write every frame")
        rows = await fetch(
            database_url,
            "SELECT direction, message_type, action, message_id, raw, finding_ids "
            "FROM ocpp_message_log WHERE charger_id = $1 ORDER BY seq",
            STATION,
        )
        findings = [
            (f.rule_id, f.action, f.message_id, f.direction) for f in proxy.recorder.findings
        ]
        return Session(charger, csms, [dict(row) for row in rows], findings)


def assert_byte_identical(session: Session, script: Script) -> None:
    charger, csms = session.charger, session.csms
    assert charger.sent == csms.received
    assert csms.sent == charger.received
    # the script went onto the wire as written, whichever implementation played it
    wire = [json.loads(text)[2:] for text in charger.sent if text.startswith("[2,")]
    assert [action for action, _ in wire] == [call.action for call in script.calls]
    for (_, sent), call in zip(wire, script.calls, strict=True):
        assert {**sent, **call.payload} == sent
        added = {key: sent[key] for key in sent.keys() - call.payload.keys()}
        assert added.items() <= LIBRARY_ADDS.items()


def assert_stored_one_to_one(session: Session) -> None:
    """One row per frame, each direction in its sender's order, with its type, message id, action
    (a response's: that of the CALL it answers) and raw bytes."""
    sent = {
        Direction.CHARGER_TO_CSMS.value: [json.loads(t) for t in session.charger.sent],
        Direction.CSMS_TO_CHARGER.value: [json.loads(t) for t in session.csms.sent],
    }
    actions = {m[1]: m[2] for messages in sent.values() for m in messages if m[0] == CALL}
    assert len(session.rows) == sum(len(messages) for messages in sent.values())
    for direction, texts_sent in (
        (Direction.CHARGER_TO_CSMS.value, session.charger.sent),
        (Direction.CSMS_TO_CHARGER.value, session.csms.sent),
    ):
        rows = [row for row in session.rows if row["direction"] == direction]
        assert [bytes(row["raw"]) for row in rows] == [text.encode() for text in texts_sent]
        assert [(row["message_type"], row["message_id"], row["action"]) for row in rows] == [
            (TYPE_NAMES[m[0]], m[1], actions[m[1]]) for m in sent[direction]
        ]


@pytest.mark.parametrize("pair", PAIRS)
def test_a_clean_session_passes_byte_for_byte_and_raises_no_finding(
    pair: Pair, tmp_path: Path, database_url: str
) -> None:
    script = SCRIPTS[pair.protocol]()
    session = run(play(pair, script, tmp_path / "mitmproxy", database_url), 60)
    assert len(session.charger.sent) == len(session.csms.sent) == script.frames
    assert_byte_identical(session, script)
    assert_stored_one_to_one(session)
    assert session.findings == []
    for end in (session.charger, session.csms):
        assert not [text for text in end.sent if text.startswith("[4,")]  # no CALLERROR
        if isinstance(end, NodeEnd):  # ocpp-rpc's strict mode found every payload valid
            assert end.said("failed") == end.said("strictValidationFailure") == []


def bad_frame(session: Session, script: Script) -> tuple[str, Direction]:
    """The message id of the frame that breaks its schema, and its direction."""
    if script.bad_call is not None:
        sent, direction = session.charger.sent, Direction.CHARGER_TO_CSMS
        (bad,) = [m for m in map(json.loads, sent) if m[0] == CALL and m[2] == script.bad_call]
    else:
        sent, direction = session.csms.sent, Direction.CSMS_TO_CHARGER
        (bad,) = [m for m in map(json.loads, sent) if m[-1].get("status") == "Maybe"]
    return bad[1], direction


def refusal(session: Session, message_id: str) -> str:
    """The errorCode of the CSMS's CALLERROR to `message_id`."""
    (code,) = [m[2] for m in map(json.loads, session.csms.sent) if m[:2] == [4, message_id]]
    return str(code)


def assert_found(session: Session, expected: list[tuple[str, str, str, Direction]]) -> None:
    """Exactly these findings, in this order, and each on the stored row of its frame."""
    assert session.findings == expected
    wanted: dict[tuple[str, str], list[str]] = {}
    for rule, _, message_id, direction in expected:
        wanted.setdefault((direction.value, message_id), []).append(rule)
    stored = {
        (r["direction"], r["message_id"]): r["finding_ids"]
        for r in session.rows
        if r["finding_ids"]
    }
    assert stored == wanted


@pytest.mark.parametrize("pair", PAIRS)
def test_a_schema_violation_is_found_on_the_frame_that_carries_it(
    pair: Pair, tmp_path: Path, database_url: str
) -> None:
    """The `ocpp` library's charger sends a number as a string, which the CSMS refuses with
    TypeConstraintViolation (Table 8's code for it); against ocpp-rpc's charger, which validates
    what it sends, the `ocpp` library's CSMS answers BootNotification with a status outside its
    enumeration instead (a CALLRESULT: nothing answers it)."""
    clean = SCRIPTS[pair.protocol]()
    script = broken_charger(clean, pair.protocol) if pair.charger == "ocpp" else broken_csms(clean)
    session = run(play(pair, script, tmp_path / "mitmproxy", database_url), 60)
    assert_byte_identical(session, script)
    assert_stored_one_to_one(session)
    message_id, direction = bad_frame(session, script)
    if script.bad_call is not None:
        assert refusal(session, message_id) == "TypeConstraintViolation"
    elif isinstance(session.charger, NodeEnd):  # ocpp-rpc's strict mode saw it too
        assert [f["action"] for f in session.charger.said("failed")] == [script.bad_answer]
    assert_found(
        session, [("SCH-001", script.bad_call or script.bad_answer, message_id, direction)]
    )


ENUM_REFUSALS = [
    # (the pair, the CSMS's code for a value outside an enumeration, what else is found)
    (Pair("ocpp", "ocpp", "ocpp1.6"), "FormatViolation", ["RPC-012", "RPC-016"]),
    (Pair("ocpp", "ocpp-rpc", "ocpp1.6"), "FormationViolation", ["RPC-016"]),
    (Pair("ocpp", "ocpp", "ocpp2.0.1"), "FormatViolation", ["RPC-016"]),
    (Pair("ocpp", "ocpp-rpc", "ocpp2.0.1"), "FormatViolation", ["RPC-016"]),
    (Pair("ocpp", "ocpp", "ocpp2.1"), "FormatViolation", ["RPC-016"]),
]


@pytest.mark.parametrize(
    ("pair", "code", "rules"),
    [pytest.param(*case, id=str(case[0]), marks=marks(case[0])) for case in ENUM_REFUSALS],
)
def test_a_value_outside_its_enumeration_is_refused_with_a_format_code(
    pair: Pair, code: str, rules: list[str], tmp_path: Path, database_url: str
) -> None:
    """Both libraries refuse a StatusNotification whose status is outside its enumeration with
    their "syntactically incorrect" code, where Table 8 (OCPP-J 1.6 §4.2.3, 2.0.1 §4.3) names
    PropertyConstraintViolation, "syntactically correct but ... an invalid value": RPC-016 on
    the CALLERROR. The `ocpp` library spells it FormatViolation under 1.6 as well, a code OCPP-J
    1.6 does not have (its table has FormationViolation, kept by errata 5.2): RPC-012."""
    script = broken_charger(SCRIPTS[pair.protocol](), pair.protocol, breach="enum")
    session = run(play(pair, script, tmp_path / "mitmproxy", database_url), 60)
    assert_byte_identical(session, script)
    assert_stored_one_to_one(session)
    message_id, direction = bad_frame(session, script)
    assert refusal(session, message_id) == code
    action = script.bad_call
    assert_found(
        session,
        [("SCH-001", action, message_id, direction)]
        + [(rule, action, message_id, Direction.CSMS_TO_CHARGER) for rule in rules],
    )


@NEEDS_NODE
def test_ocpp_rpc_as_a_201_csms_declines_compression_by_default(
    tmp_path: Path, database_url: str
) -> None:
    """ocpp-rpc's server (the `ws` package's, perMessageDeflate off unless asked) declines the
    permessage-deflate a `websockets` charger offers, which an OCPP 2.0.1 CSMS must accept
    (WS-011): the clean sessions above turn it on; its default is found, once."""
    pair, script = Pair("ocpp", "ocpp-rpc", "ocpp2.0.1"), script_2x()
    session = run(play(pair, script, tmp_path / "mitmproxy", database_url, deflate=False), 60)
    assert_byte_identical(session, script)
    assert session.findings == [("WS-011", None, None, None)]
