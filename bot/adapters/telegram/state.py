"""What the handlers share, kept in `application.bot_data` under one key."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from telegram.ext import CallbackContext

from bot.adapters.telegram.desk import Desk
from bot.adapters.telegram.reading import Reader
from bot.library.ports import ArticleLibrary
from bot.storage import FollowupStore, JobJournal, StatsStore
from bot.wiring.settings import Settings

KEY = "kutip"


@dataclass
class State:
    settings: Settings
    desk: Desk
    database: sqlite3.Connection  # kutip.sqlite3: the stores below write through it; closed at stop
    followups: FollowupStore  # which answer a reply follows up, kept across restarts
    journal: JobJournal  # accepted jobs not answered yet, kept across restarts
    stats: StatsStore  # the /stats counters the desk does not count itself (articles read)
    library: ArticleLibrary  # the one door to a core: each chat's article, and every article's core
    reader: Reader  # the library's slow calls (a read, /reload), off the event loop
    restoring: asyncio.Task[int] | None = None  # re-queues the journal's jobs after a restart
    interrupt: Callable[[], None] | None = None  # interrupts the model call in progress, at a stop


def state_of(context: CallbackContext) -> State:
    return context.application.bot_data[KEY]
