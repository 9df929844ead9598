"""Each scenario's checks, computed from the database only.

A run is identified by its window (wall-clock start and end, speed) and its chargers, so
`ocppscope report` can verify a recorded run again later from the same tables the run wrote.
"""

from __future__ import annotations

from scenarios.model import Check, RunWindow

__all__ = ["Check", "RunWindow"]
