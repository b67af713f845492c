"""The Telegram adapter: triggers, queueing, formatting and sending around the answer core.

`kutip run` starts it over the article library: bot.wiring.telegram.run_bot(settings).
"""

from bot.adapters.telegram.app import build_application, run

__all__ = ["build_application", "run"]
