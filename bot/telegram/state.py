"""What the handlers share, kept in `application.bot_data` under one key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from telegram.ext import CallbackContext

from bot.settings import Settings
from bot.telegram.desk import Desk
from bot.telegram.followups import Followups
from bot.telegram.ratelimit import SlidingWindow

KEY = "kutip"


@dataclass
class State:
    settings: Settings
    desk: Desk
    followups: Followups
    rate: SlidingWindow
    reload: Callable[[], Any] | None = None

    @property
    def core(self) -> Any:
        """The current answer core; /reload swaps it on the desk."""
        return self.desk.core


def state_of(context: CallbackContext) -> State:
    return context.application.bot_data[KEY]
