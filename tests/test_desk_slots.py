"""Several questions at once behind a model server with slots; one at a time with the in-process model.

A chat's replies must still arrive in the order asked when a later question is answered first.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from base.errors import KutipError
from bot.adapters.telegram.chat_action import Typing
from bot.adapters.telegram.desk import Desk, Job
from bot.adapters.telegram.ratelimit import SlidingWindow
from bot.storage import JobKind, in_memory_stats
from bot.wiring.settings import Settings
from evaluation.slots_bench import schedule, through_desk
from tests.telegram_helpers import FakeCore, bot_session, desk_of, private_chat, run_async, text_update, user


class GatedCore(FakeCore):
    """A FakeCore whose ask() waits for its question's gate, so a test decides the order calls finish in."""

    def __init__(self, gated: set[str]) -> None:
        super().__init__()
        self.gates = {question: threading.Event() for question in gated}
        self.finished: list[str] = []
        self.inside = 0
        self.most_inside = 0
        self._count = threading.Lock()

    def ask(self, question: str, history: Any = None, language: str | None = None) -> Any:
        with self._count:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            gate = self.gates.get(question)
            if gate is not None:
                assert gate.wait(10), f"the test never opened the gate of {question!r}"
            return super().ask(question, history, language)
        finally:
            with self._count:
                self.inside -= 1
                self.finished.append(question)


async def _no_typing(chat_id: int, thread_id: int | None) -> None:
    return None


def _desk(workers: int, errors: list[Exception]) -> Desk:
    async def on_error(update: object, error: Exception) -> None:
        errors.append(error)

    return Desk(16, Typing(_no_typing), on_error, SlidingWindow(0), in_memory_stats(), workers=workers)


def test_out_of_order_answers_are_delivered_in_each_chats_order_with_two_workers() -> None:
    async def scenario() -> None:
        core = GatedCore({"a1", "b1"})
        desk = _desk(2, errors := [])
        delivered: list[tuple[int, str]] = []

        def job(chat_id: int, question: str) -> Job:
            async def deliver(result: Any) -> None:
                delivered.append((chat_id, result if isinstance(result, KutipError) else result.question))

            return Job(JobKind.ASK, chat_id, None, lambda: core.ask(question), deliver)

        for chat_id, question in ((1, "a1"), (1, "a2"), (2, "b1"), (2, "b2"), (1, "a3")):
            assert desk.submit(job(chat_id, question))
        # a1 holds one worker; a2 runs beside it and finishes first, then b1 takes that worker.
        await asyncio.wait_for(_until(lambda: "a2" in core.finished), 5)
        await asyncio.wait_for(_until(lambda: core.inside == 2), 5)  # a1 and b1 both with the model
        assert desk.depth == 4  # b2 and a3 waiting, a1 and b1 running
        assert delivered == []  # a2 is answered but waits for a1
        core.gates["b1"].set()
        await asyncio.wait_for(_until(lambda: "a3" in core.finished), 5)  # answered while a1 still runs
        await asyncio.wait_for(_until(lambda: len(delivered) == 2), 5)
        assert delivered == [(2, "b1"), (2, "b2")]  # chat 2 is not held up by chat 1's slow question
        assert core.finished == ["a2", "b1", "b2", "a3"]
        core.gates["a1"].set()
        await asyncio.wait_for(desk.join(), 5)
        assert [q for chat, q in delivered if chat == 1] == ["a1", "a2", "a3"]
        assert core.most_inside == 2 and errors == []
        await desk.stop()

    run_async(scenario())


def test_one_worker_runs_one_job_at_a_time() -> None:
    async def scenario() -> None:
        core = GatedCore(set())
        core.delay_s = 0.05
        desk = _desk(1, errors := [])
        order: list[str] = []

        async def deliver(result: Any) -> None:
            order.append(result.question)

        for n in range(4):
            desk.submit(Job(JobKind.ASK, 10 + n % 2, None, lambda q=f"q{n}": core.ask(q), deliver))
        await asyncio.wait_for(desk.join(), 10)
        assert core.most_inside == 1 and order == ["q0", "q1", "q2", "q3"] and errors == []
        await desk.stop()

    run_async(scenario())


def test_a_stop_with_idle_workers_does_not_wait_the_model_grace() -> None:
    async def scenario() -> None:
        desk = _desk(3, [])
        desk.start()
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await desk.stop(model_grace_s=30)
        assert loop.time() - started < 2

    run_async(scenario())


@pytest.mark.parametrize(
    ("url", "slots", "workers"),
    [("", 4, 1), ("http://127.0.0.1:9/v1", 4, 4), ("http://127.0.0.1:9/v1", 0, 1)],
)
def test_answer_slots_are_the_servers_and_one_in_process(url: str, slots: int, workers: int) -> None:
    settings = Settings(_env_file=None, llm_url=url, llm_max_concurrent=slots)
    assert settings.answer_slots == workers


def test_through_telegram_a_server_with_slots_answers_chats_at_once_in_order() -> None:
    async def scenario() -> None:
        core = GatedCore({"Kapan alfa?"})
        async with bot_session(core, polling=True, llm_url="http://127.0.0.1:9/v1", llm_max_concurrent=2) as (
            api,
            app,
            _,
        ):
            assert desk_of(app).workers == 2
            for chat_id, question in ((201, "Kapan alfa?"), (201, "Kapan bravo?"), (202, "Kapan charlie?")):
                api.push(text_update(question, private_chat(chat_id), user(chat_id, "id")))
            # b1 is answered and sent while a1 is still with the model: two questions ran at once.
            await api.wait_for_messages(1, chat_id=202)
            assert api.sent(201) == [] and "Kapan bravo?" in core.finished
            core.gates["Kapan alfa?"].set()
            replies = await api.wait_for_messages(2, chat_id=201)
            await desk_of(app).join()
            assert ["alfa" in replies[0]["text"], "bravo" in replies[1]["text"]] == [True, True]
            assert core.most_inside == 2

    run_async(scenario())


def test_through_telegram_the_in_process_model_answers_one_at_a_time() -> None:
    async def scenario() -> None:
        core = GatedCore(set())
        core.delay_s = 0.05
        async with bot_session(core, polling=True, llm_url="", llm_max_concurrent=4) as (api, app, _):
            assert desk_of(app).workers == 1
            for chat_id in (301, 302, 303, 304):
                api.push(text_update(f"Kapan {chat_id}?", private_chat(chat_id), user(chat_id, "id")))
            await api.wait_for_messages(4)
            await desk_of(app).join()
            assert core.most_inside == 1 and core.max_active == 1

    run_async(scenario())


async def _until(condition: Any, every_s: float = 0.01) -> None:
    while not condition():
        await asyncio.sleep(every_s)


def test_the_slots_bench_checks_each_chats_order_and_collects_every_reply() -> None:
    core = GatedCore(set())
    asked = schedule([f"Kapan {n}?" for n in range(20)])
    run = run_async(through_desk(core, asked, workers=2))
    assert run["delivered"] == 20 and run["all_in_order"] and len(run["order_ok"]) == 5
    assert [r["text"] for r in run["replies"]] == [f"Jawaban: Kapan {n}?" for n in range(20)]
    assert run["failures"] == [] and core.most_inside <= 2
