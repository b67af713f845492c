"""The grounding policy: decides in code which sentences may be cited and whether they back an answer.

Everything that judges support lives here: how much of a question a paragraph covers, the thresholds,
which candidates are on topic, the choice of citation, and the checks of an answer against its
evidence. Words are compared in one way only, `base.words.found_in` (same stem). The model never
decides any of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from base.words import STOPWORDS, content_tokens, found_in, stems, tokenize
from index.article import Sentence
from index.lexical import BM25
from index.retrieve import Hit
from index.store import StoredIndex

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][\w'’-]*")
# Replies that mean "not in the article" whatever the ids say.
_NO_ANSWER = re.compile(
    r"^\W*(none|n/?a|unknown|not (stated|mentioned|specified)|tidak (disebutkan|diketahui|ada))\W*$", re.IGNORECASE
)


@dataclass(frozen=True)
class GroundingThresholds:
    """Tuned on the dev splits and the seed dev set (see README, "Trust: who decides that an answer is supported")."""

    min_dense: float = 0.45  # question–sentence cosine that alone shows the sentence is on topic
    min_coverage: float = 0.5  # ...or this share of the question's content words in the sentence's paragraph
    min_answer_overlap: float = 0.5  # same-language answers: share of their content words found in the evidence
    # A cited sentence (with its paragraph) must hold this IDF-weighted share of the question's words:
    # one that only shares the article's ubiquitous names answers a question the article never asked.
    min_cited_coverage: float = 0.2


@dataclass(frozen=True)
class Coverage:
    plain: float  # share of the question's content words found in the sentence's paragraph
    weighted: float  # the same share, each word weighted by its rarity in the article (IDF)


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").replace(".", "") for n in _NUMBER.findall(text)}


def is_no_answer(text: str) -> bool:
    return not text.strip() or bool(_NO_ANSWER.match(text.strip()))


def unsupported_reason(
    answer: str, cited: list[Sentence], question: str, same_language: bool, t: GroundingThresholds
) -> str | None:
    """Why the cited sentences do not back `answer`, or None when they do."""
    if not cited:
        return "no citation"
    if is_no_answer(answer):
        return "the model found no answer"
    evidence = " ".join(s.text for s in cited)
    asked = stems(question)
    known = stems(evidence) | asked
    answer_words = content_tokens(answer)
    if all(found_in(w, asked) for w in answer_words):
        return "the answer only repeats the question"
    missing_numbers = numbers(answer) - numbers(evidence) - numbers(question)
    if missing_numbers:
        return f"numbers not in the cited sentences: {sorted(missing_numbers)}"
    # A capitalised word is a name unless it is a function word opening a sentence ("The", "Pada");
    # a name the evidence never mentions came from somewhere else.
    names = {t for w in _NAME.findall(answer) for t in tokenize(w)[:1]} - STOPWORDS
    missing_names = sorted(n for n in names if not found_in(n, known))
    if missing_names:
        return f"names not in the cited sentences: {missing_names}"
    if not same_language:
        # A translated answer shares few words with its source; it must still carry some anchor
        # (a name, a number, a shared term) that the cited sentences contain.
        if not any(found_in(w, known) for w in answer_words):
            return "nothing in the answer can be found in the cited sentences"
    else:
        words = [w for w in answer_words if not w.isdigit()]
        if words:
            overlap = sum(found_in(w, known) for w in words) / len(words)
            if overlap < t.min_answer_overlap:
                return f"only {overlap:.0%} of the answer's words are in the cited sentences"
    return None


class GroundingPolicy:
    """The support decisions for one article's index."""

    def __init__(self, stored: StoredIndex, thresholds: GroundingThresholds | None = None) -> None:
        self.thresholds = thresholds or GroundingThresholds()
        self._idf = BM25(stored.sentence_tokens).idf
        # A paragraph's words include its sentences' words, so coverage is judged per paragraph.
        self._paragraph_stems = [stems(tokens) for tokens in stored.paragraph_tokens]

    def coverage(self, query: str, sentence: Sentence) -> Coverage:
        """How much of `query` the sentence's paragraph holds.

        Rarity-weighted: a question that shares only "OpenAI" with an article about OpenAI, and asks
        about its CEO, covers little of what it asks.
        """
        weights = {t: self._idf(t) for t in set(content_tokens(query))}
        if not weights:
            return Coverage(0.0, 0.0)
        found = self._paragraph_stems[sentence.paragraph - 1]
        hits = {t for t in weights if found_in(t, found)}
        total = sum(weights.values())
        return Coverage(
            plain=len(hits) / len(weights), weighted=sum(weights[t] for t in hits) / total if total else 0.0
        )

    def on_topic(self, query: str, candidates: list[Hit], followup: bool = False) -> list[Hit]:
        """The candidates close enough to the question to be worth asking the model about.

        A follow-up ("and how much?") has too few words of its own to judge its topic.
        """
        t = self.thresholds
        if followup:
            return list(candidates)
        return [
            h for h in candidates if h.dense >= t.min_dense or self.coverage(query, h.sentence).plain >= t.min_coverage
        ]

    def citations(
        self, answer: str, chosen: list[Hit], on_topic: list[Hit], query: str, asked: str, same_language: bool
    ) -> list[Hit]:
        """The on-topic sentences that back `answer`: the model's picks first, else the best other candidate.

        Small models often name the wrong id for a right answer; the sentence that holds the answer is
        found in code, so a citation is never taken on the model's word. `asked` is the asker's own
        words: a model-made translation may carry names the article never had.
        """
        t = self.thresholds

        def backs(hits: list[Hit]) -> bool:
            return unsupported_reason(answer, [h.sentence for h in hits], asked, same_language, t) is None

        # A sentence may be on topic through the article's ubiquitous names alone; it is citable only
        # if it also holds the question's rarer words.
        citable = [h for h in on_topic if self.coverage(query, h.sentence).weighted >= t.min_cited_coverage]
        picked = [h for h in chosen if h in citable]
        if picked and backs(picked):
            return [h for h in picked if backs([h])] or picked
        return next(([h] for h in citable if backs([h])), [])
