"""When a station tries to reconnect after losing its CSMS (OCPP 2.0.1 Part 4 §5.3; device model
OCPPCommCtrlr.RetryBackOff*). Pure: the random source is given.

The first attempt waits RetryBackOffWaitMinimum plus a random part up to RetryBackOffRandomRange;
each failed attempt doubles the wait, RetryBackOffRepeatTimes times at most; after that the last
wait is kept. With 1 s, no random range and 4 doublings: 1, 2, 4, 8, 16, 16, ... (the seed guide).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from proxy.ocppj.state import Backoff

SEED_GUIDE = Backoff(wait_minimum=1.0, random_range=0.0, repeat_times=4)


@dataclass
class Reconnect:
    policy: Backoff = field(default_factory=lambda: replace(SEED_GUIDE))
    """The station's own copy: SetVariables changes it in place."""
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0
    """Attempts made since the connection was lost."""
    _last_wait: float = 0.0

    def next_wait(self) -> float:
        """Seconds to wait before the next attempt."""
        self.attempt += 1
        if self.attempt == 1:
            spread = self.rng.uniform(0.0, self.policy.random_range)
            self._last_wait = self.policy.wait_minimum + spread
        elif self.attempt <= self.policy.repeat_times + 1:
            self._last_wait *= 2
        return self._last_wait

    def connected(self) -> None:
        """A successful connection starts the schedule over."""
        self.attempt, self._last_wait = 0, 0.0
