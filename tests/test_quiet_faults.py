"""Faults Kutip handles are one log line each, never a traceback; a new data folder's schema is not news
(issue 22, defect 7)."""

from __future__ import annotations

import logging
import sqlite3

from bot.storage import DATABASE_NAME, open_database
from bot.storage.database import MIGRATIONS, migrate
from tests.telegram_helpers import bot_session, private_chat, run_async, text_update


def tracebacks(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or r.stack_info]


def test_an_unparseable_send_response_is_one_line_without_a_traceback(caplog) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with bot_session(polling=True, delivery_retry_s=10) as (api, app, core):
            api.garble_next("sendMessage")
            api.push(text_update("Apa tujuan OpenAI?", private_chat(111)))
            await api.wait_for_messages(1, chat_id=111)

    run_async(scenario())
    assert tracebacks(caplog) == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING], "the fault is still logged, in one line"


def test_429s_past_the_rate_limiters_retries_are_logged_without_a_traceback(caplog) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with bot_session(polling=True, delivery_retry_s=30) as (api, app, core):
            api.too_many_requests("sendMessage", retry_after=1, times=5)
            api.push(text_update("Apa tujuan OpenAI?", private_chat(111)))
            await api.wait_for_messages(1, chat_id=111, timeout=20)

    run_async(scenario(), timeout=40)
    assert tracebacks(caplog) == []


def test_a_new_database_logs_no_migration_at_info_and_an_upgrade_one_line(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO)
    open_database(tmp_path / "new" / DATABASE_NAME).close()
    assert [r.getMessage() for r in caplog.records if "schema" in r.getMessage()] == []

    old = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
    migrate(old, MIGRATIONS[:2])
    old.close()
    caplog.clear()
    open_database(tmp_path / DATABASE_NAME).close()
    [line] = [r.getMessage() for r in caplog.records if "schema" in r.getMessage()]
    assert f"from version 2 to {len(MIGRATIONS)}" in line
