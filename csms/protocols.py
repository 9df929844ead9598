"""The OCPP versions the reference CSMS speaks, one per WebSocket subprotocol, and what differs
between them before a handler runs: the actions, the payload schemas and the CALLERROR codes.

The actions and schemas are the conformance engine's version table (proxy/ocppj/versions.py), so
the CSMS refuses exactly what the proxy would report; this module adds the CSMS's own choices:
which subprotocols it accepts, and the 1.6 spelling of the codes it answers with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from websockets.typing import Subprotocol

from proxy.ocppj.errors import LEGACY_ERROR_CODES
from proxy.ocppj.messages import Violation
from proxy.ocppj.schemas import validate
from proxy.ocppj.versions import VERSIONS, Version

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

    @property
    def version(self) -> Version:
        return VERSIONS[self.subprotocol]

    @property
    def actions(self) -> frozenset[str]:
        return self.version.actions

    def validate_request(self, action: str, payload: dict[str, Any]) -> list[Violation]:
        """Schema breaches of a CALL's payload, with 32-bit integers (what a receiver may refuse)."""
        version = self.version
        return validate(version.request_schema(action), payload, int32=True, version=version)

    def error_code(self, code: str) -> str:
        """A 2.0.1 CALLERROR code as this version spells it."""
        return SPELLING_16.get(code, code) if self.subprotocol == OCPP16 else code


PROTOCOLS = {subprotocol: Protocol(subprotocol) for subprotocol in (OCPP16, OCPP201, OCPP21)}
