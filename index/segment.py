"""Splits cleaned text into paragraphs and sentences, each sentence an exact substring with offsets."""

from __future__ import annotations

import re
from functools import lru_cache

from index.article import Sentence


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    # pysbd has no Indonesian rules; its English rules handle what both languages share here
    # (decimal numbers, "$1 miliar", "(IPO)", initials, quoted speech) and do not split on "Dr."/"Mr.".
    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(paragraph: str) -> list[str]:
    pieces = [p.strip() for p in _segmenter().segment(paragraph)]
    return [p for p in pieces if p]


def segment(text: str) -> tuple[Sentence, ...]:
    """Number paragraphs (blank-line separated) and their sentences from 1, locating each in `text`."""
    sentences: list[Sentence] = []
    paragraph_no = 0
    for para_match in re.finditer(r"(?:(?!\n\s*\n).)+", text, flags=re.DOTALL):
        paragraph = para_match.group(0)
        if not paragraph.strip():
            continue
        paragraph_no += 1
        cursor = para_match.start()
        for number, piece in enumerate(split_sentences(paragraph), start=1):
            start = text.find(piece, cursor)
            if start < 0:  # the splitter must never rewrite text: citations depend on it
                raise ValueError(f"sentence not found verbatim in paragraph {paragraph_no}: {piece[:60]!r}")
            end = start + len(piece)
            sentences.append(Sentence(paragraph=paragraph_no, sentence=number, text=piece, start=start, end=end))
            cursor = end
    return tuple(sentences)
