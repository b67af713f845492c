"""The article library (implements ArticleLibrary): articles read from chats and the CLI, kept on disk.

Each article lives in `<directory>/<id>/`, the id being the SHA-256 of its cleaned text (index/store):
`article.json` (the cleaned article), `index/` (its versioned index), `summaries/` (its summary cache)
and `prefix.txt` (the system prompt whose evaluated KV state the generator saved in its own state
directory, keyed by content: what eviction must delete). Rows live in SQLite (bot/storage/articles).

Reading runs in the caller's thread (the Telegram adapter calls it off the event loop): fetching, cleaning
and embedding hold no model lock; only warming the new article's prefix takes a model turn.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from base.errors import ArticleError, ReadLimit, StorageError, UnknownArticle
from bot.core.answer import Kutip
from bot.core.ports import AnswerCore, Generator
from bot.library.turns import ArticleCore, ModelTurns
from bot.storage import ArticleEntry
from bot.storage.articles import ArticleStore
from bot.storage.faults import storage_errors
from index.article import Article
from index.build import saved_build, saved_index
from index.embedder import Embedder
from index.fetch import FetchPolicy
from index.ingest import ArticleLimits, Progress, check_article, is_url, load_article
from index.store import StoredIndex, article_from_json, article_json, article_sha256

logger = logging.getLogger(__name__)

READ_WINDOW_S = 3600.0
MIN_PREFIX = 4  # shortest id prefix `/use` and `--article` accept
SWEEP_AGE_S = 3600.0  # an article directory without a row is deleted at start once this old


@dataclass(frozen=True)
class LibraryConfig:
    """The library's bounds; built from Settings by bot/wiring/factory.build_library, where the defaults live."""

    fetch: FetchPolicy
    limits: ArticleLimits = field(default_factory=ArticleLimits)
    max_articles: int = 20  # KUTIP_LIBRARY_MAX_ARTICLES, the default article included
    reads_per_hour: int = 10  # KUTIP_LIBRARY_READS_PER_HOUR, per chat (the CLI is not bounded)
    cached_cores: int = 4  # cores kept built in memory (each holds its article's vectors)
    warm_on_read: bool = True  # evaluate and save the new article's prefix before "ready"
    exclusive_model: bool = True  # one in-process llama.cpp context; False behind a model server (several slots)


# What Library.prepare reports to its progress callback as each slow step starts.
PrepareStage = Literal["indexing", "evaluating"]


@dataclass(frozen=True)
class Prepared:
    """What Library.prepare found missing and did."""

    indexed: bool  # the index was built now (else it was on disk)
    evaluated: bool  # the model evaluated the article's prefix now
    prefix_saved: bool | None  # the evaluated prefix is saved for the next start; None: nothing is saved here


# Builds a core over one article's index, its summaries kept in the given directory (factory.assemble_core).
Assemble = Callable[[StoredIndex, Path], Kutip]


class Library:
    """Articles on disk and in SQLite, each chat's current one, and a bounded cache of their cores."""

    def __init__(
        self,
        directory: Path,
        store: ArticleStore,
        embedder: Callable[[], Embedder],
        generator: Callable[[], Generator],
        assemble: Assemble,
        config: LibraryConfig,
        default: Callable[[], Article] | None = None,
        clock: Callable[[], float] = time.time,
        *,
        embedding_model: str,
        prefix_saved: Callable[[Article], bool | None] = lambda article: None,
    ) -> None:
        """`embedder()` and `generator()` return the models every article shares, loading them on their first
        call, so a command that only lists articles loads none; `embedding_model` is the embedder's name, which
        the saved indexes record (a saved index is reused without loading the embedder).

        `default` reads the shipped or configured article; it is registered on first need (a command that reads
        another article never waits for it), at once by `register_default`, and again by `reload_default`.

        `prefix_saved(article)` tells, without loading the generator, whether the model's evaluated prefix for the
        article is saved for the next start; None when the generator saves none (a model server)."""
        self._dir = directory
        self._store = store
        self._embedder = embedder
        self._embedding_model = embedding_model
        self._generator = generator
        self._prefix_saved = prefix_saved
        self._assemble = assemble
        self._config = config
        self._clock = clock
        self.turns = ModelTurns(exclusive=config.exclusive_model)
        self._cores: OrderedDict[str, ArticleCore] = OrderedDict()
        self._cores_lock = threading.Lock()
        self._article_locks: dict[str, threading.Lock] = {}
        self._reads_lock = threading.Lock()
        self._evict_lock = threading.Lock()
        self._default: ArticleEntry | None = None
        self._default_source = default
        self._default_lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        self._sweep()

    # --- the protocol -----------------------------------------------------------------

    def read(
        self,
        source: str,
        *,
        chat_id: int | None = None,
        document: bytes | None = None,
        progress: Progress | None = None,
    ) -> ArticleEntry:
        report = progress or (lambda stage: None)
        self._count_read(chat_id)
        article = load_article(source, self._config.fetch, self._config.limits, document=document, progress=report)
        report("indexing")
        # A full disk is StorageFull, as in the database: the chat keeps its article and may read it again later.
        with storage_errors("the article library"):
            entry, stored = self._register(article, added_by=chat_id)
            assert stored is not None  # registered with its index
            # The index just built or loaded makes the core: no second read of it, or of the article, from disk.
            core = self._cached(entry.id, lambda: self._assembled(entry.id, stored))
            if self._config.warm_on_read:
                core.warm()  # the one step that waits for the model: evaluates and saves the prefix
        self._store.choose(chat_id, entry.id, self._clock())
        self._evict(protect={entry.id})
        logger.info("chat %s reads article %s (%d sentences)", chat_id, entry.short_id, entry.sentences)
        report("ready")
        return entry

    def current(self, chat_id: int | None) -> ArticleEntry:
        return self._store.current(chat_id) or self.default

    def recent(self, chat_id: int | None, limit: int = 10) -> list[ArticleEntry]:
        """The chat's articles in reading order, the default first (every chat starts with it): a number from
        this list names the same article for the chat's whole life (until an article is evicted)."""
        return [self.default, *(e for e in self._store.recent(chat_id, limit) if not e.is_default)][:limit]

    def use(self, chat_id: int | None, choice: str) -> ArticleEntry:
        entry = self.lookup(choice, chat_id)
        self._store.choose(chat_id, entry.id, self._clock())
        return entry

    def core(self, article_id: str) -> AnswerCore:
        """The article's core (an ArticleCore), built on first use and cached; UnknownArticle if not kept."""
        with storage_errors("the article library"):  # building may write its index
            return self._cached(article_id, lambda: self._build(article_id))

    def _cached(self, article_id: str, build: Callable[[], ArticleCore]) -> ArticleCore:
        """The cached core of the article, else `build()` it (once, under the article's lock) and keep it."""
        with self._cores_lock:
            core = self._cores.get(article_id)
            if core is not None:
                self._cores.move_to_end(article_id)
        if core is None:
            with self._lock_of(article_id):  # one build per article; other articles' cores are not held up
                with self._cores_lock:
                    core = self._cores.get(article_id)
                if core is None:
                    core = build()
                    with self._cores_lock:
                        self._cores[article_id] = core
                        while len(self._cores) > max(1, self._config.cached_cores):
                            self._cores.popitem(last=False)
        try:
            self._store.touch(article_id, self._clock())
        except StorageError as error:  # only the eviction order misses this use: answering goes on
            logger.warning("article %s: its use not recorded: %s", article_id[:8], error)
        return core

    # --- beyond the protocol: setup, the default, lookups, listing ---------------------------------

    def prepare(self, article_id: str, progress: Callable[[PrepareStage], None] | None = None) -> Prepared:
        """Make the article's first answer after a start quick: its index on disk, and the model's prefix for it
        evaluated and saved, which the next process restores in a fraction of a second instead of evaluating
        it (seconds). Only what is missing is done, and only that loads a model: with both saved, neither the
        embedder nor the generator is loaded. `progress` hears "indexing" and "evaluating" as each starts."""
        report = progress or (lambda stage: None)
        if self._store.get(article_id) is None:
            raise UnknownArticle(f"no article {article_id[:8]} in the library")
        article = self._load_article(article_id)
        directory = self.article_dir(article_id) / "index"
        with storage_errors("the article library"):
            stored = saved_index(article, self._embedding_model, directory)
            indexed = stored is None
            if stored is None:
                report("indexing")
                stored = saved_build(article, self._embedder(), directory)
            saved = self._prefix_saved(article)
            if saved is None or saved:
                return Prepared(indexed=indexed, evaluated=False, prefix_saved=saved)
            report("evaluating")
            core = self._cached(article_id, lambda: self._assembled(article_id, stored))
            core.warm()  # nothing is saved, so this evaluates the prefix and saves it
        # Saving can fail (a full disk: warned in the log); the next start then evaluates it again.
        return Prepared(indexed=indexed, evaluated=True, prefix_saved=bool(self._prefix_saved(article)))

    @property
    def default(self) -> ArticleEntry:
        """The default article, read and registered on first need."""
        with self._default_lock:
            if self._default is None:
                if self._default_source is None:
                    stored = self._store.default()
                    if stored is None:
                        raise UnknownArticle("the library has no default article")
                    self._default = stored
                else:
                    # Indexed when its core is first built: listing articles needs no embedder.
                    self._default = self._set_default(self._default_source(), index=False)
            return self._default

    def reload_default(self) -> ArticleEntry:
        """Read the default article's source again and make it the default, its core warmed (/reload)."""
        if self._default_source is None:
            raise UnknownArticle("the library has no source to read its default article from")
        with storage_errors("the article library"):
            entry = self.register_default(self._default_source())
        logger.info("default article is now %s (%d sentences)", entry.short_id, entry.sentences)
        self.core(entry.id).warm()
        return entry

    def register_default(self, article: Article) -> ArticleEntry:
        """Make `article` (the shipped or configured one) the default: indexed now, never evicted."""
        with self._default_lock:
            self._default = self._set_default(article)
            return self._default

    def _set_default(self, article: Article, index: bool = True) -> ArticleEntry:
        check_article(article, self._config.limits)
        entry, _ = self._register(article, added_by=None, index=index)
        self._store.set_default(entry.id)
        self._evict(protect=set())
        stored = self._store.get(entry.id)
        assert stored is not None
        return stored

    def article(self, article_id: str) -> Article:
        """The article's cleaned text and sentences, from disk (no model needed: `kutip source`)."""
        if self._store.get(article_id) is None:
            raise UnknownArticle(f"no article {article_id[:8]} in the library")
        return self._load_article(article_id)

    def lookup(self, choice: str, chat_id: int | None = None) -> ArticleEntry:
        """The article `choice` names: a number from `recent(chat_id)`, an id or id prefix, or a URL (or path)
        already read. UnknownArticle otherwise."""
        choice = choice.strip()
        found: ArticleEntry | None = None
        if choice.isdigit() and len(choice) < MIN_PREFIX:
            listed = self.recent(chat_id, max(10, int(choice)))
            found = listed[int(choice) - 1] if 1 <= int(choice) <= len(listed) else None
        elif len(choice) >= MIN_PREFIX and not is_url(choice):
            matches = self._store.by_prefix(choice.lower())
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            found = self._store.by_origin(choice)
        if found is None:
            raise UnknownArticle(f"no article {choice[:40]!r} in the library")
        return found

    def articles(self) -> list[ArticleEntry]:
        """Every article kept, most recently used first."""
        return self._store.all()

    def article_dir(self, article_id: str) -> Path:
        return self._dir / article_id

    # --- inside ------------------------------------------------------------------------

    def _lock_of(self, article_id: str) -> threading.Lock:
        with self._cores_lock:
            return self._article_locks.setdefault(article_id, threading.Lock())

    def _count_read(self, chat_id: int | None) -> None:
        """A chat may start `reads_per_hour` reads an hour (failed ones count: they cost a fetch too)."""
        if chat_id is None:
            return
        with self._reads_lock:
            now = self._clock()
            if self._store.reads_since(chat_id, now - READ_WINDOW_S) >= self._config.reads_per_hour:
                raise ReadLimit(self._config.reads_per_hour)
            self._store.record_read(chat_id, now)

    def _register(
        self, article: Article, added_by: int | None, index: bool = True
    ) -> tuple[ArticleEntry, StoredIndex | None]:
        """Keep the article's text and (unless not `index`: `_build` makes it when needed) its index on disk,
        once per text, and its row in the store."""
        article_id = article_sha256(article)
        directory = self.article_dir(article_id)
        with self._lock_of(article_id):
            saved = directory / "article.json"
            if not saved.is_file():
                directory.mkdir(parents=True, exist_ok=True)
                tmp = saved.with_suffix(".tmp")
                tmp.write_text(json.dumps(article_json(article), ensure_ascii=False), encoding="utf-8")
                tmp.replace(saved)
            stored = self._index(article, directory / "index") if index else None
            now = self._clock()
            entry = ArticleEntry(
                id=article_id,
                title=article.title,
                origin=article.origin,
                language=article.language,
                sentences=len(article.sentences),
                added_at=now,
                added_by=added_by,
            )
            return self._store.add(entry, used_at=now), stored

    def _load_article(self, article_id: str) -> Article:
        try:
            raw = json.loads((self.article_dir(article_id) / "article.json").read_text(encoding="utf-8"))
            article = article_from_json(raw)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ArticleError(f"article {article_id[:8]} is damaged on disk: {error}") from error
        if article_sha256(article) != article_id:
            raise ArticleError(f"article {article_id[:8]} is damaged on disk: its text changed")
        return article

    def _build(self, article_id: str) -> ArticleCore:
        """Load (or, when stale, rebuild) the article's index and assemble its core; no model lock is taken."""
        if self._store.get(article_id) is None:
            raise UnknownArticle(f"no article {article_id[:8]} in the library")
        article = self._load_article(article_id)
        stored = self._index(article, self.article_dir(article_id) / "index")
        return self._assembled(article_id, stored)  # the index is rebuilt above when stale

    def _index(self, article: Article, directory: Path) -> StoredIndex:
        """The article's saved index, else built and saved: only then is the embedder loaded."""
        stored = saved_index(article, self._embedding_model, directory)
        return stored if stored is not None else saved_build(article, self._embedder(), directory)

    def _assembled(self, article_id: str, stored: StoredIndex) -> ArticleCore:
        directory = self.article_dir(article_id)
        core = ArticleCore(article_id, self._assemble(stored, directory / "summaries"), self.turns)
        prefix = directory / "prefix.txt"
        if not prefix.is_file() or prefix.read_text(encoding="utf-8") != core.system:
            # What the generator keys the saved prefix state by, so eviction can delete that state too.
            prefix.write_text(core.system, encoding="utf-8")
        return core

    def _evict(self, protect: set[str]) -> None:
        """Past KUTIP_LIBRARY_MAX_ARTICLES, drop the least recently used articles (never the default)."""
        with self._evict_lock:
            for entry in self._store.evictable(self._config.max_articles, protect):
                self._remove(entry)

    def _remove(self, entry: ArticleEntry) -> None:
        directory = self.article_dir(entry.id)
        self._store.remove(entry.id)  # chats whose current article it was fall back to the default
        with self._cores_lock:
            self._cores.pop(entry.id, None)
        self.turns.forget(entry.id)
        self._delete(directory)
        logger.info("evicted article %s (%s)", entry.short_id, entry.origin)

    def _delete(self, directory: Path) -> None:
        """Delete an article's directory and the prefix state the generator saved for it."""
        prefix = directory / "prefix.txt"
        try:
            if prefix.is_file():
                self._generator().forget(prefix.read_text(encoding="utf-8"))
        except OSError as error:
            logger.warning("could not delete the saved prefix of %s: %s", directory.name[:8], error)
        shutil.rmtree(directory, ignore_errors=True)

    def _sweep(self) -> None:
        """Directories without a row (an eviction cut short, a database moved aside) are deleted at start; not
        fresh ones, which another process sharing the data directory (the CLI beside the bot) may be writing."""
        known = {e.id for e in self._store.all()}
        stale = self._clock() - SWEEP_AGE_S
        for path in self._dir.iterdir():
            if path.is_dir() and path.name not in known and len(path.name) == 64 and path.stat().st_mtime < stale:
                self._delete(path)
                logger.info("removed article directory %s with no row in the database", path.name[:8])
