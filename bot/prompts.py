"""Prompt texts live in prompts/ as files; this module fills them in."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from string import Template

from bot.settings import PROMPTS_DIR

LANGUAGE_NAMES = {"id": "Indonesian (Bahasa Indonesia)", "en": "English"}


@lru_cache(maxsize=None)
def _template(name: str, directory: Path = PROMPTS_DIR) -> Template:
    return Template((directory / f"{name}.txt").read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    """Fill prompts/<name>.txt; a missing value is an error, not a silent blank."""
    return _template(name).substitute({k: str(v) for k, v in values.items()}).strip()
