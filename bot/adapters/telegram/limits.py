"""Telegram flood limits: PTB's AIORateLimiter, with retries on 429, minus the cost of "typing…"."""

from __future__ import annotations

from typing import Any

from telegram.ext import AIORateLimiter

# How often one request is retried after a 429 "retry after N" before giving up.
MAX_RETRIES = 3


class FloodLimiter(AIORateLimiter):
    """AIORateLimiter (30/s overall, 20/min per group, RetryAfter honoured), except for chat actions.

    The per-group budget is for messages. "Typing…" repeats every few seconds and
    would eat most of it, delaying the answers it announces; it is cosmetic, so
    it goes straight out and a refused one is simply dropped.
    """

    def __init__(self, max_retries: int = MAX_RETRIES) -> None:
        super().__init__(max_retries=max_retries)

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
