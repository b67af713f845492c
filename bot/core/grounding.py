"""The grounding policy: decides in code which sentence an answer cites and whether it states the answer.

Everything that judges support lives here. The model proposes an answer and ids; this module picks
the sentence to quote, gathers measurable signals about it, and decides:

- `verified`: the model's own probability that the sentence states that answer (a yes/no turn
  over the cached article, so it costs only the question's tokens);
- `answer_logprob`: how sure the model was of the answer's words as it wrote them, and `first_logprob`, of
  the first of them (where it chose between answering and "NONE", and where the answer starts);
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
from bot.core.query import QUESTION_WORDS, Query, names, numbers
from bot.core.results import ReplyKind
from bot.core.signals import Relevance, Support
from bot.core.support_model import SupportModel, features
from index.article import Sentence
from index.lexical import BM25
from index.retrieve import Hit
from index.store import StoredIndex

# Replies that mean "not in the article" whatever the ids say.
_NO_ANSWER = re.compile(
    r"^\W*(none|n/?a|unknown|not (stated|mentioned|specified)|tidak (disebutkan|diketahui|ada))\W*$", re.IGNORECASE
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
    # "Not in the article" rather than the closest sentences: no candidate this near in meaning (e5's cosine;
    # every answerable dev question had one at 0.788 or more), and (in the article's language) none whose
    # paragraph holds this share of the question's words. Chosen with the one cost of evaluation.tune
    # (docs/measurements.md, "Answers").
    min_related_dense: float = 0.78
    min_related_coverage: float = 0.1
    # ... but a thing named that the article lacks does not make it "not in the article" when at least this
    # share of the question's words is found there (dev: every false "not in the article" went, 0.04 -> 0).
    max_absent_coverage: float = 0.3


def is_no_answer(text: str) -> bool:
    return not text.strip() or bool(_NO_ANSWER.match(text.strip()))


def unsupported_reason(
    answer: str,
    cited: list[Sentence],
    query: Query | None = None,
    same_language: bool | None = None,
) -> str | None:
    """Why the cited sentences cannot back `answer`, or None: numbers and names from nowhere, an echo.

    The question (`query`; None for a summary bullet or a citation being chosen) and the earlier question
    of a follow-up may supply names and numbers, but an answer drawn from the earlier question is not an
    echo of the question now asked. When the answer is in the article's language (`same_language`, the
    query's unless given) its opening word is checked like any name: a one-word answer such as
    "Syamsurizal" that the cited sentence never mentions came from elsewhere. In another language the
    opening word may be a translated common word ("Exclusive"), so it is not.
    """
    if not cited:
        return "no citation"
    if is_no_answer(answer):
        return "the model found no answer"
    if same_language is None:
        same_language = query.same_language if query else False
    earlier_answer = query.earlier_answer if query else ""
    if earlier_answer and _bare_words(answer) == _bare_words(earlier_answer):
        # A follow-up asks for something new; the same answer again means the model did not look.
        return "the answer repeats the earlier answer"
    evidence = " ".join(s.text for s in cited)
    asked = query.stems if query else frozenset()
    context = query.earlier_question if query else ""
    known = stems(evidence) | asked | stems(context)
    if repeats_question(answer, asked):
        return "the answer only repeats the question"
    missing_numbers = numbers(answer) - numbers(evidence) - numbers(query.text if query else "") - numbers(context)
    if missing_numbers:
        return f"numbers not in the cited sentences: {sorted(missing_numbers)}"
    # A capitalised word is a name unless it is a function word opening a sentence ("The", "Pada");
    # a name the evidence never mentions came from somewhere else.
    named = {t for w in names(answer, opening=same_language) for t in tokenize(w)[:1]} - STOPWORDS - QUESTION_WORDS
    missing_names = sorted(n for n in named if not found_in(n, known))
    if missing_names:
        return f"names not in the cited sentences: {missing_names}"
    return None


def repeats_question(answer: str, asked: frozenset[str] | set[str]) -> bool:
    """Every word of the answer is one of the question's own (`asked`, its stems): "GPS" for "What does GPS
    stand for?"."""
    return all(found_in(w, asked) for w in content_tokens(answer))


def _bare_words(text: str) -> str:
    """Lower-cased words without punctuation: two answers that differ only in case or commas are the same."""
    return " ".join(re.findall(r"\w+", text.lower()))


def answer_token_logprobs(tokens: tuple[tuple[str, float], ...], answer_start: int) -> list[float]:
    """The log-probabilities of the tokens from character `answer_start` of the reply to the closing quote."""
    position, scores = 0, []
    for piece, logprob in tokens:
        if position >= answer_start and piece.startswith('"'):
            break
        if position + len(piece) > answer_start:
            scores.append(logprob)
        position += len(piece)
    return scores


class GroundingPolicy:
    """The support decisions for one article's index."""

    def __init__(
        self, stored: StoredIndex, thresholds: GroundingThresholds | None = None, model: SupportModel | None = None
    ) -> None:
        self.thresholds = thresholds or GroundingThresholds()
        self.model = model
        self._idf = BM25(stored.sentence_tokens).idf
        # A paragraph's words include its sentences' words, so coverage is judged per paragraph.
        self._paragraph_stems = [stems(tokens) for tokens in stored.paragraph_tokens]
        # The question's specifics are looked for in the whole article: news names its subject in the
        # lede and later writes "the company", and a question restates names and dates from elsewhere
        # in the piece. Judged per paragraph, that refused right answers and caught no more near-misses
        # (docs/how-it-answers.md, "Trust: who decides that an answer is supported").
        self._article_stems = set().union(*self._paragraph_stems)
        # A question's numbers are read without their separators ("7,000" and "7.000" are both 7000).
        self._article_stems |= {n for t in self._article_stems if t[:1].isdigit() for n in numbers(t)}

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

    def missing_specifics(self, query: Query) -> tuple[str, ...]:
        """The question's names, numbers and titles that the article never mentions."""
        return tuple(sorted(s for s in query.specifics if not _found_loosely(s, self._article_stems)))

    def absent_things(self, query: Query) -> tuple[str, ...]:
        """The things the question names of which the article has not one word."""
        return tuple(
            sorted(" ".join(p) for p in query.phrases if not any(_found_loosely(w, self._article_stems) for w in p))
        )

    def relevance(self, query: Query, search_text: str | None, candidates: list[Hit]) -> Relevance:
        """Whether the question is about this article at all, from what costs no model call.

        `search_text` is what was searched for, when it is in the article's language (else None: its
        words cannot be matched); `candidates` the best-ranked sentences.
        """
        return Relevance(
            missing_specifics=self.missing_specifics(query),
            absent_things=self.absent_things(query),
            top_dense=max((h.dense for h in candidates), default=None),
            top_coverage=(
                None
                if search_text is None or not candidates
                else max(self.coverage(search_text, h.sentence) for h in candidates)
            ),
        )

    def citation(
        self, answer: str, chosen: list[Hit], candidates: list[Hit], same_language: bool = False
    ) -> Hit | None:
        """The sentence to judge and quote: the model's first pick that could back the answer, else the
        best-ranked candidate that could. Small models often name the wrong id for a right answer, so
        a citation is never taken on the model's word alone."""
        for hit in [*chosen, *candidates]:
            if unsupported_reason(answer, [hit.sentence], same_language=same_language) is None:
                return hit
        return chosen[0] if chosen else None

    def measure(
        self,
        answer: str,
        sentence: Sentence,
        rank: int,
        query: Query,
        relevance: Relevance,
        search_text: str | None,
        logprobs: list[float],
    ) -> Support:
        """Every signal but the model's verification, which costs a model call (see `worth_verifying`).

        The checks read the asker's own words (with the earlier question of a follow-up): a model-made
        translation may carry names the article never had. `logprobs` are the answer's tokens' (none from a
        model server that gives no scores).
        """
        return Support(
            answer=answer,
            sentence_id=sentence.id,
            rank=rank,
            answer_logprob=sum(logprobs) / len(logprobs) if logprobs else None,
            first_logprob=logprobs[0] if logprobs else None,
            missing_specifics=relevance.missing_specifics,
            coverage=None if search_text is None else self.coverage(search_text, sentence),
            unsupported=unsupported_reason(answer, [sentence], query),
        )

    def worth_verifying(self, support: Support) -> bool:
        """Ask the model to verify only an answer the cheap signals have not already ruled out."""
        return passes_cheap_checks(support, self.thresholds, self.model)

    def judge(self, support: Support) -> Support:
        return replace(support, supported=decide(support, self.thresholds, self.model))

    def kind(self, support: Support | None, relevance: Relevance) -> ReplyKind:
        return reply_kind(support, relevance, self.thresholds, self.model)


def passes_cheap_checks(support: Support, t: GroundingThresholds, model: SupportModel | None = None) -> bool:
    """The signals that cost no model call. With a fitted model, only the hard rules: it weighs the rest."""
    hard = support.unsupported is None and len(support.missing_specifics) <= t.max_missing_specifics
    if model is not None:
        return hard
    return (
        hard
        and (support.answer_logprob is None or support.answer_logprob >= t.min_answer_logprob)
        and (support.coverage is None or support.coverage >= t.min_coverage)
    )


def support_score(support: Support, model: SupportModel) -> float | None:
    inputs = features(
        support.verified,
        support.answer_logprob,
        support.coverage,
        support.rank,
        len(support.missing_specifics),
        support.first_logprob,
    )
    return model.score(inputs, support.state)


def decide(support: Support, t: GroundingThresholds, model: SupportModel | None = None) -> bool:
    """The decision, from the measured signals alone: the one rule, shared with evaluation.tune. With a fitted
    model that can score the proposal, its score against its threshold (and the hard rules); otherwise each
    signal against its threshold."""
    if support.verified is None:
        return False
    score = None if model is None else support_score(support, model)
    if score is None:
        return passes_cheap_checks(support, t) and support.verified >= t.min_verified
    return passes_cheap_checks(support, t, model) and score >= model.threshold


def unrelated(relevance: Relevance, t: GroundingThresholds) -> bool:
    """The article has nothing about the question: a thing it names is absent from the article (not one word
    of it: a name written another way keeps some), or no sentence comes near it (neither in meaning nor, for a
    question in the article's language, in words). A single missing word keeps an answer from being asserted
    (`passes_cheap_checks`); here it takes a whole thing, as saying "not in the article" about a question the
    article answers is as false as a wrong answer."""
    # A thing named is absent, unless the rest of the question is well found in the article: a question may
    # restate a name the passage never gives (a headline's, the reader's own) and still ask what it says.
    covered = relevance.top_coverage is not None and relevance.top_coverage >= t.max_absent_coverage
    if len(relevance.absent_things) > t.max_missing_specifics and not covered:
        return True
    far = relevance.top_dense is None or relevance.top_dense < t.min_related_dense
    unmatched = relevance.top_coverage is None or relevance.top_coverage < t.min_related_coverage
    return far and unmatched


def reply_kind(
    support: Support | None, relevance: Relevance, t: GroundingThresholds, model: SupportModel | None = None
) -> ReplyKind:
    """The three-way decision, from the measured signals alone (shared with evaluation.tune): an answer
    only when its support is confident; otherwise "not in the article" only when the question is not
    about the article, and the closest sentences, marked as no answer, for everything between."""
    if support is not None and decide(support, t, model):
        return ReplyKind.ANSWER
    if unrelated(relevance, t):
        return ReplyKind.NOT_IN_ARTICLE
    return ReplyKind.CLOSEST


def _found_loosely(word: str, found_stems: set[str]) -> bool:
    """A name matches its inflected or translated form ("President" in "presiden") by a long shared prefix."""
    if found_in(word, found_stems):
        return True
    if len(word) < 5 or word.isdigit():
        return False
    return any(s[:5] == word[:5] and abs(len(s) - len(word)) <= 3 for s in found_stems)
