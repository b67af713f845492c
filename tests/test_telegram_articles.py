"""Articles from the chat (issue 10): links, /read, documents, /articles, /use, and failures, with the
FakeLibrary (tests/fakes.py) behind the real Application and the fake Bot API server."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from telegram import Document, Update

from base.errors import FetchRefused, FetchTooLarge, NoArticleText
from bot.adapters.telegram import progress
from bot.core.turn import Turn
from tests.fake_bot_api import FakeBotApi, telegram_html_text
from tests.fakes import EDITED_PARAGRAPHS, FakeLibrary, make_article
from tests.telegram_helpers import (
    BOT_USERNAME,
    FakeCore,
    bot_session,
    bot_user,
    desk_of,
    feed,
    group_chat,
    message,
    private_chat,
    run_async,
    sent_message,
    text_update,
    update_of,
    user,
)

FLOOD = "https://news.example/banjir"
FIRE = "https://news.example/kebakaran"
FLOOD_PAGE = (
    "<html><head><title>Banjir di Kota Hujan</title></head><body><article>"
    "<p>Hujan turun tiga hari berturut-turut di Kota Hujan. Sungai meluap pada Senin pagi.</p>"
    "<p>Warga mengungsi ke sekolah terdekat. Wali kota membuka dapur umum.</p>"
    "</article></body></html>"
)
# The FakeLibrary parses a page as text (its first line is the title); documents are parsed for real.
FLOOD_TEXT = (
    "Banjir di Kota Hujan\n\nHujan turun tiga hari berturut-turut di Kota Hujan. Sungai meluap pada Senin pagi."
    "\n\nWarga mengungsi ke sekolah terdekat. Wali kota membuka dapur umum."
)
FIRE_PAGE = "Kebakaran melanda pasar lama. Api padam setelah dua jam. Tidak ada korban jiwa."
GROUP = group_chat(-100500)


def shown(params: dict[str, Any]) -> str:
    return telegram_html_text(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]


def edits(api: FakeBotApi, chat_id: int) -> list[str]:
    return [shown(c.params) for c in api.calls_to("editMessageText") if c.params["chat_id"] == chat_id]


def asked(core: FakeCore) -> list[str]:
    return [call[1] for call in core.calls if call[0] == "ask"]


def make_library(**options: Any) -> FakeLibrary:
    library = FakeLibrary(FakeCore(), **options)
    library.pages.update({FLOOD: FLOOD_TEXT, FIRE: FIRE_PAGE})
    return library


async def settle(app: Any) -> None:
    """Every read, then every queued job, finished and delivered."""
    await app.bot_data["kutip"].reader.join()
    await desk_of(app).join()


def document_update(api: FakeBotApi, data: bytes, name: str, chat: Any = None, sender: Any = None, **extra: Any) -> Any:
    file_id = f"f{len(api.files) + 1}"
    document = Document.de_json(api.add_file(file_id, data, name), None)
    return update_of(message(None, chat or private_chat(111), sender, document=document, **extra))


def test_a_link_alone_is_read_with_progress_and_becomes_the_chats_article(monkeypatch) -> None:
    monkeypatch.setattr(progress, "EDIT_INTERVAL_S", 0.0)
    library = make_library()

    async def scenario() -> None:
        async with bot_session(library=library) as (api, app, default):
            await feed(app, text_update(FLOOD, private_chat(111), user(111, "id")))
            await settle(app)
            entry = library.current(111)
            assert not entry.is_default and entry.title == "Banjir di Kota Hujan"
            first, digest = api.sent(111)
            assert shown(first).startswith("Membaca artikel…")
            steps = edits(api, 111)
            assert steps[-1] == (
                f"Banjir di Kota Hujan\nSumber: {FLOOD}\n5 kalimat. Pertanyaan di obrolan ini kini tentang "
                "artikel ini; ringkasannya menyusul."
            )
            # The summary comes through the desk, from the new article's core, in the asker's language.
            article_core = library.cores[entry.id]
            assert [c for c in article_core.calls if c[0] == "summary"] == [("summary", "id")]
            assert shown(digest).startswith("Ringkasan") and "Sungai meluap" in shown(digest)

            # Questions are now about that article; its quotes say which article (the chat has two).
            await feed(app, text_update("Apa yang meluap?", private_chat(111), user(111, "id")))
            answer = api.sent(111)[-1]
            assert asked(article_core) == ["Apa yang meluap?"] and asked(default) == []
            assert "Banjir di Kota Hujan · ¶1 · kalimat 1 [1.1]" in shown(answer)
            # A reply to that answer is a follow-up about the same article.
            await feed(app, text_update("Kenapa?", private_chat(111), reply_to=sent_message(answer, private_chat(111))))
            assert article_core.calls[-1] == ("ask", "Kenapa?", Turn("Apa yang meluap?", "Jawaban: Apa yang meluap?"))

            # /source reads the current article; /article shows it.
            await feed(app, text_update("/source 3.1"), text_update("/article", sender=user(111, "en")))
            source, about = api.sent(111)[-2:]
            assert "Warga mengungsi ke sekolah terdekat." in shown(source)
            assert shown(about).startswith(f"Banjir di Kota Hujan\nSource: {FLOOD}\n5 sentences · id {entry.short_id}")

    run_async(scenario())


def test_reading_never_holds_up_other_chats() -> None:
    library = make_library()
    library.gate = threading.Event()

    async def scenario() -> None:
        async with bot_session(library=library) as (api, app, default):
            await feed(app, text_update(FLOOD, private_chat(111), user(111, "en")))
            await api.wait_for(lambda _: any("(indexing)" in step for step in edits(api, 111)), what="the stage")
            # Chat B asks while chat A's article is being read: answered from the default article at once.
            await feed(app, text_update("Apa tujuan OpenAI?", private_chat(222), user(222)))
            assert asked(default) == ["Apa tujuan OpenAI?"] and len(api.sent(222)) == 1
            assert library.current(111).is_default  # not read yet
            # A second link from chat A waits for the first.
            await feed(app, text_update(FIRE, private_chat(111)))
            assert (
                shown(api.sent(111)[-1]) == "Saya masih membaca artikel sebelumnya untuk obrolan ini; tunggu sebentar."
            )
            library.gate.set()
            await settle(app)
            assert library.current(111).title == "Banjir di Kota Hujan"
            assert [source for source, _ in library.read_calls] == [FLOOD]

    run_async(scenario())


def test_a_page_over_the_byte_limit_is_refused_with_the_size_in_the_askers_language() -> None:
    """It was "That link is refused: only public http(s) addresses can be read", as for a private address."""
    library = make_library()
    big = "https://news.example/besar.html"
    library.pages[big] = FetchTooLarge(big, 10_000_000, 5_000_000, complete=True)

    async def scenario() -> None:
        async with bot_session(library.cores[library.default.id], library=library) as (api, app, default):
            lines = []
            for chat_id, sender in ((111, user(111, "en")), (222, user(222, "id"))):
                await feed(app, text_update(big, private_chat(chat_id), sender))
                await settle(app)
                lines.append((edits(api, chat_id) or [shown(p) for p in api.sent(chat_id)])[-1])
            assert lines == [
                "That page is too large to read: over the 5000000-byte limit.",
                "Halaman itu terlalu besar untuk dibaca: lebih dari batas 5000000 bita.",
            ]

    run_async(scenario())


def test_failures_are_one_line_in_the_askers_language_and_keep_the_chats_article() -> None:
    library = make_library(reads_per_hour=5)
    library.pages["https://news.example/paywall"] = NoArticleText("https://news.example/paywall", 1, 9, 3, 40)
    library.pages["http://10.0.0.1/x"] = FetchRefused("10.0.0.1 is a private address")

    async def scenario() -> None:
        async with bot_session(
            library.cores[library.default.id], library=library, fetch_max_bytes=1000, admins="999"
        ) as (
            api,
            app,
            default,
        ):
            chat, english = private_chat(111), user(111, "en")
            await feed(app, text_update(FIRE, chat, english))
            await settle(app)
            fire = library.current(111)
            before = len(api.sent(111))
            failures = [
                text_update("https://news.example/paywall", chat, english),
                text_update("http://10.0.0.1/x", chat, english),
                text_update("https://unreachable.example/", chat, english),
                document_update(api, b"x" * 2000, "big.txt", chat, sender=english),
                document_update(api, b"GIF89a\x00\x01\x02binary", "picture.txt", chat, sender=english),
                document_update(api, b"%PDF-1.4", "paper.pdf", chat, sender=english),
                text_update(FLOOD, chat, english),  # the sixth read this hour
            ]
            lines = []
            for update in failures:
                edited = len(edits(api, 111))
                await feed(app, update)
                await settle(app)
                # The one line: the "reading…" message edited into it, or a reply when refused at once.
                new = edits(api, 111)[edited:] or [shown(p) for p in api.sent(111)[before:]]
                before = len(api.sent(111))
                lines.append(new[-1])
            assert lines == [
                "No article text in https://news.example/paywall: only 1 sentences and 9 words, perhaps just page "
                "navigation or a paywall. An article needs at least 3 sentences and 40 words.",
                "That link is refused: only public http(s) addresses can be read.",
                "Could not fetch that link: unreachable, too slow, or an HTTP error.",
                "The article is too large: big.txt has 2000 bytes; the limit is 1000.",
                "I can't read that file as an article: send text (.txt) or HTML (.html).",
                "I can't read that file as an article: send text (.txt) or HTML (.html).",
                "This chat has had 5 articles read in the last hour; try again later.",
            ]
            assert all("\n" not in line for line in lines)
            assert library.current(111) == fire  # unchanged by every failure
            assert not any(c.method == "download" and c.params["path"] in ("f1", "f3") for c in api.calls)
            await feed(app, text_update("Apa yang terbakar?", chat))
            assert asked(library.cores[fire.id]) == ["Apa yang terbakar?"]
            # /stats counts the reads that failed (the two files refused before downloading never started one).
            await feed(app, text_update("/stats", private_chat(999), user(999, "en")))
            assert "Articles read: 1 (failed: 5)" in shown(api.sent(999)[-1])

    run_async(scenario())


def test_a_failure_in_indonesian() -> None:
    library = make_library()

    async def scenario() -> None:
        async with bot_session(library=library) as (api, app, _):
            await feed(app, text_update("https://unreachable.example/", private_chat(111), user(111, "id")))
            await settle(app)
            assert (
                edits(api, 111)[-1]
                == "Tautan itu tidak dapat diambil: tidak terjangkau, terlalu lama, atau galat HTTP."
            )
            assert library.current(111).is_default

    run_async(scenario())


def test_articles_and_use_switch_and_a_chat_that_never_chose_keeps_the_default() -> None:
    library = make_library()

    async def scenario() -> None:
        async with bot_session(library=library) as (api, app, default):
            chat, english = private_chat(111), user(111, "en")
            for link in (FLOOD, FIRE):
                await feed(app, text_update(link, chat, english))
                await settle(app)
            await feed(app, text_update("/articles", chat, english))
            listing = shown(api.sent(111)[-1]).split("\n")
            assert listing[0] == "Articles in this chat"
            # Reading order, the default first: numbers that stay put.
            assert listing[1].startswith(f"1. {default.article.title}")
            assert listing[2].startswith("2. Banjir di Kota Hujan · 5 sentences · https://news.example/banjir")
            assert listing[3].startswith("3. Kebakaran melanda pasar lama.") and listing[3].endswith("◀ current")
            await feed(app, text_update("/use 2", chat, english), text_update("Apa yang meluap?", chat, english))
            assert shown(api.sent(111)[-2]) == "Now about: Banjir di Kota Hujan (5 sentences)."
            flood = library.current(111)
            assert asked(library.cores[flood.id]) == ["Apa yang meluap?"]
            await feed(app, text_update("/use 9", chat, english), text_update("/use", chat, english))
            unknown, usage = (shown(p) for p in api.sent(111)[-2:])
            assert unknown == "There is no article 9 in this chat. See /articles."
            assert usage == "Give its number from /articles, e.g. /use 2."
            assert library.current(111) == flood
            # Back to the default article by number: answered by the default core, quotes named.
            await feed(app, text_update("/use 1", chat, english), text_update("Apa tujuan OpenAI?", chat, english))
            assert asked(default) == ["Apa tujuan OpenAI?"]
            assert f"{default.article.title} · ¶1" in shown(api.sent(111)[-1])

            # Another chat never chose: the default article, quotes unnamed, /articles lists it alone.
            other = private_chat(222)
            await feed(app, text_update("Apa lagi?", other), text_update("/articles", other))
            answer, listing = (shown(p) for p in api.sent(222))
            assert "¶1 · kalimat 1 [1.1]" in answer and default.article.title not in answer
            assert listing.split("\n")[1].startswith(f"1. {default.article.title}")

    run_async(scenario())


def test_documents_and_read_in_groups() -> None:
    library = make_library()

    async def scenario() -> None:
        async with bot_session(library=library) as (api, app, _):
            await feed(app, document_update(api, FLOOD_PAGE.encode(), "banjir.html", private_chat(111)))
            await settle(app)
            assert library.current(111).title == "Banjir di Kota Hujan"
            assert [c.params["path"] for c in api.calls_to("download")] == ["f1"]

            someone = user(333)
            await feed(
                app,
                document_update(api, FIRE_PAGE.encode(), "api.txt", GROUP, sender=someone),  # not addressed
                text_update(f"Baca ini {FIRE}", GROUP, someone),  # a link in a group: not a trigger
                text_update("/read bukan-tautan /etc/passwd", GROUP, someone),  # only links
            )
            await settle(app)
            assert library.current(GROUP.id).is_default and [s for s, _ in library.read_calls] == ["banjir.html"]
            assert shown(api.sent(GROUP.id)[-1]).startswith("Sebutkan tautannya")

            shared = message(f"Lihat berita ini: {FIRE} ramai dibahas", GROUP, someone)
            await feed(app, text_update("/read", GROUP, someone, reply_to=shared))
            await settle(app)
            assert library.current(GROUP.id).title.startswith("Kebakaran")
            await feed(app, text_update(f"/read@{BOT_USERNAME} {FLOOD}", GROUP, someone))
            await settle(app)
            assert library.current(GROUP.id).title == "Banjir di Kota Hujan"
            # A document replying to Kutip in a group is read.
            ours = message("Kirim artikelnya.", GROUP, bot_user())
            await feed(
                app,
                document_update(api, FIRE_PAGE.encode(), "api.txt", GROUP, sender=someone, reply_to=ours),
            )
            await settle(app)
            assert library.current(GROUP.id).title.startswith("Kebakaran")

    run_async(scenario())


def test_reload_replaces_the_default_only() -> None:
    new_default = FakeCore(make_article(EDITED_PARAGRAPHS), model_name="fake-new")
    library = make_library(reread=lambda: new_default)

    async def scenario() -> None:
        async with bot_session(library=library, admins="999") as (api, app, old_default):
            await feed(app, text_update(FLOOD, private_chat(111)))
            await settle(app)
            await feed(app, text_update("/reload", private_chat(999), user(999, "en")))
            await api.wait_for_messages(2, chat_id=999)
            await feed(app, text_update("Apa A?", private_chat(111)), text_update("Apa B?", private_chat(222)))
            assert asked(library.cores[library.current(111).id]) == ["Apa A?"]
            assert asked(new_default) == ["Apa B?"] and asked(old_default) == []

    run_async(scenario())


def test_a_queued_question_keeps_the_article_it_was_asked_about() -> None:
    library = make_library()

    async def scenario() -> None:
        async with bot_session(library=library) as (api, app, default):
            chat = private_chat(111)
            await feed(app, text_update(FLOOD, chat))
            await settle(app)
            flood = library.cores[library.current(111).id]
            flood.gate = threading.Event()
            await app.process_update(text_update("Apa satu?", chat))
            await asyncio.to_thread(flood.entered.wait, 5)
            await app.process_update(text_update("Apa dua?", chat))  # waits in the queue...
            await app.process_update(Update.de_json(text_update("/use 1", chat).to_dict(), app.bot))  # ...and the chat
            # switches to the default article meanwhile
            flood.gate.set()
            await desk_of(app).join()
            assert asked(flood) == ["Apa satu?", "Apa dua?"] and asked(default) == []
            await feed(app, text_update("Apa tiga?", chat))
            assert asked(default) == ["Apa tiga?"]

    run_async(scenario())
