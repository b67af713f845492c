"""The FakeLibrary follows the ArticleLibrary contract the Telegram adapter is written against."""

from __future__ import annotations

import pytest

from base.errors import ArticleError, ArticleTooLarge, FetchRefused, ReadLimit, UnknownArticle
from index.ingest import ArticleLimits
from tests.fakes import FakeCore, FakeLibrary

PAGE = "Kutip membaca artikel baru. Artikel itu punya tiga kalimat. Kalimat ketiga ada di sini."
OTHER = "Berita kedua tentang banjir. Hujan turun tiga hari. Warga mengungsi ke sekolah."


def test_a_read_becomes_the_chats_article_and_the_same_text_is_one_entry() -> None:
    library = FakeLibrary()
    library.pages["https://a.example/1"] = PAGE
    library.pages["https://b.example/same"] = PAGE
    stages = []
    first = library.read("https://a.example/1", chat_id=1, progress=stages.append)
    assert stages == ["fetching", "cleaning", "indexing", "ready"]
    assert library.current(1) == first and library.current(2) == library.default == library.current(None)
    again = library.read("https://b.example/same", chat_id=2)
    assert again.id == first.id and len(library.cores) == 2  # the default and one article
    assert library.core(first.id).article.text.startswith("Kutip membaca")
    assert [e.id for e in library.recent(1)] == [library.default.id, first.id]


def test_use_takes_a_number_an_id_prefix_or_a_url_and_refuses_the_rest() -> None:
    library = FakeLibrary()
    library.pages.update({"https://a.example/1": PAGE, "https://a.example/2": OTHER})
    one = library.read("https://a.example/1", chat_id=1)
    two = library.read("https://a.example/2", chat_id=1)
    assert library.use(1, "2") == one and library.current(1) == one
    assert library.use(1, two.short_id) == two
    assert library.use(1, "https://a.example/1") == one
    assert library.use(1, "1") == library.default
    assert library.use(1, "3") == two  # the numbers did not move
    for bad in ("9", "zzzz", "https://nowhere.example/"):
        with pytest.raises(UnknownArticle):
            library.use(1, bad)
    with pytest.raises(UnknownArticle):
        library.core("0" * 64)


def test_failures_keep_the_current_article_and_reads_are_bounded_per_hour() -> None:
    now = [1000.0]
    library = FakeLibrary(reads_per_hour=3, limits=ArticleLimits(max_bytes=200, min_sentences=1, min_words=1))
    library.clock = lambda: now[0]
    library.pages["https://a.example/1"] = PAGE
    library.pages["https://a.example/bad"] = FetchRefused("private address")
    good = library.read("https://a.example/1", chat_id=1)
    with pytest.raises(FetchRefused):
        library.read("https://a.example/bad", chat_id=1)
    with pytest.raises(ArticleTooLarge):
        library.read("big.txt", chat_id=1, document=b"x. " * 80)
    assert library.current(1) == good
    with pytest.raises(ReadLimit):
        library.read("https://a.example/1", chat_id=1)
    now[0] += 3601
    with pytest.raises(ArticleError, match="binary"):
        library.read("photo.txt", chat_id=1, document=b"\x89PNG\x00\x00")
    assert library.read("note.html", chat_id=1, document=f"<html><body><p>{OTHER}</p></body></html>".encode()).title


def test_the_default_core_is_the_one_given() -> None:
    core = FakeCore()
    library = FakeLibrary(core)
    assert library.core(library.current(7).id) is core and library.default.is_default
