"""What the handlers share, kept in `application.bot_data` under one key."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import CallbackContext

from bot.adapters.telegram.desk import Desk
from bot.adapters.telegram.followups import Followups
from bot.adapters.telegram.rebuild import Rebuilder
from bot.core.ports import AnswerCore
from bot.wiring.settings import Settings

KEY = "kutip"


@dataclass
class State:
    settings: Settings
    desk: Desk
    followups: Followups
    rebuilder: Rebuilder | None = None  # /reload; None when the bot was started without a way to rebuild

    @property
    def core(self) -> AnswerCore:
        """The current answer core; /reload swaps it on the desk when a rebuild is ready."""
        return self.desk.core


def state_of(context: CallbackContext) -> State:
    return context.application.bot_data[KEY]
