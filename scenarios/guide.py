"""The seed guide's numbers (intervals, the session, the price, the power limit, the reconnect
waits) and the tolerances the checks allow: what `scenarios.seed` drives and the checks judge.
"""

from __future__ import annotations

HEARTBEAT_INTERVAL = 30
"""The guide: BootNotification Accepted with interval 30."""
SESSION_SECONDS = 30
METER_INTERVAL = 5
"""The guide: Updated every 5 s."""
PRICE_KRW_PER_KWH = 150
COST_TOLERANCE_KRW = 1.0
"""The CSMS rounds cost to 0.01 KRW from unrounded energy; the guide's Q3 allows 10 KRW."""
ENERGY_TOLERANCE = 0.01
"""Relative: energy is integrated in steps by the station and rounded to 0.1 Wh on the wire."""
LIMIT_KW = 50.0
RTT_LIMIT_MS = 100.0
RTT_PERCENTILE = 0.95
"""The guide's "response time under 100 ms" names no statistic; one GC pause on a shared
machine should not fail a run, so 95 % of the CSMS's answers must come within it."""
BACKOFF_WAITS = (1.0, 2.0, 4.0, 8.0)
"""The guide's reconnect waits while the server is down for 10 s (the fifth, 16 s, never comes)."""
TIMING_TOLERANCE = 0.10
OBSERVER_SLACK = 0.03
"""Real seconds between a station's timer and the proxy's record of the handshake it starts."""
SERIOUS = ("error",)
