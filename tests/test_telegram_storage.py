"""The database locked by another process, and the disk full, as a chat meets them (issue 22): the asker is
told plainly to send it again (not "something went wrong"), the log has one line and no traceback, no
accepted question is lost, and the same question is answered once the lock is released or there is room."""

from __future__ import annotations

import logging
import threading

from telegram import Update

from bot.adapters.telegram import texts
from bot.storage import DATABASE_NAME
from tests.storage_faults import fill, locked_by_another_process, make_room
from tests.telegram_helpers import bot_session, feed, private_chat, run_async, state_of, text_update

QUESTION = "Apa tujuan OpenAI?"


def _problems(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.levelno >= logging.WARNING]


def test_a_question_while_another_process_locks_the_database_is_refused_plainly_then_answered(caplog) -> None:
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        async with bot_session(db_busy_timeout_s=0.2) as (api, app, core):
            path = state_of(app).settings.data_dir / DATABASE_NAME
            with locked_by_another_process(path):
                await feed(app, text_update(QUESTION, private_chat(111)))
            [refusal] = api.sent(111)
            assert refusal["text"] != texts.t("internal_error", "id")
            assert "dipakai proses lain" in refusal["text"] and "coba lagi" in refusal["text"].lower()
            assert core.calls == [] and len(state_of(app).journal) == 0  # not accepted, so not half-kept
            problems = _problems(caplog.records)
            assert len(problems) == 1 and problems[0].exc_info is None and "locked" in problems[0].getMessage()

            await feed(app, text_update(QUESTION, private_chat(111)))  # sent again once the lock is released
            assert api.sent(111)[-1]["text"].startswith(f"Jawaban: {QUESTION}")
            assert len(state_of(app).journal) == 0  # answered and struck off

    run_async(scenario())


def test_a_question_when_the_disk_is_full_is_refused_plainly_then_answered_once_there_is_room(caplog) -> None:
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            database = state_of(app).database
            fill(database)
            await feed(app, text_update(QUESTION, private_chat(111)))
            [refusal] = api.sent(111)
            assert "disk servernya penuh" in refusal["text"] and "coba lagi" in refusal["text"].lower()
            assert core.calls == []
            problems = _problems(caplog.records)
            assert len(problems) == 1 and problems[0].exc_info is None and "full" in problems[0].getMessage()

            make_room(database)
            await feed(app, text_update(QUESTION, private_chat(111)))
            assert api.sent(111)[-1]["text"].startswith(f"Jawaban: {QUESTION}")

    run_async(scenario())


def test_a_question_accepted_before_the_lock_is_answered_during_it_and_struck_off_after(caplog) -> None:
    """The answer goes out while the database is locked; its follow-up row and strike-off cannot be written
    (one line each, no traceback, no second message to the asker), and the strike-off is done with the next
    job, so a restart would not answer it twice."""
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        async with bot_session(db_busy_timeout_s=0.2) as (api, app, core):
            state = state_of(app)
            core.gate = threading.Event()
            update = Update.de_json(text_update(QUESTION, private_chat(111)).to_dict(), app.bot)
            await app.process_update(update)  # accepted, and waiting at the core
            assert len(state.journal) == 1
            with locked_by_another_process(state.settings.data_dir / DATABASE_NAME):
                core.gate.set()
                await state.desk.join()
                assert [m["text"] for m in api.sent(111)] == [api.sent(111)[0]["text"]]
                assert api.sent(111)[0]["text"].startswith(f"Jawaban: {QUESTION}")
            problems = _problems(caplog.records)
            assert problems and all(r.exc_info is None for r in problems)
            assert len(state.journal) == 1  # not struck off yet: the database was locked

            await feed(app, text_update("Apa kata Microsoft?", private_chat(222)))
            assert len(state.journal) == 0  # struck off with the next job

    run_async(scenario())
