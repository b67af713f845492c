"""Storage faults as another process or a full disk causes them, for the storage, library and edge tests."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


@contextmanager
def locked_by_another_process(path: Path) -> Iterator[None]:
    """The database at `path` under BEGIN EXCLUSIVE in a second process (readers and writers both wait), until
    the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(10)


# Messages accepted far in the future, so the journal's clean-up of old ones keeps them: what fills the table.
_FILLER = "INSERT INTO accepted (chat_id, message_id, kind, accepted_at) VALUES (-1, ?, 'ask', 1e12)"


def fill(connection: sqlite3.Connection) -> None:
    """Make the database full as a full disk would: it may grow no more (SQLite's max_page_count, a per-connection
    setting) and the accepted messages' table has no room left, so the next question's acceptance gets
    SQLITE_FULL ("database or disk is full")."""
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")
    for message_id in range(1, 100_000):
        try:
            connection.execute(_FILLER, (message_id,))
        except Exception as error:  # SQLITE_FULL, whichever class the connection raises it as
            assert "full" in str(error).lower(), error
            return
    raise AssertionError("the database never filled up")


def make_room(connection: sqlite3.Connection) -> None:
    connection.execute("DELETE FROM accepted WHERE chat_id = -1")
    connection.execute("PRAGMA max_page_count = 1073741823")
