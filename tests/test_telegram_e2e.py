"""End to end: the real Application, over HTTP, against the fake Bot API server on 127.0.0.1.

`run()` itself is exercised in both modes (long polling, and a webhook with its
secret checked); flood control and load go through the same polling path.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from telegram.ext import ApplicationHandlerStop, CommandHandler

from bot.adapters.telegram import app as telegram_app
from bot.adapters.telegram.app import webhook_path
from tests.fake_bot_api import FakeBotApi, telegram_html_text
from tests.fakes import FakeLibrary
from tests.telegram_helpers import (
    BOT_USERNAME,
    FakeCore,
    ask_through_fake_server,
    bot_session,
    group_chat,
    private_chat,
    run_async,
    text_update,
    user,
)

LONG_ANSWER = " ".join(
    f"Kalimat {i} adalah bagian dari jawaban yang panjang sekali." for i in range(105)
)  # ~6,000 chars


def shown(params: dict[str, Any]) -> str:
    return telegram_html_text(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def stoppable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make run()'s Application stop itself on "/stop_test", the way a test can end run_polling cleanly."""
    real_build = telegram_app.build_application

    def build(*args: Any, **kwargs: Any):
        application = real_build(*args, **kwargs)

        async def stop(update, context) -> None:
            """/stop_test: end run_polling / run_webhook from inside the loop."""
            context.application.stop_running()
            raise ApplicationHandlerStop  # not a question, not an unknown command

        application.add_handler(CommandHandler("stop_test", stop), group=-2)
        return application

    monkeypatch.setattr(telegram_app, "build_application", build)


def run_until_driven(settings: Any, core: Any, drive: Callable[[], None], stop: Callable[[], None]) -> None:
    """Call the real, blocking run() on this thread while `drive` talks to the bot from another."""
    errors: list[BaseException] = []

    def driver() -> None:
        try:
            drive()
        except BaseException as error:  # re-raised below, on the test's thread
            errors.append(error)
        finally:
            stop()

    thread = threading.Thread(target=driver, daemon=True)
    asyncio.set_event_loop(asyncio.new_event_loop())  # run() closes its loop when it returns
    try:
        thread.start()
        telegram_app.run(settings, FakeLibrary(core))
    finally:
        asyncio.set_event_loop(None)
        thread.join(30)
    if errors:
        raise errors[0]


def test_run_polls_answers_private_and_group_rules_summary_and_split(stoppable, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    core = FakeCore()
    core.replies["Ceritakan semuanya"] = LONG_ANSWER
    group = group_chat(-100500)
    with FakeBotApi() as api:
        from tests.telegram_helpers import settings_for

        def drive() -> None:
            assert api.wait_until(lambda a: a.calls_to("getUpdates"), 15), "run() never started polling"
            api.push(text_update("Apa tujuan OpenAI?", private_chat(111)))
            api.push(text_update("obrolan biasa", group))
            api.push(text_update("/ask@OtherBot apa ini?", group))
            api.push(text_update(f"/ask@{BOT_USERNAME} apa A?", group))
            api.push(text_update(f"@{BOT_USERNAME} apa B?", group))
            api.push(text_update("/summary", private_chat(111)))
            api.push(text_update("Ceritakan semuanya", private_chat(111)))
            assert api.wait_until(lambda a: len(a.sent()) >= 6, 20), f"only {len(api.sent())} messages arrived"

        run_until_driven(settings_for(api), core, drive, lambda: api.push(text_update("/stop_test")))

        private, groups = api.sent(111), api.sent(group.id)
        assert [shown(p).split("\n")[0] for p in groups] == ["Jawaban: apa A?", "Jawaban: apa B?"]
        answer, summary, *long_parts = private
        assert shown(answer).startswith("Jawaban: Apa tujuan OpenAI?")
        assert "<blockquote>" in answer["text"] and core.article.sentence("1.1").text in shown(answer)
        assert shown(summary).startswith("Ringkasan")
        assert len(long_parts) == 2 and all(len(p["text"]) <= 4096 for p in long_parts)
        assert " ".join(shown(p) for p in long_parts).split()[: len(LONG_ANSWER.split())] == LONG_ANSWER.split()
        assert [c.params.get("allowed_updates") for c in api.calls_to("getUpdates")][0] == ["message"]
        assert api.calls_to("setMyCommands") and api.calls_to("deleteWebhook")

    # The token never reaches a log line, even at DEBUG, where PTB logs the API URL.
    logged = [r.getMessage() + (caplog.text if r.exc_info else "") for r in caplog.records]
    assert logged and not [line for line in logged if api.token in line]
    assert any("[REDACTED]" in line for line in logged)  # the leak this guards against is real


def test_run_serves_a_webhook_that_checks_the_secret(stoppable) -> None:
    core = FakeCore()
    port = free_port()
    secret = "right-Secret_123"
    with FakeBotApi() as api:
        from tests.telegram_helpers import settings_for

        settings = settings_for(
            api,
            webhook_url="https://kutip.example/tg",
            webhook_port=port,
            webhook_listen="127.0.0.1",
            webhook_secret=secret,
        )
        # What the proxy forwards: the public path, unchanged, to webhook_listen:webhook_port.
        hook = f"http://127.0.0.1:{port}/tg/{webhook_path(api.token)}"
        statuses: dict[str, int] = {}

        def post(update: Any, token: str | None) -> int:
            headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
            return httpx.post(hook, json=update.to_dict(), headers=headers, timeout=5).status_code

        def drive() -> None:
            assert api.wait_until(lambda a: a.calls_to("setWebhook"), 15), "run() never set the webhook"
            statuses["wrong"] = post(text_update("Pertanyaan palsu?"), "wrong-secret")
            statuses["missing"] = post(text_update("Tanpa rahasia?"), None)
            statuses["right"] = post(text_update("Apa tujuan OpenAI?"), secret)
            assert api.wait_until(lambda a: a.sent(), 10), "the webhook update was never answered"

        run_until_driven(settings, core, drive, lambda: post(text_update("/stop_test"), secret))

        assert statuses == {"wrong": 403, "missing": 403, "right": 200}
        assert [call[1] for call in core.calls] == ["Apa tujuan OpenAI?"]
        assert shown(api.sent()[0]).startswith("Jawaban: Apa tujuan OpenAI?")
        [registered] = (c.params for c in api.calls_to("setWebhook"))
        assert registered["url"] == f"https://kutip.example/tg/{webhook_path(api.token)}"
        assert registered["secret_token"] == secret and registered["allowed_updates"] == ["message"]
        assert api.token not in registered["url"]


def test_a_429_from_telegram_is_waited_out_and_the_answer_delivered() -> None:
    async def scenario() -> None:
        async with bot_session(polling=True) as (api, app, core):
            api.too_many_requests("sendMessage", retry_after=1)
            api.push(text_update("Apa tujuan OpenAI?"))
            await api.wait_for_messages(1, timeout=10)
            refused, delivered = [c for c in api.calls if c.method == "sendMessage"]
            assert refused.status == 429 and delivered.ok
            assert delivered.at - refused.at >= 1.0  # retry_after honoured
            assert shown(delivered.params).startswith("Jawaban: Apa tujuan OpenAI?")

    run_async(scenario())


def test_fifty_questions_from_ten_chats_are_all_answered_in_order_one_model_call_at_a_time() -> None:
    chats = [private_chat(200 + n) for n in range(5)] + [group_chat(-100200 - n) for n in range(5)]
    rng = random.Random(7)

    async def scenario() -> None:
        core = FakeCore(delay_s=0.01)
        async with bot_session(core, polling=True, queue_size=64) as (api, app, _):
            # Slow, uneven sends: an unchained delivery would let a later answer overtake an earlier one.
            api.latency = lambda method, params: rng.uniform(0, 0.03) if method == "sendMessage" else 0.0
            for i in range(5):
                for chat in chats:
                    sender = user(chat.id if chat.id > 0 else 300 + i, "en")
                    api.push(text_update(f"/ask q{chat.id}-{i}", chat, sender))
            await api.wait_for_messages(50, timeout=40)
            await asyncio.sleep(0.2)  # nothing more arrives
            assert len(api.sent()) == 50
            for chat in chats:
                assert [shown(p).split("\n")[0] for p in api.sent(chat.id)] == [
                    f"Jawaban: q{chat.id}-{i}" for i in range(5)
                ]
            assert len(core.calls) == 50
            assert core.max_active == 1  # never two model calls at once

    run_async(scenario(), timeout=60)


def test_ask_through_fake_server_helper_returns_the_sent_messages() -> None:
    sent = run_async(ask_through_fake_server(FakeCore(), "Apa tujuan OpenAI?", timeout=10))
    [answer] = sent
    assert answer["chat_id"] == 111 and answer["parse_mode"] == "HTML"
    assert "<blockquote>" in answer["text"]
