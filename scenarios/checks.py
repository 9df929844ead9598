"""The judgements of the seed guide's five scenarios over a window's evidence. Pure.

How each number scales with `--speed K` (the stations' clocks run K times faster):
- TransactionEvent times, durations and energy are simulated: judged as they are (a 30 s session
  is 30 s and 100 kW x 30 s = 0.8333 kWh at any K).
- Gaps the proxy measures in wall-clock time between things the station times (heartbeat after
  boot, reconnect waits) are multiplied by K before they are compared with the guide's seconds.
  The guide's 10 % is kept; reconnect waits also get `OBSERVER_SLACK` real seconds for the
  handshake and the scheduling of two processes, which is 3 % of the shortest wait at K = 1.
- Round-trip times are the CSMS's real work, not the station's: judged unscaled (100 ms).

This module names each scenario's checks; they are `check_sessions` (1, 2), `check_commands` (3),
`check_fleet` (4) and `check_outage` (5), built of `check_common`, against the numbers of
`scenarios.guide`.
"""

from __future__ import annotations

from collections.abc import Callable

from scenarios.check_commands import scenario_3
from scenarios.check_fleet import scenario_4
from scenarios.check_outage import scenario_5
from scenarios.check_sessions import scenario_1, scenario_2
from scenarios.model import Check, Evidence, RunWindow

SCENARIO_CHECKS: dict[int, Callable[[Evidence, RunWindow], list[Check]]] = {
    1: scenario_1,
    2: scenario_2,
    3: scenario_3,
    4: scenario_4,
    5: scenario_5,
}
