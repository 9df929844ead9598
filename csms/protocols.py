"""The OCPP versions the reference CSMS speaks, one per WebSocket subprotocol, and what differs
between them before a handler runs: the actions, the payload schemas and the CALLERROR codes.

The conformance engine (proxy/ocppj) judges OCPP 2.0.1 only so far; 2.0.1 payloads are checked
by its validator, 1.6 and 2.1 ones here with the `ocpp` library's schemas of that version. This
module is the one place that knows the difference, so that it shrinks to a table once the engine
is version-aware.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import jsonschema_rs
from websockets.typing import Subprotocol

from proxy.ocppj.errors import LEGACY_ERROR_CODES
from proxy.ocppj.messages import Violation
from proxy.ocppj.schemas import _bound_integers, validate

OCPP16 = Subprotocol("ocpp1.6")
OCPP201 = Subprotocol("ocpp2.0.1")
OCPP21 = Subprotocol("ocpp2.1")
SUBPROTOCOLS: tuple[Subprotocol, ...] = (OCPP201, OCPP21, OCPP16)
"""What the endpoint accepts. Which one a connection gets is the station's choice: the first of
its offered list that is here (csms/server.py)."""
SPELLING_16 = {
    **{modern: legacy for legacy, modern in LEGACY_ERROR_CODES.items()},
    # OCPP-J 1.6 §4.2.3 has neither: a frame that is no message is "any other error".
    "RpcFrameworkError": "GenericError",
    "MessageTypeNotSupported": "GenericError",
}
"""OCPP-J 1.6 §4.2.3 spells two codes differently (FormationViolation, OccurenceConstraintViolation)."""


@dataclass(frozen=True, slots=True)
class Protocol:
    subprotocol: Subprotocol
    package: str
    """The `ocpp` library's module of this version (its schemas, its ChargePoint)."""
    request_suffix: str
    """1.6 names a request's schema `<Action>.json`, 2.x `<Action>Request.json`."""

    @property
    def schema_dir(self) -> Traversable:
        return files(self.package) / "schemas"

    @property
    def actions(self) -> frozenset[str]:
        return _actions(self)

    def validate_request(self, action: str, payload: dict[str, Any]) -> list[Violation]:
        """Schema breaches of a CALL's payload, with 32-bit integers (what a receiver may refuse)."""
        if self.subprotocol == OCPP201:
            return validate(f"{action}Request", payload, int32=True)
        checker = _validator(self, action)
        try:
            errors = list(checker.iter_errors(payload))
        except (UnicodeEncodeError, ValueError) as error:  # a lone surrogate, a deep value
            return [Violation("SCH-001", f"{action}: cannot be validated: {error}", kind="")]
        return [
            Violation(
                "SCH-001",
                f"{action}: /{'/'.join(map(str, error.instance_path))}: {error.message}",
                kind=type(error.kind).__name__,
            )
            for error in errors
        ]

    def error_code(self, code: str) -> str:
        """A 2.0.1 CALLERROR code as this version spells it."""
        return SPELLING_16.get(code, code) if self.subprotocol == OCPP16 else code


PROTOCOLS = {
    OCPP16: Protocol(OCPP16, "ocpp.v16", ""),
    OCPP201: Protocol(OCPP201, "ocpp.v201", "Request"),
    OCPP21: Protocol(OCPP21, "ocpp.v21", "Request"),
}


@cache
def _actions(protocol: Protocol) -> frozenset[str]:
    names = (entry.name.removesuffix(".json") for entry in protocol.schema_dir.iterdir())
    return frozenset(
        name.removesuffix(protocol.request_suffix)
        for name in names
        if name.endswith(protocol.request_suffix) and not name.endswith("Response")
    )


@cache
def _validator(protocol: Protocol, action: str) -> Any:
    name = f"{action}{protocol.request_suffix}.json"
    # The OCA files may start with a byte order mark (as the `ocpp` library reads them).
    schema = json.loads((protocol.schema_dir / name).read_text(encoding="utf-8-sig"))
    _bound_integers(
        schema
    )  # 32-bit integers, as the engine bounds 2.0.1's (this CSMS stores them so)
    return jsonschema_rs.validator_for(schema, validate_formats=True)
