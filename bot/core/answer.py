"""The answer core: pure, synchronous, and free of Telegram. Adapters (CLI, Telegram) call it."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from base.errors import UnknownSentence
from base.language import detect_language
from bot.core.amounts import complete_amount
from bot.core.echo import around
from bot.core.grammar import ANSWER_WORDS, answer_grammar, span_answer_grammar, text_grammar
from bot.core.grounding import GroundingPolicy, answer_token_logprobs, is_no_answer, repeats_question
from bot.core.passages import with_neighbours
from bot.core.ports import Choice, Completion, Generator, Prompt, Retriever, Tokens
from bot.core.prompts import LANGUAGE_NAMES, ArticlePrompt, render
from bot.core.query import Query
from bot.core.questions import check_question
from bot.core.refusals import REPLY_TEXTS
from bot.core.results import Answer, Citation, ReplyKind, Summary
from bot.core.signals import Relevance, Support
from bot.core.spans import tidy_span
from bot.core.summary import Summariser
from bot.core.turn import Turn
from index.article import Article, Sentence
from index.retrieve import Hit

logger = logging.getLogger(__name__)

# Room left in the context for the question, candidates and the reply when the article is inlined.
ROOM_FOR_QUESTION = 600
# A copied answer comes from one of the best-ranked sentences (at least the candidates).
COPY_FROM = 8


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[key] += (time.perf_counter() - started) * 1000


@dataclass(frozen=True)
class CoreConfig:
    """How the core asks. Built from Settings by bot/wiring/factory.core_config, where the defaults live."""

    candidates: int
    max_tokens: int
    max_question_chars: int
    max_citations: int = 3
    # An article too long to inline: the most sentences that go with a question, the top `candidates`
    # and their paragraph-mates (bot/core/passages.py); the verification turn reads them too.
    passage_sentences: int = 3
    # Translate a question that is not in the article's language before retrieval; needed only when
    # the embedder is English-only (see bot/wiring/factory.assemble_core).
    translate_questions: bool = True
    # When the answer is copied from the cited sentence (a run of its words, under the grammar) rather
    # than written freely: "always", "same-language" (a question in another language gets a free,
    # translated answer) or "never". See docs/how-it-answers.md, "Trust".
    copy_answers: str = "always"
    # A reply that is not an answer shows at most this many of the closest sentences.
    closest_quotes: int = 2

    def copies(self, same_language: bool) -> bool:
        return self.copy_answers == "always" or (self.copy_answers == "same-language" and same_language)


def article_prompt(article: Article, tokens: Tokens, config: CoreConfig) -> ArticlePrompt:
    """The article's fixed system prompt, as every core over it is built: what the model's saved prefix is keyed by.
    `tokens` is the generator, or the model's vocabulary alone when only the prompt is wanted (no weights)."""
    return ArticlePrompt.fit(article, tokens, reserved_tokens=ROOM_FOR_QUESTION + config.max_tokens)


def find_source(article: Article, sentence_id: str) -> tuple[Sentence, tuple[Sentence, ...]]:
    """The sentence with that id, and the paragraph it stands in."""
    sentence = article.sentence(sentence_id)
    if sentence is None:
        last = article.sentences[-1].id if article.sentences else "none"
        raise UnknownSentence(f"no sentence {sentence_id!r}; ids look like 1.1 (paragraph 1, sentence 1), up to {last}")
    return sentence, article.paragraph(sentence.paragraph)


class Kutip:
    """Answers questions about one indexed article, citing stored sentences. Implements AnswerCore."""

    def __init__(
        self,
        article: Article,
        retriever: Retriever,
        grounding: GroundingPolicy,
        generator: Generator,
        prompt: ArticlePrompt,
        summariser: Summariser,
        config: CoreConfig,
    ) -> None:
        self._article = article
        self.retriever = retriever
        self.grounding = grounding
        self.generator = generator
        self.prompt = prompt
        self.summariser = summariser
        self.config = config

    @property
    def article(self) -> Article:
        return self._article

    @property
    def model_name(self) -> str:
        return self.generator.name

    def warm(self) -> None:
        self.generator.warm(self.prompt.system)

    def summary(self, language: str) -> Summary:
        return self.summariser.summary(language)

    def source(self, sentence_id: str) -> tuple[Sentence, tuple[Sentence, ...]]:
        return find_source(self.article, sentence_id)

    def ask(self, question: str, history: Turn | None = None, language: str | None = None) -> Answer:
        """Answer, show the closest sentences, or say the article has nothing about it (ReplyKind)."""
        started = time.perf_counter()
        timings = {"retrieve": 0.0, "generate": 0.0, "verify": 0.0}
        query = self._read(question, history, language)
        with _timed(timings, "generate"):
            search_text = self._search_text(query, history)
        # The search text is in the article's language when the question is, or once it has been
        # translated; only then can its words be matched against the article's.
        matchable = search_text if query.same_language or self.config.translate_questions else None
        with _timed(timings, "retrieve"):
            candidates = self._candidates(search_text, matchable is not None, query.same_language)
        relevance = self.grounding.relevance(query, matchable, candidates.top)
        proposal = self._propose(query, history, candidates, timings)
        support = self._judge(query, history, proposal, candidates, relevance, matchable, timings)
        kind = self.grounding.kind(support, relevance)
        if kind is not ReplyKind.ANSWER:
            logger.debug("%s for %r: %s %s", kind, query.text, support, relevance)
        timings["total"] = (time.perf_counter() - started) * 1000
        return Answer(
            question=query.text,
            text=support.answer if kind is ReplyKind.ANSWER else REPLY_TEXTS[kind][query.language],
            kind=kind,
            language=query.language,
            citations=tuple(Citation.of(s) for s in self._quoted(kind, support, candidates)),
            model=self.model_name,
            timings_ms=timings,
            support=support,
            relevance=relevance,
        )

    def _read(self, question: str, history: Turn | None, language: str | None) -> Query:
        text = check_question(question, self.config.max_question_chars)
        language = language or detect_language(text, default=self.article.language)
        earlier = (history.question, history.answer) if history else ("", "")
        return Query.read(text, language, self.article.language, *earlier)

    def _search_text(self, query: Query, history: Turn | None) -> str:
        searched = self._translated(query)
        return f"{history.question} {searched}" if history else searched

    def _candidates(self, search_text: str, in_article_language: bool, same_language: bool) -> Candidates:
        ranked = self.retriever.search(search_text, len(self.article.sentences), in_article_language)
        top = ranked[: self.config.candidates]
        # With the article in the prompt every sentence is on offer; otherwise the top candidates and the
        # sentences beside them, which are what the model is shown.
        shown = top if self.prompt.inlined else with_neighbours(ranked, len(top), self.config.passage_sentences)
        # Offered in ranking order (`shown` is in reading order, the best last): a copied answer's quote is
        # the best-ranked offered sentence holding its words.
        shown_ids = {h.sentence.id for h in shown}
        offered = ranked if self.prompt.inlined else [h for h in ranked if h.sentence.id in shown_ids]
        if self.config.copies(same_language):
            # The grammar grows with every sentence offered (llama.cpp parses it per question and applies it
            # to the whole vocabulary whenever the model's own choice is refused); the best-ranked few hold
            # the answer (R@5 0.98-0.99 on the dev sets).
            offered = offered[: max(COPY_FROM, len(top))]
        return Candidates(ranked=ranked, top=top, shown=shown, offered=offered)

    def _propose(self, query: Query, history: Turn | None, candidates: Candidates, timings: dict) -> Proposal:
        """The model's answer, copied from (or citing) the offered sentences, and the sentences it chose."""
        copying = self.config.copies(query.same_language)
        offered = candidates.offered
        if copying:
            grammar = span_answer_grammar([h.sentence.text for h in offered])
        else:
            grammar = answer_grammar([h.sentence.id for h in offered], self.config.max_citations)
        # A copied answer is in the article's language whatever the question's, so the prompt says so.
        prompt = self._prompt(
            query.text, history, candidates.shown, self.article.language if copying else query.language
        )
        with _timed(timings, "generate"):
            completion = self.generator.complete(prompt, grammar, self.config.max_tokens)
            reply = (
                parse_copied(completion.text, [h.sentence for h in offered])
                if copying
                else parse_reply(completion.text)
            )
            by_id = {h.sentence.id: h for h in offered}
            chosen = [by_id[i] for i in reply.ids if i in by_id]
            if copying and chosen and repeats_question(reply.answer, query.stems):
                completion, reply = self._copy_around(prompt, chosen[0].sentence, reply, completion)
        if copying and chosen:
            reply = replace(reply, answer=complete_amount(reply.answer, chosen[0].sentence.text, query.text))
        return Proposal(reply=reply, completion=completion, chosen=chosen, copied=copying)

    def _judge(
        self,
        query: Query,
        history: Turn | None,
        proposal: Proposal,
        candidates: Candidates,
        relevance: Relevance,
        matchable: str | None,
        timings: dict,
    ) -> Support | None:
        """The signals behind the proposal and the decision on them; None when the model proposed nothing."""
        reply = proposal.reply
        if is_no_answer(reply.answer):
            return None
        hit = self.grounding.citation(reply.answer, proposal.chosen, candidates.top, query.same_language)
        if hit is None:
            return None
        rank = next(n for n, h in enumerate(candidates.ranked, 1) if h.sentence.id == hit.sentence.id)
        logprobs = answer_token_logprobs(proposal.completion.tokens, reply.answer_start)
        support = self.grounding.measure(reply.answer, hit.sentence, rank, query, relevance, matchable, logprobs)
        if self.grounding.worth_verifying(support):
            shown = [h.sentence for h in candidates.shown]
            free_answer = None if proposal.copied else reply.answer
            with _timed(timings, "verify"):
                choice = self._verify(query.text, history, hit.sentence, shown, free_answer)
            support = replace(support, verified=choice.probabilities["yes"], state=choice.state)
        return self.grounding.judge(support)

    def _quoted(self, kind: ReplyKind, support: Support | None, candidates: Candidates) -> list[Sentence]:
        """The sentences a reply shows: the answer's own, or for the closest the judged proposal's sentence
        and the best-ranked ones, in ranking order."""
        if kind is ReplyKind.NOT_IN_ARTICLE:
            return []
        if kind is ReplyKind.ANSWER:
            return [self.article.sentence(support.sentence_id)]
        ranked = [h.sentence for h in candidates.ranked]
        ids = closest_ids([s.id for s in ranked], support.sentence_id if support else None, self.config.closest_quotes)
        by_id = {s.id: s for s in ranked}
        return [by_id[i] for i in ids]

    def _copy_around(
        self, prompt: Prompt, sentence: Sentence, echo: Reply, completion: Completion
    ) -> tuple[Completion, Reply]:
        """Copy again from `sentence`, with the words that only repeated the question taken out.

        An answer made of the question's own words is refused anyway ("GPS" for "Apa kepanjangan dari
        GPS?"), but the model found the sentence that names the thing asked about, and the answer
        usually stands beside those words. The same prompt again costs only the reply's tokens (its
        prefix is cached); the new answer is judged like any other. Without a new answer, the first one
        stands, and is refused.
        """
        parts = around(sentence.text, echo.answer)
        if not parts:
            return completion, echo
        again = self.generator.complete(prompt, span_answer_grammar(parts), self.config.max_tokens)
        reply = parse_copied(again.text, [sentence])
        if not reply.ids:
            return completion, echo
        logger.debug("copied %r again from %s, not the echo %r", reply.answer, sentence.id, echo.answer)
        return again, reply

    def _verify(
        self, question: str, history: Turn | None, sentence: Sentence, context: list[Sentence], free_answer: str | None
    ) -> Choice:
        """P("yes"): the model, asked plainly, finds that `sentence` states the answer to `question`; and its
        hidden state as it answers, which a fitted probe reads (bot/core/probe.py).

        A copied answer is not shown: its words are always the sentence's, and shown that match the model
        says yes to near-misses more readily (docs/how-it-answers.md, "Trust"). A free answer is the model's own words,
        so it is shown and judged too. Inlined, the model judges with the whole article before it;
        otherwise `context`, the passages it was shown, goes first, so the sentence is not judged cut
        from its paragraph.
        """
        earlier = _earlier(history)
        if free_answer is None:
            user = render("verify", history=earlier, question=question, sid=sentence.id, sentence=sentence.text)
        else:
            user = render(
                "verify_free_answer", history=earlier, question=question, answer=free_answer, sentence=sentence.text
            )
        if not self.prompt.inlined:
            user = f"{self.prompt.excerpt(context)}\n\n{user}"
        return self.generator.choose(Prompt(system=self.prompt.system, user=user), ("yes", "no"))

    def _translated(self, query: Query) -> str:
        """Retrieval text: the question, or its translation when it is not in the article's language.

        An English-only embedder (MiniLM) finds little for an English question about an Indonesian
        article until it is said in Indonesian; a multilingual one (e5) needs no translation, which
        saves a model call. The translation shares the cached article prefix.
        """
        if query.same_language or not self.config.translate_questions:
            return query.text
        user = render("translate", language=LANGUAGE_NAMES[self.article.language], question=query.text)
        reply = self.generator.complete(
            Prompt(system=self.prompt.system, user=user), text_grammar("translation"), self.config.max_tokens
        )
        try:
            return str(json.loads(reply.text)["translation"])
        except (ValueError, KeyError, TypeError):
            logger.warning("unparseable translation %r", reply.text)
            return query.text

    def _prompt(self, question: str, history: Turn | None, hits: list[Hit], language: str) -> Prompt:
        earlier = _earlier(history)
        user = render("ask", history=earlier, question=question, language=LANGUAGE_NAMES[language])
        if not self.prompt.inlined:
            # The passages go first and the question after them, as an inlined article precedes the
            # question. With the question first, the model answered "NONE" to 18 of 56 answerable
            # long-article questions (3 of 56 this way); the verification turn starts with the same
            # excerpt, so its call reuses this one's evaluated tokens.
            user = f"{self.prompt.excerpt([h.sentence for h in hits])}\n\n{user}"
        return Prompt(system=self.prompt.system, user=user)


def closest_ids(ranked: list[str], proposed: str | None, count: int) -> list[str]:
    """The sentences a closest reply quotes, by id: the judged proposal's and the best-ranked others, `count` in
    all, in ranking order (`ranked` best first; evaluation.tune re-decides recorded runs with the same rule)."""
    others = [i for i in ranked if i != proposed][: count - (proposed is not None)]
    chosen = {*others, proposed}
    return [i for i in ranked if i in chosen]


def _earlier(history: Turn | None) -> str:
    """The earlier turn of a follow-up, as the prompts show it: its question, and its answer if one was given."""
    if history is None:
        return ""
    if not history.answer:
        return render("followup_unanswered", question=history.question)
    return render("followup", question=history.question, answer=history.answer)


@dataclass(frozen=True)
class Candidates:
    """One question's ranking, and the parts of it the model sees and may copy from."""

    ranked: list[Hit]  # every sentence, best first
    top: list[Hit]  # the best `candidates`: what a citation may fall back to, and what relevance reads
    shown: list[Hit]  # what the model reads with the question (the top alone when the article is inlined)
    offered: list[Hit]  # what an answer may be copied from (or cite), best first


@dataclass(frozen=True)
class Reply:
    ids: tuple[str, ...]
    answer: str
    answer_start: int  # where the answer's text begins in the raw reply


@dataclass(frozen=True)
class Proposal:
    """What the model proposed for one question, before the grounding policy has judged it."""

    reply: Reply
    completion: Completion
    chosen: list[Hit]  # the offered sentences the reply names or was copied from
    copied: bool  # copied from the article under the grammar, rather than written freely


_REPLY = re.compile(r'^\{"ids": \[(?P<ids>[^\]]*)\], "answer": "(?P<answer>(?:[^"\\]|\\.)*)(?P<end>"\})?')


def parse_reply(raw: str) -> Reply:
    """Read the constrained JSON. A reply cut off by the token limit keeps its whole words only."""
    match = _REPLY.match(raw)
    if match is None:
        logger.warning("unparseable model reply %r", raw)
        return Reply((), "", 0)
    ids = tuple(dict.fromkeys(i.strip().strip('"') for i in match["ids"].split(",") if i.strip()))
    answer = _unescape(match["answer"])
    if match["end"] is None:
        answer = answer.rsplit(" ", 1)[0] if " " in answer else ""
    elif len(answer.split()) >= ANSWER_WORDS:
        # At the word cap the grammar allows no more spaces, so a model still talking glues its next
        # words into the last one ("danmeningkatkanskala"): drop it and say the answer goes on.
        answer = answer.rsplit(" ", 1)[0] + " …"
    return Reply(ids, answer.strip(), match.start("answer"))


def _unescape(text: str) -> str:
    """The answer's JSON escapes read (a copied sentence may hold quotes); a reply cut inside an escape
    loses that escape."""
    try:
        return json.loads(f'"{text}"')
    except ValueError:
        return json.loads(f'"{text[: text.rfind(chr(92))]}"')  # chr(92): the backslash


_COPIED = re.compile(r'^\{"answer": "(?P<answer>(?:[^"\\]|\\.)*)(?P<end>"\})?')


def parse_copied(raw: str, offered: list[Sentence]) -> Reply:
    """Read an answer copied under span_answer_grammar, and find the sentence it was copied from: the
    best-ranked offered sentence that holds those words (`offered` is in ranking order).

    A reply cut off by the token limit keeps its whole words. The answer is tidied of the punctuation
    it took from around it.
    """
    match = _COPIED.match(raw)
    if match is None:
        logger.warning("unparseable model reply %r", raw)
        return Reply((), "", 0)
    answer = _unescape(match["answer"])
    if match["end"] is None:
        answer = answer.rsplit(" ", 1)[0] if " " in answer else ""
    if not answer or answer == "NONE":
        return Reply((), answer, match.start("answer"))
    folded = answer.lower()
    source = next((s.id for s in offered if folded in " ".join(s.text.split()).lower()), None)
    return Reply((source,) if source else (), tidy_span(answer), match.start("answer"))
