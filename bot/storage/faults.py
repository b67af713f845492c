"""The data folder's faults as domain errors: a database locked by another process, a disk that is full.

sqlite3 and the file system report them as OperationalError and OSError, which read like crashes; they are
conditions that pass (the lock is released, room is made), so they become StorageLocked and StorageFull,
which the edges word for the user ("send it again") and log as one line.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from base.errors import StorageError, StorageFull, StorageLocked

# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_FULL = 5, 6, 10, 13
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def storage_error(error: BaseException, what: str = "the database") -> StorageError | None:
    """The domain error `error` stands for, or None when it is no storage fault (a bug, a corrupt file)."""
    if isinstance(error, sqlite3.Error):
        code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
        text = str(error).lower()
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in text:
            return StorageLocked(f"{what} is locked by another process ({error})")
        if code == _SQLITE_FULL or "disk is full" in text:
            return StorageFull(f"{what} could not be written: the disk is full ({error})")
        if code == _SQLITE_IOERR:
            return StorageError(f"{what} could not be written ({error})")
    elif isinstance(error, OSError) and error.errno in _DISK_FULL:
        return StorageFull(f"{what} could not be written: the disk is full ({error.strerror})")
    return None


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Raise a disk-full or locked database inside the block as StorageFull / StorageLocked."""
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        translated = storage_error(error, what)
        if translated is None:
            raise
        raise translated from error


class Connection(sqlite3.Connection):
    """A sqlite3 connection whose statements raise StorageLocked / StorageFull for those faults, so every
    store (the journal, follow-ups, stats, articles) reports them as domain errors without wrapping each
    call. After either, the connection is usable again: no transaction is left open (transaction.py)."""

    def execute(self, *args, **kwargs) -> sqlite3.Cursor:  # type: ignore[override]
        with storage_errors("the database"):
            return super().execute(*args, **kwargs)

    def executemany(self, *args, **kwargs) -> sqlite3.Cursor:  # type: ignore[override]
        with storage_errors("the database"):
            return super().executemany(*args, **kwargs)

    def executescript(self, *args, **kwargs) -> sqlite3.Cursor:  # type: ignore[override]
        with storage_errors("the database"):
            return super().executescript(*args, **kwargs)
