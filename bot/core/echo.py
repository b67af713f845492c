"""What is left to copy from a sentence once the question's own words are taken out of it.

The model sometimes copies, from the right sentence, the very words the question asked about ("GPS"
for "Apa kepanjangan dari GPS?"); the answer usually stands beside them. See Kutip.ask.
"""

from __future__ import annotations

import re


def around(sentence: str, run: str) -> list[str]:
    """`sentence` without every occurrence of `run` (case-insensitive): the runs of whole words before,
    between and after them. A cut inside a word ("(GPS)" around "GPS") drops the piece of that word
    left at the edge, so every part is still whole words of the sentence."""
    text = " ".join(sentence.split())
    words = " ".join(run.split())
    if not words:
        return []
    pieces = re.split(re.escape(words), text, flags=re.IGNORECASE)
    if len(pieces) == 1:
        return []
    parts = []
    for n, piece in enumerate(pieces):
        kept = piece.split()
        if n > 0 and piece[:1].strip():  # the run ended inside a word
            kept = kept[1:]
        if n < len(pieces) - 1 and piece[-1:].strip():  # the run began inside a word
            kept = kept[:-1]
        if kept:
            parts.append(" ".join(kept))
    return parts
