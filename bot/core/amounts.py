"""An amount copied as an answer keeps what it counts: "Rp 3,717 miliar", not "3,717 miliar".

The copying grammar lets the model stop anywhere, and the 1.5B model often stops at the bare number:
"84" for "Berapa penumpang …?" when its sentence says "84 penumpang". Code puts back two neighbours
that belong to the number: a currency sign just before it, and the very noun the question counts
("berapa penumpang", "how many points") just after it. Nothing else is added, so an answer still is a
run of its sentence's words.
"""

from __future__ import annotations

import re

from base.words import stems

_CURRENCY = re.compile(r"^(?:rp\.?|us\$|s\$|a\$|\$|€|£|¥|usd|idr|eur|rm)$", re.IGNORECASE)
_NUMBER = re.compile(r"^(?:rp\.?|us\$|\$|€|£|¥)?\d+(?:[.,]\d+)*%?$", re.IGNORECASE)
_SCALE = frozenset(
    "ribu juta miliar milyar triliun ratus puluh belas thousand million billion trillion hundred".split()
)
# The noun a quantity question counts: "berapa penumpang", "berapakah korban", "how many points".
_COUNTED = re.compile(r"\b(?:berapa(?:kah)?|how\s+many|how\s+much)\s+([^\W\d_]+)", re.IGNORECASE)
_EDGES = ",;:.!?()\"'“”‘’"


def with_unit(answer: str, sentence: str, question: str) -> str:
    """`answer` with the currency before it and the counted noun after it, when `sentence` has them there."""
    words = sentence.split()
    bare = [w.strip(_EDGES).lower() for w in words]
    run = [w.strip(_EDGES).lower() for w in answer.split()]
    start = _find(bare, run)
    if start is None:
        return answer
    end = start + len(run)
    counted = stems(" ".join(_COUNTED.findall(question)))
    if (
        counted
        and end < len(words)
        and _is_amount(run[-1])
        and not words[end - 1].endswith(tuple(_EDGES))
        and stems(bare[end]) & counted
    ):
        answer = f"{answer} {words[end].strip(_EDGES)}"
    if start > 0 and run[0][:1].isdigit() and _CURRENCY.match(words[start - 1]):
        answer = f"{words[start - 1]} {answer}"
    return answer


def _is_amount(word: str) -> bool:
    return bool(_NUMBER.match(word)) or word in _SCALE


def _find(words: list[str], run: list[str]) -> int | None:
    if not run:
        return None
    for start in range(len(words) - len(run) + 1):
        if words[start : start + len(run)] == run:
            return start
    return None
