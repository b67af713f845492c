"""/reload reads the default article again through the library, off the model queue: questions keep being
answered, shutdown does not wait (issue 12, item 20)."""

from __future__ import annotations

import asyncio
import threading
import time

from tests.fake_bot_api import telegram_html_text
from tests.fakes import EDITED_PARAGRAPHS
from tests.telegram_helpers import (
    FakeCore,
    bot_session,
    make_article,
    private_chat,
    run_async,
    text_update,
    user,
)

ADMIN = 999


def shown(params: dict) -> str:
    return telegram_html_text(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]


class SlowReload:
    """What the default's source holds when read again, found "slowly": it blocks until released (or 20 s)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.threads: list[threading.Thread] = []
        self.cores: list[FakeCore] = []

    def __call__(self) -> FakeCore:
        self.threads.append(threading.current_thread())
        self.started.set()
        self.release.wait(20)
        self.cores.append(FakeCore(make_article(EDITED_PARAGRAPHS, title="Artikel baru"), model_name="fake-new"))
        return self.cores[-1]


def test_questions_are_answered_while_a_reload_runs_and_the_new_core_takes_over_when_ready() -> None:
    reload = SlowReload()

    async def scenario() -> None:
        async with bot_session(reload=reload, admins=str(ADMIN), polling=True) as (api, app, core):
            admin = private_chat(ADMIN), user(ADMIN, "en")
            api.push(text_update("/reload", *admin))
            await asyncio.to_thread(reload.started.wait, 5)
            for n in range(3):
                api.push(text_update(f"Apa {n}?", private_chat(111)))
            answers = await api.wait_for_messages(3, chat_id=111, timeout=5)  # the reload is still running
            assert [shown(p).split("\n")[0] for p in answers] == [f"Jawaban: Apa {n}?" for n in range(3)]
            assert not reload.cores

            api.push(text_update("/reload", *admin))  # a second one while the first runs
            await api.wait_for_messages(2, chat_id=ADMIN)
            reload.release.set()
            await api.wait_for_messages(3, chat_id=ADMIN)
            assert [shown(p) for p in api.sent(ADMIN)] == [
                "Reloading the article and index…",
                "The article is already being reloaded; wait a moment.",
                "Reloaded: Artikel baru, 6 sentences.",
            ]
            api.push(text_update("Apa lagi?", private_chat(111)))
            await api.wait_for_messages(4, chat_id=111)
            assert [c[1] for c in reload.cores[0].calls if c[0] == "ask"] == ["Apa lagi?"]
            library = app.bot_data["kutip"].library
            assert len(reload.threads) == 1 and library.core(library.default.id) is reload.cores[0]

    run_async(scenario())


def test_shutdown_does_not_wait_for_a_reload_in_flight() -> None:
    reload = SlowReload()
    stopped_in: list[float] = []

    async def scenario() -> None:
        async with bot_session(reload=reload, admins=str(ADMIN), polling=True) as (api, app, core):
            api.push(text_update("/reload", private_chat(ADMIN), user(ADMIN, "en")))
            await asyncio.to_thread(reload.started.wait, 5)
            started = time.monotonic()
        stopped_in.append(time.monotonic() - started)

    began = time.monotonic()
    try:
        run_async(scenario())  # asyncio.run also waits for its executor's threads
        assert time.monotonic() - began < 8
        assert stopped_in[0] < 3
        # Nothing the interpreter would wait for at exit (it joins non-daemon threads).
        assert all(thread.daemon or not thread.is_alive() for thread in reload.threads)
    finally:
        reload.release.set()
