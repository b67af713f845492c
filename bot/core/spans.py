"""Copied runs of words: trimming what a cut leaves at their edges, and where a sentence may be cut.

Shared by copied answers (bot/core/answer.py) and summary bullets (bot/core/summary.py), so both trim the
same way.
"""

from __future__ import annotations

import re

from base.words import DANGLING_WORDS

EDGE_PUNCTUATION = ",;:.!?"
PAIRS = {"(": ")", "[": "]", '"': '"', "“": "”", "'": "'", "‘": "’"}


def tidy_span(answer: str, edges: str = EDGE_PUNCTUATION, leading: bool = False, keep_full_stop: bool = False) -> str:
    """A copied run of words without the punctuation it took from the sentence around it: trailing
    commas and full stops, and a bracket or quote whose partner stayed behind ("(Panthera tigris" ).

    `edges` are the marks trimmed; `leading` trims them at the start too (a bullet copied after a dateline's
    dash); `keep_full_stop` keeps a final full stop (a bullet that reaches its sentence's end). When nothing
    would be left, the run is returned as it was.
    """
    text = answer.strip()
    while True:
        before = text
        if leading:
            text = text.lstrip(edges).strip()
        stop = "." if keep_full_stop and text.endswith(".") and not text.endswith("..") else ""
        text = text[: len(text) - len(stop)].rstrip(edges).strip() + stop
        for opening, closing in PAIRS.items():
            if text.startswith(opening) and closing not in text[1:]:
                text = text[1:].strip()
            if text.endswith(closing) and opening not in text[:-1]:
                text = text[:-1].strip()
            if len(text) > 1 and text.startswith(opening) and text.endswith(closing) and opening != closing:
                inner = text[1:-1]
                if opening not in inner and closing not in inner:
                    text = inner.strip()
        if text == before:
            return text or answer.strip()


# Words that open a clause a sentence may lose without losing its own subject, verb and object: what follows
# ", sehingga ..." or ", yang ..." adds to the sentence, and the sentence before the comma still stands.
CLAUSE_OPENERS = frozenset(
    "sehingga karena ketika saat sementara sedangkan namun tetapi padahal meskipun walaupun agar supaya setelah "
    "sebelum sejak hingga yang sebuah yakni yaitu termasuk seperti dimana "
    "which while because although though when after before so but including whose where".split()
)
_WORD = re.compile(r"[^\W_]+")


def clause_ends(text: str) -> list[int]:
    """Where `text` may be cut and still end a whole clause: before ", " when the next word opens a clause
    (CLAUSE_OPENERS), and before any "; " or dash (" -- ", " – ", " — "), but never after a word that cannot
    end a phrase (DANGLING_WORDS). A spaced single hyphen is no dash: IndoSum writes "me - manage", "2 - 0".
    Offsets into `text`, in order."""
    ends = []
    for m in re.finditer(r"\s*(?:[,;]|\s(?:--|–|—))\s+", text):
        mark, after = m.group().strip(), text[m.end() :]
        following = _WORD.match(after)
        before = _WORD.findall(text[: m.start()])
        if not before or before[-1].casefold() in DANGLING_WORDS:
            continue
        if mark != "," or (following and following.group().casefold() in CLAUSE_OPENERS):
            ends.append(m.start())
    return ends


def without_asides(text: str) -> str:
    """`text` without relative clauses set off by commas (", yang pernah dipuji ..., berada" becomes
    " berada"): the sentence keeps its subject, verb and object. Only an aside closed by a second comma
    that the sentence continues after in lowercase (its predicate) is taken out."""
    pattern = re.compile(r", (?:yang|which|who) [^,;:\"“”]+, (?=[a-z])")
    return " ".join(pattern.sub(" ", text).split())
