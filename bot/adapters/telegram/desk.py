"""The desk: admission, a bounded queue in front of the model, its workers, and per-chat ordered delivery.

One llama.cpp context cannot run two completions at once, so with the in-process
model a single worker takes jobs in arrival order and runs each in a thread: that
single worker is the only serialisation the bot needs (the generator's own lock
guards direct callers). A model server with several slots gets as many workers,
so several questions are answered at once. Sending happens outside the workers
(Telegram's flood limits must not stall the model), but chained per chat, and a
job takes its place in its chat's chain when it starts, so a chat's answers
arrive in the order asked even when a later question is answered first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from base.errors import GenerationCancelled, KutipError, StorageError
from bot.adapters.telegram.chat_action import Typing
from bot.adapters.telegram.ratelimit import SlidingWindow
from bot.storage import JobKind, StatsStore

logger = logging.getLogger(__name__)

# At a stop, how long the job with the model may take to finish (and then be delivered within the grace).
MODEL_GRACE_S = 60.0


@dataclass
class Job:
    kind: JobKind
    chat_id: int
    update: object  # handed to the error handler if the job fails unexpectedly
    work: Callable[[], Any]  # called in a thread; the only slow part (it asks the library for its article's core)
    deliver: Callable[[Any], Awaitable[None]]  # sends the result, or the KutipError raised instead
    thread_id: int | None = None
    settle: Callable[[], None] | None = None  # called once the delivery is over (not when a stop cancelled it)
    enqueued_at: float = field(default_factory=time.monotonic)


Refusal = Literal["busy", "rate_limited"]


class Desk:
    """Owns the queue, its workers and the counters behind /stats; it holds no core (a job names its article)."""

    def __init__(
        self,
        capacity: int,
        typing: Typing,
        on_error: Callable[[object, Exception], Awaitable[object]],
        rate: SlidingWindow,
        stats: StatsStore,
        workers: int = 1,
    ) -> None:
        self.capacity = max(1, capacity)
        self.workers = max(1, workers)  # jobs answered at once: 1 in-process, the slot count behind a server
        self._stats = stats  # in the database: /stats survives a restart
        self._rate = rate
        self._typing = typing
        self._on_error = on_error
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=self.capacity)
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()  # the workers with a job now
        self._deliveries: dict[int, asyncio.Task[None]] = {}
        self._closing = False

    def snapshot(self) -> dict[str, object]:
        """The /stats counters with the queue's depth and capacity."""
        return {**self._stats.snapshot(), "depth": self.depth, "capacity": self.capacity}

    @property
    def depth(self) -> int:
        """Jobs waiting plus those with the model."""
        return self._queue.qsize() + len(self._busy)

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
        """Start the workers that are not running (idempotent; needs a running event loop)."""
        self._tasks = {worker for worker in self._tasks if not worker.done()}
        while len(self._tasks) < self.workers and not self._closing:
            self._tasks.add(asyncio.create_task(self._work(), name=f"kutip-desk-{len(self._tasks)}"))

    async def join(self) -> None:
        """Wait until every queued job has been answered and delivered."""
        await self._queue.join()
        while self._deliveries:
            await asyncio.wait(list(self._deliveries.values()))

    async def stop(self, grace_s: float = 5.0, model_grace_s: float = MODEL_GRACE_S) -> None:
        """Stop taking jobs: the jobs with the model may finish (`model_grace_s`), the queued ones are left
        (their journal keeps them for the restart); give pending deliveries `grace_s`, then cancel them."""
        self._closing = True
        workers, self._tasks = list(self._tasks), set()
        if workers:
            busy = [worker for worker in workers if worker in self._busy]
            if busy:
                # A worker ends after its job (it checks _closing before taking the next one).
                await asyncio.wait(busy, timeout=model_grace_s)
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
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
            # No await between taking the job and queueing its delivery: jobs take their places in their
            # chats' delivery chains in arrival order, whichever worker finishes first.
            ready: asyncio.Future[Callable[[], Awaitable[object]]] = asyncio.get_running_loop().create_future()
            self._in_order(job, ready)
            worker = asyncio.current_task()
            assert worker is not None
            self._busy.add(worker)
            try:
                ready.set_result(await self._run(job))
            finally:
                self._busy.discard(worker)
                if not ready.done():  # cancelled by a stop: the delivery waiting for it goes too
                    ready.cancel()
                self._queue.task_done()

    async def _run(self, job: Job) -> Callable[[], Awaitable[object]]:
        """Answer `job` in a thread; returns what sends its outcome."""
        started = time.monotonic()
        try:
            result = await asyncio.to_thread(job.work)
        except GenerationCancelled:  # a stop interrupted the model: nothing is delivered or settled, and
            raise asyncio.CancelledError from None  # the job stays in the journal for the restart
        except KutipError as error:  # expected; the delivery explains it to the user
            result = error
        except Exception as error:
            self._stats.count("errors")
            return lambda failure=error: self._on_error(job.update, failure)
        if not isinstance(result, KutipError):
            now = time.monotonic()
            self._stats.record(job.kind, now - job.enqueued_at, now - started, getattr(result, "refused", False))
        return lambda: job.deliver(result)

    def _in_order(self, job: Job, ready: asyncio.Future[Callable[[], Awaitable[object]]]) -> None:
        """Send `job`'s outcome (what `ready` resolves to) after every earlier delivery to the same chat."""
        previous = self._deliveries.get(job.chat_id)
        task = asyncio.create_task(self._deliver(previous, job, ready), name=f"deliver-{job.chat_id}")
        self._deliveries[job.chat_id] = task
        task.add_done_callback(lambda done: self._forget(job.chat_id, done))

    def _forget(self, chat_id: int, task: asyncio.Task[None]) -> None:
        if self._deliveries.get(chat_id) is task:
            del self._deliveries[chat_id]

    async def _deliver(
        self,
        previous: asyncio.Task[None] | None,
        job: Job,
        ready: asyncio.Future[Callable[[], Awaitable[object]]],
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])
            send = await ready
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
            except StorageError as error:  # struck off with the next job (JobJournal.done)
                logger.warning("could not strike off a delivered job in chat %s yet: %s", job.chat_id, error)
            except Exception:
                logger.exception("could not strike off a delivered job in chat %s", job.chat_id)
