"""Opening the database and bringing its schema up to date, one numbered migration at a time.

The schema version lives in SQLite's own `PRAGMA user_version`; migration N takes it from N-1 to N in
one transaction, so a crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from base.errors import KutipError

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
)
SCHEMA_VERSION = len(MIGRATIONS)


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path`, migrated to SCHEMA_VERSION.

    Autocommit mode: each store statement is its own transaction, written before the call returns.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.row_factory = sqlite3.Row
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
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise KutipError(f"{DATABASE_NAME}: migration {number} failed: {error}") from None
        logger.info("database schema migrated to version %d", number)
