"""Growing pauses between attempts at a Bot API call, within a total time budget."""

from __future__ import annotations

import time
from collections.abc import Callable

from telegram.error import RetryAfter

# The first pause and the longest one: short enough to notice a recovery quickly, long enough
# not to hammer a Bot API that is down.
FIRST_S = 0.5
CAP_S = 30.0


class Backoff:
    """Pauses of FIRST_S, doubling up to CAP_S, or what Telegram asked for, until `budget_s` is spent."""

    def __init__(
        self,
        budget_s: float,
        first_s: float = FIRST_S,
        cap_s: float = CAP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._deadline = clock() + max(0.0, budget_s)
        self._next = first_s
        self._cap = cap_s
        self.attempts = 1  # the attempt that just failed is the first

    def pause(self, at_least: float = 0.0) -> float | None:
        """How long to wait before the next attempt; None when the budget is spent.

        The last pause is cut short so that one attempt still happens at the deadline.
        """
        left = self._deadline - self._clock()
        if left <= 0 or at_least > left:  # retrying before Telegram's "retry after" would only be refused
            return None
        pause = min(max(self._next, at_least), left)
        self._next = min(self._cap, self._next * 2)
        self.attempts += 1
        return pause


def retry_after_s(error: Exception) -> float:
    """The wait a 429 asks for (an int or a timedelta, depending on PTB's settings); 0 for other errors."""
    if not isinstance(error, RetryAfter):
        return 0.0
    period = error.retry_after
    return period.total_seconds() if hasattr(period, "total_seconds") else float(period)
