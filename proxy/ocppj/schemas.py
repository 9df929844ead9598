"""OCPP payload validation (1.6, 2.0.1, 2.1) with the `ocpp` package's schemas, via jsonschema-rs."""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

import jsonschema_rs

from proxy.ocppj.messages import Violation
from proxy.ocppj.versions import DEFAULT, Version

MAX_REPORTED_ERRORS = 5
INT32 = (-(2**31), 2**31 - 1)
"""OCPP 2.0.1 Part 2 §2.1: an integer is 32 bits; the JSON schemas leave most of them unbounded."""


@cache
def validator(
    schema_name: str, int32: bool = False, version: Version = DEFAULT
) -> jsonschema_rs.Validator:
    """Compile one of `version`'s schemas (`<Action>Request` / `<Action>Response`; 1.6 names a
    request `<Action>`); date-time formats are checked too. With `int32`, every integer field is
    bounded to 32 bits as well (what a receiver may refuse)."""
    # The OCA files start with a byte order mark, hence utf-8-sig (as the ocpp package reads them).
    text = (version.schema_dir / f"{schema_name}.json").read_text(encoding="utf-8-sig")
    schema = json.loads(text)
    if int32:
        _bound_integers(schema)
    if version.draft == 4:
        return jsonschema_rs.Draft4Validator(schema, validate_formats=True)
    return jsonschema_rs.Draft6Validator(schema, validate_formats=True)


def _bound_integers(node: Any) -> None:
    """Add the 32-bit range to every `"type": "integer"` of a schema (its own bounds stay)."""
    if isinstance(node, list):
        for item in node:
            _bound_integers(item)
    elif isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("minimum", INT32[0])
            node.setdefault("maximum", INT32[1])
        for value in node.values():
            _bound_integers(value)


def compile_all(version: Version = DEFAULT) -> int:
    """Compile a version's schemas up front (for benchmarks and start-up); returns how many."""
    for action in version.actions:
        validator(version.request_schema(action), version=version)
        if action not in version.send_actions:
            validator(f"{action}Response", version=version)
    return 2 * len(version.actions) - len(version.send_actions)


def validate(
    schema_name: str, payload: dict[str, Any], int32: bool = False, version: Version = DEFAULT
) -> list[Violation]:
    """Schema violations of one payload, each naming the field and what is wrong with it."""
    checker = validator(schema_name, int32, version)
    violations: list[Violation] = []
    try:
        if checker.is_valid(payload):
            return []
        for error in checker.iter_errors(payload):
            if len(violations) == MAX_REPORTED_ERRORS:
                violations.append(
                    Violation("SCH-001", f"{schema_name}: further schema errors omitted")
                )
                break
            # A null, {} or [] the schema forbids is a schema error too (RPC-011 says omit it).
            violations.append(_describe(schema_name, error, payload, version))
    except UnicodeEncodeError:  # a lone surrogate escape ("\ud800"): JSON, but not Unicode text
        violations.append(
            Violation(
                "SCH-001",
                f"{schema_name}: a string holds an unpaired surrogate escape (not a Unicode "
                "character); the payload cannot be validated",
            )
        )
    except ValueError:  # jsonschema-rs: "Recursion limit reached" describing a deep value
        violations.append(
            Violation(
                "SCH-001",
                f"{schema_name}: payload does not conform to the schema (a value is nested too "
                "deeply for the error to be described)",
            )
        )
    return violations


def _describe(
    schema_name: str,
    error: jsonschema_rs.ValidationError,
    payload: dict[str, Any],
    version: Version,
) -> Violation:
    where = _path(error.instance_path)
    kind = type(error.kind).__name__
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        return Violation(
            "SCH-002",
            f"{schema_name}: {where}: {error.message}{'' if version.draft == 4 else _CUSTOM}",
            kind=kind,
        )
    value = _at(payload, error.instance_path)
    if isinstance(value, float) and not math.isfinite(value):
        return Violation(
            "SCH-001",
            f"{schema_name}: {where}: a number beyond the range of a double (such as 1e400) is no "
            "number to a strict JSON Schema validator",
            kind=kind,
        )
    return Violation("SCH-001", f"{schema_name}: {where}: {error.message}", kind=kind)


_CUSTOM = " (only customData may carry extra properties)"
"""2.0.1 and 2.1 allow vendor extensions there; 1.6's schemas have no customData."""


def _at(value: Any, parts: list[str | int]) -> Any:
    for part in parts:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _path(parts: list[str | int]) -> str:
    if not parts:
        return "payload"
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
