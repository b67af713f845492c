"""The article library with fake models: one entry per text across chats, /use, eviction, the per-hour bound,
failures that keep the chat's article, progress, switching articles on one model, and a restart."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import pytest

from base.errors import (
    ArticleError,
    ArticleTooLarge,
    FetchFailed,
    FetchRefused,
    NoArticleText,
    ReadLimit,
    StorageFull,
    UnknownArticle,
)
from bot.core.answer import article_prompt
from bot.library.library import Library, LibraryConfig, Prepared
from bot.storage import DATABASE_NAME, open_database
from bot.storage.articles import ArticleStore
from bot.wiring.factory import assemble_core
from index.fetch import FetchPolicy
from index.ingest import ArticleLimits, load_article
from tests.conftest import DEFAULT_CONFIG, SEED
from tests.fakes import FakeEmbedder, FakeGenerator, copied_reply
from tests.local_http import serve

LOOPBACK = FetchPolicy(timeout_s=5, max_bytes=20_000, allow_private=True)


def story(topic: str, n: int = 4) -> str:
    """A small article about `topic`: `n` sentences of a dozen words, in two paragraphs."""
    sentences = [
        f"Kalimat nomor {i} tentang {topic} menyebut fakta penting yang dicatat oleh wartawan kami." for i in range(n)
    ]
    half = n // 2
    return " ".join(sentences[:half]) + "\n\n" + " ".join(sentences[half:])


def html(topic: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in story(topic).split("\n\n"))
    return f"<html><head><title>{topic}</title></head><body><article>{body}</article></body></html>".encode()


class World:
    """A library over a data directory, with fake models; `reopen()` is a restart."""

    def __init__(self, root: Path, **config) -> None:
        self.root = root
        self.embedder = FakeEmbedder()
        self.generator = FakeGenerator()
        self.config = LibraryConfig(fetch=LOOPBACK, limits=ArticleLimits(max_bytes=20_000), **config)
        self.now = 1000.0
        self.built: list[str] = []  # titles of the cores assembled
        self.indexed = 0  # times the embedder was asked for, to build an index
        self.behind_server = False  # a model server: no prefix is saved here
        self.library = self._open()
        self.default = self.library.register_default(load_article(str(SEED)))

    def _open(self) -> Library:
        self.store = ArticleStore(open_database(self.root / DATABASE_NAME, shared=True))
        return Library(
            self.root / "articles",
            self.store,
            self.load_embedder,
            lambda: self.generator,
            self.assemble,
            self.config,
            clock=self.tick,
            embedding_model=self.embedder.name,
            prefix_saved=self.prefix_saved,
        )

    def load_embedder(self) -> FakeEmbedder:
        self.indexed += 1
        return self.embedder

    def prefix_saved(self, article) -> bool | None:
        """As factory.build_library tells it: from the prompt the core would warm, without building the core."""
        if self.behind_server:
            return None
        return self.generator.saved(article_prompt(article, self.generator, DEFAULT_CONFIG).system)

    def assemble(self, stored, summaries):
        self.built.append(stored.article.title)
        time.sleep(0.05)  # long enough for concurrent callers to meet
        return assemble_core(stored, self.embedder, self.generator, DEFAULT_CONFIG, summaries)

    def tick(self) -> float:
        self.now += 1
        return self.now

    def reopen(self) -> Library:
        self.store.close()
        self.library = self._open()
        return self.library

    def text_file(self, name: str, topic: str) -> str:
        path = self.root / name
        path.write_text(story(topic), encoding="utf-8")
        return str(path)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_the_same_story_from_two_chats_is_indexed_once_and_becomes_each_chats_article(world: World) -> None:
    page = html("banjir Jakarta")
    routes = {"/a": (200, "text/html", page), "/copy": (200, "text/html; charset=utf-8", page)}
    with serve(routes) as base:
        stages: list[str] = []
        first = world.library.read(f"{base}/a", chat_id=1, progress=stages.append)
        embedded = len(world.embedder.calls)
        second = world.library.read(f"{base}/copy", chat_id=2)
    assert stages == ["fetching", "cleaning", "indexing", "ready"]
    assert second.id == first.id and len(world.embedder.calls) == embedded  # no second embedding
    assert first.origin == f"{base}/a" and first.added_by == 1 and first.sentences == 4
    assert world.library.current(1) == world.library.current(2) == first
    assert world.library.current(3) == world.library.current(None) == world.default
    directory = world.library.article_dir(first.id)
    assert (directory / "index" / "manifest.json").is_file() and (directory / "article.json").is_file()
    assert world.library.core(first.id).article.text.startswith("Kalimat nomor 0 tentang banjir")


def test_use_takes_a_number_an_id_prefix_or_a_url_and_keeps_the_article_on_failure(world: World) -> None:
    lib = world.library
    a = lib.read(world.text_file("a.txt", "gempa"), chat_id=5)
    b = lib.read(world.text_file("b.txt", "pemilu"), chat_id=5)
    assert [e.id for e in lib.recent(5)] == [world.default.id, a.id, b.id]  # reading order, the default first
    assert lib.use(5, "2") == a and lib.current(5) == a
    assert lib.use(5, b.short_id) == b
    assert lib.use(5, a.origin) == a
    assert lib.use(5, "1") == world.default and lib.current(5) == world.default
    assert [e.id for e in lib.recent(5)] == [world.default.id, a.id, b.id]  # choosing moved no number
    assert lib.use(5, "3") == b
    for bad in ("7", "0", "ffff0000", "https://never.example/x", "zz"):
        with pytest.raises(UnknownArticle):
            lib.use(5, bad)
    assert lib.current(5) == b


def test_failures_raise_their_error_and_leave_the_chats_article(world: World) -> None:
    lib = world.library
    good = lib.read(world.text_file("good.txt", "harga beras"), chat_id=9)
    nav = b"<html><body><nav><a href='/'>Home</a> <a href='/x'>News</a></nav></body></html>"
    stub = b"<html><body><article><p>Subscribe to read. Already a subscriber? Log in.</p></article></body></html>"
    routes = {
        "/nav": (200, "text/html", nav),
        "/paywall": (200, "text/html", stub),
        "/big": (200, "text/plain", b"x" * 30_000),
    }
    with serve(routes) as base:
        failures = {
            f"{base}/missing": FetchFailed,
            f"{base}/nav": ArticleError,
            f"{base}/paywall": NoArticleText,
            "ftp://example.com/a": FetchRefused,
        }
        for url, error in failures.items():
            with pytest.raises(error):
                lib.read(url, chat_id=9)
        with pytest.raises(FetchRefused, match="limit"):
            lib.read(f"{base}/big", chat_id=None)
    with pytest.raises(ArticleTooLarge):
        lib.read("long.txt", chat_id=9, document=story("x", 3).encode() * 200)
    with pytest.raises(ArticleError, match="binary"):
        lib.read("photo.txt", chat_id=9, document=b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(ArticleError, match="not a .txt or .html"):
        lib.read("report.pdf", chat_id=9, document=b"%PDF-1.4")
    assert lib.current(9) == good and [e.id for e in lib.recent(9)] == [world.default.id, good.id]


def test_a_document_html_or_text_is_read(world: World) -> None:
    entry = world.library.read("kabar.html", chat_id=4, document=html("kereta cepat"))
    assert entry.title == "kereta cepat" and entry.origin == "kabar.html"
    text = world.library.read("kabar.txt", chat_id=4, document=story("kereta cepat").encode())
    assert text.id == entry.id  # the same cleaned text


def test_a_chat_may_start_only_so_many_reads_an_hour(tmp_path: Path) -> None:
    world = World(tmp_path, reads_per_hour=2)
    lib = world.library
    lib.read(world.text_file("a.txt", "satu"), chat_id=1)
    with pytest.raises(FetchRefused):
        lib.read("file:///etc/passwd", chat_id=1)  # a failed read counts too
    with pytest.raises(ReadLimit) as raised:
        lib.read(world.text_file("b.txt", "dua"), chat_id=1)
    assert raised.value.limit == 2
    lib.read(world.text_file("c.txt", "tiga"), chat_id=2)  # another chat
    for topic in ("empat", "lima", "enam"):
        lib.read(world.text_file(f"{topic}.txt", topic), chat_id=None)  # the CLI is not bounded
    world.now += 3600
    lib.read(world.text_file("b.txt", "dua"), chat_id=1)


def test_past_the_limit_the_least_recently_used_article_goes_with_its_files_never_the_default(tmp_path: Path) -> None:
    world = World(tmp_path, max_articles=2)
    lib = world.library
    a = lib.read(world.text_file("a.txt", "ekonomi"), chat_id=1)
    a_dir, a_system = lib.article_dir(a.id), lib.core(a.id).system
    assert a_dir.is_dir() and world.generator.warmed[-1] == a_system
    b = lib.read(world.text_file("b.txt", "olahraga"), chat_id=2)
    assert {e.id for e in lib.articles()} == {world.default.id, b.id}
    assert not a_dir.exists() and world.generator.forgotten == [a_system]
    assert lib.current(1) == world.default and [e.id for e in lib.recent(1)] == [world.default.id]
    with pytest.raises(UnknownArticle):
        lib.core(a.id)
    with pytest.raises(UnknownArticle):
        lib.use(1, a.short_id)
    # The default is kept even when it is the least recently used.
    c = lib.read(world.text_file("c.txt", "cuaca"), chat_id=2)
    assert {e.id for e in lib.articles()} == {world.default.id, c.id}
    assert lib.article_dir(world.default.id).is_dir()


def test_the_model_is_warmed_only_when_it_changes_article(world: World) -> None:
    lib = world.library
    a = lib.read(world.text_file("a.txt", "vaksin"), chat_id=1)
    default = lib.core(world.default.id)
    world.generator.warmed.clear()
    world.generator.enqueue(copied_reply("wartawan kami"), copied_reply("wartawan kami"), copied_reply("wartawan kami"))
    lib.core(a.id).ask("Apa fakta penting tentang vaksin?")
    assert world.generator.warmed == []  # reading it warmed it already
    default.ask("Apa yang dilakukan Microsoft?")
    lib.core(a.id).ask("Apa fakta penting tentang vaksin?")
    assert world.generator.warmed == [default.system, lib.core(a.id).system]
    assert default.system != lib.core(a.id).system


def test_a_restart_keeps_articles_chats_and_indexes(world: World) -> None:
    lib = world.library
    a = lib.read(world.text_file("a.txt", "pendidikan"), chat_id=1)
    b = lib.read(world.text_file("b.txt", "kesehatan"), chat_id=1)
    lib.use(1, "2")  # a
    lib.read(world.text_file("c.txt", "pariwisata"), chat_id=2)
    embedded = len(world.embedder.calls)

    again = world.reopen()
    again.register_default(load_article(str(SEED)))
    assert again.current(1) == a and [e.id for e in again.recent(1)] == [world.default.id, a.id, b.id]
    assert again.core(b.id).article.title.startswith("Kalimat nomor 0 tentang kesehatan")
    assert len(world.embedder.calls) == embedded  # indexes loaded from disk, nothing embedded again
    assert len(again.articles()) == 4


def test_a_directory_without_a_row_is_swept_at_start(world: World) -> None:
    stray = world.root / "articles" / ("ab" * 32)
    (stray / "index").mkdir(parents=True)
    (stray / "prefix.txt").write_text("old system prompt", encoding="utf-8")
    fresh = world.root / "articles" / ("cd" * 32)
    fresh.mkdir()  # perhaps another process's read in progress: left alone
    # Ages are the library's clock's (world.now), not the wall clock's.
    world.now = 5_000_000.0
    os.utime(stray, (world.now - 7200, world.now - 7200))
    os.utime(fresh, (world.now - 60, world.now - 60))
    world.reopen()
    assert not stray.exists() and world.generator.forgotten == ["old system prompt"] and fresh.is_dir()


def test_questions_about_other_articles_are_answered_while_an_article_is_read(world: World) -> None:
    default = world.library.core(world.default.id)
    world.generator.enqueue(copied_reply("2019"))
    result: dict[str, object] = {}
    with serve({"/slow": (200, "text/html", html("pelabuhan"))}, delay_s=1.5) as base:
        reader = threading.Thread(target=lambda: result.update(entry=world.library.read(f"{base}/slow", chat_id=1)))
        reader.start()
        time.sleep(0.2)  # the read is now waiting for the slow server
        started = time.monotonic()
        answer = default.ask("Kapan Microsoft dan OpenAI mulai bekerja sama?")
        answered_in = time.monotonic() - started
        assert reader.is_alive() and answered_in < 1.0 and answer.citations
        reader.join(10)
    assert result["entry"].sentences == 4


def test_a_core_is_built_once_under_concurrent_use_and_the_cache_is_bounded(tmp_path: Path) -> None:
    world = World(tmp_path, cached_cores=2)
    built = world.built
    entries = [world.library.read(world.text_file(f"{t}.txt", t), chat_id=None) for t in ("satu", "dua", "tiga")]
    assert built[-3:] == [e.title for e in entries]
    built.clear()
    first = entries[0].id  # dropped from the cache of 2 by the later reads
    threads = [threading.Thread(target=world.library.core, args=(first,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(built) == 1


def test_a_full_disk_while_reading_is_storage_full_the_chat_keeps_its_article_and_a_later_read_works(
    world: World, monkeypatch
) -> None:
    """ENOSPC where the library writes an article's files: one domain error (the edges say "try again later"),
    not an OSError that reads as a crash."""
    library = world.library
    source = world.text_file("a.txt", "gempa")
    articles = world.root / "articles"
    write_text = Path.write_text

    def no_room(self: Path, *args, **kwargs):
        if articles in self.parents:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", no_room)
    with pytest.raises(StorageFull, match="disk is full"):
        library.read(source, chat_id=5)
    assert library.current(5) == world.default
    monkeypatch.undo()  # room again
    entry = library.read(source, chat_id=5)
    assert library.current(5) == entry and library.core(entry.id).article.sentences


def test_an_article_evicted_while_another_chat_uses_its_core_answers_from_it_and_leaves_no_files(
    tmp_path: Path,
) -> None:
    """Chat 5's job took article X's core; before its work ran, chat 6's read evicted X (issue 22). The work
    still answers about X (the core holds X in memory), and it writes nothing back into X's deleted directory
    (its summary cache would leave an orphan there); X is gone for later jobs and chat 5 has the default."""
    world = World(tmp_path, max_articles=2)
    lib = world.library
    x = lib.read(world.text_file("x.txt", "gempa"), chat_id=5)
    in_use = lib.core(x.id)  # what a job of chat 5 holds while its work runs
    y = lib.read(world.text_file("y.txt", "jalan tol"), chat_id=6)  # evicts X, the least recently used
    assert {e.id for e in lib.articles()} == {world.default.id, y.id}
    assert not lib.article_dir(x.id).exists()
    assert in_use.system in world.generator.forgotten  # its saved model state went too

    summary = in_use.summary("id")  # the article's language: no model call
    world.generator.enqueue(copied_reply("wartawan kami"))
    answer = in_use.ask("Apa fakta penting tentang gempa?")
    assert summary.bullets and all("gempa" in c.text for b in summary.bullets for c in b.citations)
    assert answer.citations and all("gempa" in c.text for c in answer.citations)
    assert not lib.article_dir(x.id).exists()  # nothing written back for an evicted article

    with pytest.raises(UnknownArticle):
        lib.core(x.id)
    assert lib.current(5) == world.default and lib.current(6) == y


def test_prepare_does_only_what_is_missing_and_the_next_start_restores_the_saved_prefix(world: World) -> None:
    """`kutip index` (Library.prepare) before `kutip run`: the run's first warm restores, it does not evaluate."""
    default = world.default.id
    system = world.library.core(default).system
    world.generator.evaluated.clear()
    world.generator.saved_prefixes.clear()  # building the core above saved nothing, but be explicit
    lib, world.built, world.indexed = world.reopen(), [], 0
    stages: list[str] = []
    assert lib.prepare(default, progress=stages.append) == Prepared(indexed=False, evaluated=True, prefix_saved=True)
    assert stages == ["evaluating"] and world.generator.evaluated == [system] and world.indexed == 0
    # A second setup finds both saved: no core is built (no model loaded), nothing is evaluated.
    lib, world.built = world.reopen(), []
    assert lib.prepare(default, progress=stages.append) == Prepared(indexed=False, evaluated=False, prefix_saved=True)
    assert world.built == [] and world.indexed == 0 and stages == ["evaluating"]
    # The index gone: only the index is built again.
    import shutil

    shutil.rmtree(lib.article_dir(default) / "index")
    assert world.reopen().prepare(default, progress=stages.append) == Prepared(True, False, True)
    assert world.indexed == 1 and world.built == [] and stages == ["evaluating", "indexing"]
    # The bot's first start (kutip run: the default's core, warmed) restores the prefix the setup saved.
    world.reopen().core(default).warm()
    assert world.generator.warmed[-1] == system and world.generator.evaluated == [system]


def test_prepare_behind_a_model_server_saves_no_prefix_and_loads_no_model(world: World) -> None:
    world.behind_server = True
    lib, world.built = world.reopen(), []
    assert lib.prepare(world.default.id) == Prepared(indexed=False, evaluated=False, prefix_saved=None)
    assert world.built == [] and world.generator.warmed == []


def test_prepare_says_when_the_evaluated_prefix_could_not_be_saved(world: World) -> None:
    """A full disk: the generator warns and keeps the prefix in memory only; the setup must not claim it saved."""

    class Forgetful(FakeGenerator):
        def warm(self, system: str) -> None:
            self.warmed.append(system)

    world.generator = Forgetful()
    lib, world.built = world.reopen(), []
    assert lib.prepare(world.default.id) == Prepared(indexed=False, evaluated=True, prefix_saved=False)
    with pytest.raises(UnknownArticle):
        lib.prepare("0" * 64)
