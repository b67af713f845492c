"""Delivering answers through Bot API faults: nothing asked is lost, nothing is sent twice (issue 12, items 7, 13)."""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging

from telegram import Message

from bot.adapters.telegram import texts
from bot.core.turn import Turn
from tests.fake_bot_api import telegram_html_text
from tests.telegram_helpers import FakeCore, bot_session, bot_user, private_chat, run_async, text_update

NOTICES = {texts.plain("internal_error", lang) for lang in texts.LANGUAGES}


def shown(params: dict) -> str:
    return telegram_html_text(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]


def asked(core: FakeCore) -> list[tuple]:
    return [call for call in core.calls if call[0] == "ask"]


async def settle(seconds: float = 0.5) -> None:
    """Give a wrongly queued second message the time to arrive."""
    await asyncio.sleep(seconds)


def test_an_unparseable_send_response_counts_as_delivered_once_and_keeps_the_follow_up() -> None:
    async def scenario() -> None:
        async with bot_session(polling=True, delivery_retry_s=10) as (api, app, core):
            api.garble_next("sendMessage")  # Telegram delivers it, the answer to the request is lost
            api.push(text_update("Apa tujuan OpenAI?", private_chat(111)))
            [answer] = await api.wait_for_messages(1, chat_id=111)
            await settle()
            assert [shown(p) for p in api.sent(111)] == [shown(answer)]  # no retry, no "something went wrong"
            assert shown(answer).startswith("Jawaban: Apa tujuan OpenAI?")

            # A reply to that message is a follow-up, though its message id never came back.
            ours = Message(
                answer["result_message_id"], dtm.datetime.now(dtm.UTC), private_chat(111), from_user=bot_user(),
                text=shown(answer),
            )  # fmt: skip
            api.push(text_update("Dan kapan?", private_chat(111), reply_to=ours))
            await api.wait_for_messages(2, chat_id=111)
            assert asked(core)[-1][2] == Turn("Apa tujuan OpenAI?", "Jawaban: Apa tujuan OpenAI?")

    run_async(scenario())


def test_an_answer_survives_a_502_a_closed_connection_and_an_outage_and_arrives_once() -> None:
    async def scenario() -> None:
        async with bot_session(polling=True, delivery_retry_s=30) as (api, app, core):
            api.fail_next("sendMessage", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
            api.drop_next("sendMessage")
            # Then sendMessage is down (getUpdates stays up, or the question would only arrive after it).
            api.outage(4.0, status=500, methods=("sendMessage",))
            api.push(text_update("Apa tujuan OpenAI?", private_chat(111)))
            [answer] = await api.wait_for_messages(1, chat_id=111, timeout=20)
            await settle()
            assert [shown(p) for p in api.sent(111)] == [shown(answer)]
            assert shown(answer).startswith("Jawaban: Apa tujuan OpenAI?")
            attempts = [c.status for c in api.calls_to("sendMessage", ok_only=False)]
            assert attempts[:2] == [502, 0] and attempts[-1] == 200
            assert attempts[2:-1] and set(attempts[2:-1]) == {500}  # the outage was retried through

    run_async(scenario(), timeout=40)


def test_five_429s_in_a_row_are_waited_out() -> None:
    async def scenario() -> None:
        async with bot_session(polling=True, delivery_retry_s=30) as (api, app, core):
            api.too_many_requests("sendMessage", retry_after=1, times=5)
            api.push(text_update("Apa tujuan OpenAI?", private_chat(111)))
            [answer] = await api.wait_for_messages(1, chat_id=111, timeout=20)
            await settle()
            assert len(api.sent(111)) == 1 and shown(answer).startswith("Jawaban: Apa tujuan OpenAI?")

    run_async(scenario(), timeout=40)


def test_a_stalled_send_is_outcome_unknown_and_not_sent_again() -> None:
    async def scenario() -> None:
        async with bot_session(polling=True, delivery_retry_s=30) as (api, app, core):
            api.stall_next("sendMessage", 5.5)  # past PTB's 5 s read timeout, after Telegram took the message
            api.push(text_update("Apa tujuan OpenAI?", private_chat(111)))
            await api.wait_for_messages(1, chat_id=111)
            await settle(6.5)
            assert len(api.calls_to("sendMessage", ok_only=False)) == 1  # neither resent nor "something went wrong"

    run_async(scenario(), timeout=40)


def test_an_answer_given_up_after_the_budget_is_logged_and_no_error_notice_is_sent(caplog) -> None:
    caplog.set_level(logging.WARNING)

    async def scenario() -> None:
        async with bot_session(polling=True, delivery_retry_s=1) as (api, app, core):
            api.outage(2.5, status=502, methods=("sendMessage",))
            api.push(text_update("Apa tujuan OpenAI?", private_chat(111)))
            await api.wait_for(lambda a: asked(core), what="the question")
            await settle(3.0)
            assert api.sent(111) == []  # the notice would be a second, contradictory message later
            assert not [p for p in api.sent() if shown(p) in NOTICES]

    run_async(scenario(), timeout=40)
    assert any("gave up" in r.getMessage() for r in caplog.records)
