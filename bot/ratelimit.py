"""Per-user token buckets: a flood from one user is refused without touching anyone else."""

from __future__ import annotations

import enum
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class Decision(enum.Enum):
    ALLOW = "allow"
    NOTIFY = "notify"  # refused; tell the user once
    DROP = "drop"  # refused; already told


class RateLimiter:
    """``capacity`` questions per ``period`` seconds per user, refilled continuously.

    Memory is bounded: the least recently seen users are forgotten past ``max_users``.
    """

    def __init__(
        self,
        capacity: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_users: int = 10_000,
    ) -> None:
        if capacity < 1 or period <= 0:
            raise ValueError("capacity >= 1 and period > 0")
        self.capacity = capacity
        self.rate = capacity / period
        self._clock = clock
        self._max_users = max_users
        self._buckets: OrderedDict[int, tuple[float, float, bool]] = OrderedDict()  # tokens, stamp, notified
        self._lock = threading.Lock()

    def check(self, user_id: int) -> Decision:
        now = self._clock()
        with self._lock:
            tokens, stamp, notified = self._buckets.pop(user_id, (float(self.capacity), now, False))
            tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
            if tokens >= 1:
                decision, tokens, notified = Decision.ALLOW, tokens - 1, False
            elif notified:
                decision = Decision.DROP
            else:
                decision, notified = Decision.NOTIFY, True
            self._buckets[user_id] = (tokens, now, notified)
            while len(self._buckets) > self._max_users:
                self._buckets.popitem(last=False)
            return decision
