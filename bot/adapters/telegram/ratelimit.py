"""Per-user sliding-window rate limit: at most N questions in any 60 seconds."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """Counts each user's recent questions; `allow()` records one if the window has room."""

    def __init__(self, limit: int, period_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.period_s = period_s
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}

    def allow(self, user_id: int) -> bool:
        """True, and counted, if `user_id` is under the limit; a limit of 0 or less means no limit."""
        if self.limit <= 0:
            return True
        now = self._clock()
        stamps = self._seen.setdefault(user_id, deque())
        while stamps and now - stamps[0] >= self.period_s:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return False
        stamps.append(now)
        if len(self._seen) > 10_000:  # keep memory bounded under many one-off users
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        idle = [user for user, stamps in self._seen.items() if not stamps or now - stamps[-1] >= self.period_s]
        for user in idle:
            del self._seen[user]
