"""Which article a chat is about, and which core answers it.

Without a library (a bot started on one article) every chat has the default article. With one, a chat has
the article it last read or chose; a chat that never chose has the library's default. The default article
is always answered by the desk's core, which an admin's /reload replaces; any other article by
`library.core(id)`. Article ids travel as `str | None`, None meaning "the default article".
"""

from __future__ import annotations

from bot.core.ports import AnswerCore, ArticleLibrary
from bot.library.entry import ArticleEntry

# A quote names its article by title, cut to this many characters.
LABEL_CHARS = 60


class ChatArticles:
    def __init__(self, library: ArticleLibrary | None) -> None:
        self.library = library

    def current(self, chat_id: int) -> ArticleEntry | None:
        """The chat's current article; None for the default one (or without a library)."""
        if self.library is None:
            return None
        entry = self.library.current(chat_id)
        return None if entry.is_default else entry

    def article_id(self, chat_id: int) -> str | None:
        """The id of the chat's current article, None for the default: what a queued job answers about."""
        entry = self.current(chat_id)
        return entry.id if entry is not None else None

    def core(self, article_id: str | None, default: AnswerCore) -> AnswerCore:
        """The core answering about `article_id`; may build it (slow: call it off the event loop).
        UnknownArticle when the article was evicted since."""
        if article_id is None or self.library is None:
            return default
        return self.library.core(article_id)

    def recent(self, chat_id: int) -> list[ArticleEntry]:
        return self.library.recent(chat_id) if self.library is not None else []

    def label(self, chat_id: int, article_id: str | None, default_title: str) -> str | None:
        """The title a quote names its article by: only when the chat has more than one article."""
        entries = self.recent(chat_id)
        if len(entries) <= 1:
            return None
        title = default_title
        if article_id is not None:
            title = next((e.title for e in entries if e.id == article_id), "") or article_id[:8]
        return title if len(title) <= LABEL_CHARS else title[:LABEL_CHARS] + "…"
