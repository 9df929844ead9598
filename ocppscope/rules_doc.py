"""docs/rules.md from the rule catalogue: what is checked, by group, and what is not, and why.

`make docs` writes it; a test fails while the committed page differs from this output.
"""

from __future__ import annotations

import sys

from proxy.ocppj.rules import RULES, VERSION_DIGITS, Rule
from proxy.ocppj.unchecked import UNCHECKED
from proxy.ocppj.versions import VERSIONS

GROUPS = {
    "WS": "Transport and handshake",
    "RPC": "OCPP-J RPC framework",
    "SCH": "Schemas",
    "SEC": "Security profiles",
    "BOOT": "Boot and registration",
    "HB": "Heartbeat",
    "STAT": "Connector status",
    "TX": "Transactions",
    "AUTH": "Authorization",
    "REM": "Remote control and TriggerMessage",
    "SC": "Smart charging",
    "DM": "Device model and provisioning",
    "BACKOFF": "Reconnect back-off",
    "QUEUE": "Offline queueing",
    "BOOT16": "OCPP 1.6J boot and registration",
    "HB16": "OCPP 1.6J heartbeat",
    "STAT16": "OCPP 1.6J connector status",
    "TX16": "OCPP 1.6J transactions",
    "QUEUE16": "OCPP 1.6J offline queueing",
}


def _heading(group: str) -> str:
    """BOOT16: 'Boot and registration, OCPP 1.6'."""
    for digits in VERSION_DIGITS:
        base = group.removesuffix(digits)
        if base != group and base in GROUPS:
            return f"{GROUPS[base]}, OCPP {'.'.join(digits)}"
    return GROUPS.get(group, group)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def reference() -> str:
    """The page's whole text."""
    lines = [
        "# Rules",
        "",
        "Generated from `proxy/ocppj/rules.py` and `proxy/ocppj/unchecked.py` by `make docs`;",
        "`ocppscope rules` prints the same. The ids follow the numbering of a catalogue of checks",
        "a passive observer of OCPP 2.0.1 can make; the OCPP 1.6J rules carry the version in their",
        "group (BOOT16-001) and cite OCPP 1.6 edition 2 by section. A rule every version shares",
        "cites each version's OCPP-J text, which numbers some sections otherwise (a finding cites",
        "its connection's). [engine.md](engine.md) says how they are judged.",
        f"{len(RULES)} rules are checked and {len(UNCHECKED)} catalogue entries are not.",
        "",
        "Each connection is judged by the OCPP version its handshake selected (ocpp2.0.1 when",
        "none); the `versions` column says which versions a rule judges. WS, RPC, SCH and",
        "BACKOFF rules are OCPP-J's own and judge every version; a group prefix with digits",
        "(BOOT16) is that version's alone; the others are 2.0.1's and judge 2.1 too.",
        "",
        *(
            f"- {version}: {sum(version in rule.versions for rule in RULES.values())} rules"
            for version in VERSIONS
        ),
        "",
    ]
    by_group: dict[str, list[Rule]] = {}
    for rule in RULES.values():
        by_group.setdefault(rule.group, []).append(rule)
    for group, rules in by_group.items():
        lines += [
            f"## {_heading(group)} ({group})",
            "",
            "| id | severity | versions | rule | reference |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {rule.id} | {'/'.join(rule.severities)} | {rule.applies} | {_cell(rule.title)} | "
            f"{_cell(rule.reference)} |"
            for rule in rules
        ]
        lines.append("")
    lines += [
        "## Not checked, and why",
        "",
        "| id | check | reference | why not |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {entry.id} | {_cell(entry.title)} | {_cell(entry.reference)} | {_cell(entry.why)} |"
        for entry in UNCHECKED.values()
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference())
