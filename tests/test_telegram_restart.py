"""A stop with questions queued, then a restart: every question is answered exactly once (issue 12, item 14)."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.adapters.telegram import build_application
from bot.core.turn import Turn
from bot.storage import DATABASE_NAME, JobJournal, JobKind, PendingJob, open_database
from tests.fake_bot_api import FakeBotApi, telegram_html_text
from tests.telegram_helpers import (
    FakeCore,
    FakeLibrary,
    desk_of,
    feed,
    message,
    private_chat,
    run_async,
    running,
    sent_message,
    settings_for,
    update_of,
    user,
)

CHATS = [private_chat(500 + n) for n in range(5)]


def shown(params: dict) -> str:
    return telegram_html_text(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]


def asked(core: FakeCore) -> list[tuple]:
    return [call for call in core.calls if call[0] == "ask"]


def test_questions_queued_at_a_stop_are_answered_once_after_the_restart() -> None:
    async def scenario() -> None:
        with FakeBotApi() as api:
            settings = settings_for(api)
            # An answer from before the stop, so that one queued question is a follow-up to it.
            earlier = sent_message({"result_message_id": 77, "text": "Jawaban: Apa tujuan OpenAI?"}, CHATS[4])
            questions = [
                message(f"Pertanyaan {n}?", chat, user(chat.id, "en"), reply_to=earlier if n == 4 else None)
                for n, chat in enumerate(CHATS)
            ]

            first = FakeCore(delay_s=0.5)
            app = build_application(settings, FakeLibrary(first))
            async with running(app):
                app.bot_data["kutip"].followups.remember(CHATS[4].id, [77], Turn("Apa tujuan OpenAI?", "X."))
                for question in questions:
                    await app.process_update(update_of(question))
                await asyncio.to_thread(first.entered.wait, 5)
            # The stop let the question with the model finish and be delivered; the rest waited on disk.
            assert len(asked(first)) == 1 and len(api.sent()) == 1
            assert len(JobJournal(open_database(settings.data_dir / DATABASE_NAME))) == 4

            second = FakeCore()
            app = build_application(settings, FakeLibrary(second))
            async with running(app):
                await api.wait_for_messages(5, timeout=10)
                await desk_of(app).join()
                await asyncio.sleep(0.3)  # nothing more arrives

        sent = api.sent()
        assert Counter(p["chat_id"] for p in sent) == {chat.id: 1 for chat in CHATS}
        for question in questions:
            [answer] = api.sent(question.chat_id)
            assert shown(answer).startswith(f"Jawaban: {question.text}")
            assert answer["reply_parameters"]["message_id"] == question.message_id  # replies to the original
        assert [q for _, q, _ in asked(first) + asked(second)] == [q.text for q in questions]
        assert asked(second)[-1][2] == Turn("Apa tujuan OpenAI?", "X.")  # the follow-up kept its context
        assert len(JobJournal(open_database(settings.data_dir / DATABASE_NAME))) == 0

    run_async(scenario())


def test_a_reply_after_a_restart_is_still_a_follow_up_and_stats_are_kept() -> None:
    async def scenario() -> None:
        with FakeBotApi() as api:
            settings = settings_for(api, admins="999")
            chat, admin = private_chat(600), private_chat(999)
            first = FakeCore()
            app = build_application(settings, FakeLibrary(first))
            async with running(app):
                await feed(app, update_of(message("Apa tujuan OpenAI?", chat, user(600))))
                await feed(app, update_of(message("Siapa CEO OpenAI?", chat, user(600))))  # refused
                await feed(app, update_of(message("/stats", admin, user(999, "en"))))
            before = shown(api.sent(999)[-1])
            assert "Questions: 2 (refused: 1, errors: 0)" in before
            answer = sent_message(api.sent(600)[0], chat)

            # A new process: the database is opened again and the application rebuilt.
            second = FakeCore()
            app = build_application(settings, FakeLibrary(second))
            async with running(app):
                await feed(app, update_of(message("Kenapa begitu?", chat, user(600), reply_to=answer)))
                await feed(app, update_of(message("/stats", admin, user(999, "en"))))
            assert asked(second) == [
                ("ask", "Kenapa begitu?", Turn("Apa tujuan OpenAI?", "Jawaban: Apa tujuan OpenAI?"))
            ]
            after = shown(api.sent(999)[-1])
            assert "Questions: 3 (refused: 1, errors: 0)" in after
            assert before.split("Latency")[0].replace("2 (", "3 (") == after.split("Latency")[0]

    run_async(scenario())


def test_journaled_kinds_are_restored_and_a_kind_this_version_lacks_is_struck_off() -> None:
    async def scenario() -> None:
        with FakeBotApi() as api:
            settings = settings_for(api)
            journal = JobJournal(open_database(settings.data_dir / DATABASE_NAME))
            # Rows from before jobs named their article (article_id None: the default one).
            journal.add(PendingJob(JobKind.DIGEST, 700, 1, "en", "en"))
            journal.add(PendingJob("translate", 701, 2, "en", "id"))  # written by some other version
            core = FakeCore()
            app = build_application(settings, FakeLibrary(core))
            async with running(app):
                [digest] = await api.wait_for_messages(1, chat_id=700, timeout=10)
                await app.bot_data["kutip"].restoring
                await desk_of(app).join()
            assert shown(digest).startswith("Summary") and core.calls == [("summary", "en")]
            assert api.sent(701) == [] and len(journal) == 0

    run_async(scenario())
