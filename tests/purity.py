"""The purity guard of the `unit` tier: a unit test that connects a socket, listens on one,
starts a process or connects to a database fails, instead of quietly making `make test-fast`
slow and flaky. It fails even when the code under test catches the refusal (a test of "the
connection was refused" is an integration test). asyncio's event loop still makes its internal
socketpair, which neither connects nor binds."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Callable
from typing import Any, NoReturn

import asyncpg
import pytest


class ImpureUnitTest(AssertionError):
    """A `unit` test reached for the network, a process or a database."""


def _refuse(what: str, refused: list[str]) -> Callable[..., NoReturn]:
    def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
        refused.append(what)
        raise ImpureUnitTest(f"a unit test may not {what}; make it integration (tests/tiers.py)")

    return refuse


def forbid_io(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Until the test ends: no connect, bind, process or asyncpg connection. Returns the list
    of what the test tried, for its teardown to check."""
    refused: list[str] = []
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, _refuse("connect a socket", refused))
    monkeypatch.setattr(socket.socket, "bind", _refuse("bind a socket", refused))
    monkeypatch.setattr(socket, "create_connection", _refuse("open a connection", refused))
    monkeypatch.setattr(socket, "create_server", _refuse("listen on a socket", refused))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start a process", refused))
    for name in ("create_subprocess_exec", "create_subprocess_shell"):
        monkeypatch.setattr(asyncio, name, _refuse("start a process", refused))
    for name in ("connect", "create_pool"):
        monkeypatch.setattr(asyncpg, name, _refuse("connect to a database", refused))
    return refused
