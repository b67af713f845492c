"""Kutip's one SQLite database in the data directory: a versioned schema, its migrations, and small stores.

Today it keeps the jobs accepted from chats and not yet answered (jobs.py), so a restart loses no
question. Article metadata, chats' articles, follow-ups and the /stats counters belong here too: each
is a new migration in database.MIGRATIONS and a small store module beside jobs.py.
"""

from bot.storage.database import DATABASE_NAME, SCHEMA_VERSION, open_database
from bot.storage.jobs import JobJournal, PendingJob

__all__ = ["DATABASE_NAME", "SCHEMA_VERSION", "JobJournal", "PendingJob", "open_database"]
