"""The Telegram bot over the article library: chats read articles of their own, the default article stays
KUTIP_ARTICLE, and every article's core (the default's too) takes turns on the one model.

`kutip run` calls `run_bot(settings, reread)` when a token is set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.core.ports import AnswerCore
from bot.library.library import Library
from bot.wiring.factory import article_limits, build_library, fetch_policy
from bot.wiring.settings import Settings
from index.ingest import load_article

logger = logging.getLogger(__name__)


def default_core(library: Library) -> AnswerCore:
    """The default article's core, warmed: a library core, so its model calls take turns with every other
    article's (a core built apart would move the model's prefix behind the library's back)."""
    core = library.core(library.default.id)
    core.warm()
    return core


def default_reloader(library: Library, reread: Callable[[], Settings]) -> Callable[[], AnswerCore]:
    """/reload: read KUTIP_ARTICLE again (settings re-read, so an edited .env counts), make it the library's
    default, and return its warmed core. Runs in a worker thread (bot/adapters/telegram/rebuild.py)."""

    def reload() -> AnswerCore:
        settings = reread()
        article = load_article(settings.article, fetch_policy(settings), article_limits(settings))
        entry = library.register_default(article)
        logger.info("default article is now %s (%d sentences)", entry.short_id, entry.sentences)
        return default_core(library)

    return reload


def run_bot(settings: Settings, reread: Callable[[], Settings] | None = None) -> None:
    """Serve Telegram until interrupted (see bot.adapters.telegram.app.run), over the article library."""
    from bot.adapters.telegram.app import run

    # Set by the bot when it stops: the model call in progress ends at once and its job stays journaled,
    # rather than holding the exit for as long as the answer takes (30 s and more).
    stop = threading.Event()
    library = build_library(settings, stop=stop)
    run(
        settings,
        default_core(library),
        reload=default_reloader(library, reread or (lambda: settings)),
        library=library,
        interrupt=stop.set,
    )
