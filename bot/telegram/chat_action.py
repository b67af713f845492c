"""Keeps "typing…" visible in a chat while at least one of its questions is waiting or being answered."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from telegram.error import RetryAfter

logger = logging.getLogger(__name__)

# Telegram shows a chat action for about 5 seconds, so repeat a little sooner.
INTERVAL_S = 4.0
# Never type for longer than this, even if an answer is stuck.
MAX_S = 600.0


class Typing:
    """Reference-counted per chat: one repeating sendChatAction loop, however many questions wait."""

    def __init__(self, send: Callable[[int, int | None], Awaitable[object]], interval_s: float = INTERVAL_S) -> None:
        self._send = send
        self._interval_s = interval_s
        self._holders: dict[int, int] = {}
        self._loops: dict[int, asyncio.Task[None]] = {}

    def hold(self, chat_id: int, thread_id: int | None = None) -> None:
        """Start (or keep) typing in `chat_id`; the first action is sent at once."""
        self._holders[chat_id] = self._holders.get(chat_id, 0) + 1
        loop = self._loops.get(chat_id)
        if loop is None or loop.done():
            self._loops[chat_id] = asyncio.create_task(self._loop(chat_id, thread_id), name=f"typing-{chat_id}")

    def release(self, chat_id: int) -> None:
        """Stop typing in `chat_id` once nothing there is pending."""
        left = self._holders.get(chat_id, 0) - 1
        if left > 0:
            self._holders[chat_id] = left
            return
        self._holders.pop(chat_id, None)
        loop = self._loops.pop(chat_id, None)
        if loop is not None:
            loop.cancel()

    async def stop(self) -> None:
        loops = list(self._loops.values())
        self._loops.clear()
        self._holders.clear()
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)

    async def _loop(self, chat_id: int, thread_id: int | None) -> None:
        deadline = asyncio.get_running_loop().time() + MAX_S
        while asyncio.get_running_loop().time() < deadline:
            try:
                await self._send(chat_id, thread_id)
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:  # flood-limited: back off instead of adding to it
                await asyncio.sleep(exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after)
            except Exception as exc:  # a lost "typing" is cosmetic; never let it surface
                logger.debug("chat action in %s failed: %s", chat_id, exc)
            await asyncio.sleep(self._interval_s)
