"""The rule groups. Importing a module registers its handlers in `proxy.ocppj.hooks`."""

from __future__ import annotations

import importlib

# Order matters where two groups handle every CALL: the registration gate (boot) asks whether a
# CALL was triggered before `remote` marks the trigger as used.
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
