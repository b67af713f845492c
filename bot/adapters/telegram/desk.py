"""The desk: admission, a bounded queue in front of the model, one worker, and per-chat ordered delivery.

One llama.cpp context cannot run two completions at once, so a single worker
takes jobs in arrival order and runs each in a thread: that single worker is the
only serialisation the bot needs (the generator's own lock guards direct callers). Sending
happens outside the worker (Telegram's flood limits must not stall the model),
but chained per chat, so a chat's answers arrive in the order asked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from base.errors import KutipError
from bot.adapters.telegram.chat_action import Typing
from bot.adapters.telegram.ratelimit import SlidingWindow
from bot.core.ports import AnswerCore
from bot.storage import StatsStore

logger = logging.getLogger(__name__)

# At a stop, how long the job with the model may take to finish (and then be delivered within the grace).
MODEL_GRACE_S = 60.0


@dataclass
class Job:
    kind: str  # "ask" or "summary"
    chat_id: int
    update: object  # handed to the error handler if the job fails unexpectedly
    work: Callable[[AnswerCore], Any]  # called in a thread with the current core; the only slow part
    deliver: Callable[[Any], Awaitable[None]]  # sends the result, or the KutipError raised instead
    thread_id: int | None = None
    settle: Callable[[], None] | None = None  # called once the delivery is over (not when a stop cancelled it)
    enqueued_at: float = field(default_factory=time.monotonic)


Refusal = Literal["busy", "rate_limited"]


class Desk:
    """Owns the queue, the current core and the counters behind /stats."""

    def __init__(
        self,
        core: AnswerCore,
        capacity: int,
        typing: Typing,
        on_error: Callable[[object, Exception], Awaitable[object]],
        rate: SlidingWindow,
        stats: StatsStore,
    ) -> None:
        self.core = core
        self.capacity = max(1, capacity)
        self._stats = stats  # in the database: /stats survives a restart
        self._rate = rate
        self._typing = typing
        self._on_error = on_error
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=self.capacity)
        self._worker: asyncio.Task[None] | None = None
        self._current: Job | None = None
        self._deliveries: dict[int, asyncio.Task[None]] = {}
        self._closing = False

    def swap(self, core: AnswerCore) -> None:
        """Answer from `core` from the next job on (the job with the model keeps the core it started with)."""
        self.core = core

    def snapshot(self) -> dict[str, object]:
        """The /stats counters with the queue's depth and capacity."""
        return {**self._stats.snapshot(), "depth": self.depth, "capacity": self.capacity}

    @property
    def depth(self) -> int:
        """Jobs waiting plus the one with the model."""
        return self._queue.qsize() + (self._current is not None)

    def admit(self, asker: int | None) -> Refusal | None:
        """Whether a job from `asker` may be queued now; a refusal is counted. None (no asker) skips the rate limit."""
        if self._queue.full():
            self._stats.count("busy")
            return "busy"
        if asker is not None and not self._rate.allow(asker):
            self._stats.count("rate_limited")
            return "rate_limited"
        return None

    def submit(self, job: Job) -> bool:
        """Queue `job` and start typing in its chat; False (counted as busy, nothing queued) when the queue is full."""
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self._stats.count("busy")
            return False
        self._typing.hold(job.chat_id, job.thread_id)
        self.start()
        return True

    async def put(self, job: Job) -> None:
        """Queue `job`, waiting for room if the queue is full (for jobs already accepted, e.g. restored)."""
        self.start()
        await self._queue.put(job)
        self._typing.hold(job.chat_id, job.thread_id)

    def start(self) -> None:
        """Start the worker if it is not running (idempotent; needs a running event loop)."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="kutip-desk")

    async def join(self) -> None:
        """Wait until every queued job has been answered and delivered."""
        await self._queue.join()
        while self._deliveries:
            await asyncio.wait(list(self._deliveries.values()))

    async def stop(self, grace_s: float = 5.0, model_grace_s: float = MODEL_GRACE_S) -> None:
        """Stop taking jobs: the job with the model may finish (`model_grace_s`), the queued ones are left
        (their journal keeps them for the restart); give pending deliveries `grace_s`, then cancel them."""
        self._closing = True
        if self._worker is not None:
            if self._current is not None:
                await asyncio.wait([self._worker], timeout=model_grace_s)
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        left = self._queue.qsize()
        if left:
            logger.warning("stopping with %d job(s) still queued; they are answered after the restart", left)
        pending = list(self._deliveries.values())
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._typing.stop()

    async def _work(self) -> None:
        while not self._closing:
            job = await self._queue.get()
            self._current = job
            try:
                await self._run(job)
            finally:
                self._current = None
                self._queue.task_done()

    async def _run(self, job: Job) -> None:
        core = self.core
        started = time.monotonic()
        try:
            result = await asyncio.to_thread(job.work, core)
        except KutipError as error:  # expected; the delivery explains it to the user
            result = error
        except Exception as error:
            self._stats.count("errors")
            self._in_order(job, lambda failure=error: self._on_error(job.update, failure))
            return
        if not isinstance(result, KutipError):
            now = time.monotonic()
            self._stats.record(job.kind, now - job.enqueued_at, now - started, getattr(result, "refused", False))
        self._in_order(job, lambda: job.deliver(result))

    def _in_order(self, job: Job, send: Callable[[], Awaitable[object]]) -> None:
        """Run `send` after every earlier delivery to the same chat has finished."""
        previous = self._deliveries.get(job.chat_id)
        task = asyncio.create_task(self._deliver(previous, job, send), name=f"deliver-{job.chat_id}")
        self._deliveries[job.chat_id] = task
        task.add_done_callback(lambda done: self._forget(job.chat_id, done))

    def _forget(self, chat_id: int, task: asyncio.Task[None]) -> None:
        if self._deliveries.get(chat_id) is task:
            del self._deliveries[chat_id]

    async def _deliver(
        self, previous: asyncio.Task[None] | None, job: Job, send: Callable[[], Awaitable[object]]
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])
            # Before sending: a reply clears "typing…", a later chat action would bring it back.
            await self._typing.release(job.chat_id)
            try:
                await send()
            except Exception as error:
                await self._on_error(job.update, error)
        except Exception:  # the error handler itself failed: log, keep the desk running
            logger.exception("delivery to chat %s failed", job.chat_id)
        # Not reached when a stop cancels the delivery: the job is then done again after the restart.
        if job.settle is not None:
            try:
                job.settle()
            except Exception:
                logger.exception("could not strike off a delivered job in chat %s", job.chat_id)
