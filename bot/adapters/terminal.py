"""Plain-text rendering of answers, summaries and sources for the terminal."""

from __future__ import annotations

import textwrap

from bot.adapters.messages import bullet_text
from bot.core.results import Answer, Citation, Summary
from index.article import Sentence

_WIDTH = 100


def quote(c: Citation) -> str:
    body = textwrap.fill(f"“{c.text}”", _WIDTH, initial_indent="    ", subsequent_indent="     ")
    return f"  [{c.id}] paragraph {c.paragraph}, sentence {c.sentence}\n{body}"


def answer_text(answer: Answer) -> str:
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.extend(quote(c) for c in answer.citations)
    return "\n".join(lines)


def summary_text(summary: Summary) -> str:
    """Each bullet with its sentence ids, and below it the sentence it cites unless the bullet is that sentence.
    A bullet left in the article's words is marked so, in the summary's language."""
    lines = []
    for bullet in summary.bullets:
        ids = ", ".join(c.id for c in bullet.citations)
        lines.append(
            textwrap.fill(f"• {bullet_text(bullet, summary.language)} [{ids}]", _WIDTH, subsequent_indent="  ")
        )
        lines.extend(quote(c) for c in bullet.citations if not bullet.is_its_sentence(c))
    return "\n".join(lines)


def source_text(sentence: Sentence, paragraph: tuple[Sentence, ...]) -> str:
    """The paragraph with the asked-for sentence marked, so it reads in context."""
    parts = [f">>> {s.text} <<<" if s == sentence else s.text for s in paragraph]
    header = f"[{sentence.id}] paragraph {sentence.paragraph}, sentence {sentence.sentence}"
    return header + "\n" + textwrap.fill(" ".join(parts), _WIDTH)
