"""/reload's slow part (fetch, clean, embed, load a model) on its own thread, never on the model queue.

The rebuild runs in a daemon thread: questions keep being answered by the current core meanwhile, and
shutdown neither waits for it nor is held up by it at exit (a thread-pool thread would be joined).
Only one rebuild runs at a time; its result is handed back on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

from bot.core.ports import AnswerCore

logger = logging.getLogger(__name__)

Outcome = AnswerCore | BaseException


class Rebuilder:
    """Runs `build()` off the event loop and passes its core (or the exception it raised) to a callback."""

    def __init__(self, build: Callable[[], AnswerCore]) -> None:
        self._build = build
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, on_done: Callable[[Outcome], Awaitable[None]]) -> bool:
        """Start a rebuild (False if one is already running); `on_done` runs on the loop when it ends."""
        if self.running:
            return False
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()

        def target() -> None:
            try:
                outcome: Outcome = self._build()
            except BaseException as error:  # handed to the loop; raising here would only print it
                outcome = error
            try:
                loop.call_soon_threadsafe(_settle, future, outcome)
            except RuntimeError:  # the loop is closed: the bot stopped while we were rebuilding
                logger.info("a rebuild finished after shutdown; its result is dropped")

        threading.Thread(target=target, name="kutip-rebuild", daemon=True).start()
        self._task = asyncio.create_task(self._finish(future, on_done), name="kutip-rebuild")
        return True

    async def stop(self) -> None:
        """Stop waiting for a rebuild in flight (its thread is left to end on its own)."""
        if self._task is not None and not self._task.done():
            logger.info("stopping with a rebuild in flight; it is abandoned")
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    @staticmethod
    async def _finish(future: asyncio.Future[Outcome], on_done: Callable[[Outcome], Awaitable[None]]) -> None:
        outcome = await future
        try:
            await on_done(outcome)
        except Exception:
            logger.exception("handling the end of a rebuild failed")


def _settle(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)
