"""The counters and recent latencies behind /stats, in the `counters` and `latencies` tables, so a restart
keeps them."""

from __future__ import annotations

import logging
import sqlite3

from base.errors import StorageError
from base.measure import percentile
from bot.storage.database import migrate
from bot.storage.jobs import JobKind
from bot.storage.transaction import transaction

# Counted events. "questions", "refusals", "summaries" come from finished jobs; the others from the desk.
COUNTERS = ("questions", "refusals", "errors", "summaries", "busy", "rate_limited", "reads", "read_failures")

logger = logging.getLogger(__name__)

# Recent questions only, so the percentiles follow the current load.
LATENCIES_KEPT = 1000


class StatsStore:
    def __init__(self, connection: sqlite3.Connection, latencies_kept: int = LATENCIES_KEPT) -> None:
        self._db = connection
        self.latencies_kept = latencies_kept

    def count(self, name: str, by: int = 1) -> None:
        """Add `by` to the counter `name` (one of COUNTERS); dropped, with one log line, when the database is
        locked or full: a counter is not worth refusing a question or a read for."""
        if name not in COUNTERS:
            raise ValueError(f"unknown counter {name!r}")
        try:
            self._count(name, by)
        except StorageError as error:
            logger.warning("counter %s not counted: %s", name, error)

    def _count(self, name: str, by: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ?",
            (name, by, by),
        )

    def record(self, kind: JobKind, waited_s: float, model_s: float, refused: bool = False) -> None:
        """Count one finished job; latencies are kept for questions only.

        `waited_s` runs from enqueue to result, `model_s` is the time inside the core.
        """
        if kind in (JobKind.SUMMARY, JobKind.DIGEST):
            self.count("summaries")
        if kind != JobKind.ASK:
            return
        try:
            self._record(waited_s, model_s, refused)
        except StorageError as error:
            logger.warning("question's latency not recorded: %s", error)

    def _record(self, waited_s: float, model_s: float, refused: bool) -> None:
        with transaction(self._db):
            self._count("questions", 1)
            if refused:
                self._count("refusals", 1)
            self._db.execute("INSERT INTO latencies (total_s, model_s) VALUES (?, ?)", (waited_s, model_s))
            self._db.execute(
                "DELETE FROM latencies WHERE id <= (SELECT id FROM latencies ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (self.latencies_kept,),
            )

    def counters(self) -> dict[str, int]:
        values = dict.fromkeys(COUNTERS, 0)
        values.update({row["name"]: row["value"] for row in self._db.execute("SELECT name, value FROM counters")})
        return values

    def snapshot(self) -> dict[str, object]:
        """Every counter, and latency p50/p95 (total and inside the model) as text with two decimals."""

        def fmt(value: float | None) -> str:
            return "–" if value is None else f"{value:.2f}"

        rows = self._db.execute("SELECT total_s, model_s FROM latencies").fetchall()
        total, model = [row["total_s"] for row in rows], [row["model_s"] for row in rows]
        return {
            **self.counters(),
            "p50": fmt(percentile(total, 50)),
            "p95": fmt(percentile(total, 95)),
            "model_p50": fmt(percentile(model, 50)),
            "model_p95": fmt(percentile(model, 95)),
        }


def in_memory_stats() -> StatsStore:
    """Counters kept for one process only (a bench, a test): the same schema in an in-memory database."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    migrate(connection)
    return StatsStore(connection)
