"""Decides in code whether an answer is supported by the sentences it cites. The model never decides this."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.article import Sentence
from index.lexical import STOPWORDS, content_tokens, tokenize

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][\w'’-]*")
# Replies that mean "not in the article" whatever the ids say.
_NO_ANSWER = re.compile(
    r"^\W*(none|n/?a|unknown|not (stated|mentioned|specified)|tidak (disebutkan|diketahui|ada))\W*$", re.IGNORECASE
)


@dataclass(frozen=True)
class GroundingThresholds:
    """Tuned on the dev splits and the seed dev set (see README, "Grounding")."""

    min_dense: float = 0.45  # question–sentence cosine that alone shows the sentence is on topic
    min_coverage: float = 0.5  # ...or this share of the question's content words in the sentence's paragraph
    min_answer_overlap: float = 0.5  # same-language answers: share of their content words found in the evidence
    # A cited sentence (with its paragraph) must hold this IDF-weighted share of the question's words:
    # one that only shares the article's ubiquitous names answers a question the article never asked.
    min_cited_coverage: float = 0.2


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").replace(".", "") for n in _NUMBER.findall(text)}


def is_no_answer(text: str) -> bool:
    return not text.strip() or bool(_NO_ANSWER.match(text.strip()))


def is_on_topic(dense: float, coverage: float, t: GroundingThresholds) -> bool:
    return dense >= t.min_dense or coverage >= t.min_coverage


def unsupported_reason(answer: str, cited: list[Sentence], question: str, same_language: bool,
                       t: GroundingThresholds) -> str | None:
    """Why the cited sentences do not back `answer`, or None when they do."""
    if not cited:
        return "no citation"
    if is_no_answer(answer):
        return "the model found no answer"
    evidence = " ".join(s.text for s in cited)
    known = set(tokenize(evidence)) | set(tokenize(question))
    if not set(content_tokens(answer)) - set(tokenize(question)):
        return "the answer only repeats the question"
    missing_numbers = numbers(answer) - numbers(evidence) - numbers(question)
    if missing_numbers:
        return f"numbers not in the cited sentences: {sorted(missing_numbers)}"
    # A capitalised word is a name unless it is a function word opening a sentence ("The", "Pada");
    # a name the evidence never mentions came from somewhere else.
    names = {t for w in _NAME.findall(answer) for t in tokenize(w)[:1]}
    missing_names = names - known - STOPWORDS
    if missing_names:
        return f"names not in the cited sentences: {sorted(missing_names)}"
    if not same_language:
        # A translated answer shares few words with its source; it must still carry some anchor
        # (a name, a number, a shared term) that the cited sentences contain.
        if not set(content_tokens(answer)) & known:
            return "nothing in the answer can be found in the cited sentences"
    else:
        words = [w for w in content_tokens(answer) if not w.isdigit()]
        if words:
            overlap = sum(w in known for w in words) / len(words)
            if overlap < t.min_answer_overlap:
                return f"only {overlap:.0%} of the answer's words are in the cited sentences"
    return None
