"""Signed messages (OCPP-J 2.0.1 §7): a CALL of `<Action>-Signed` whose payload is the JWS of the
normal payload, in the flattened JSON serialisation. Optional in 2.0.1, so only judged when seen."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from proxy.ocppj.actions import ACTIONS

SUFFIX = "-Signed"
ALGORITHMS = frozenset({"ES256", "RS256", "RS384"})
"""§7.3: the algorithms of the TLS connection."""
_MESSAGE_TYPE_FIELDS = ("OCPPMessageTypedId", "OCPPMessageTypeId")
"""§7.1 spells the field `OCPPMessageTypedId`; the corrected spelling is taken as well."""


def signed_action(action: str, actions: frozenset[str] = ACTIONS) -> str | None:
    """The OCPP action (one of `actions`) a `<Action>-Signed` action signs; None for any other."""
    base = action.removesuffix(SUFFIX)
    return base if base != action and base in actions else None


def is_known(action: str) -> bool:
    """A 2.0.1 action or its signed form (§7.2: the receiver processes the message it signs)."""
    return action in ACTIONS or signed_action(action) is not None


def _decoded_json(text: str) -> Any:
    """A base64url member of a JWS (padding left out, RFC 7515 §2) as JSON; None if it is not."""
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        return None


def problems(action: str, payload: Any) -> list[str]:
    """What keeps a signed CALL's payload from being §7.1's JWS of an `action` CALL."""
    members = ("protected", "payload", "signature")
    if not isinstance(payload, dict) or not all(isinstance(payload.get(m), str) for m in members):
        return [
            "the payload of a signed message is a flattened JWS: string members "
            "protected, payload and signature"
        ]
    found: list[str] = []
    header = _decoded_json(payload["protected"])
    if not isinstance(header, dict):
        return ["the JWS protected header is not base64url-encoded JSON"]
    if header.get("OCPPAction") != action:
        found.append(
            f"the JWS protected header's OCPPAction is {header.get('OCPPAction')!r}, not '{action}'"
        )
    message_type = next((header[f] for f in _MESSAGE_TYPE_FIELDS if f in header), None)
    if message_type not in (2, "2"):
        found.append(
            f"the JWS protected header's OCPPMessageTypedId is {message_type!r}, not 2 (CALL)"
        )
    if header.get("alg") not in ALGORITHMS:
        found.append(
            f"JWS algorithm {header.get('alg')!r} is not one of {', '.join(sorted(ALGORITHMS))}"
        )
    if not isinstance(_decoded_json(payload["payload"]), dict):
        found.append("the JWS payload is not the base64url-encoded JSON object of the message")
    return found
