"""The article library's rows (migration 2): articles, each chat's current and recent ones, and the reads
behind the per-hour bound. Plain rows only; the index, KV state and summaries live in data/articles/<id>/.

The CLI has no chat: it is stored as chat 0, which no Telegram chat uses.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.storage.transaction import transaction

CLI_CHAT = 0


@dataclass(frozen=True)
class ArticleEntry:
    """An article as the library lists it: what /article, /articles and `kutip articles` show."""

    id: str  # SHA-256 (hex) of the cleaned text: the same story read twice is one entry
    title: str
    origin: str  # the URL, file name or path it was read from
    language: str
    sentences: int
    added_at: float  # Unix time
    added_by: int | None  # the chat that first read it; None from the CLI or for the default
    is_default: bool = False

    @property
    def short_id(self) -> str:
        """Enough of the id to name it in a command (`/use 3f2a9c1b`, `kutip ask --article 3f2a9c1b`)."""
        return self.id[:8]


_ENTRY_COLUMNS = "id, title, origin, language, sentences, added_at, added_by, is_default"


def chat_key(chat_id: int | None) -> int:
    return CLI_CHAT if chat_id is None else chat_id


def _entry(row: sqlite3.Row) -> ArticleEntry:
    return ArticleEntry(
        id=row["id"],
        title=row["title"],
        origin=row["origin"],
        language=row["language"],
        sentences=row["sentences"],
        added_at=row["added_at"],
        added_by=row["added_by"],
        is_default=bool(row["is_default"]),
    )


class ArticleStore:
    """Articles and chats' choices in SQLite. Thread-safe: one lock around the shared connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, transaction(self._db, "BEGIN IMMEDIATE") as db:
            yield db

    def _all(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- articles ---------------------------------------------------------------

    def add(self, entry: ArticleEntry, used_at: float) -> ArticleEntry:
        """Store `entry` unless its id is already there; returns what is stored (the first reader is kept)."""
        with self._transaction() as db:
            db.execute(
                f"INSERT OR IGNORE INTO articles ({_ENTRY_COLUMNS}, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.id,
                    entry.title,
                    entry.origin,
                    entry.language,
                    entry.sentences,
                    entry.added_at,
                    entry.added_by,
                    int(entry.is_default),
                    used_at,
                ),
            )
        stored = self.get(entry.id)
        assert stored is not None
        return stored

    def get(self, article_id: str) -> ArticleEntry | None:
        rows = self._all(f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE id = ?", (article_id,))
        return _entry(rows[0]) if rows else None

    def by_prefix(self, prefix: str) -> list[ArticleEntry]:
        # Ids are lowercase hex, so a LIKE pattern needs no escaping once the prefix is checked to be hex.
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            return []
        return [_entry(r) for r in self._all(f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE id LIKE ?", (prefix + "%",))]

    def by_origin(self, origin: str) -> ArticleEntry | None:
        rows = self._all(
            f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE origin = ? ORDER BY used_at DESC LIMIT 1", (origin,)
        )
        return _entry(rows[0]) if rows else None

    def all(self) -> list[ArticleEntry]:
        """Every article, most recently used first."""
        return [_entry(r) for r in self._all(f"SELECT {_ENTRY_COLUMNS} FROM articles ORDER BY used_at DESC")]

    def count(self) -> int:
        return self._all("SELECT COUNT(*) FROM articles")[0][0]

    def touch(self, article_id: str, at: float) -> None:
        """Note a use: the eviction order is least recently used first."""
        with self._transaction() as db:
            db.execute("UPDATE articles SET used_at = ? WHERE id = ?", (at, article_id))

    def set_default(self, article_id: str) -> None:
        """Make `article_id` the one default (the configured article changed: the old one may now be evicted)."""
        with self._transaction() as db:
            db.execute("UPDATE articles SET is_default = (id = ?)", (article_id,))

    def default(self) -> ArticleEntry | None:
        rows = self._all(f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE is_default = 1 LIMIT 1")
        return _entry(rows[0]) if rows else None

    def evictable(self, keep: int, protect: Collection[str] = ()) -> list[ArticleEntry]:
        """What must go for at most `keep` articles to remain: least recently used first, never the default
        nor an article in `protect` (the one just read)."""
        over = self.count() - keep
        if over <= 0:
            return []
        rows = self._all(f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE is_default = 0 ORDER BY used_at, added_at")
        return [e for e in map(_entry, rows) if e.id not in protect][:over]

    def remove(self, article_id: str) -> None:
        """Delete the article; its chats' rows go with it (ON DELETE CASCADE)."""
        with self._transaction() as db:
            db.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    # --- chats ------------------------------------------------------------------

    def choose(self, chat_id: int | None, article_id: str, at: float) -> None:
        """Make `article_id` the chat's current article (and its most recent), the others not current."""
        chat = chat_key(chat_id)
        with self._transaction() as db:
            db.execute("UPDATE chat_articles SET is_current = 0 WHERE chat_id = ? AND is_current = 1", (chat,))
            db.execute(
                "INSERT INTO chat_articles (chat_id, article_id, chosen_at, first_at, is_current) "
                "VALUES (?, ?, ?, ?, 1) "
                "ON CONFLICT (chat_id, article_id) DO UPDATE SET chosen_at = excluded.chosen_at, is_current = 1",
                (chat, article_id, at, at),
            )
            db.execute("UPDATE articles SET used_at = ? WHERE id = ?", (at, article_id))

    def current(self, chat_id: int | None) -> ArticleEntry | None:
        rows = self._all(
            f"SELECT {', '.join('a.' + c for c in _ENTRY_COLUMNS.split(', '))} FROM chat_articles c "
            "JOIN articles a ON a.id = c.article_id WHERE c.chat_id = ? AND c.is_current = 1",
            (chat_key(chat_id),),
        )
        return _entry(rows[0]) if rows else None

    def recent(self, chat_id: int | None, limit: int) -> list[ArticleEntry]:
        """The chat's articles in the order they first came to it, so the numbers a list shows stay put when
        another is read or chosen."""
        rows = self._all(
            f"SELECT {', '.join('a.' + c for c in _ENTRY_COLUMNS.split(', '))} FROM chat_articles c "
            "JOIN articles a ON a.id = c.article_id WHERE c.chat_id = ? ORDER BY c.first_at, a.id LIMIT ?",
            (chat_key(chat_id), limit),
        )
        return [_entry(r) for r in rows]

    # --- the per-hour bound -------------------------------------------------------

    def record_read(self, chat_id: int | None, at: float) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO article_reads (chat_id, at) VALUES (?, ?)", (chat_key(chat_id), at))
            # Keep the table small: only the last hour matters (a day's margin for clock steps).
            db.execute("DELETE FROM article_reads WHERE at < ?", (at - 86400,))

    def reads_since(self, chat_id: int | None, since: float) -> int:
        return self._all(
            "SELECT COUNT(*) FROM article_reads WHERE chat_id = ? AND at >= ?", (chat_key(chat_id), since)
        )[0][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
