"""The entries of the check catalogue this engine does not judge, each with the reason.

Our rule ids follow the numbering of a catalogue of 113 checks a passive observer of OCPP 2.0.1
can make; `RULES` holds those the engine judges, this table the rest, so that `ocppscope rules`
and docs/rules.md can say what is not checked and why instead of staying silent about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Unchecked:
    id: str
    title: str
    reference: str
    why: str
    """Why a passive observer, or this one, does not judge it."""


_UNCHECKED: Final[tuple[Unchecked, ...]] = ()

UNCHECKED: Final[dict[str, Unchecked]] = {entry.id: entry for entry in _UNCHECKED}
