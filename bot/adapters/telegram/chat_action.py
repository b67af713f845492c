"""Keeps "typing…" visible in a chat while at least one of its questions is waiting or being answered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from telegram.error import RetryAfter

logger = logging.getLogger(__name__)

# Telegram shows a chat action for about 5 seconds, so repeat a little sooner.
INTERVAL_S = 4.0
# Never type for longer than this, even if an answer is stuck.
MAX_S = 600.0
# How long release() waits for a "typing" request already on the wire.
SETTLE_S = 5.0


class Typing:
    """Reference-counted per chat: one repeating sendChatAction loop, however many questions wait."""

    def __init__(self, send: Callable[[int, int | None], Awaitable[object]], interval_s: float | None = None) -> None:
        self._send = send
        self._interval_s = INTERVAL_S if interval_s is None else interval_s
        self._holders: dict[int, int] = {}
        self._loops: dict[int, tuple[asyncio.Task[None], asyncio.Event]] = {}

    def hold(self, chat_id: int, thread_id: int | None = None) -> None:
        """Start (or keep) typing in `chat_id`; the first action is sent at once."""
        self._holders[chat_id] = self._holders.get(chat_id, 0) + 1
        running = self._loops.get(chat_id)
        if running is None or running[0].done():
            stop = asyncio.Event()
            task = asyncio.create_task(self._loop(chat_id, thread_id, stop), name=f"typing-{chat_id}")
            self._loops[chat_id] = (task, stop)

    async def release(self, chat_id: int) -> None:
        """Stop typing in `chat_id` once nothing there is pending.

        Waits for a "typing" request already on its way, so it cannot reach
        Telegram after the answer and show "typing…" over a finished reply.
        """
        left = self._holders.get(chat_id, 0) - 1
        if left > 0:
            self._holders[chat_id] = left
            return
        self._holders.pop(chat_id, None)
        running = self._loops.pop(chat_id, None)
        if running is None:
            return
        task, stop = running
        stop.set()
        done, _ = await asyncio.wait([task], timeout=SETTLE_S)
        if not done:
            task.cancel()

    async def stop(self) -> None:
        """Cancel every loop at once (shutdown)."""
        tasks = [task for task, _ in self._loops.values()]
        self._loops.clear()
        self._holders.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, chat_id: int, thread_id: int | None, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_S
        while not stop.is_set() and loop.time() < deadline:
            pause = self._interval_s
            try:
                await self._send(chat_id, thread_id)
            except RetryAfter as exc:  # flood-limited: back off instead of adding to it
                pause = max(pause, _seconds(exc.retry_after))
            except Exception as exc:  # a lost "typing" is cosmetic; never let it surface
                logger.debug("chat action in %s failed: %s", chat_id, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)


def _seconds(period: object) -> float:
    """RetryAfter.retry_after is an int or a timedelta, depending on PTB's settings."""
    return period.total_seconds() if hasattr(period, "total_seconds") else float(period)  # type: ignore[arg-type]
