"""The article store over migration 2: from an empty database, one current article per chat, LRU order that
never names the default, the per-hour reads, and everything kept across a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.storage import DATABASE_NAME, ArticleEntry, open_database
from bot.storage.articles import CLI_CHAT, ArticleStore


def entry(n: int, is_default: bool = False, by: int | None = 1) -> ArticleEntry:
    origin = f"https://example.com/{n}"
    return ArticleEntry(f"{n:x}" * 64, f"Title {n}", origin, "id", 10 + n, 100.0 + n, by, is_default)


def test_an_empty_database_gets_the_library_tables_and_keeps_them_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / DATABASE_NAME
    store = ArticleStore(open_database(path, shared=True))
    default = store.add(entry(1, is_default=True, by=None), used_at=1)
    other = store.add(entry(2), used_at=2)
    store.choose(7, other.id, at=3)
    store.record_read(7, at=3)
    store.close()

    again = ArticleStore(open_database(path))
    assert again.default() == default and again.get(other.id) == other
    assert again.current(7) == other and again.current(8) is None
    assert again.reads_since(7, since=0) == 1 and again.reads_since(8, since=0) == 0


def test_adding_the_same_text_twice_keeps_the_first_reader(tmp_path: Path) -> None:
    store = ArticleStore(open_database(tmp_path / DATABASE_NAME))
    first = store.add(entry(3, by=11), used_at=1)
    again = store.add(entry(3, by=22), used_at=2)
    assert again == first and again.added_by == 11 and store.count() == 1


def test_each_chat_has_one_current_article_and_its_articles_in_reading_order(tmp_path: Path) -> None:
    db = open_database(tmp_path / DATABASE_NAME)
    store = ArticleStore(db)
    a, b, c = (store.add(entry(n), used_at=n) for n in (1, 2, 3))
    store.choose(5, a.id, at=10)
    store.choose(5, b.id, at=11)
    store.choose(5, c.id, at=12)
    store.choose(5, a.id, at=13)
    store.choose(None, b.id, at=14)  # the CLI
    # Choosing `a` again makes it current but does not move it: the order is the order of first reading.
    assert store.current(5) == a and [e.id for e in store.recent(5, 10)] == [a.id, b.id, c.id]
    assert [e.id for e in store.recent(5, 2)] == [a.id, b.id]
    current = db.execute("SELECT chat_id, COUNT(*) FROM chat_articles WHERE is_current = 1 GROUP BY chat_id")
    assert dict(current.fetchall()) == {5: 1, CLI_CHAT: 1}
    assert store.current(None) == b


def test_a_database_from_before_reading_order_keeps_its_chats_articles(tmp_path: Path) -> None:
    from bot.storage.database import MIGRATIONS, migrate

    path = tmp_path / DATABASE_NAME
    old = sqlite3.connect(path, isolation_level=None)
    migrate(old, MIGRATIONS[:4])
    old.execute("INSERT INTO articles VALUES ('a', 't', 'o', 'id', 3, 1, NULL, 1, 0)")
    old.execute("INSERT INTO chat_articles (chat_id, article_id, chosen_at, is_current) VALUES (5, 'a', 7, 1)")
    old.close()
    store = ArticleStore(open_database(path))
    assert [e.id for e in store.recent(5, 10)] == ["a"] and store.current(5).id == "a"


def test_lookups_by_id_prefix_and_origin(tmp_path: Path) -> None:
    store = ArticleStore(open_database(tmp_path / DATABASE_NAME))
    a = store.add(entry(10), used_at=1)
    assert store.by_prefix(a.id[:6]) == [a] and store.by_prefix("%") == [] and store.by_prefix("") == []
    assert store.by_origin("https://example.com/10") == a and store.by_origin("https://nope.example") is None


def test_eviction_takes_the_least_recently_used_never_the_default_and_cascades(tmp_path: Path) -> None:
    db = open_database(tmp_path / DATABASE_NAME)
    store = ArticleStore(db)
    default = store.add(entry(1, is_default=True, by=None), used_at=0)
    store.set_default(default.id)
    old, mid, new = (store.add(entry(n), used_at=n) for n in (2, 3, 4))
    store.choose(9, old.id, at=5)  # a chat chose `old`: now the most recently used
    assert [e.id for e in store.evictable(keep=2)] == [mid.id, new.id]
    assert [e.id for e in store.evictable(keep=2, protect={new.id})] == [mid.id, old.id]
    assert store.evictable(keep=4) == []
    store.remove(old.id)
    assert store.current(9) is None and store.recent(9, 10) == []
    assert db.execute("SELECT COUNT(*) FROM chat_articles").fetchone()[0] == 0


def test_set_default_moves_the_flag(tmp_path: Path) -> None:
    store = ArticleStore(open_database(tmp_path / DATABASE_NAME))
    a, b = store.add(entry(1, is_default=True), used_at=1), store.add(entry(2), used_at=2)
    store.set_default(b.id)
    assert store.default().id == b.id and not store.get(a.id).is_default


def test_old_reads_are_pruned(tmp_path: Path) -> None:
    db = open_database(tmp_path / DATABASE_NAME)
    store = ArticleStore(db)
    store.record_read(1, at=0)
    store.record_read(1, at=100_000)
    assert store.reads_since(1, since=0) == 1
    assert isinstance(db, sqlite3.Connection)
