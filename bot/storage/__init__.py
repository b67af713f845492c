"""Kutip's one SQLite database in the data directory: a versioned schema, its migrations, and small stores.

It keeps the jobs accepted from chats and not yet answered (jobs.py), so a restart loses no question,
the follow-up context (followups.py) and the /stats counters (stats.py); article metadata and chats'
articles too. Each is a migration in database.MIGRATIONS and a small store module.
"""

from bot.storage.articles import ArticleEntry, ArticleStore
from bot.storage.database import DATABASE_NAME, SCHEMA_VERSION, open_database
from bot.storage.followups import Followup, FollowupStore
from bot.storage.jobs import JobJournal, JobKind, PendingJob
from bot.storage.stats import StatsStore, in_memory_stats

__all__ = [
    "ArticleEntry",
    "ArticleStore",
    "DATABASE_NAME",
    "SCHEMA_VERSION",
    "Followup",
    "FollowupStore",
    "JobJournal",
    "JobKind",
    "PendingJob",
    "StatsStore",
    "in_memory_stats",
    "open_database",
]
