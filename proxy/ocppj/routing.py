"""Rule groups and how a session routes events to their handlers (in the manner of `ocpp.routing`).

A rule group is a class that owns its per-station state; its handler methods are marked with
`@on_call("BootNotification")`, `@on_result(...)`, `@on_frame`, ... The marks only tag the method:
there is no global table. `Routes.build` walks the group instances of one session once, when the
session is made, and the session dispatches each event through that table (one lookup per frame).

Handlers of one event run in ruleset order, then in definition order within a group; for CALLs,
CALLRESULTs and CALLERRORs the handlers of the action run before those marked for every action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, TypeVar

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, HandshakeRefused
    from proxy.ocppj.messages import Call, CallError, CallResult, Parsed
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

CallHandler = Callable[["Call"], None]
ResultHandler = Callable[["PendingCall", "CallResult"], None]
ErrorHandler = Callable[["PendingCall", "CallError"], None]
FrameHandler = Callable[["Parsed"], None]
OpenHandler = Callable[["ConnectionOpened"], None]
CloseHandler = Callable[["ConnectionClosed"], None]
RefusedHandler = Callable[["HandshakeRefused"], None]
FinishHandler = Callable[[], None]

Kind = Literal["call", "result", "error", "frame", "open", "close", "refused", "finish"]
ANY: Final = "*"
"""The action key of handlers that run for every action."""
_MARK: Final = "_ocppj_routes"

F = TypeVar("F", bound=Callable[..., None])


class RuleGroup:
    """One group of rules and the per-station state it keeps; made once per `Session`.

    `needs` names the groups whose knowledge this one reads (through `Session.group`), so that a
    ruleset missing one fails when a session is made rather than at the first frame that needs it.
    """

    needs: ClassVar[tuple[type[RuleGroup], ...]] = ()

    def __init__(self, session: Session) -> None:
        self.session = session


def _mark(kind: Kind, actions: tuple[str, ...]) -> Callable[[F], F]:
    def mark(handler: F) -> F:
        vars(handler).setdefault(_MARK, []).append((kind, actions or (ANY,)))
        return handler

    return mark


def on_call(*actions: str) -> Callable[[F], F]:
    """Handle CALLs of these actions (of every action when none is named)."""
    return _mark("call", actions)


def on_result(*actions: str) -> Callable[[F], F]:
    """Handle CALLRESULTs answering CALLs of these actions (of every action when none is named)."""
    return _mark("result", actions)


def on_error(*actions: str) -> Callable[[F], F]:
    """Handle CALLERRORs answering CALLs of these actions (of every action when none is named)."""
    return _mark("error", actions)


def on_frame(handler: F) -> F:
    """Handle every decoded text frame, before the RPC layer handles it."""
    return _mark("frame", (ANY,))(handler)


def on_open(handler: F) -> F:
    return _mark("open", (ANY,))(handler)


def on_close(handler: F) -> F:
    return _mark("close", (ANY,))(handler)


def on_refused(handler: F) -> F:
    return _mark("refused", (ANY,))(handler)


def on_finish(handler: F) -> F:
    """Handle the end of the observation (end of a capture, proxy shutdown)."""
    return _mark("finish", (ANY,))(handler)


def handlers(group: RuleGroup) -> Iterable[tuple[Kind, tuple[str, ...], Callable[..., None]]]:
    """The marked methods of `group`, bound, in definition order (base classes first)."""
    members: dict[str, Any] = {}
    for cls in reversed(type(group).__mro__):
        members.update(vars(cls))
    for name, member in members.items():
        for kind, actions in getattr(member, _MARK, ()):
            yield kind, actions, getattr(group, name)


def _by_action(table: dict[str, list[Any]]) -> tuple[dict[str, tuple[Any, ...]], tuple[Any, ...]]:
    """Per action its own handlers followed by the every-action ones, and those alone."""
    every = tuple(table.pop(ANY, ()))
    return {action: (*own, *every) for action, own in table.items()}, every


@dataclass(frozen=True, slots=True)
class Routes:
    """Which handler of which group instance runs for which event: built once per session."""

    calls: dict[str, tuple[CallHandler, ...]] = field(default_factory=dict)
    any_call: tuple[CallHandler, ...] = ()
    results: dict[str, tuple[ResultHandler, ...]] = field(default_factory=dict)
    any_result: tuple[ResultHandler, ...] = ()
    errors: dict[str, tuple[ErrorHandler, ...]] = field(default_factory=dict)
    any_error: tuple[ErrorHandler, ...] = ()
    frames: tuple[FrameHandler, ...] = ()
    opened: tuple[OpenHandler, ...] = ()
    closed: tuple[CloseHandler, ...] = ()
    refused: tuple[RefusedHandler, ...] = ()
    finished: tuple[FinishHandler, ...] = ()

    @classmethod
    def build(cls, groups: Iterable[RuleGroup]) -> Routes:
        tables: dict[Kind, dict[str, list[Any]]] = {}
        for group in groups:
            for kind, actions, handler in handlers(group):
                table = tables.setdefault(kind, {})
                for action in actions:
                    table.setdefault(action, []).append(handler)
        calls, any_call = _by_action(tables.get("call", {}))
        results, any_result = _by_action(tables.get("result", {}))
        errors, any_error = _by_action(tables.get("error", {}))

        def plain(kind: Kind) -> tuple[Any, ...]:
            return tuple(tables.get(kind, {}).get(ANY, ()))

        return cls(
            calls,
            any_call,
            results,
            any_result,
            errors,
            any_error,
            plain("frame"),
            plain("open"),
            plain("close"),
            plain("refused"),
            plain("finish"),
        )

    def all(self) -> list[Callable[..., None]]:
        """Every handler the table routes to, once each, in table order (for tests and tools)."""
        chains: list[Iterable[Callable[..., None]]] = [
            *self.calls.values(),
            self.any_call,
            *self.results.values(),
            self.any_result,
            *self.errors.values(),
            self.any_error,
            self.frames,
            self.opened,
            self.closed,
            self.refused,
            self.finished,
        ]
        return list(dict.fromkeys(handler for chain in chains for handler in chain))
