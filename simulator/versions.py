"""The OCPP versions a simulated station speaks, by the websocket subprotocol that names them,
and the behaviour profiles that have no meaning in a version."""

from __future__ import annotations

VERSIONS = ("ocpp1.6", "ocpp2.0.1", "ocpp2.1")
DEFAULT_VERSION = "ocpp2.0.1"

NOT_IN = {"ocpp1.6": frozenset({"skips-seqno", "bad-schema"})}
"""OCPP 1.6 has no seqNo, and its meter values are text already."""
