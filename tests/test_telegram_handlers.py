"""Handlers on real Update objects, processed by the real Application against the fake Bot API server."""

from __future__ import annotations

import asyncio
import logging

import pytest
from telegram import Update

from bot.adapters.telegram import chat_action
from bot.core.refusals import REFUSAL
from bot.core.turn import Turn
from tests.fake_bot_api import telegram_html_text
from tests.fakes import EDITED_PARAGRAPHS
from tests.telegram_helpers import (
    BOT_USERNAME,
    FakeCore,
    bot_session,
    bot_user,
    desk_of,
    feed,
    group_chat,
    make_article,
    message,
    photo_update,
    private_chat,
    run_async,
    sent_message,
    text_update,
    user,
)

NASTY = "<b>&\"'"
GROUP = group_chat(-100111)


def shown(params: dict) -> str:
    """The text a user would see for a recorded sendMessage."""
    return telegram_html_text(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]


def asked(core: FakeCore) -> list[str]:
    return [call[1] for call in core.calls if call[0] == "ask"]


def test_private_text_is_a_question_answered_with_its_quote() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            question = text_update("Apa tujuan OpenAI?")
            await feed(app, question)
            [sent] = api.sent()
            assert sent["parse_mode"] == "HTML"
            assert sent["reply_parameters"]["message_id"] == question.message.message_id
            assert sent["text"].startswith("Jawaban: Apa tujuan OpenAI?\n\n<blockquote>")
            assert core.article.sentence("1.1").text in shown(sent)
            assert "¶1 · kalimat 1 [1.1]" in sent["text"]
            # "typing…" went out before the answer.
            methods = [c.method for c in api.calls]
            assert methods.index("sendChatAction") < methods.index("sendMessage")
            assert api.calls_to("sendChatAction")[0].params == {"chat_id": 111, "action": "typing"}

    run_async(scenario())


def test_group_answers_only_what_is_addressed_to_kutip() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            someone = message("Saya setuju.", GROUP, user(222))
            ours = message("Jawaban lama.", GROUP, bot_user())
            await feed(
                app,
                text_update("obrolan biasa tentang OpenAI", GROUP),  # silent
                text_update("/ask@OtherBot apa ini?", GROUP),  # another bot's command: silent
                text_update("/article@OtherBot", GROUP),  # silent
                text_update("/ask apa A?", GROUP),
                text_update(f"/ask@{BOT_USERNAME} apa B?", GROUP),
                text_update(f"@{BOT_USERNAME} apa C?", GROUP),
                text_update("@SomeoneElse apa X?", GROUP),  # mentions someone else: silent
                text_update("apa D?", GROUP, reply_to=someone),  # reply to a human: silent
                text_update("apa E?", GROUP, reply_to=ours),
                photo_update(GROUP),  # non-text in a group: silent
                text_update("/unknown", GROUP),  # unknown command in a group: silent
            )
            assert asked(core) == ["apa A?", "apa B?", "apa C?", "apa E?"]
            assert [shown(p).split("\n")[0] for p in api.sent()] == [f"Jawaban: apa {x}?" for x in "ABCE"]

    run_async(scenario())


def test_edited_messages_are_not_answered_again() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            edited = Update(9001, edited_message=message("Apa tujuan OpenAI?"))
            await feed(app, edited)
            assert api.sent() == [] and core.calls == []

    run_async(scenario())


def test_private_mention_is_stripped_and_unknown_commands_get_a_hint() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            await feed(app, text_update(f"@{BOT_USERNAME} siapa yang menggugat?"), text_update("/foo"))
            assert asked(core) == ["siapa yang menggugat?"]
            answer, hint = api.sent()
            assert shown(hint) == "Perintah tidak dikenal. Lihat /help." and answer["text"].startswith("Jawaban")

    run_async(scenario())


def test_a_reply_to_an_answer_is_a_cited_follow_up_with_context() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            chat = private_chat(111)
            await feed(app, text_update("Apa tujuan OpenAI?", chat))
            answer = sent_message(api.sent()[0], chat)
            await feed(app, text_update("Kenapa begitu?", chat, reply_to=answer))
            assert core.calls[1] == ("ask", "Kenapa begitu?", Turn("Apa tujuan OpenAI?", "Jawaban: Apa tujuan OpenAI?"))
            follow_up = api.sent()[1]
            assert "<blockquote>" in follow_up["text"]
            # In a group too, and via /ask as a reply.
            await feed(app, text_update("/ask apa A?", GROUP))
            group_answer = sent_message(api.sent(GROUP.id)[0], GROUP)
            await feed(app, text_update("/ask dan B?", GROUP, reply_to=group_answer))
            assert core.calls[-1] == ("ask", "dan B?", Turn("apa A?", "Jawaban: apa A?"))
            # A reply to a Kutip message that is not an answer carries no history.
            await feed(app, text_update("/help", chat))
            help_message = sent_message(api.sent(111)[-1], chat)
            await feed(app, text_update("Lalu?", chat, reply_to=help_message))
            assert core.calls[-1] == ("ask", "Lalu?", None)

    run_async(scenario())


def test_admin_commands_are_gated() -> None:
    async def scenario() -> None:
        reloads: list[FakeCore] = []

        def reload() -> FakeCore:
            reloads.append(FakeCore(make_article(EDITED_PARAGRAPHS, title="Artikel baru"), model_name="fake-new"))
            return reloads[-1]

        async with bot_session(reload=reload, admins="999") as (api, app, core):
            stranger, admin = user(111), user(999, "en")
            await feed(app, text_update("/stats", sender=stranger), text_update("/reload", sender=stranger))
            assert [shown(p) for p in api.sent()] == ["Perintah ini hanya untuk admin."] * 2
            assert reloads == []

            core.refuse_words = ("CEO",)
            await feed(app, text_update("Apa tujuan OpenAI?"), text_update("Siapa CEO OpenAI?"))
            await feed(app, text_update("/stats", private_chat(999), admin))
            stats = shown(api.sent(999)[-1])
            assert "Questions: 2 (refused: 1, errors: 0)" in stats
            assert "Latency p50/p95:" in stats and "Queue: 0 of 64" in stats and "fake-0.5b" in stats

            await feed(app, text_update("/reload", private_chat(999), admin))
            await api.wait_for_messages(3, chat_id=999)  # the reload runs on its own thread
            assert [shown(p) for p in api.sent(999)[-2:]] == [
                "Reloading the article and index…",
                "Reloaded: Artikel baru, 6 sentences.",
            ]
            await feed(app, text_update("Apa tujuan OpenAI?"))
            assert len(reloads) == 1 and asked(reloads[0]) == ["Apa tujuan OpenAI?"]
            assert len(asked(core)) == 2  # the old core is no longer asked

    run_async(scenario())


def test_allowlists_keep_out_other_chats_and_users() -> None:
    async def scenario() -> None:
        async with bot_session(allowed_chats=str(GROUP.id), allowed_users="111,222", admins="999") as (api, app, core):
            other_group = group_chat(-100222)
            await feed(
                app,
                text_update("/ask apa A?", GROUP, user(111)),  # allowed chat and user
                text_update("/ask apa B?", other_group, user(111)),  # chat not allowed
                text_update("/ask apa C?", GROUP, user(333)),  # user not allowed
                text_update("Apa D?", private_chat(111)),  # a listed user's private chat is allowed
                text_update("Apa F?", private_chat(333)),  # an unlisted user's private chat is not
                text_update("/ask apa E?", other_group, user(999)),  # admins always pass
            )
            assert asked(core) == ["apa A?", "Apa D?", "apa E?"]
            assert {p["chat_id"] for p in api.sent()} == {GROUP.id, other_group.id, 111}
            # Only /start in a private chat learns why.
            await feed(app, text_update("/start", private_chat(444), user(444, "en")))
            assert shown(api.sent(444)[0]) == "Sorry, this Kutip is for selected users only."

    run_async(scenario())


def test_non_text_gets_a_hint_in_private_and_silence_in_groups() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            await feed(app, photo_update(private_chat(111), user(111, "en")), photo_update(GROUP))
            [hint] = api.sent()
            assert hint["chat_id"] == 111 and shown(hint) == "I only read text. Type your question about the article."
            assert core.calls == []

    run_async(scenario())


def test_html_in_questions_and_article_text_is_escaped() -> None:
    article = make_article(
        ((f"Harga {NASTY} naik.", "Kalimat kedua."), ("Paragraf dua.",)),
        title=f"Judul {NASTY}",
        source_url="https://example.com/?a=1&b=2",
    )

    async def scenario() -> None:
        async with bot_session(FakeCore(article)) as (api, app, core):
            await feed(
                app,
                text_update(f"Apa {NASTY}?"),
                text_update("/source 1.1"),
                text_update("/article"),
                text_update("/help"),
                text_update(f"/source {NASTY}"),
            )
            answer, source, about, help_, unknown = api.sent()
            for params in (answer, source, about, help_, unknown):
                assert params["parse_mode"] == "HTML"
                telegram_html_text(params["text"])  # the fake server would have refused bad HTML anyway
            assert "Jawaban: Apa &lt;b&gt;&amp;&quot;&#x27;?" in answer["text"]
            assert f"Jawaban: Apa {NASTY}?" in shown(answer) and f"Harga {NASTY} naik." in shown(answer)
            assert "<b>Harga &lt;b&gt;&amp;&quot;&#x27; naik.</b> Kalimat kedua." in source["text"]
            assert f"Judul {NASTY}" in shown(about) and "https://example.com/?a=1&b=2" in shown(about)
            assert f"Judul {NASTY}" in shown(help_)
            assert f"Tidak ada kalimat {NASTY}." in shown(unknown)

    run_async(scenario())


def test_a_refusal_is_short_and_has_no_quotes() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            await feed(app, text_update("Siapa CEO OpenAI?"), text_update("Who is the CEO?", sender=user(111, "en")))
            refusals = api.sent()
            assert [shown(p) for p in refusals] == [
                REFUSAL["id"],
                REFUSAL["en"],
            ]
            assert not any("<blockquote>" in p["text"] for p in refusals)

    run_async(scenario())


def test_a_long_answer_is_split_and_the_follow_up_works_from_any_part() -> None:
    long_text = " ".join(f"Kalimat {i} adalah bagian dari jawaban yang sangat panjang." for i in range(110))

    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            core.replies["Ceritakan semuanya"] = long_text
            chat = private_chat(111)
            question = text_update("Ceritakan semuanya", chat)
            await feed(app, question)
            parts = api.sent()
            assert len(parts) == 2
            assert all(len(p["text"]) <= 4096 for p in parts)
            assert parts[0]["reply_parameters"]["message_id"] == question.message.message_id
            assert parts[1].get("reply_parameters") is None
            assert " ".join(shown(p) for p in parts).split()[: len(long_text.split())] == long_text.split()
            assert "<blockquote>" in parts[-1]["text"]
            await feed(app, text_update("Kenapa?", chat, reply_to=sent_message(parts[1], chat)))
            assert core.calls[-1][2] == Turn("Ceritakan semuanya", long_text)

    run_async(scenario())


def test_html_refused_by_telegram_is_resent_as_plain_text() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            api.fail_next(
                "sendMessage",
                400,
                {"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities: unsupported tag"},
            )
            await feed(app, text_update(f"Apa {NASTY}?"))
            [refused] = [c for c in api.calls if c.method == "sendMessage" and not c.ok]
            [plain] = api.sent()
            assert refused.params["parse_mode"] == "HTML"
            assert "parse_mode" not in plain
            assert plain["text"].startswith(f"Jawaban: Apa {NASTY}?\n\n{core.article.sentence('1.1').text}\n— ¶1")

    run_async(scenario())


def test_a_full_queue_answers_busy_at_once() -> None:
    async def scenario() -> None:
        core = FakeCore()
        core.gate = __import__("threading").Event()
        async with bot_session(core, queue_size=1) as (api, app, _):
            first, second, third = (
                text_update(f"Apa {n}?", private_chat(100 + n), user(100 + n, "en")) for n in (1, 2, 3)
            )
            await app.process_update(first)
            await asyncio.to_thread(core.entered.wait, 5)  # the first is with the model...
            await app.process_update(second)  # ...the second fills the queue...
            await app.process_update(third)  # ...the third is turned away.
            [busy] = api.sent()
            assert busy["chat_id"] == 103 and shown(busy) == "I'm busy with other questions. Try again in a moment."
            assert desk_of(app).depth == 2
            core.gate.set()
            await desk_of(app).join()
            assert asked(core) == ["Apa 1?", "Apa 2?"]
            assert desk_of(app).snapshot()["busy"] == 1

    run_async(scenario())


def test_each_user_is_rate_limited() -> None:
    async def scenario() -> None:
        async with bot_session(user_rate_per_minute=2) as (api, app, core):
            await feed(
                app,
                *(text_update(f"Apa {n}?") for n in range(3)),
                text_update("Apa lain?", private_chat(222), user(222)),
            )
            assert asked(core) == ["Apa 0?", "Apa 1?", "Apa lain?"]
            assert "Terlalu banyak pertanyaan" in shown(api.sent(111)[-1])

    run_async(scenario())


def test_empty_and_too_long_questions_are_explained_without_the_model() -> None:
    async def scenario() -> None:
        async with bot_session(max_question_chars=50) as (api, app, core):
            await feed(app, text_update("/ask"), text_update("/ask " + "x" * 51, sender=user(111, "en")))
            usage, too_long = (shown(p) for p in api.sent())
            assert usage.startswith("Tulis pertanyaannya setelah perintah")
            assert "51" in too_long and "50" in too_long
            assert core.calls == []

    run_async(scenario())


def test_a_too_long_question_is_refused_wholly_in_the_askers_language() -> None:
    async def scenario() -> None:
        async with bot_session(max_question_chars=50) as (api, app, core):
            await feed(app, text_update("/ask " + "x" * 51, sender=user(111, "id")))
            assert shown(api.sent()[0]) == "Pertanyaan terlalu panjang: 51 karakter, batasnya 50."

    run_async(scenario())


def test_a_domain_error_from_the_core_is_explained() -> None:
    from base.errors import QuestionError

    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            core.fail_next = QuestionError("the question is empty")
            await feed(app, text_update("Apa?", sender=user(111, "en")))
            assert shown(api.sent()[0]) == "Cannot take that question: the question is empty"

    run_async(scenario())


def test_an_unexpected_error_is_logged_reported_and_survived(caplog) -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            core.fail_next = RuntimeError("model exploded")
            await feed(app, text_update("Apa tujuan OpenAI?"))
            assert shown(api.sent()[0]) == "Maaf, terjadi kesalahan. Coba lagi nanti."
            await feed(app, text_update("Apa lagi?"))
            assert shown(api.sent()[1]).startswith("Jawaban: Apa lagi?")
            assert desk_of(app).snapshot()["errors"] == 1

    with caplog.at_level(logging.ERROR, logger="bot.adapters.telegram.handlers"):
        run_async(scenario())
    [record] = [r for r in caplog.records if r.name == "bot.adapters.telegram.handlers" and r.levelno == logging.ERROR]
    assert record.exc_info and str(record.exc_info[1]) == "model exploded"


def test_start_and_help_speak_the_users_language() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            await feed(
                app,
                text_update("/start", sender=user(111, "id-ID")),
                text_update("/help", sender=user(111, "en-US")),
                text_update("/help", sender=user(111, None)),
            )
            indonesian, english, unknown = (shown(p) for p in api.sent())
            assert "Cara bertanya" in indonesian and core.article.title in indonesian
            assert "How to ask" in english and f"@{BOT_USERNAME}" in english
            assert "How to ask" in unknown

    run_async(scenario())


def test_summary_source_and_article_commands() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            await feed(
                app,
                text_update("/summary"),
                text_update("/summary en"),
                text_update("/source 2.2"),
                text_update("/source"),
                text_update("/source 9.9"),
                text_update("/article", sender=user(111, "en")),
            )
            summary_id, summary_en, source, usage, unknown, about = api.sent()
            assert [c for c in core.calls if c[0] == "summary"] == [("summary", "id"), ("summary", "en")]
            assert shown(summary_id).startswith("Ringkasan\n\n• OpenAI ingin lepas dari Microsoft.")
            assert "<blockquote expandable>" in summary_id["text"]
            assert shown(summary_en).startswith("Summary")
            assert f"<b>{core.article.sentence('2.2').text}</b>" in source["text"]
            assert core.article.sentence("2.1").text in shown(source) and "¶2 · kalimat 2 [2.2]" in shown(source)
            assert "/source 3.2" in shown(usage)
            assert shown(unknown).startswith("Tidak ada kalimat 9.9.")
            assert shown(about) == (
                f"{core.article.title}\nSource: https://example.com/openai-microsoft\n6 sentences in 3 paragraphs."
            )

    run_async(scenario())


def test_commands_are_registered_in_both_languages() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            default, indonesian = (c.params for c in api.calls_to("setMyCommands"))
            assert [c["command"] for c in default["commands"]] == [
                *("ask", "summary", "source", "article", "read", "articles", "use", "help")
            ]
            assert "language_code" not in default and indonesian["language_code"] == "id"
            assert indonesian["commands"][0]["description"] == "Tanya tentang artikel"

    run_async(scenario())


def test_typing_repeats_while_the_model_works_and_stops_after(monkeypatch) -> None:
    monkeypatch.setattr(chat_action, "INTERVAL_S", 0.05)

    async def scenario() -> None:
        async with bot_session(FakeCore(delay_s=0.4)) as (api, app, core):
            await feed(app, text_update("Apa tujuan OpenAI?"))
            during = api.calls_to("sendChatAction")
            assert len(during) >= 4
            assert during[-1].at < api.calls_to("sendMessage")[0].at  # no "typing…" over the finished answer
            await asyncio.sleep(0.2)
            assert len(api.calls_to("sendChatAction")) == len(during)  # stopped with the answer

    run_async(scenario())


def test_the_network_guard_stops_a_bot_pointed_at_the_real_telegram() -> None:

    from bot.adapters.telegram import build_application
    from bot.wiring.settings import Settings

    async def scenario() -> None:
        app = build_application(Settings(_env_file=None, TELEGRAM_BOT_TOKEN="123:TEST"), FakeCore())
        with pytest.raises(Exception) as caught:
            await app.initialize()  # getMe against Telegram's default host: the guard must stop the lookup
        assert "network" in repr(caught.value) or "resolve" in repr(caught.value)

    run_async(scenario())


def test_an_unknown_source_id_is_echoed_capped() -> None:
    async def scenario() -> None:
        async with bot_session() as (api, app, core):
            await feed(app, text_update("/source " + "7" * 5000), text_update("/source <b>1.1&</b>"))
            capped, markup = api.sent()
            assert (
                shown(capped)
                == f"Tidak ada kalimat {'7' * 20}…. Nomor kalimat berbentuk paragraf.kalimat, misalnya 3.2."
            )
            assert shown(markup).startswith("Tidak ada kalimat <b>1.1&</b>.")

    run_async(scenario())
