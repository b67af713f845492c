"""Chats at once (issue 22): five chats sending /read in one burst while others ask, an article evicted while
another chat uses it, and switching articles with a question queued. Nothing is lost, nothing is mixed
between chats, and every question is answered about the article it was asked of. FakeLibrary and FakeCore
(tests/fakes.py) behind the real Application, polling the fake Bot API (tests/fake_bot_api.py)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from telegram import Update

from bot.adapters.telegram import texts
from bot.wiring.settings import Settings
from tests.fake_bot_api import FakeBotApi, telegram_html_text
from tests.fakes import FakeCore, FakeLibrary
from tests.telegram_helpers import bot_session, desk_of, private_chat, run_async, state_of, text_update, user

# Five towns, each the subject of one chat's article; no town's name appears in another's article.
TOWNS = ("Bogor", "Cirebon", "Garut", "Kudus", "Tegal")
READERS = (301, 302, 303, 304, 305)
ASKERS = (401, 402, 403, 404, 405)


def page(town: str) -> str:
    """An article about `town` as FakeLibrary reads a page (its first line becomes the title)."""
    return (
        f"Banjir besar di {town}\n\nHujan deras mengguyur {town} selama tiga hari. Sungai di {town} meluap pada "
        f"Senin pagi.\n\nWarga {town} mengungsi ke balai desa. Pemerintah {town} membuka dapur umum."
    )


def url(town: str) -> str:
    return f"https://news.example/{town.lower()}"


def shown(params: dict[str, Any]) -> str:
    return telegram_html_text(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]


def chat_texts(api: FakeBotApi, chat_id: int) -> list[str]:
    """Everything the chat saw: each message sent to it and each edit of its progress message."""
    edited = [shown(c.params) for c in api.calls_to("editMessageText") if c.params["chat_id"] == chat_id]
    return [shown(p) for p in api.sent(chat_id)] + edited


def asked(core: FakeCore) -> list[str]:
    return [call[1] for call in core.calls if call[0] == "ask"]


def test_five_chats_read_at_once_while_others_ask_nothing_lost_nothing_mixed() -> None:
    library = FakeLibrary(FakeCore())
    library.pages.update({url(town): page(town) for town in TOWNS})
    library.gate = threading.Event()  # every read waits at "indexing" until the burst is in

    async def scenario() -> None:
        async with bot_session(library=library, polling=True) as (api, app, default):
            # One burst, interleaved: a /read from each reader, a question from each asker, and a question from
            # each reader sent while its read is still under way (about the article it has then: the default).
            sent_ids: dict[int, list[int]] = {}
            for reader, asker, town in zip(READERS, ASKERS, TOWNS, strict=True):
                for chat, text in (
                    (reader, f"/read {url(town)}"),
                    (asker, f"Apa tujuan OpenAI menurut penanya {asker}?"),
                    (reader, f"Apa kata penanya {reader} sebelum membaca?"),
                ):
                    update = text_update(text, private_chat(chat), user(chat, "id"))
                    sent_ids.setdefault(chat, []).append(update.message.message_id)
                    api.push(update)
            await api.wait_for(
                lambda a: all(len(a.sent(c)) >= 1 for c in ASKERS) and all(len(a.sent(c)) >= 2 for c in READERS),
                timeout=20,
                what="the askers' answers and each reader's progress message and answer",
            )
            assert all(library.current(r).is_default for r in READERS)  # no read finished yet
            library.gate.set()
            await api.wait_for(lambda a: all(len(a.sent(c)) >= 3 for c in READERS), timeout=20, what="the digests")
            await state_of(app).reader.join()
            await desk_of(app).join()

            # Nothing lost: every question answered once, about the default article (what each chat had then).
            expected = {f"Apa tujuan OpenAI menurut penanya {c}?" for c in ASKERS}
            expected |= {f"Apa kata penanya {c} sebelum membaca?" for c in READERS}
            assert sorted(asked(default)) == sorted(expected)
            for asker in ASKERS:
                [answer] = api.sent(asker)
                assert shown(answer).startswith(f"Jawaban: Apa tujuan OpenAI menurut penanya {asker}?")
                assert answer["reply_parameters"]["message_id"] == sent_ids[asker][0]
            for reader, town in zip(READERS, TOWNS, strict=True):
                entry = library.current(reader)
                assert entry.title == f"Banjir besar di {town}" and entry.origin == url(town)
                core = library.cores[entry.id]
                assert [c for c in core.calls if c[0] == "summary"] == [("summary", "id")] and asked(core) == []
                texts = chat_texts(api, reader)
                assert any(t.startswith(f"Banjir besar di {town}\nSumber: {url(town)}") for t in texts)  # the card
                assert any(t.startswith("Ringkasan") and f"Sungai di {town} meluap" in t for t in texts)  # digest
                # Nothing mixed: no other chat's town, no asker's question, in what this chat saw.
                others = [t for t in TOWNS if t != town] + [f"penanya {c}" for c in (*ASKERS, *READERS) if c != reader]
                assert not [o for o in others for t in texts if o in t]
                replied = {p["reply_parameters"]["message_id"] for p in api.sent(reader)}
                assert replied <= set(sent_ids[reader])

            # Each reader's next question is about its own article.
            for reader, town in zip(READERS, TOWNS, strict=True):
                api.push(text_update(f"Ke mana warga {town} mengungsi?", private_chat(reader), user(reader, "id")))
            await api.wait_for(lambda a: all(len(a.sent(c)) >= 4 for c in READERS), timeout=20, what="answers")
            for reader, town in zip(READERS, TOWNS, strict=True):
                assert asked(library.cores[library.current(reader).id]) == [f"Ke mana warga {town} mengungsi?"]
                assert shown(api.sent(reader)[-1]).startswith(f"Jawaban: Ke mana warga {town} mengungsi?")

    run_async(scenario(), timeout=60)


async def process(app: Any, chat: int, text: str, language: str = "id") -> None:
    """Handle one update without waiting for the desk (feed() waits): a question is then queued, not answered."""
    update = text_update(text, private_chat(chat), user(chat, language))
    await app.process_update(Update.de_json(update.to_dict(), app.bot))


def test_a_question_queued_for_an_article_evicted_meanwhile_gets_a_clear_reply_in_the_askers_language(
    caplog,
) -> None:
    """Chat 301's question about its article waits in the queue; another chat's read evicts that article.
    The asker is told plainly, in their language, that the article left the library and how to get it back
    (not "Unknown article: no article 1a2b3c4d in the library", English inside Indonesian); one log line at
    most, no traceback; the chat's next question is answered about the default article."""
    caplog.set_level(logging.INFO)
    library = FakeLibrary(FakeCore())
    library.pages.update({url(town): page(town) for town in TOWNS})

    async def scenario() -> None:
        async with bot_session(library=library) as (api, app, default):
            for chat, language in ((301, "id"), (302, "en")):
                await process(app, chat, f"/read {url(TOWNS[chat - 301])}", language)
                await state_of(app).reader.join()
                await desk_of(app).join()
            default.gate = threading.Event()  # another chat's question holds the model...
            await process(app, 401, "Apa tujuan OpenAI?")
            await asyncio.to_thread(default.entered.wait, 5)
            await process(app, 301, f"Ke mana warga {TOWNS[0]} mengungsi?")  # ...so these wait in the queue
            await process(app, 302, f"Where did the people of {TOWNS[1]} go?", "en")
            before = {chat: len(api.sent(chat)) for chat in (301, 302)}
            for chat in (301, 302):
                library.evict(library.current(chat).id)
            default.gate.set()
            await desk_of(app).join()
            [gone_id] = [shown(p) for p in api.sent(301)[before[301] :]]
            [gone_en] = [shown(p) for p in api.sent(302)[before[302] :]]
            assert "no article" not in gone_id  # the core's English detail, inside an Indonesian line
            assert gone_id == telegram_html_text(texts.t("article_gone", "id"))
            assert gone_en == telegram_html_text(texts.t("article_gone", "en"))
            assert all(r.exc_info is None for r in caplog.records)
            default.gate = None
            await process(app, 301, "Apa tujuan OpenAI sekarang?")
            await desk_of(app).join()
            assert asked(default) == ["Apa tujuan OpenAI?", "Apa tujuan OpenAI sekarang?"]

    run_async(scenario())


# --- load (issue 22, "Also to test"): 50 questions from 10 chats in one burst --------------------------

LOAD_CHATS = tuple(range(501, 511))
LOAD_QUESTIONS = 5


BUSY = "Sedang banyak pertanyaan. Coba lagi sebentar lagi."


@pytest.mark.parametrize(
    "queue_size", [64, Settings.model_fields["queue_size"].default], ids=["a queue of 64", "default"]
)
def test_fifty_questions_from_ten_chats_in_one_burst_each_get_one_reply_in_each_chats_order(queue_size) -> None:
    """The burst is pushed before the bot's first getUpdates, interleaved across chats, with a model that
    takes a moment per answer. Every question gets one reply, to it: its answer, in the order its chat asked,
    or, past KUTIP_QUEUE_SIZE, the "busy" line at once; with a queue the burst fits in, every one is answered."""
    core = FakeCore(delay_s=0.02)
    total = len(LOAD_CHATS) * LOAD_QUESTIONS

    async def scenario() -> None:
        # user_rate_per_minute at its default (10): five questions a chat stay under it.
        async with bot_session(core, polling=True, queue_size=queue_size, user_rate_per_minute=10) as (
            api,
            app,
            default,
        ):
            asked_ids: dict[int, list[int]] = {chat: [] for chat in LOAD_CHATS}
            question: dict[tuple[int, int], str] = {}
            for n in range(1, LOAD_QUESTIONS + 1):
                for chat in LOAD_CHATS:
                    text = f"Pertanyaan {n} dari obrolan {chat}?"
                    update = text_update(text, private_chat(chat), user(chat, "id"))
                    asked_ids[chat].append(update.message.message_id)
                    question[chat, update.message.message_id] = text
                    api.push(update)
            await api.wait_for(lambda a: len(a.sent()) >= total, timeout=30, what=f"{total} replies")
            await desk_of(app).join()
            assert len(api.sent()) == total  # one reply each: none lost, none answered twice
            answered: list[str] = []
            for chat in LOAD_CHATS:
                replies = api.sent(chat)
                assert sorted(p["reply_parameters"]["message_id"] for p in replies) == asked_ids[chat]
                to = [p["reply_parameters"]["message_id"] for p in replies if shown(p) != BUSY]
                assert to == sorted(to)  # answered in the order asked
                answers = [shown(p).split("\n")[0] for p in replies if shown(p) != BUSY]
                assert answers == [f"Jawaban: {question[chat, i]}" for i in to]
                answered += [question[chat, i] for i in to]
            assert sorted(asked(default)) == sorted(answered)  # the model was asked only what was answered
            assert len(answered) == total if queue_size >= total else queue_size <= len(answered) < total

    run_async(scenario(), timeout=60)
