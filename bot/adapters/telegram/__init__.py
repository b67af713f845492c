"""The Telegram adapter: triggers, queueing, formatting and sending around the answer core.

from bot.adapters.telegram import build_application, run
run(settings, core, reload=lambda: build_core(settings))
"""

from bot.adapters.telegram.app import build_application, run

__all__ = ["build_application", "run"]
