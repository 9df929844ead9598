"""The rule catalogue agrees with the code that raises findings and with the tests that prove them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ocppscope import rules_doc
from proxy.ocppj.rules import RULES
from proxy.ocppj.unchecked import UNCHECKED

ROOT = Path(__file__).resolve().parents[2]
RULE_ID = re.compile(
    r'"((?:WS|RPC|SCH|SEC|BOOT|HB|STAT|TX|AUTH|REM|SC|DM|BACKOFF|QUEUE)(?:16)?-\d{3})"'
)
REQUIRED_GROUPS = {"WS", "RPC", "BOOT", "HB", "STAT", "TX", "REM", "BACKOFF", "SCH"}
OURS = {"BACKOFF-007", "RPC-020", "WS-017"} | {rule_id for rule_id in RULES if "16-" in rule_id}
"""Ids this project added (the back-off analyser's episode verdict, the receiver's answer to an
unknown action, a message sent after the peer's Close, the OCPP 1.6J rules): not in the workplace
catalogue RULES.md whose numbering our ids follow, and an id it later defines must not mean
something else here."""


def _ids_in(paths: list[Path]) -> set[str]:
    return {match for path in paths for match in RULE_ID.findall(path.read_text())}


def test_every_required_group_is_covered() -> None:
    assert {rule.group for rule in RULES.values()} >= REQUIRED_GROUPS


def test_every_rule_has_severity_title_and_reference() -> None:
    for rule in RULES.values():
        assert rule.severities and rule.title and rule.reference, rule.id
        assert len(set(rule.severities)) == len(rule.severities), rule.id


def test_code_raises_only_catalogued_rules_and_every_rule_is_raised_somewhere() -> None:
    sources = [
        p
        for p in (ROOT / "proxy" / "ocppj").rglob("*.py")
        if p.name not in ("rules.py", "unchecked.py")
    ]
    assert _ids_in(sources) == set(RULES)


def test_every_rule_has_a_test_that_names_it() -> None:
    tests = [p for p in (ROOT / "tests").rglob("test_*.py") if p.name != Path(__file__).name]
    assert set(RULES) <= _ids_in(tests)


def test_rule_ids_exist_in_the_shared_catalogue() -> None:
    catalogue = ROOT.parent / "shared" / "spec" / "RULES.md"
    if not catalogue.exists():
        pytest.skip(
            f"optional {catalogue} absent (a workplace copy beside the checkout, not part of the"
            " repository): ids not compared with it"
        )
    text = catalogue.read_text()
    indexed = set(re.findall(r"^\| ([A-Z]+-\d{3}) \|", text, re.MULTILINE))
    assert set(RULES) >= OURS
    assert set(RULES).isdisjoint(OURS & indexed)
    assert indexed == (set(RULES) - OURS) | set(UNCHECKED), "each entry checked or said why not"
    assert len(indexed & set(RULES)) >= 90


def test_docs_rules_page_is_current() -> None:
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == rules_doc.reference(), "docs/rules.md is stale: run `make docs`"


def test_checked_and_unchecked_never_overlap() -> None:
    assert set(RULES).isdisjoint(UNCHECKED)
    for entry in UNCHECKED.values():
        assert entry.title and entry.reference and entry.why, entry.id
