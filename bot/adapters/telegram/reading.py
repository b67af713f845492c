"""The article library's slow calls (reading an article, /reload) without holding up the bot.

A read (fetch, clean, embed) takes seconds to minutes, so it is never awaited by a handler: PTB handles
updates one at a time, and every other chat would wait. Each read is a task of its own; the slow call runs
in a daemon thread, so a stop neither waits for it nor is held up by it at exit (a thread-pool thread would
be joined). Reads take turns (embedding shares the CPU with the model), a chat has at most one in flight, and
so has /reload (keyed `RELOAD`); the model itself is never touched here: a new article's summary goes through
the desk like any other model job.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The key /reload runs under (chats are keyed by their id): one reload at a time.
RELOAD = "reload"


class Reader:
    def __init__(self, concurrent: int = 1) -> None:
        self._turns = asyncio.Semaphore(concurrent)
        self._chats: set[int | str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def reading(self, chat_id: int | str) -> bool:
        """Whether `chat_id` (or RELOAD) has a read in flight (a second one is refused until it ends)."""
        return chat_id in self._chats

    def start(self, chat_id: int | str, work: Callable[[], Awaitable[None]]) -> bool:
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
        """`call()` in a daemon thread, when it is this read's turn; its result (or exception) comes back here."""
        async with self._turns:
            loop = asyncio.get_running_loop()
            outcome: asyncio.Future[T] = loop.create_future()

            def target() -> None:
                try:
                    result: tuple[bool, Any] = (True, call())
                except BaseException as error:  # handed to the loop; raising here would only print it
                    result = (False, error)
                try:
                    loop.call_soon_threadsafe(_settle, outcome, result)
                except RuntimeError:  # the loop is closed: the bot stopped while we were reading
                    logger.info("a read finished after shutdown; its result is dropped")

            threading.Thread(target=target, name="kutip-read", daemon=True).start()
            return await outcome

    async def join(self) -> None:
        """Wait for every read in flight (tests)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def stop(self) -> None:
        """Stop waiting for reads in flight at shutdown; a thread already reading ends on its own."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _settle(future: asyncio.Future[Any], result: tuple[bool, Any]) -> None:
    if future.done():  # the waiting task was cancelled by a stop
        return
    ok, value = result
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
