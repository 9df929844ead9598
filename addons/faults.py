"""Faults: break the link on purpose, OCPP-aware (proxy/faults/ decides, this addon acts; what
each kind does is its row in proxy/faults/kinds.py).

First in the addon chain, so that the addons after it see what was done: the Frame of a
message a fault touched carries a `FaultMark` (its label, ocpp_message_log.status, whether the
conformance engine judges it and whether the store records it). Every application goes out as
the custom event `ocpp_fault(event)`. How the kinds act on the wire:

- drop, blackhole, reply-error: the message is dropped (reply-error injects a CALLERROR back).
- delay: the message is held and delivered later by injection; later messages of the same
  direction queue behind it, so the order on the connection is kept.
- duplicate: delivered, then a copy injected; the receiver's answer to the copy is not judged.
- corrupt: the text is replaced; the engine judges what the sender sent.
- disconnect, outage: both sides closed with a code, or the charger's TCP connection reset;
  outage and slow-accept act on handshakes (503, or held).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from dataclasses import replace
from pathlib import Path
from typing import Any

from mitmproxy import addonmanager, ctx, exceptions, http

from addons._ocpp import OcppFaultHook, current_frame, declare_options, is_websocket_upgrade
from proxy.connections import close_websocket, reset_connection
from proxy.faults.book import Decision, FaultBook, read_facts
from proxy.faults.kinds import FaultError, Kind
from proxy.faults.plan import Plan, load_plan, run_plan
from proxy.faults.record import FaultEvent, FaultMark, FrameFacts
from proxy.faults.rules import FaultRule
from proxy.faults.spec import FaultSpec
from proxy.frame import Frame
from proxy.ocppj.actions import Direction
from proxy.ocppj.events import station_from_path

log = logging.getLogger("ocppscope.faults")
TICK_SECONDS = 0.5
EVENTS_KEPT = 1000
OUTAGE_BODY = b"ocppscope fault: the CSMS is down (outage)\n"
CLOSING_KEY = "ocppscope.faults.closing"
"""flow.metadata: the rule whose fault closes the flow. What still arrives on it is not relayed
(the close is under way on the other side) nor judged, even once its end is reported: the Close
the proxy queues on the CSMS side is read ahead of CSMS frames already on the wire, which then
come after the end (`proxy.connections.close_websocket`)."""


class Faults:
    def __init__(self, book: FaultBook | None = None) -> None:
        self.book = book or FaultBook()
        self.flows: dict[str, http.HTTPFlow] = {}
        self.recent: deque[FaultEvent] = deque(maxlen=EVENTS_KEPT)
        self.applied: Counter[str] = Counter()
        """Applications by kind, for the metrics."""
        self.retired: deque[FaultRule] = deque(maxlen=EVENTS_KEPT)
        """Rules removed or expired, as they ended (for plan summaries)."""
        self._held: dict[tuple[str, bool], deque[tuple[float, bytes, bool, FaultMark]]] = {}
        """Per (flow, from client): delayed messages waiting, in order."""
        self._injected: dict[tuple[str, bool], deque[FaultMark]] = {}
        """Per (flow, from client): the marks of the messages this addon injected, expected
        back through the addon chain in order."""
        self._copies_sent: dict[str, dict[str, tuple[int, str | None]]] = {}
        """Per flow: duplicated CALLs' MessageIds -> (genuine answers still to come: 1, then
        0, when the next answer is the one to the copy; the CALL's action)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._plan: Plan | None = None
        """The ocpp_fault_plan option's plan, run once running."""

    # ---- lifecycle -------------------------------------------------------------------------

    def load(self, loader: addonmanager.Loader) -> None:
        declare_options(loader, "ocpp_fault_plan")

    def configure(self, updated: set[str]) -> None:
        if "ocpp_fault_plan" in updated:
            try:
                path = ctx.options.ocpp_fault_plan
                self._plan = load_plan(Path(path)) if path else None
            except FaultError as exc:
                raise exceptions.OptionsError(str(exc)) from None

    def running(self) -> None:
        self._ticker = self._spawn(self._expire(), "fault rules expiry")
        if self._plan is not None:
            self._spawn(self.play(self._plan, ctx.options.ocpp_fault_plan), "fault plan")

    async def play(self, plan: Plan, name: str) -> list[FaultRule]:
        """Run a fault plan on this addon's rules; the rules it added."""
        added: list[FaultRule] = []

        async def add(spec: FaultSpec) -> None:
            added.append(self.add(spec))

        async def clear() -> None:
            self.clear()

        log.info("fault plan %s started", name)
        await run_plan(plan, add, clear)
        log.info(
            "fault plan %s finished: %s",
            name,
            ", ".join(f"fault {r.id} applied {r.applied} times" for r in added) or "no rules",
        )
        return added

    async def done(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _expire(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            for rule in self.book.retire(time.time()):
                self._record(rule, "expired", detail=f"applied {rule.applied} times")

    # ---- control (the admin API calls these) ----------------------------------------------

    def add(self, spec: FaultSpec) -> FaultRule:
        """A new rule; a disconnect without a frame selector and an outage act on the matching
        connections at once."""
        now = time.time()
        rule = self.book.add(spec, now)
        self._record(rule, "added", detail=str(rule.describe()))
        if rule.kind is Kind.OUTAGE:
            self._cut_matching(rule)
        elif rule.kind is Kind.DISCONNECT and not spec.on_frames:
            self._cut_matching(rule)  # done once: the rule has nothing left to do
            self.book.remove(rule.id)
            self._record(rule, "expired", detail=f"closed {rule.applied} connections")
        return rule

    def remove(self, rule_id: int) -> FaultRule | None:
        rule = self.book.remove(rule_id)
        if rule is not None:
            self._record(rule, "removed", detail=f"applied {rule.applied} times")
        return rule

    def clear(self) -> list[FaultRule]:
        removed = self.book.clear()
        for rule in removed:
            self._record(rule, "removed", detail=f"applied {rule.applied} times")
        return removed

    def rules(self) -> list[FaultRule]:
        return self.book.live(time.time())

    def _cut_matching(self, rule: FaultRule) -> None:
        for flow in list(self.flows.values()):
            station = station_from_path(flow.request.path)
            if rule.selector.matches_station(station) and rule.alive(time.time()):
                if rule.kind is Kind.DISCONNECT:
                    rule.applied += 1
                self.applied[rule.kind.value] += 1
                self._cut(flow, rule)
                self._record(rule, "applied", station=station, flow=flow, detail="closed")

    def _cut(self, flow: http.HTTPFlow, rule: FaultRule) -> None:
        flow.metadata[CLOSING_KEY] = rule
        client_id = flow.client_conn.id
        if rule.spec.reset:
            reset_connection(ctx.master, client_id)
        else:
            close_websocket(ctx.master, client_id, rule.spec.code, f"ocppscope fault {rule.id}")

    # ---- handshakes ------------------------------------------------------------------------

    async def request(self, flow: http.HTTPFlow) -> None:
        if not is_websocket_upgrade(flow):
            return
        station = station_from_path(flow.request.path)
        decision = self.book.handshake(station, time.time())
        if decision is None:
            return
        self.applied[decision.kind.value] += 1
        self._record(decision.rule, "applied", station=station, detail=decision.label)
        if decision.kind is Kind.OUTAGE:
            flow.response = http.Response.make(503, OUTAGE_BODY, {"Retry-After": "1"})
        else:
            await asyncio.sleep(decision.delay)

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        self.flows[flow.id] = flow

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        self.flows.pop(flow.id, None)
        self.book.closed(flow.id)
        self._copies_sent.pop(flow.id, None)
        for from_client in (True, False):
            self._held.pop((flow.id, from_client), None)
            self._injected.pop((flow.id, from_client), None)

    # ---- frames ----------------------------------------------------------------------------

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        key = (flow.id, message.from_client)
        frame = current_frame(flow)
        closing: FaultRule | None = flow.metadata.get(CLOSING_KEY)
        if closing is not None:
            message.drop()
            label = f"arrived while fault {closing.id} closed the link"
            frame.fault = _unjudged(frame, FaultMark(label, "dropped", closing.id, closing.kind))
            return
        if frame.after_close:  # forwarded to no one: nothing left for a fault to do
            return
        if message.injected:
            expected = self._injected.get(key)
            if expected:
                made = expected.popleft()
                frame.fault = made if made.judged else _unjudged(frame, made)
            return
        if key in self._held:  # behind a delayed message: keep the order
            self._hold(flow, message.from_client, 0.0, message.content, message.is_text, None)
            message.drop()
            frame.fault = _unjudged(frame, FaultMark("held behind a delayed message", "delayed"))
            return
        if not isinstance(frame.data, str):
            return
        if self._answers_a_copy(flow.id, frame):
            return
        decision = self.book.frame(
            frame.station,
            flow.id,
            frame.direction,
            frame.data,
            time.time(),
            subprotocol=frame.version,
        )
        if decision is not None:
            self._apply(flow, frame, decision)

    def _answers_a_copy(self, flow_id: str, frame: Frame) -> bool:
        """The second answer to a duplicated CALL: delivered, not judged (the engine saw one
        CALL, so it expects one answer)."""
        copies = self._copies_sent.get(flow_id)
        if not copies or not isinstance(frame.data, str):
            return False
        facts = read_facts(frame.data)
        message_id = facts.message_id
        if facts.message_type not in ("CALLRESULT", "CALLERROR") or message_id not in copies:
            return False
        genuine, action = copies[message_id]
        if genuine:
            copies[message_id] = (0, action)  # the first answer: the one the engine waits for
            return False
        del copies[message_id]
        answer = FrameFacts(facts.message_type, message_id, action)
        frame.fault = FaultMark("answer to a duplicated CALL", "sent", judged=False, facts=answer)
        return True

    def _apply(self, flow: http.HTTPFlow, frame: Frame, decision: Decision) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        rule, kind, facts = decision.rule, decision.kind, decision.facts
        mark = FaultMark(decision.label, rule.spec.row.status, rule.id, kind)
        frame.fault = mark
        self.applied[kind.value] += 1
        self._record(
            decision.rule,
            "applied",
            station=frame.station,
            flow=flow,
            direction=frame.direction,
            action=facts.action if facts else None,
            message_id=facts.message_id if facts else None,
            detail=decision.label,
        )
        answered = facts is not None and facts.message_type in ("CALLRESULT", "CALLERROR")
        if kind in (Kind.DROP, Kind.BLACKHOLE, Kind.DISCONNECT):
            message.drop()
            excused = facts.message_id if answered and facts is not None else None
            frame.fault = _unjudged(frame, replace(mark, facts=facts, excused=excused))
            if kind is Kind.DISCONNECT:
                self._cut(flow, rule)
        elif kind is Kind.DELAY:
            message.drop()
            frame.fault = _unjudged(frame, replace(mark, facts=facts))
            label = f"delivered after {decision.delay * 1000:.0f} ms (fault {rule.id})"
            self._hold(
                flow,
                message.from_client,
                decision.delay,
                message.content,
                message.is_text,
                FaultMark(label, "sent", rule.id, kind, recorded=False),
            )
        elif kind is Kind.CORRUPT:
            assert decision.data is not None
            message.text = decision.data
        elif kind is Kind.REPLY_ERROR:
            assert decision.data is not None
            message.drop()
            self._inject(
                flow,
                from_client=not message.from_client,
                content=decision.data.encode(),
                is_text=True,
                made=FaultMark(f"injected by fault {rule.id}", "injected", rule.id, kind),
            )
        elif kind is Kind.DUPLICATE:
            if facts is not None and facts.message_type == "CALL" and facts.message_id:
                self._copies_sent.setdefault(flow.id, {})[facts.message_id] = (1, facts.action)
            self._inject(
                flow,
                from_client=message.from_client,
                content=message.content,
                is_text=message.is_text,
                made=FaultMark(
                    f"duplicate (fault {rule.id})", "duplicated", rule.id, kind, judged=False
                ),
            )

    def _hold(
        self,
        flow: http.HTTPFlow,
        from_client: bool,
        delay: float,
        content: bytes,
        is_text: bool,
        made: FaultMark | None,
    ) -> None:
        """Hold a message for `delay` (at least until those before it are delivered); `made`
        marks it when it comes back, None: held behind a delayed message."""
        key = (flow.id, from_client)
        line = self._held.get(key)
        if line is None:
            line = self._held[key] = deque()
            self._spawn(self._deliver_held(flow, from_client), "delayed messages")
        due = max(time.time() + delay, line[-1][0] if line else 0.0)
        behind = FaultMark("delivered behind a delayed message", "sent", recorded=False)
        line.append((due, content, is_text, made or behind))

    async def _deliver_held(self, flow: http.HTTPFlow, from_client: bool) -> None:
        key = (flow.id, from_client)
        line = self._held.get(key)
        while line:
            due, content, is_text, made = line[0]
            await asyncio.sleep(max(0.0, due - time.time()))
            if self._held.get(key) is not line:  # the connection ended meanwhile
                return
            line.popleft()
            self._inject(flow, from_client, content, is_text, made)
        if self._held.get(key) is line:
            del self._held[key]

    def _inject(
        self,
        flow: http.HTTPFlow,
        from_client: bool,
        content: bytes,
        is_text: bool,
        made: FaultMark,
    ) -> None:
        """Send `content` as if the client (or the server) had sent it; it comes back through
        the addon chain marked injected, where `made` tells the others what it is."""
        if not flow.live:
            return
        self._injected.setdefault((flow.id, from_client), deque()).append(made)
        ctx.master.commands.call("inject.websocket", flow, not from_client, content, is_text)

    # ---- records ---------------------------------------------------------------------------

    def _record(
        self,
        rule: FaultRule,
        event: str,
        *,
        station: str | None = None,
        flow: http.HTTPFlow | None = None,
        direction: Direction | None = None,
        action: str | None = None,
        message_id: str | None = None,
        detail: str = "",
    ) -> None:
        record = FaultEvent(
            at=time.time(),
            fault_id=rule.id,
            kind=rule.kind,
            event=event,
            station=station,
            connection_id=flow.id if flow is not None else None,
            direction=direction,
            action=action,
            message_id=message_id,
            detail=detail,
        )
        self.recent.append(record)
        if event in ("removed", "expired"):
            self.retired.append(rule)
        ctx.master.addons.trigger(OcppFaultHook(record))

    def _spawn(self, coroutine: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _unjudged(frame: Frame, mark: FaultMark) -> FaultMark:
    """`mark`, kept from the engine and saying what the frame was for the record."""
    text = frame.data if isinstance(frame.data, str) else None
    facts = mark.facts or (read_facts(text, frame.version) if text is not None else None)
    return replace(mark, judged=False, facts=facts)


addons = [Faults()]
