"""Prompt texts live in prompts/ as files; this module fills them in and fixes the article's system prompt."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

from bot.core.ports import Tokens
from index.article import Article, Sentence

logger = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
LANGUAGE_NAMES = {"id": "Indonesian (Bahasa Indonesia)", "en": "English"}


@cache
def _template(name: str, directory: Path = PROMPTS_DIR) -> Template:
    return Template((directory / f"{name}.txt").read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    """Fill prompts/<name>.txt; a missing value is an error, not a silent blank."""
    return _template(name).substitute({k: str(v) for k, v in values.items()}).strip()


def numbered(sentences: tuple[Sentence, ...] | list[Sentence]) -> str:
    return "\n".join(f"[{s.id}] {s.text}" for s in sentences)


@dataclass(frozen=True)
class ArticlePrompt:
    """The system prompt for one article, fixed for every question so its KV state is computed once."""

    system: str
    inlined: bool  # the whole article is in `system`; otherwise candidates go with each question

    @classmethod
    def fit(cls, article: Article, tokens: Tokens, reserved_tokens: int) -> ArticlePrompt:
        """Inline the whole article when it leaves `reserved_tokens` free in the model's context."""
        inlined = render("system", article=numbered(article.sentences))
        if tokens.count_tokens(inlined) <= tokens.context_size - reserved_tokens:
            return cls(inlined, True)
        logger.info("article too long for the context: candidate sentences go with each question instead")
        return cls(render("system", article="(The sentences you may use come with each question.)"), False)

    def candidates(self, sentences: list[Sentence]) -> str:
        """Nothing when the article is in the prompt: the grammar alone limits the ids, and listing
        bare ids next to the question tempts a small model to answer with an id."""
        if self.inlined:
            return ""
        return "Sentences you may cite:\n" + numbered(sentences)

    def excerpt(self, sentences: list[Sentence]) -> str:
        """What the model read of an article too long to inline, for a later turn about the same question
        (an inlined article is in the system prompt already)."""
        return "" if self.inlined else "Article excerpt:\n" + _by_paragraph(sentences)


def _by_paragraph(sentences: list[Sentence]) -> str:
    lines: list[str] = []
    for n, s in enumerate(sentences):
        if n and s.paragraph != sentences[n - 1].paragraph:
            lines.append("")
        lines.append(f"[{s.id}] {s.text}")
    return "\n".join(lines)
