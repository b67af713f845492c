"""Issue 10 end to end: real library, real models, the real Application polling the local Bot API server.

Chat A sends a link served on 127.0.0.1 and asks about it; chat B asks about the default article at the
same time; /articles and /use switch; a bad link is one line and A keeps its article; a .html document
is read.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from pydantic import SecretStr
from telegram import Document

from bot.wiring.factory import build_library
from bot.wiring.settings import DEFAULT_ARTICLE
from tests.fake_bot_api import FakeBotApi, telegram_html_text
from tests.local_http import serve
from tests.telegram_helpers import build_application, message, private_chat, run_async, running, update_of, user

pytestmark = pytest.mark.e2e

KATULAMPA = """<html><head><title>Bendungan Katulampa, penjaga banjir Jakarta</title></head><body>
<nav>Beranda | Berita | Kontak</nav>
<article>
<p>Bendungan Katulampa di Bogor dibangun pada tahun 1911 oleh pemerintah kolonial Belanda.
Bendungan itu mengatur aliran Sungai Ciliwung yang mengalir ke Jakarta.</p>
<p>Petugas bendungan mencatat tinggi muka air setiap jam ketika hujan deras turun di hulu.
Jika air naik melewati 150 sentimeter, petugas mengirim peringatan kepada pemerintah Jakarta.</p>
<p>Air dari Katulampa membutuhkan sekitar sembilan jam untuk mencapai Jakarta.
Karena itu kabar dari Katulampa menjadi peringatan dini banjir bagi warga ibu kota.</p>
</article></body></html>"""

WHOOSH = """<html><head><title>Kereta cepat Jakarta-Bandung</title></head><body><article>
<p>Kereta cepat Jakarta-Bandung mulai beroperasi secara komersial pada Oktober 2023.
Kereta itu menempuh jarak sekitar 142 kilometer dalam waktu kurang dari satu jam.</p>
<p>Proyek ini dibangun oleh perusahaan patungan Indonesia dan China.
Penumpang dapat naik dari Stasiun Halim di Jakarta dan turun di Stasiun Tegalluar di Bandung.</p>
</article></body></html>"""

CHAT_A, CHAT_B, CHAT_C = 701, 702, 703


def shown(params: dict[str, Any]) -> str:
    return telegram_html_text(params["text"]) if params.get("parse_mode") == "HTML" else params["text"]


def edits(api: FakeBotApi, chat_id: int) -> list[str]:
    return [shown(c.params) for c in api.calls_to("editMessageText") if c.params["chat_id"] == chat_id]


def quotes(params: dict[str, Any]) -> list[str]:
    """The quoted sentences of an answer, verbatim (each blockquote holds the sentence, then its position)."""
    blocks = re.split(r"<blockquote[^>]*>", params["text"])[1:]
    return [html.unescape(block.split("</blockquote>")[0].split("\n")[0]) for block in blocks]


def test_chats_read_their_own_articles_while_others_ask_about_the_default(
    real_settings, real_embedder, real_generator, tmp_path
) -> None:
    routes = {
        "/katulampa": (200, "text/html; charset=utf-8", KATULAMPA.encode()),
        "/missing": (404, "text/html", b"<html><body>not here</body></html>"),
    }

    async def scenario(base: str) -> None:
        with FakeBotApi() as api:
            settings = real_settings.model_copy(
                update={
                    "telegram_bot_token": SecretStr(api.token),
                    "telegram_base_url": api.base_url,
                    "webhook_url": "",
                    "allowed_chats": frozenset(),
                    "allowed_users": frozenset(),
                    "allow_private_urls": True,  # the article is served on 127.0.0.1
                    "data_dir": tmp_path / "data",
                }
            )
            library = build_library(settings, embedder=real_embedder, generator=real_generator)
            library.core(library.default.id).warm()
            app = build_application(settings, library)
            async with running(app, polling=True):
                # A sends a link; B asks about the default article meanwhile.
                api.push(update_of(message(f"{base}/katulampa", private_chat(CHAT_A), user(CHAT_A, "id"))))
                api.push(
                    update_of(
                        message("Kapan Microsoft dan OpenAI mulai bekerja sama?", private_chat(CHAT_B), user(CHAT_B))
                    )
                )
                [answer_b] = await api.wait_for_messages(1, CHAT_B, timeout=300)
                assert "2019" in shown(answer_b)
                assert all(q in DEFAULT_ARTICLE.read_text(encoding="utf-8") for q in quotes(answer_b))
                # A: "reading…", edited into the card, then the cited summary through the desk.
                await api.wait_for(lambda a: any("kalimat. Pertanyaan" in e for e in edits(a, CHAT_A)), 300, "card")
                assert edits(api, CHAT_A)[-1].startswith("Bendungan Katulampa, penjaga banjir Jakarta\nSumber: ")
                progress, digest = await api.wait_for_messages(2, CHAT_A, timeout=300)
                assert shown(progress).startswith("Membaca artikel")
                assert shown(digest).startswith("Ringkasan") and "· ¶" in shown(digest)
                katulampa = library.current(CHAT_A)
                assert katulampa.title == "Bendungan Katulampa, penjaga banjir Jakarta"
                # Each bullet is its sentence, or that sentence's opening clauses, in the article's own words.
                bullets = [line[2:] for line in shown(digest).split("\n") if line.startswith("• ")]
                assert bullets and all(b in library.article(katulampa.id).text for b in bullets)

                # A asks about its article: a quote from that article, naming it.
                api.push(update_of(message("Kapan Bendungan Katulampa dibangun?", private_chat(CHAT_A), user(CHAT_A))))
                answer_a = (await api.wait_for_messages(3, CHAT_A, timeout=300))[-1]
                assert "1911" in shown(answer_a)
                text_a = library.article(katulampa.id).text
                assert quotes(answer_a) and all(q in text_a for q in quotes(answer_a))
                assert "Bendungan Katulampa, penjaga banjir Jakarta · ¶" in shown(answer_a)

                # /articles lists both in reading order, the default first; the numbers stay put, so /use 1
                # switches to the default and /use 2 back.
                for text in ("/articles", "/use 1", "Kapan Microsoft dan OpenAI mulai bekerja sama?", "/use 2"):
                    count = len(api.sent(CHAT_A))
                    api.push(update_of(message(text, private_chat(CHAT_A), user(CHAT_A, "id"))))
                    await api.wait_for_messages(count + 1, CHAT_A, timeout=300)
                listing, switched, answer_default, back = (shown(p) for p in api.sent(CHAT_A)[-4:])
                assert listing.split("\n")[1].startswith("1. OpenAI ingin menggugat Microsoft")
                assert listing.split("\n")[2].startswith("2. Bendungan Katulampa") and "◀ sekarang" in listing
                assert switched.startswith("Sekarang tentang:") and "2019" in answer_default
                assert back.startswith("Sekarang tentang: Bendungan Katulampa")

                # A bad link: one line, and A keeps its article.
                count = len(edits(api, CHAT_A))
                api.push(update_of(message(f"{base}/missing", private_chat(CHAT_A), user(CHAT_A, "id"))))
                await api.wait_for(lambda a: len(edits(a, CHAT_A)) > count and "(" not in edits(a, CHAT_A)[-1], 120)
                assert edits(api, CHAT_A)[-1] == (
                    "Tautan itu tidak dapat diambil: tidak terjangkau, terlalu lama, atau galat HTTP."
                )
                assert library.current(CHAT_A).id == katulampa.id

                # A .html document, in another chat.
                document = Document.de_json(api.add_file("whoosh", WHOOSH.encode(), "whoosh.html"), None)
                api.push(update_of(message(None, private_chat(CHAT_C), user(CHAT_C, "en"), document=document)))
                await api.wait_for(lambda a: any("sentences. Questions" in e for e in edits(a, CHAT_C)), 300, "card")
                assert edits(api, CHAT_C)[-1].startswith("Kereta cepat Jakarta-Bandung\nSource: whoosh.html\n")
                await api.wait_for_messages(2, CHAT_C, timeout=300)  # its summary
                assert library.current(CHAT_C).title == "Kereta cepat Jakarta-Bandung"

    with serve(routes) as base:
        run_async(scenario(base), timeout=1200)
