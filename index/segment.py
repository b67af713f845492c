"""Splits cleaned text into paragraphs and sentences, each sentence an exact substring with offsets.

pysbd's time grows with the square of the text it is given (measured: 57 KB of one paragraph took 3.2 s,
228 KB 37.5 s), so it is never given more than CHUNK_CHARS at once: a longer paragraph is first cut at a
sentence end (". ", "? ", "! "), else at a space, else anywhere. The work of a whole read is bounded too:
past SPLIT_BUDGET_S the rest is split by a linear rule, and a `max_sentences` bound stops splitting as
soon as it is passed rather than after the whole text.
"""

from __future__ import annotations

import logging
import re
import time
from functools import lru_cache

from base.errors import ArticleTooLarge
from index.article import Sentence

logger = logging.getLogger(__name__)

# Longer paragraphs are cut before pysbd sees them. pysbd pairs quotes across a whole paragraph, so a cut
# can change its splits: at 20,000 characters every one of the 1,123 bench documents (longest paragraph
# 19,895) is split as before, while at 4,000 three were not. Measured here: 20,000 characters take 0.14 s,
# 7 ms per KB, so a read's splitting grows linearly with its size (40,000 took 0.64 s, 16 ms per KB).
CHUNK_CHARS = 20_000
# pysbd's time for one read, after which the rest of the text is split by the linear rule. Normal text
# reaches the sentence bound long before (2,000 sentences are about 200 KB, a few seconds); only megabytes
# with few sentence ends get here.
SPLIT_BUDGET_S = 10.0

# Where a long paragraph is best cut: after a sentence's end mark (and closing quotes or brackets) and
# the spaces that follow it, so the cut falls between two sentences.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*\s+")
# The linear rule: a sentence runs to an end mark (and closing quotes) followed by a space, or to the end.
_LINEAR_SENTENCE = re.compile(r"\S.*?(?:[.!?…]+[\"'”’»)\]]*(?=\s)|\Z)", flags=re.DOTALL)


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    # pysbd has no Indonesian rules; its English rules handle what both languages share here
    # (decimal numbers, "$1 miliar", "(IPO)", initials, quoted speech) and do not split on "Dr."/"Mr.".
    return pysbd.Segmenter(language="en", clean=False)


def chunks(paragraph: str, size: int = CHUNK_CHARS) -> list[str]:
    """`paragraph` cut into consecutive pieces of at most `size` characters that join back into it,
    each cut after a sentence end when there is one in the latter half of the piece, else after a space."""
    pieces: list[str] = []
    start = 0
    while len(paragraph) - start > size:
        window = paragraph[start : start + size]
        cut = 0
        for match in _SENTENCE_END.finditer(window, size // 2):
            cut = match.end()
        if not cut:
            cut = window.rfind(" ", size // 2) + 1  # after the last space; 0 when there is none
        if not cut:
            cut = size  # one unbroken run of characters: cut anywhere
        pieces.append(paragraph[start : start + cut])
        start += cut
    pieces.append(paragraph[start:])
    return pieces


def split_linear(text: str) -> list[str]:
    """Sentences by a rule that takes time linear in `text`: an end mark followed by a space ends one."""
    return [m.group(0).strip() for m in _LINEAR_SENTENCE.finditer(text) if m.group(0).strip()]


def segment(text: str, max_sentences: int | None = None, budget_s: float = SPLIT_BUDGET_S) -> tuple[Sentence, ...]:
    """Number paragraphs (blank-line separated) and their sentences from 1, locating each in `text`.

    With `max_sentences`, ArticleTooLarge is raised as soon as there are more (its size counts the rest by
    the linear rule, an estimate). Past `budget_s` of splitting, the rest is split by the linear rule.
    """
    sentences: list[Sentence] = []
    paragraph_no = 0
    deadline = time.monotonic() + budget_s
    linear = False
    for para_match in re.finditer(r"(?:(?!\n\s*\n).)+", text, flags=re.DOTALL):
        paragraph = para_match.group(0)
        if not paragraph.strip():
            continue
        paragraph_no += 1
        cursor, number = para_match.start(), 0
        for chunk in chunks(paragraph):
            if not linear and time.monotonic() > deadline:
                logger.warning("sentence splitting ran past %.0f s: the rest is split by the linear rule", budget_s)
                linear = True
            pieces = split_linear(chunk) if linear else [p.strip() for p in _segmenter().segment(chunk)]
            for piece in filter(None, pieces):
                start = text.find(piece, cursor, para_match.end())
                if start < 0:  # the splitter must never rewrite text: citations depend on it
                    raise ValueError(f"sentence not found verbatim in paragraph {paragraph_no}: {piece[:60]!r}")
                number += 1
                end = start + len(piece)
                sentences.append(Sentence(paragraph=paragraph_no, sentence=number, text=piece, start=start, end=end))
                cursor = end
            if max_sentences is not None and len(sentences) > max_sentences:
                rest = len(split_linear(text[cursor:]))
                raise ArticleTooLarge("", len(sentences) + rest, max_sentences, "sentences")
    return tuple(sentences)
