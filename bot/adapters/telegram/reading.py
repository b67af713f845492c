"""Reading articles asked for in chats without holding up the bot.

A read (fetch, clean, embed) takes seconds to minutes, so it is never awaited by a handler: PTB handles
updates one at a time, and every other chat would wait. Each read is a task of its own; the slow call runs
in a worker thread (asyncio.to_thread). Reads take turns (embedding shares the CPU with the model), a chat
has at most one in flight, and the model itself is never touched here: a new article's summary goes
through the desk like any other model job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Reader:
    def __init__(self, concurrent: int = 1) -> None:
        self._turns = asyncio.Semaphore(concurrent)
        self._chats: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def reading(self, chat_id: int) -> bool:
        """Whether `chat_id` has a read in flight (a second one is refused until it ends)."""
        return chat_id in self._chats

    def start(self, chat_id: int, work: Callable[[], Awaitable[None]]) -> bool:
        """Run `work()` as a task of its own for `chat_id`; False if the chat already has one running."""
        if chat_id in self._chats:
            return False
        self._chats.add(chat_id)
        task = asyncio.create_task(self._guarded(work), name=f"kutip-read-{chat_id}")
        self._tasks.add(task)
        task.add_done_callback(lambda done: (self._tasks.discard(done), self._chats.discard(chat_id)))
        return True

    async def _guarded(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Exception:  # the flow reports its own errors; this is the last resort, so the task never dies loud
            logger.exception("reading an article failed")

    async def off_loop(self, call: Callable[[], T]) -> T:
        """`call()` in a worker thread, when it is this read's turn."""
        async with self._turns:
            return await asyncio.to_thread(call)

    async def join(self) -> None:
        """Wait for every read in flight (tests)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def stop(self) -> None:
        """Stop waiting for reads in flight at shutdown; a thread already reading ends on its own."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
