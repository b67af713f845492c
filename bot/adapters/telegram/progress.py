"""A "reading the article…" message, edited as the reading goes on, and finally into its result.

The library reports stages from a worker thread; they are handed to the event loop and shown one edit
at a time, at most one per EDIT_INTERVAL_S (Telegram throttles edits). A stage overtaken by a later one
before its turn is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from telegram.error import TelegramError

logger = logging.getLogger(__name__)

# Telegram's flood control tolerates about one edit of a message per second.
EDIT_INTERVAL_S = 1.2


class ProgressMessage:
    """Shows `render(stage)` in message `message_id` (None: the message's id is unknown, nothing is edited)."""

    def __init__(
        self,
        edit: Callable[[str], Awaitable[object]],
        render: Callable[[str], str],
        message_id: int | None,
        interval_s: float | None = None,
    ) -> None:
        self._edit = edit
        self._render = render
        self.message_id = message_id
        self._interval_s = EDIT_INTERVAL_S if interval_s is None else interval_s
        self._loop = asyncio.get_running_loop()
        self._wanted: str | None = None
        self._shown: str | None = None
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._show(), name="kutip-progress") if message_id is not None else None

    def report(self, stage: str) -> None:
        """Called from any thread: show `stage` when the next edit is due."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the bot stopped while the article was read
            self._loop.call_soon_threadsafe(self._want, stage)

    def _want(self, stage: str) -> None:
        self._wanted = stage
        self._changed.set()

    async def _show(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            text = self._render(self._wanted or "")
            if text != self._shown:
                await self._try_edit(text)
                self._shown = text
                await asyncio.sleep(self._interval_s)

    async def _try_edit(self, text: str) -> bool:
        try:
            await self._edit(text)
            return True
        except TelegramError as error:  # progress is a courtesy; the final result matters
            logger.info("could not edit the progress message: %s", error)
            return False

    async def finish(self, text: str) -> bool:
        """Stop showing stages and show `text` instead; False when it could not be edited in (send it anew)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.message_id is None:
            return False
        return await self._try_edit(text)
