"""Where rule groups register their handlers, by decorator (in the manner of `ocpp.routing.on`).

A reader finds every check of an action by searching its name; the session dispatches here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, HandshakeRefused
    from proxy.ocppj.messages import Call, CallError, CallResult, Parsed
    from proxy.ocppj.session import PendingCall, Session

CallHandler = Callable[["Session", "Call"], None]
ResultHandler = Callable[["Session", "PendingCall", "CallResult"], None]
ErrorHandler = Callable[["Session", "PendingCall", "CallError"], None]

CALLS: defaultdict[str, list[CallHandler]] = defaultdict(list)
"""Action -> handlers of its CALL; key '*' runs for every CALL after the action's own."""
RESULTS: defaultdict[str, list[ResultHandler]] = defaultdict(list)
ERRORS: defaultdict[str, list[ErrorHandler]] = defaultdict(list)
FRAMES: list[Callable[[Session, Parsed], None]] = []
"""Run for every decoded text frame, before the RPC layer handles it."""
OPENED: list[Callable[[Session, ConnectionOpened], None]] = []
CLOSED: list[Callable[[Session, ConnectionClosed], None]] = []
REFUSED: list[Callable[[Session, HandshakeRefused], None]] = []
FINISHED: list[Callable[[Session], None]] = []
"""Run when the observation ends (end of a capture, proxy shutdown)."""

ANY = "*"


def _register(table: defaultdict[str, list[Any]], actions: tuple[str, ...]) -> Callable[[Any], Any]:
    def decorate(handler: Any) -> Any:
        for action in actions or (ANY,):
            table[action].append(handler)
        return handler

    return decorate


def on_call(*actions: str) -> Callable[[CallHandler], CallHandler]:
    """Handle CALLs of these actions (of every action when none is named)."""
    return _register(CALLS, actions)


def on_result(*actions: str) -> Callable[[ResultHandler], ResultHandler]:
    """Handle CALLRESULTs answering CALLs of these actions."""
    return _register(RESULTS, actions)


def on_error(*actions: str) -> Callable[[ErrorHandler], ErrorHandler]:
    """Handle CALLERRORs answering CALLs of these actions."""
    return _register(ERRORS, actions)


def on_frame(handler: Callable[[Session, Parsed], None]) -> Any:
    FRAMES.append(handler)
    return handler


def on_open(handler: Callable[[Session, ConnectionOpened], None]) -> Any:
    OPENED.append(handler)
    return handler


def on_close(handler: Callable[[Session, ConnectionClosed], None]) -> Any:
    CLOSED.append(handler)
    return handler


def on_refused(handler: Callable[[Session, HandshakeRefused], None]) -> Any:
    REFUSED.append(handler)
    return handler


def on_finish(handler: Callable[[Session], None]) -> Any:
    FINISHED.append(handler)
    return handler
