"""One explicit transaction on an autocommit connection (open_database's), for writes that go together."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from base.errors import StorageError


@contextmanager
def transaction(connection: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[sqlite3.Connection]:
    """BEGIN … COMMIT, or ROLLBACK when the block (or the COMMIT) raises; nested use joins the outer one.

    A COMMIT refused (the database locked by another process) must not leave the transaction open: every
    later write would join it and never be committed. A disk-full error has usually rolled it back already."""
    if connection.in_transaction:
        yield connection
        return
    connection.execute(begin)
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            with contextlib.suppress(sqlite3.Error, StorageError):  # the first error is the one to report
                connection.execute("ROLLBACK")
        raise
