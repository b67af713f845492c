"""A database locked by another process and a full disk (issue 22): domain errors (StorageLocked,
StorageFull) rather than sqlite3's, nothing half-written, no transaction left open, and recovery once the
lock is released or there is room."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest

from base.errors import KutipError, StorageFull, StorageLocked
from bot.adapters.messages import message_for
from bot.core.turn import Turn
from bot.storage import DATABASE_NAME, FollowupStore, JobJournal, JobKind, PendingJob, StatsStore, open_database
from bot.storage.articles import ArticleStore
from bot.storage.faults import storage_error
from tests.storage_faults import fill, locked_by_another_process, make_room

QUICK = 0.2  # the busy timeout in these tests: the lock is held far longer


def job(message_id: int, text: str = "Kapan kerja sama dimulai?") -> PendingJob:
    return PendingJob(kind=JobKind.ASK, chat_id=7, message_id=message_id, language="id", text=text)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / DATABASE_NAME
    open_database(path).close()  # migrated before another process takes the lock
    return path


def test_a_question_accepted_while_another_process_holds_the_lock_is_refused_then_taken(path: Path) -> None:
    journal = JobJournal(open_database(path, busy_timeout_s=QUICK))
    with locked_by_another_process(path):
        with pytest.raises(StorageLocked, match="locked"):
            journal.add(job(1))
        with pytest.raises(StorageLocked):
            journal.accepted(job(1))
    # Released: the refused message was not half-accepted, so it is taken when sent again.
    assert not journal.accepted(job(1))
    assert journal.add(job(1)) is not None and len(journal) == 1


def test_a_commit_refused_by_the_lock_leaves_no_transaction_open(path: Path) -> None:
    """A reader elsewhere holds a shared lock: the writes go in, the COMMIT cannot. Were the transaction left
    open, every later write would join it and never be committed."""
    connection = open_database(path, busy_timeout_s=QUICK)
    followups = FollowupStore(connection)
    reader = open_database(path)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM jobs").fetchone()  # holds SHARED until its transaction ends
    with pytest.raises(StorageLocked):
        followups.remember(7, [100], Turn("q", "a"))
    assert not connection.in_transaction
    reader.execute("ROLLBACK")
    followups.remember(7, [101], Turn("q2", "a2"))
    assert followups.get(7, 101) is not None and followups.get(7, 100) is None
    assert open_database(path).execute("SELECT COUNT(*) FROM followups").fetchone()[0] == 1  # committed


def test_opening_a_locked_database_says_locked_not_move_it_aside(path: Path) -> None:
    with locked_by_another_process(path), pytest.raises(StorageLocked) as refused:
        open_database(path, busy_timeout_s=QUICK)
    assert "move it aside" not in str(refused.value)


def test_a_full_disk_refuses_the_job_whole_and_it_is_taken_once_there_is_room(path: Path) -> None:
    connection = open_database(path)
    journal = JobJournal(connection)
    fill(connection)
    with pytest.raises(StorageFull, match="full"):
        journal.add(job(1, "x" * 2000))
    assert not connection.in_transaction and not journal.accepted(job(1)) and len(journal) == 0
    make_room(connection)
    assert journal.add(job(1, "x" * 2000)) is not None and len(journal) == 1


def test_the_article_store_reports_a_full_disk_and_recovers(path: Path) -> None:
    connection = open_database(path, shared=True)
    store = ArticleStore(connection)
    fill(connection)
    with pytest.raises(StorageFull):
        for at in range(100_000):  # each read's row needs room; the table soon needs a page it cannot have
            store.record_read(7, float(at))
    make_room(connection)
    store.record_read(7, 1.0)


def test_a_counter_that_cannot_be_written_is_dropped_with_one_line(path: Path, caplog) -> None:
    """/stats counters are not worth refusing a question for."""
    stats = StatsStore(open_database(path, busy_timeout_s=QUICK))
    with locked_by_another_process(path), caplog.at_level(logging.WARNING):
        stats.count("busy")
        stats.record(JobKind.ASK, 1.0, 0.5)
    assert [r.exc_info for r in caplog.records] == [None, None]
    stats.count("busy")
    assert stats.counters()["busy"] == 1


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_file_system_without_room_is_storage_full(code: int) -> None:
    assert isinstance(storage_error(OSError(code, "No space left on device")), StorageFull)
    assert storage_error(OSError(errno.EACCES, "Permission denied")) is None  # not a passing condition


@pytest.mark.parametrize("error", [StorageLocked("x"), StorageFull("x")])
def test_each_fault_is_one_clear_line_in_both_languages(error: KutipError) -> None:
    english, indonesian = message_for(error, "en"), message_for(error, "id")
    assert "again" in english and "lagi" in indonesian
    assert "x" not in english.split() and english != indonesian


def test_a_strike_off_refused_by_the_lock_is_done_with_the_next_one(path: Path) -> None:
    journal = JobJournal(open_database(path, busy_timeout_s=QUICK))
    first, second = journal.add(job(1)), journal.add(job(2))
    assert first is not None and second is not None
    with locked_by_another_process(path), pytest.raises(StorageLocked):
        journal.done(first.id)
    assert [j.id for j in journal.pending()] == [first.id, second.id]  # still there: a restart would redo it
    journal.done(second.id)
    assert journal.pending() == []
