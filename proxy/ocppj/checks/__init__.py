"""The rule groups. Importing a module registers its handlers in `proxy.ocppj.hooks`."""

from __future__ import annotations

import importlib

# Handlers of one event run in this order; no check depends on it (a triggered CALL stays
# "triggered" for every handler of that CALL, see remote.is_triggered).
GROUPS = (
    "device_model",
    "transport",
    "payload",
    "boot",
    "heartbeat",
    "status",
    "transactions",
    "remote",
    "backoff",
)


def register_all() -> None:
    for group in GROUPS:
        importlib.import_module(f"{__name__}.{group}")
