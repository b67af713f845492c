"""Hand-written fakes implementing the protocols of bot/core/ports.py: embedder, generator and answer core."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from base.errors import FetchFailed, ReadLimit, UnknownArticle
from base.language import detect_language
from base.words import content_tokens
from bot.core.answer import find_source
from bot.core.ports import AnswerCore, Choice, Completion, Prompt
from bot.core.questions import check_question
from bot.core.refusals import REFUSAL
from bot.core.results import Answer, Bullet, Citation, ReplyKind, Summary
from bot.core.turn import Turn
from bot.storage import ArticleEntry
from index.article import Article, Sentence
from index.ingest import ArticleLimits, Progress, ReadStage, check_article, is_url, load_article, parse_article
from index.store import article_sha256


class FakeEmbedder:
    """Deterministic bag-of-words vectors: texts sharing words are similar, others are not."""

    def __init__(self, dimension: int = 256, name: str = "fake-embedder", multilingual: bool = False) -> None:
        self.name = name
        self.dimension = dimension
        self.multilingual = multilingual
        self.calls: list[list[str]] = []
        self.query_calls: list[list[str]] = []

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self._vectors(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """The same vectors as `embed` (no prefix), recorded apart so tests see which side asked."""
        self.query_calls.append(list(texts))
        return self._vectors(texts)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            v = sum((self._word(w) for w in content_tokens(text)), np.zeros(self.dimension, dtype=np.float32))
            norm = float(np.linalg.norm(v))
            rows.append(v / norm if norm else v)
        return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, self.dimension), np.float32)


def copied_reply(answer: str) -> str:
    """A model reply in the shipped format: words copied from a sentence, which the core finds in code."""
    return json.dumps({"answer": answer})


class FakeGenerator:
    """Replies from a queue; records what it was sent. An empty reply queue fails the test loudly.

    `choose` answers from its own queue, and without one it says "yes" with
    `default_yes` (1.0: a verifier that agrees, so a test exercises the other checks).

    It is its own SavedPrefixes too: `warm` evaluates (`evaluated`) a prefix not in `saved_prefixes` and saves it
    there, as LlamaGenerator does in its state directory; fakes sharing one set stand for starts over one data
    directory.
    """

    def __init__(
        self,
        replies: list[str] | None = None,
        context_size: int = 4096,
        name: str = "fake-llm",
        default_yes: float = 1.0,
        saved_prefixes: set[str] | None = None,
    ) -> None:
        self.name = name
        self.context_size = context_size
        self.replies: deque[str | Completion] = deque(replies or [])
        self.choices: deque[float] = deque()
        self.states: deque[tuple[float, ...]] = deque()  # the hidden states of the next choices
        self.default_yes = default_yes
        self.history: list[tuple[Prompt, str, int]] = []
        self.asked: list[tuple[Prompt, tuple[str, ...]]] = []
        self.warmed: list[str] = []
        self.evaluated: list[str] = []  # the warms that found nothing saved
        self.saved_prefixes = saved_prefixes if saved_prefixes is not None else set()
        self.forgotten: list[str] = []

    def enqueue(self, *replies: str | Completion) -> FakeGenerator:
        self.replies.extend(replies)
        return self

    def enqueue_yes(self, *probabilities: float) -> FakeGenerator:
        """Queue the P("yes") of the next verification questions."""
        self.choices.extend(probabilities)
        return self

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def warm(self, system: str) -> None:
        self.warmed.append(system)
        if system not in self.saved_prefixes:
            self.evaluated.append(system)
            self.saved_prefixes.add(system)

    def saved(self, system: str) -> bool:
        return system in self.saved_prefixes

    def forget(self, system: str) -> None:
        self.forgotten.append(system)
        self.saved_prefixes.discard(system)

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> Completion:
        self.history.append((prompt, grammar, max_tokens))
        if not self.replies:
            raise AssertionError("FakeGenerator called with no queued reply")
        reply = self.replies.popleft()
        return reply if isinstance(reply, Completion) else Completion(reply)

    def choose(self, prompt: Prompt, options: tuple[str, ...]) -> Choice:
        self.asked.append((prompt, options))
        yes = self.choices.popleft() if self.choices else self.default_yes
        state = self.states.popleft() if self.states else ()
        probabilities = {o: (yes if o == "yes" else (1 - yes) / max(1, len(options) - 1)) for o in options}
        return Choice(probabilities=probabilities, state=state)


# --- the answer core, as the adapters see it ---------------------------------

PARAGRAPHS = (
    (
        "OpenAI ingin melonggarkan kendali Microsoft atas produk AI-nya.",
        "Tujuan terbesarnya adalah menjadi perusahaan yang menguntungkan dan melakukan IPO.",
    ),
    (
        "Negosiasi antara kedua pihak berjalan sulit.",
        "Para eksekutif OpenAI membahas tuduhan praktik persaingan tidak sehat.",
        "Microsoft menolak berkomentar.",
    ),
    ("Kemitraan itu pernah dipuji sebagai salah satu kolaborasi paling sukses.",),
)
# The same article edited (its last sentence): what a /reload finds after the file changed.
EDITED_PARAGRAPHS = (*PARAGRAPHS[:2], ("Kemitraan itu kini dibahas ulang oleh kedua pihak.",))


# --- the answer core ---------------------------------------------------------


def make_article(
    paragraphs: tuple[tuple[str, ...], ...] = PARAGRAPHS,
    title: str = "OpenAI dan Microsoft di ambang perpecahan",
    source_url: str = "https://example.com/openai-microsoft",
) -> Article:
    """An Article whose sentence offsets really point into its text."""
    text, sentences = "", []
    for p, paragraph in enumerate(paragraphs, 1):
        if p > 1:
            text += "\n\n"
        for s, sentence in enumerate(paragraph, 1):
            if s > 1:
                text += " "
            start = len(text)
            text += sentence
            sentences.append(Sentence(p, s, sentence, start, len(text)))
    return Article(
        text=text, sentences=tuple(sentences), title=title, source_url=source_url, language="id", origin=source_url
    )


class FakeCore:
    """The core's shape (article, model_name, ask, summary, source) with canned, recorded behaviour.

    Records each call in `.calls`, and how many calls were inside at once in
    `.max_active`, so tests can prove the model is never entered concurrently.
    """

    def __init__(
        self,
        article: Article | None = None,
        delay_s: float = 0.0,
        model_name: str = "fake-0.5b",
        max_question_chars: int = 2000,
    ) -> None:
        self.article = article or make_article()
        self.max_question_chars = max_question_chars
        self.model_name = model_name
        self.delay_s = delay_s
        self.calls: list[tuple[str, Any, ...]] = []
        self.replies: dict[str, str] = {}  # question -> answer text, overriding the echo
        self.cite: tuple[str, ...] = ("1.1",)
        self.refuse_words: tuple[str, ...] = ("CEO",)
        self.fail_next: Exception | None = None
        self.gate: threading.Event | None = None  # when given, ask() waits for it
        self.entered = threading.Event()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    @contextmanager
    def _inside(self) -> Iterator[None]:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        self.entered.set()
        try:
            if self.gate is not None:
                assert self.gate.wait(10), "the test never opened FakeCore.gate"
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.fail_next is not None:
                error, self.fail_next = self.fail_next, None
                raise error
            yield
        finally:
            with self._lock:
                self.active -= 1

    def warm(self) -> None:
        self.calls.append(("warm",))

    def ask(self, question: str, history: Turn | None = None, language: str | None = None) -> Answer:
        with self._inside():
            self.calls.append(("ask", question, history))
            question = check_question(question, self.max_question_chars)
            lang = language or detect_language(question, default=self.article.language)
            if any(word in question for word in self.refuse_words):
                return Answer(question, REFUSAL[lang], ReplyKind.NOT_IN_ARTICLE, lang, model=self.model_name)
            text = self.replies.get(question, f"Jawaban: {question}")
            citations = tuple(Citation.of(self.article.sentence(i)) for i in self.cite)
            return Answer(question, text, ReplyKind.ANSWER, lang, citations=citations, model=self.model_name)

    def summary(self, language: str) -> Summary:
        with self._inside():
            self.calls.append(("summary", language))
            first, second = self.article.sentences[0], self.article.sentences[2]
            return Summary(
                language,
                (
                    Bullet("OpenAI ingin lepas dari Microsoft.", (Citation.of(first),)),
                    Bullet("Negosiasi sulit.", (Citation.of(second),)),
                ),
                self.model_name,
            )

    def source(self, sentence_id: str) -> tuple[Sentence, tuple[Sentence, ...]]:
        self.calls.append(("source", sentence_id))
        return find_source(self.article, sentence_id)


# --- the article library -------------------------------------------------------


class FakeLibrary:
    """An in-memory ArticleLibrary over FakeCores, with the real one's rules (bot/library): ids are the SHA-256
    of the cleaned text (the same story twice is one entry), `/use` takes a number, an id prefix or a URL read
    before, a failed read leaves the chat's article as it was, and a chat may start `reads_per_hour` reads.

    URLs are never fetched: `pages[url]` is the page's text or HTML, or an exception to raise (FetchRefused,
    NoArticleText…); an unknown URL fails like an unreachable one. Paths and `document` bytes are read and
    parsed for real (no embedding). `gate`, when set, holds every read at "indexing" until it is opened;
    `read_calls` records (source, chat_id) and `stages` every stage reported. `reread()`, when given, is what
    reading the default's source again finds (/reload); without it the source is unchanged.
    """

    def __init__(
        self,
        default: FakeCore | None = None,
        reads_per_hour: int = 10,
        limits: ArticleLimits | None = None,
        clock: Callable[[], float] = time.time,
        reread: Callable[[], FakeCore] | None = None,
    ) -> None:
        self.reread = reread
        self.limits = limits or ArticleLimits(min_sentences=1, min_words=1)
        self.reads_per_hour = reads_per_hour
        self.clock = clock
        self.pages: dict[str, str | Exception] = {}
        self.gate: threading.Event | None = None
        self.read_calls: list[tuple[str, int | None]] = []
        self.stages: list[ReadStage] = []
        self.cores: dict[str, FakeCore] = {}
        self._entries: dict[str, ArticleEntry] = {}
        self._chats: dict[int | None, list[str]] = {}  # chat -> article ids, in the order they came to it
        self._current: dict[int | None, str] = {}
        self._reads: dict[int | None, list[float]] = {}
        self._lock = threading.Lock()
        core = default or FakeCore()
        self.default = self._add(core.article, origin=core.article.origin, chat_id=None, core=core, is_default=True)

    def _add(
        self, article: Article, origin: str, chat_id: int | None, core: FakeCore | None = None, is_default: bool = False
    ) -> ArticleEntry:
        article_id = article_sha256(article)
        with self._lock:
            if article_id not in self._entries:
                self._entries[article_id] = ArticleEntry(
                    article_id,
                    article.title,
                    origin,
                    article.language,
                    len(article.sentences),
                    self.clock(),
                    chat_id,
                    is_default,
                )
                self.cores[article_id] = core or FakeCore(article)
            return self._entries[article_id]

    def _article(self, source: str, document: bytes | None) -> Article:
        if document is None and is_url(source):
            page = self.pages.get(source)
            if isinstance(page, Exception):
                raise page
            if page is None:
                raise FetchFailed(f"cannot fetch {source}: ConnectError (FakeLibrary has no such page)")
            article = parse_article(page, origin=source)
            check_article(article, self.limits)
            return article
        return load_article(source, None, self.limits, document=document)

    def read(
        self,
        source: str,
        *,
        chat_id: int | None = None,
        document: bytes | None = None,
        progress: Progress | None = None,
    ) -> ArticleEntry:
        def report(stage: ReadStage) -> None:
            self.stages.append(stage)
            if progress is not None:
                progress(stage)

        self.read_calls.append((source, chat_id))
        if chat_id is not None:
            now = self.clock()
            recent = [t for t in self._reads.get(chat_id, []) if t > now - 3600]
            if len(recent) >= self.reads_per_hour:
                raise ReadLimit(self.reads_per_hour)
            self._reads[chat_id] = [*recent, now]
        report("fetching")
        article = self._article(source, document)
        report("cleaning")
        report("indexing")
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened FakeLibrary.gate"
        entry = self._add(article, origin=article.origin or source, chat_id=chat_id)
        self._choose(chat_id, entry.id)
        report("ready")
        return entry

    def _choose(self, chat_id: int | None, article_id: str) -> None:
        """The chat's current article; its list keeps reading order (the library's numbering)."""
        with self._lock:
            chosen = self._chats.setdefault(chat_id, [])
            if article_id not in chosen:
                chosen.append(article_id)
            self._current[chat_id] = article_id

    def current(self, chat_id: int | None) -> ArticleEntry:
        chosen = self._current.get(chat_id)
        return self._entries.get(chosen, self.default) if chosen else self.default

    def recent(self, chat_id: int | None, limit: int = 10) -> list[ArticleEntry]:
        ids = [self.default.id, *(i for i in self._chats.get(chat_id, []) if i != self.default.id)]
        return [self._entries[i] for i in ids[:limit]]

    def use(self, chat_id: int | None, choice: str) -> ArticleEntry:
        choice = choice.strip()
        listed = self.recent(chat_id)
        found: ArticleEntry | None = None
        if choice.isdigit() and 1 <= int(choice) <= len(listed):
            found = listed[int(choice) - 1]
        elif is_url(choice):
            found = next((e for e in self._entries.values() if e.origin == choice), None)
        elif len(choice) >= 4:
            matches = [e for e in self._entries.values() if e.id.startswith(choice.lower())]
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise UnknownArticle(f"no article {choice[:20]!r} in the library")
        self._choose(chat_id, found.id)
        return found

    def reload_default(self) -> ArticleEntry:
        core = self.reread() if self.reread is not None else self.cores[self.default.id]
        old = self.default
        entry = self._add(core.article, origin=core.article.origin, chat_id=None, core=core, is_default=True)
        with self._lock:
            if entry.id != old.id:
                self._entries[old.id] = replace(old, is_default=False)
                self._entries[entry.id] = entry = replace(entry, is_default=True)
            self.default = entry
        self.cores[entry.id].warm()
        return entry

    def evict(self, article_id: str) -> None:
        """Drop an article as the real library's eviction does (a test's stand-in for "another chat's read
        went past KUTIP_LIBRARY_MAX_ARTICLES"): its core goes, and chats whose current it was have the default."""
        with self._lock:
            del self._entries[article_id]
            del self.cores[article_id]
            for chosen in self._chats.values():
                if article_id in chosen:
                    chosen.remove(article_id)
            self._current = {chat: i for chat, i in self._current.items() if i != article_id}

    def core(self, article_id: str) -> AnswerCore:
        """The FakeCore of that article (`cores[article_id]`, for a test to script or inspect)."""
        try:
            return self.cores[article_id]
        except KeyError:
            raise UnknownArticle(f"no article {article_id[:8]} in the library") from None
