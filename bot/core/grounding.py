"""The grounding policy: decides in code which sentence an answer cites and whether it states the answer.

Everything that judges support lives here. The model proposes an answer and ids; this module picks
the sentence to quote, gathers measurable signals about it, and decides:

- `verified`: the model's own probability that the sentence states that answer (a yes/no turn
  over the cached article, so it costs only the question's tokens);
- `answer_logprob`: how sure the model was of the answer's words as it wrote them;
- `missing_specifics`: names, numbers and titles of the question that the article never mentions
  (a near-miss question swaps exactly one of them);
- `coverage`: the rarity-weighted share of the question's words the cited paragraph holds;
- `unsupported`: a number or name in the answer that the evidence never mentions (a made-up fact).

The thresholds are chosen on the dev splits with `python -m evaluation.tune` (docs/how-it-answers.md,
"Trust: who decides that an answer is supported"). Words are compared in one way only, `base.words.found_in`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from base.words import STOPWORDS, content_tokens, found_in, stems, tokenize
from bot.core.turn import Turn
from index.article import Sentence
from index.lexical import BM25
from index.retrieve import Hit
from index.store import StoredIndex

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"[\"“”«»']([^\"“”«»']{2,60})[\"“”«»']")
# Replies that mean "not in the article" whatever the ids say.
_NO_ANSWER = re.compile(
    r"^\W*(none|n/?a|unknown|not (stated|mentioned|specified)|tidak (disebutkan|diketahui|ada))\W*$", re.IGNORECASE
)
# Question words that open questions capitalised without being names.
_QUESTION_WORDS = frozenset(
    "apa apakah siapa siapakah kapan kapankah mengapa kenapa bagaimana berapa berapakah dimana di mana manakah "
    "what who whom whose when where why how which is are was were do does did can could".split()
)


@dataclass(frozen=True)
class GroundingThresholds:
    """Chosen on the dev splits by `python -m evaluation.tune`; see docs/how-it-answers.md, "Trust"."""

    # Chosen by `python -m evaluation.tune --wrong-answer-cost 2` on idkmrc-id dev (200) and the seed dev set,
    # with copied answers (docs/how-it-answers.md, "Trust"). The answer's log-probability ties from -100 to -2
    # on those sets: -2 keeps it as a guard against a copy the model was very unsure of.
    min_verified: float = 0.65  # P("yes") that the cited sentence states the answer
    min_answer_logprob: float = -2.0  # mean log-probability of the answer's tokens
    max_missing_specifics: int = 0  # the question's names, numbers and titles the article may lack
    min_coverage: float = 0.3  # rarity-weighted share of the question's words in the cited paragraph
    min_bullet_verified: float = 0.5  # a summary bullet: P("yes") that its sentence states it


@dataclass(frozen=True)
class Support:
    """The signals behind one answer's support decision, and the decision. Kept for the eval and logs."""

    answer: str  # what the model proposed
    sentence_id: str  # the sentence judged (and quoted, when supported)
    rank: int  # its place in the retrieval ranking, 1 = best
    verified: float | None = None
    answer_logprob: float | None = None
    missing_specifics: tuple[str, ...] = ()
    coverage: float | None = None  # None: the question is not in the article's language, so words can't match
    unsupported: str | None = None
    supported: bool = False

    def to_dict(self) -> dict:
        return {
            "answer": self.answer,
            "sentence_id": self.sentence_id,
            "rank": self.rank,
            "verified": None if self.verified is None else round(self.verified, 4),
            "answer_logprob": None if self.answer_logprob is None else round(self.answer_logprob, 4),
            "missing_specifics": list(self.missing_specifics),
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "unsupported": self.unsupported,
            "supported": self.supported,
        }


def _names(text: str, opening: bool = False) -> list[str]:
    """Capitalised words. The opening word is capitalised by sentence case, so it counts only when it
    looks like a name inside too ("OpenAI", "WSJ"), or when `opening` says to count it anyway."""
    words = re.findall(r"[\w'’-]+", text)
    return [w for i, w in enumerate(words) if w[:1].isupper() and (i > 0 or opening or any(c.isupper() for c in w[1:]))]


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").replace(".", "") for n in _NUMBER.findall(text)}


def is_no_answer(text: str) -> bool:
    return not text.strip() or bool(_NO_ANSWER.match(text.strip()))


def specifics(question: str, same_language: bool = True) -> set[str]:
    """The question's own names, numbers and quoted titles: what a near-miss question swaps.

    Quoted titles are words, so they count only when the question is in the article's language.
    """
    names = {t for w in _names(question) for t in tokenize(w)[:1] if t not in STOPWORDS and t not in _QUESTION_WORDS}
    titles = {t for q in _QUOTED.findall(question) for t in content_tokens(q)} if same_language else set()
    return names | titles | numbers(question)


def unsupported_reason(
    answer: str,
    cited: list[Sentence],
    question: str,
    min_overlap: float = 0.0,
    earlier_answer: str = "",
    context: str = "",
    same_language: bool = False,
) -> str | None:
    """Why the cited sentences cannot back `answer`, or None: numbers and names from nowhere, an echo.

    `context` (an earlier question) may supply names and numbers, but an answer drawn from it is not
    an echo of the question now asked. When the answer is in the article's language (`same_language`)
    its opening word is checked like any name: a one-word answer such as "Syamsurizal" that the cited
    sentence never mentions came from elsewhere. In another language the opening word may be a
    translated common word ("Exclusive"), so it is not.
    """
    if not cited:
        return "no citation"
    if is_no_answer(answer):
        return "the model found no answer"
    if earlier_answer and _fold(answer) == _fold(earlier_answer):
        # A follow-up asks for something new; the same answer again means the model did not look.
        return "the answer repeats the earlier answer"
    evidence = " ".join(s.text for s in cited)
    asked = stems(question)
    known = stems(evidence) | asked | stems(context)
    answer_words = content_tokens(answer)
    if repeats_question(answer, question):
        return "the answer only repeats the question"
    missing_numbers = numbers(answer) - numbers(evidence) - numbers(question) - numbers(context)
    if missing_numbers:
        return f"numbers not in the cited sentences: {sorted(missing_numbers)}"
    # A capitalised word is a name unless it is a function word opening a sentence ("The", "Pada");
    # a name the evidence never mentions came from somewhere else.
    names = {t for w in _names(answer, opening=same_language) for t in tokenize(w)[:1]} - STOPWORDS - _QUESTION_WORDS
    missing_names = sorted(n for n in names if not found_in(n, known))
    if missing_names:
        return f"names not in the cited sentences: {missing_names}"
    words = [w for w in answer_words if not w.isdigit()]
    if min_overlap and words:
        overlap = sum(found_in(w, known) for w in words) / len(words)
        if overlap < min_overlap:
            return f"only {overlap:.0%} of the words are in the cited sentences"
    return None


def repeats_question(answer: str, question: str) -> bool:
    """Every word of the answer is one of the question's own ("GPS" for "What does GPS stand for?")."""
    asked = stems(question)
    return all(found_in(w, asked) for w in content_tokens(answer))


def _fold(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def answer_logprob(tokens: tuple[tuple[str, float], ...], answer_start: int) -> float | None:
    """Mean log-probability of the tokens from character `answer_start` of the reply to the closing quote."""
    position, scores = 0, []
    for piece, logprob in tokens:
        if position >= answer_start and piece.startswith('"'):
            break
        if position + len(piece) > answer_start:
            scores.append(logprob)
        position += len(piece)
    return sum(scores) / len(scores) if scores else None


class GroundingPolicy:
    """The support decisions for one article's index."""

    def __init__(self, stored: StoredIndex, thresholds: GroundingThresholds | None = None) -> None:
        self.thresholds = thresholds or GroundingThresholds()
        self._idf = BM25(stored.sentence_tokens).idf
        # A paragraph's words include its sentences' words, so coverage is judged per paragraph.
        self._paragraph_stems = [stems(tokens) for tokens in stored.paragraph_tokens]
        # The question's specifics are looked for in the whole article: news names its subject in the
        # lede and later writes "the company", and a question restates names and dates from elsewhere
        # in the piece. Judged per paragraph, that refused right answers and caught no more near-misses
        # (docs/how-it-answers.md, "Trust: who decides that an answer is supported").
        self._article_stems = set().union(*self._paragraph_stems)

    def coverage(self, query: str, sentence: Sentence) -> float:
        """How much of `query` the sentence's paragraph holds, each word weighted by its rarity (IDF).

        A question that shares only "OpenAI" with an article about OpenAI, and asks about its CEO,
        covers little of what it asks.
        """
        weights = {t: self._idf(t) for t in set(content_tokens(query))}
        total = sum(weights.values())
        if not total:
            return 0.0
        found = self._paragraph_stems[sentence.paragraph - 1]
        return sum(w for t, w in weights.items() if found_in(t, found)) / total

    def missing_specifics(self, question: str, same_language: bool = True) -> tuple[str, ...]:
        """The question's names, numbers and titles that the article never mentions."""
        asked = specifics(question, same_language)
        return tuple(sorted(s for s in asked if not _found_loosely(s, self._article_stems)))

    def citation(
        self, answer: str, chosen: list[Hit], candidates: list[Hit], same_language: bool = False
    ) -> Hit | None:
        """The sentence to judge and quote: the model's first pick that could back the answer, else the
        best-ranked candidate that could. Small models often name the wrong id for a right answer, so
        a citation is never taken on the model's word alone."""
        for hit in [*chosen, *candidates]:
            if unsupported_reason(answer, [hit.sentence], "", same_language=same_language) is None:
                return hit
        return chosen[0] if chosen else None

    def measure(
        self,
        answer: str,
        sentence: Sentence,
        rank: int,
        question: str,
        history: Turn | None,
        query: str | None,
        logprob: float | None,
        same_language: bool = True,
    ) -> Support:
        """Every signal but the model's verification, which costs a model call (see `worth_verifying`).

        The checks read the asker's own words (with the earlier question of a follow-up): a model-made
        translation may carry names the article never had.
        """
        asked = f"{history.question} {question}" if history else question
        return Support(
            answer=answer,
            sentence_id=sentence.id,
            rank=rank,
            answer_logprob=logprob,
            missing_specifics=self.missing_specifics(asked, same_language),
            coverage=None if query is None else self.coverage(query, sentence),
            unsupported=unsupported_reason(
                answer,
                [sentence],
                question,
                earlier_answer=history.answer if history else "",
                context=history.question if history else "",
                same_language=same_language,
            ),
        )

    def worth_verifying(self, support: Support) -> bool:
        """Ask the model to verify only an answer the cheap signals have not already ruled out."""
        return passes_cheap_checks(support, self.thresholds)

    def judge(self, support: Support) -> Support:
        return replace(support, supported=decide(support, self.thresholds))


def passes_cheap_checks(support: Support, t: GroundingThresholds) -> bool:
    """The signals that cost no model call."""
    return (
        support.unsupported is None
        and (support.answer_logprob is None or support.answer_logprob >= t.min_answer_logprob)
        and len(support.missing_specifics) <= t.max_missing_specifics
        and (support.coverage is None or support.coverage >= t.min_coverage)
    )


def decide(support: Support, t: GroundingThresholds) -> bool:
    """The decision, from the measured signals alone: the one rule, shared with evaluation.tune."""
    verified = support.verified is not None and support.verified >= t.min_verified
    return passes_cheap_checks(support, t) and verified


def _found_loosely(word: str, found_stems: set[str]) -> bool:
    """A name matches its inflected or translated form ("President" in "presiden") by a long shared prefix."""
    if found_in(word, found_stems):
        return True
    if len(word) < 5 or word.isdigit():
        return False
    return any(s[:5] == word[:5] and abs(len(s) - len(word)) <= 3 for s in found_stems)
