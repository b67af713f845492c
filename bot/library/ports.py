"""The article library as its users see it: the Telegram handlers and the CLI use only this, and it is their
one door to a core. Implemented by Library (library.py); tests/fakes.py has a FakeLibrary of the same shape."""

from __future__ import annotations

from typing import Protocol

from bot.core.ports import AnswerCore
from bot.storage.articles import ArticleEntry
from index.ingest import Progress


class ArticleLibrary(Protocol):
    """Articles kept on disk (data/articles/<id>/), each chat's current and recent ones, and a core per article.

    Slow calls (read, reload_default, the first core of an article) are synchronous: the Telegram adapter
    runs them off the event loop.
    """

    def read(
        self,
        source: str,
        *,
        chat_id: int | None = None,
        document: bytes | None = None,
        progress: Progress | None = None,
    ) -> ArticleEntry:
        """Fetch (URL), open (path) or parse (`document` bytes, `source` being its file name) an article, index
        it once (same cleaned text, same id) and make it `chat_id`'s current article. Raises ArticleError
        subclasses, ReadLimit; on any failure the chat's current article stays as it was."""
        ...

    def current(self, chat_id: int | None) -> ArticleEntry:
        """The chat's current article; the default article for a chat that never chose (or None: the CLI)."""
        ...

    def recent(self, chat_id: int | None, limit: int = 10) -> list[ArticleEntry]:
        """The chat's articles in reading order, the default first: `/use N` picks the N-th (1-based), for good."""
        ...

    def use(self, chat_id: int | None, choice: str) -> ArticleEntry:
        """Make an article current: `choice` is a number from `recent`, an article id (or its prefix) or a URL
        already read. UnknownArticle otherwise."""
        ...

    @property
    def default(self) -> ArticleEntry:
        """The default article (KUTIP_ARTICLE): a chat that never chose one asks about it."""
        ...

    def reload_default(self) -> ArticleEntry:
        """Read the default article's source again (an edited file or page) and make it the default, its core
        warmed. Slow: the Telegram adapter runs it off the event loop. Raises ArticleError subclasses."""
        ...

    def core(self, article_id: str) -> AnswerCore:
        """The answer core for that article, built on first use and cached; thread-safe. UnknownArticle if evicted."""
        ...
