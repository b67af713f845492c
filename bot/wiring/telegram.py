"""The Telegram bot over the article library: chats read articles of their own, the default article stays
KUTIP_ARTICLE, and every article's core (the default's too) takes turns on the one model.

`kutip run` calls `run_bot(settings, reread)` when a token is set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.adapters.telegram.app import run
from bot.wiring.factory import build_library
from bot.wiring.settings import Settings

logger = logging.getLogger(__name__)


def run_bot(settings: Settings, reread: Callable[[], Settings] | None = None) -> None:
    """Serve Telegram until interrupted (see bot.adapters.telegram.app.run), over the article library.

    The default article's core is built and warmed before the first update, so the first question pays only
    for itself; /reload reads KUTIP_ARTICLE again with the settings `reread()` returns (an edited .env counts).
    """
    # Set by the bot when it stops: the model call in progress ends at once and its job stays journaled,
    # rather than holding the exit for as long as the answer takes (30 s and more).
    stop = threading.Event()
    library = build_library(settings, reread=reread, stop=stop)
    library.core(library.default.id).warm()
    run(settings, library, interrupt=stop.set)
