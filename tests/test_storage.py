"""The SQLite database: migrations from nothing, refusals of files it cannot use, the job journal, follow-ups
and the /stats counters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from base.errors import KutipError
from bot.core.turn import Turn
from bot.storage import (
    DATABASE_NAME,
    SCHEMA_VERSION,
    Followup,
    FollowupStore,
    JobJournal,
    PendingJob,
    StatsStore,
    open_database,
)
from bot.storage.database import MIGRATIONS, migrate, schema_version


def tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.mark.parametrize("start", ["missing", "empty file"])
def test_an_empty_database_is_migrated_to_the_current_schema(tmp_path: Path, start: str) -> None:
    path = tmp_path / "data" / DATABASE_NAME
    if start == "empty file":
        path.parent.mkdir()
        path.write_bytes(b"")
    connection = open_database(path)
    assert schema_version(connection) == SCHEMA_VERSION == len(MIGRATIONS) >= 1
    assert "jobs" in tables(connection)
    connection.close()
    again = open_database(path)  # reopening migrates nothing and keeps the version
    assert schema_version(again) == SCHEMA_VERSION
    again.close()


def test_migrations_run_in_order_from_any_version_and_a_failed_one_leaves_the_previous(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
    steps = ("CREATE TABLE a (x INTEGER);", "ALTER TABLE a ADD COLUMN y TEXT;")
    migrate(connection, steps[:1])
    assert schema_version(connection) == 1
    migrate(connection, steps)
    assert schema_version(connection) == 2
    assert [row[1] for row in connection.execute("PRAGMA table_info(a)")] == ["x", "y"]
    with pytest.raises(KutipError, match="migration 3 failed"):
        migrate(connection, (*steps, "CREATE TABLE b (x); CREATE TABLE a (x);"))
    assert schema_version(connection) == 2 and "b" not in tables(connection)


def test_a_newer_or_foreign_database_is_refused_in_one_line(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(KutipError, match="newer than this Kutip"):
        open_database(newer)
    foreign = tmp_path / "foreign.sqlite3"
    foreign.write_bytes(b"this is not a database at all, just some text" * 100)
    with pytest.raises(KutipError, match="not a readable SQLite database"):
        open_database(foreign)


def test_the_job_journal_keeps_plain_jobs_in_order_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_NAME
    journal = JobJournal(open_database(path))
    first = journal.add(PendingJob("ask", 111, 7, "id", "Apa tujuan OpenAI?", user_id=111))
    follow = journal.add(
        PendingJob("ask", -100, 9, "en", "And when?", thread_id=3, history_question="What?", history_answer="X.")
    )
    summary = journal.add(PendingJob("summary", 222, 11, "en", "id", article_id="3f2a" * 16))
    assert first.id is not None and first.id < follow.id < summary.id
    journal.done(first.id)

    reopened = JobJournal(open_database(path))
    assert reopened.pending() == [follow, summary]
    assert len(reopened) == 2


def test_the_same_message_journaled_twice_is_one_job_even_after_it_was_done(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_NAME
    journal = JobJournal(open_database(path))
    question = PendingJob("ask", 111, 7, "id", "Apa tujuan OpenAI?", user_id=111)
    first = journal.add(question)
    assert first is not None and journal.add(question) is None
    assert journal.pending() == [first]
    journal.done(first.id)  # answered; Telegram then delivers the update again after a crash
    reopened = JobJournal(open_database(path))
    assert reopened.accepted(question) and reopened.add(question) is None and len(reopened) == 0
    # Another message, or another kind of job from the same message, is a job of its own.
    assert reopened.add(PendingJob("ask", 111, 8, "id", "Lagi?")) is not None
    assert reopened.add(PendingJob("summary", 111, 7, "id", "id")) is not None
    assert reopened.add(PendingJob("ask", 222, 7, "id", "Apa?")) is not None


def test_jobs_journaled_before_the_migration_are_known_as_accepted(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
    migrate(connection, MIGRATIONS[:4])  # a data folder of the previous version, one job pending
    connection.execute(
        "INSERT INTO jobs (kind, chat_id, message_id, language, text, created_at) VALUES ('ask', 5, 6, 'id', 'Q?', 0)"
    )
    connection.close()
    journal = JobJournal(open_database(tmp_path / DATABASE_NAME))
    [pending] = journal.pending()
    assert journal.add(PendingJob("ask", 5, 6, "id", "Q?")) is None and journal.pending() == [pending]


def test_followups_are_bounded_keep_every_part_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_NAME
    followups = FollowupStore(open_database(path), capacity=3)
    turn = Turn("q1", "a1")
    followups.remember(10, [1, 2], turn, article_id="abc")
    assert followups.get(10, 2) == Followup(turn, "abc") and followups.get(11, 2) is None
    followups.remember(10, [3, 4], Turn("q2", "a2"))
    assert len(followups) == 3 and followups.get(10, 1) is None  # the oldest fell out
    followups.remember(10, [2], turn, article_id="abc")  # remembered again: the most recent now
    followups.remember(10, [5], Turn("q3", "a3"))
    assert followups.get(10, 2) is not None and followups.get(10, 3) is None

    # An answer whose message id never came back is found by the text a reply carries.
    followups.remember(20, [], Turn("q4", "a4"), shown_texts=["Jawaban:  panjang\n\nkutipan", "  "])
    assert followups.get(20, 999, "Jawaban: panjang kutipan") == Followup(Turn("q4", "a4"))
    assert followups.get(20, 999, "lain") is None

    reopened = FollowupStore(open_database(path), capacity=3)
    assert reopened.get(20, 999, "Jawaban: panjang kutipan") == Followup(Turn("q4", "a4"))
    assert reopened.get(10, 5) == Followup(Turn("q3", "a3"))
    reopened.forget_article(None)  # /reload: the default article's turns go, others stay
    assert len(reopened) == 1 and reopened.get(10, 5) is None and reopened.get(10, 2).article_id == "abc"


def test_stats_count_and_keep_recent_latencies_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_NAME
    stats = StatsStore(open_database(path), latencies_kept=3)
    stats.record("ask", 1.0, 0.5, refused=True)
    stats.record("ask", 3.0, 0.7)
    stats.record("summary", 9.0, 9.0)
    stats.count("busy")
    snap = stats.snapshot()
    assert (snap["questions"], snap["refusals"], snap["summaries"], snap["busy"], snap["errors"]) == (2, 1, 1, 1, 0)
    assert (snap["p50"], snap["p95"], snap["model_p95"]) == ("2.00", "2.90", "0.69")
    with pytest.raises(ValueError):
        stats.count("nonsense")

    reopened = StatsStore(open_database(path), latencies_kept=3)
    assert reopened.snapshot() == snap
    for waited in (10.0, 20.0, 30.0):
        reopened.record("ask", waited, 1.0)
    later = reopened.snapshot()
    assert later["questions"] == 5 and later["p50"] == "20.00"  # only the 3 most recent latencies are kept
