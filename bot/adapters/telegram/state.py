"""What the handlers share, kept in `application.bot_data` under one key."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from telegram.ext import CallbackContext

from bot.adapters.telegram.chat_articles import ChatArticles
from bot.adapters.telegram.desk import Desk
from bot.adapters.telegram.reading import Reader
from bot.adapters.telegram.rebuild import Rebuilder
from bot.core.ports import AnswerCore
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
    articles: ChatArticles  # which article each chat is about, and its core
    reader: Reader | None = None  # reads articles sent from chats; None without a library
    rebuilder: Rebuilder | None = None  # /reload; None when the bot was started without a way to rebuild
    restoring: asyncio.Task[int] | None = None  # re-queues the journal's jobs after a restart
    interrupt: Callable[[], None] | None = None  # interrupts the model call in progress, at a stop

    @property
    def core(self) -> AnswerCore:
        """The current answer core; /reload swaps it on the desk when a rebuild is ready."""
        return self.desk.core


def state_of(context: CallbackContext) -> State:
    return context.application.bot_data[KEY]
