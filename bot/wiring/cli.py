"""The `kutip` entry point: the CLI adapter (bot/adapters/cli.py) with what it builds handed in."""

from __future__ import annotations

import sys
from collections.abc import Callable

from bot.adapters.cli import Wiring
from bot.adapters.cli import main as cli_main
from bot.library.library import Library
from bot.wiring.settings import Settings


def _library(settings: Settings) -> Library:
    from bot.wiring.factory import build_library  # torch and faiss are imported only when a command needs them

    return build_library(settings)


def _run_bot(settings: Settings, reread: Callable[[], Settings]) -> None:
    from bot.wiring.telegram import run_bot  # python-telegram-bot only for `kutip run`

    run_bot(settings, reread)


def main(argv: list[str] | None = None) -> int:
    return cli_main(argv, Wiring(library=_library, run_bot=_run_bot))


if __name__ == "__main__":
    sys.exit(main())
