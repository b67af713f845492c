"""Opening the database and bringing its schema up to date, one numbered migration at a time.

The schema version lives in SQLite's own `PRAGMA user_version`; migration N takes it from N-1 to N in
one transaction, so a crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from base.errors import KutipError, StorageError
from bot.storage.faults import Connection, storage_errors

logger = logging.getLogger(__name__)

DATABASE_NAME = "kutip.sqlite3"

# Append only: a released migration is never edited, a change is a new entry.
MIGRATIONS: tuple[str, ...] = (
    # 1: questions and summaries accepted from chats and not answered yet, as plain data (issue 12, item 14).
    """
    CREATE TABLE jobs (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        kind             TEXT    NOT NULL,  -- "ask" or "summary"
        chat_id          INTEGER NOT NULL,
        message_id       INTEGER NOT NULL,  -- the asker's message, which the answer replies to
        thread_id        INTEGER,           -- forum topic, if any
        user_id          INTEGER,
        language         TEXT    NOT NULL,  -- the asker's interface language
        text             TEXT    NOT NULL,  -- the question, or the summary's language
        history_question TEXT,              -- the earlier turn when the question was a follow-up
        history_answer   TEXT,
        created_at       REAL    NOT NULL   -- Unix time
    );
    """,
    # 2: the article library (issue 10): articles keyed by the SHA-256 of their cleaned text, and each
    # chat's articles. The index, KV state and summary cache live in data/articles/<id>/.
    """
    CREATE TABLE articles (
        id         TEXT    PRIMARY KEY,         -- SHA-256 (hex) of the cleaned article text
        title      TEXT    NOT NULL,
        origin     TEXT    NOT NULL,            -- the URL, file name or path it was read from
        language   TEXT    NOT NULL,
        sentences  INTEGER NOT NULL,
        added_at   REAL    NOT NULL,            -- Unix time
        added_by   INTEGER,                     -- the chat that first read it; NULL from the CLI or the default
        used_at    REAL    NOT NULL,            -- last read, chosen or asked about: the eviction order (LRU)
        is_default INTEGER NOT NULL DEFAULT 0   -- the shipped/configured article, never evicted
    );
    CREATE TABLE chat_articles (
        chat_id    INTEGER NOT NULL,
        article_id TEXT    NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        chosen_at  REAL    NOT NULL,            -- when it was last read or made current in this chat
        is_current INTEGER NOT NULL DEFAULT 0,  -- at most one per chat (enforced by the store)
        PRIMARY KEY (chat_id, article_id)
    );
    CREATE TABLE article_reads (                -- what a chat added and when: the per-hour bound
        chat_id INTEGER NOT NULL,
        at      REAL    NOT NULL
    );
    CREATE INDEX article_reads_by_chat ON article_reads (chat_id, at);
    """,
    # 3: follow-up context (issue 10): which of our messages answered what, kept across restarts.
    """
    CREATE TABLE followups (
        chat_id    INTEGER NOT NULL,
        key        TEXT    NOT NULL,            -- "m:<message_id>", or "t:<shown text>" when the id is unknown
        question   TEXT    NOT NULL,
        answer     TEXT    NOT NULL,
        article_id TEXT,                        -- the article the answer came from
        created_at REAL    NOT NULL,
        PRIMARY KEY (chat_id, key)
    );
    CREATE INDEX followups_by_age ON followups (created_at);
    -- a queued job answers about the article its chat had when it was asked (NULL: the default article)
    ALTER TABLE jobs ADD COLUMN article_id TEXT;
    """,
    # 4: the counters and recent latencies behind /stats (issue 10), kept across restarts.
    """
    CREATE TABLE counters (
        name  TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
    );
    CREATE TABLE latencies (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        total_s REAL    NOT NULL,               -- from enqueue to result
        model_s REAL    NOT NULL                -- inside the core
    );
    """,
    # 5: every message accepted as a job, kept after its job is done (issue 22): Telegram delivers again
    # the updates whose offset a crash kept it from confirming, and those must not be answered twice.
    """
    CREATE TABLE accepted (
        chat_id     INTEGER NOT NULL,
        message_id  INTEGER NOT NULL,           -- the asker's message
        kind        TEXT    NOT NULL,           -- the job kind ("ask", "summary", "digest")
        accepted_at REAL    NOT NULL,           -- Unix time; rows older than Telegram keeps updates are pruned
        PRIMARY KEY (chat_id, message_id, kind)
    );
    CREATE INDEX accepted_by_age ON accepted (accepted_at);
    -- the jobs still pending count as accepted now: their updates may come again after this upgrade
    INSERT OR IGNORE INTO accepted
        SELECT chat_id, message_id, kind, (julianday('now') - 2440587.5) * 86400.0 FROM jobs;
    """,
    # 6: article numbers that stay put in a chat (issue 23): the order articles first came to it.
    """
    ALTER TABLE chat_articles ADD COLUMN first_at REAL NOT NULL DEFAULT 0;
    UPDATE chat_articles SET first_at = chosen_at;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


# How long a statement waits for another process's lock before StorageLocked (sqlite3's own default).
BUSY_TIMEOUT_S = 5.0


def open_database(path: Path, shared: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path`, migrated to SCHEMA_VERSION.

    Autocommit mode: each store statement is its own transaction, written before the call returns.
    `shared`: the connection may be used from several threads (the article library is called from worker
    threads); its store then serialises its own statements. A statement that waits `busy_timeout_s` for
    another process's lock raises StorageLocked; a full disk, StorageFull (bot/storage/faults.py).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with storage_errors(DATABASE_NAME):
        connection = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=not shared, factory=Connection
        )
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA foreign_keys = ON")  # chats' rows go with an evicted article
    try:
        migrate(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def schema_version(connection: sqlite3.Connection) -> int:
    return connection.execute("PRAGMA user_version").fetchone()[0]


def migrate(connection: sqlite3.Connection, migrations: tuple[str, ...] = MIGRATIONS) -> None:
    """Apply every migration past the database's version, each in its own transaction."""
    try:
        version = schema_version(connection)
    except sqlite3.DatabaseError as error:
        raise KutipError(f"{DATABASE_NAME} is not a readable SQLite database ({error}); move it aside") from None
    if version > len(migrations):
        raise KutipError(
            f"{DATABASE_NAME} has schema version {version}, newer than this Kutip knows ({len(migrations)}); "
            "upgrade Kutip or move the file aside"
        )
    for number in range(version + 1, len(migrations) + 1):
        try:
            connection.executescript(f"BEGIN;\n{migrations[number - 1]}\nPRAGMA user_version = {number};\nCOMMIT;")
        except (sqlite3.Error, StorageError) as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(error, StorageError):  # locked or full: the file is fine, a later start migrates it
                raise
            raise KutipError(f"{DATABASE_NAME}: migration {number} failed: {error}") from None
        logger.debug("database schema migrated to version %d", number)
    if 0 < version < len(migrations):  # a new database is not news; an upgraded one is, once
        logger.info("database schema migrated from version %d to %d", version, len(migrations))
