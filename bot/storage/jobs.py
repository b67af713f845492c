"""The job journal: work accepted from a chat is written down before it is queued and struck off once its
answer is delivered, so jobs left in the queue by a stop are answered after the restart.

Jobs are plain rows (never pickles): who asked what, where to reply, in which language, and the earlier
turn when the question was a follow-up. Each message is accepted once: the `accepted` table keeps its
(chat, message, kind) after the job is done, so an update delivered again is not answered again.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from bot.storage.transaction import transaction

# How long an accepted message is remembered: Telegram keeps an update it could not deliver, or whose
# delivery was not confirmed, for 24 hours; twice that covers a bot that was down for a while too.
ACCEPTED_KEPT_S = 48 * 3600

_COLUMNS = (
    "kind",
    "chat_id",
    "message_id",
    "thread_id",
    "user_id",
    "language",
    "text",
    "history_question",
    "history_answer",
    "article_id",
)


class JobKind(StrEnum):
    """What a job asks of its article's core; stored by value in the journal."""

    ASK = "ask"  # a question
    SUMMARY = "summary"  # /summary: every bullet
    DIGEST = "digest"  # a new article's first summary, cut short (after /read)


@dataclass(frozen=True)
class PendingJob:
    """A question or summary request, as plain data: enough to do it and to reply to the asker."""

    kind: JobKind  # a row journaled by another version may hold a kind this one lacks: JobKind(kind) refuses it
    chat_id: int
    message_id: int  # the asker's message; the answer replies to it
    language: str  # the asker's interface language
    text: str  # the question, or the summary's language
    thread_id: int | None = None
    user_id: int | None = None
    history_question: str | None = None  # the earlier turn, for a follow-up
    history_answer: str | None = None
    article_id: str | None = None  # the article to answer about; None: the default article
    id: int | None = None  # set by JobJournal.add


class JobJournal:
    """Pending jobs in the `jobs` table, in the order they were accepted."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._to_strike: set[int] = set()  # answered jobs whose strike-off the database refused (locked, full)

    def add(self, job: PendingJob) -> PendingJob | None:
        """Write `job` down; returns it with its id, or None when its message was accepted before (an update
        Telegram delivers again after a crash: it is answered, or still in the journal, already)."""
        values = {name: value for name, value in asdict(job).items() if name in _COLUMNS}
        now = time.time()
        with transaction(self._db) as db:
            db.execute("DELETE FROM accepted WHERE accepted_at < ?", (now - ACCEPTED_KEPT_S,))
            first = db.execute(
                "INSERT OR IGNORE INTO accepted (chat_id, message_id, kind, accepted_at) VALUES (?, ?, ?, ?)",
                (job.chat_id, job.message_id, job.kind, now),
            )
            if first.rowcount == 0:
                return None
            cursor = db.execute(
                f"INSERT INTO jobs ({', '.join(_COLUMNS)}, created_at) VALUES ({', '.join('?' * len(_COLUMNS))}, ?)",
                (*(values[name] for name in _COLUMNS), now),
            )
        return replace(job, id=cursor.lastrowid)

    def accepted(self, job: PendingJob) -> bool:
        """Whether `job`'s message was accepted as a job of its kind already (see `add`)."""
        row = self._db.execute(
            "SELECT 1 FROM accepted WHERE chat_id = ? AND message_id = ? AND kind = ? AND accepted_at >= ?",
            (job.chat_id, job.message_id, job.kind, time.time() - ACCEPTED_KEPT_S),
        ).fetchone()
        return row is not None

    def done(self, job_id: int | None) -> None:
        """Strike a job off: it was answered (or given up), and must not be done again after a restart.

        When the database refuses (StorageLocked, StorageFull: raised), the job is struck off with the next
        one, so a lock held for a while costs no second answer unless Kutip restarts meanwhile."""
        if job_id is not None:
            self._to_strike.add(job_id)
        if self._to_strike:
            ids = sorted(self._to_strike)
            self._db.execute(f"DELETE FROM jobs WHERE id IN ({', '.join('?' * len(ids))})", ids)
            self._to_strike.difference_update(ids)

    def pending(self) -> list[PendingJob]:
        rows = self._db.execute(f"SELECT id, {', '.join(_COLUMNS)} FROM jobs ORDER BY id").fetchall()
        return [PendingJob(**dict(row)) for row in rows]

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]

    def close(self) -> None:
        """Close the database connection (at shutdown; every write is already committed)."""
        self._db.close()
