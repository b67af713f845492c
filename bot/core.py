"""The answer core: pure, synchronous, and free of Telegram. Adapters (CLI, Telegram) call it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.generator import Generator, Prompt
from bot.grammar import answer_grammar, text_grammar
from bot.grounding import GroundingThresholds, is_on_topic, unsupported_reason
from bot.messages import REFUSAL
from bot.prompts import LANGUAGE_NAMES, render
from bot.results import Answer, Citation, Summary, Turn
from bot.summary import Summariser
from index.article import Article, Sentence
from index.embedder import Embedder
from index.errors import QuestionError, UnknownSentence
from index.language import detect_language
from index.retrieve import Hit, RetrievalConfig, Retriever
from index.store import StoredIndex

logger = logging.getLogger(__name__)


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[key] += (time.perf_counter() - started) * 1000


# Room left in the context for the question, candidates and the reply when the article is inlined.
_ROOM_FOR_QUESTION = 600


@dataclass(frozen=True)
class CoreConfig:
    # Measured on the dev sets: every correct answer cites one of the top 3; wrong ones cite lower.
    candidates: int = 3
    max_citations: int = 3
    max_tokens: int = 72
    max_question_chars: int = 2000
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    grounding: GroundingThresholds = field(default_factory=GroundingThresholds)


def check_question(question: str, max_chars: int) -> str:
    """The question with its white space folded; empty or over-long questions are refused."""
    question = " ".join(question.split())
    if not question:
        raise QuestionError("the question is empty")
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question)} characters; the limit is {max_chars}")
    return question


class Kutip:
    """Answers questions about one indexed article, citing stored sentences."""

    def __init__(self, stored: StoredIndex, embedder: Embedder, generator: Generator,
                 config: CoreConfig | None = None, summary_cache_dir: Path | None = None) -> None:
        self.stored = stored
        self.generator = generator
        self.config = config or CoreConfig()
        self.retriever = Retriever(stored, embedder, self.config.retrieval)
        self.system_prompt, self.article_inlined = self._system_prompt()
        self.summariser = Summariser(self, summary_cache_dir)

    def summary(self, language: str) -> Summary:
        return self.summariser.summary(language)

    @property
    def article(self) -> Article:
        return self.stored.article

    @property
    def model_name(self) -> str:
        return self.generator.name

    def _system_prompt(self) -> tuple[str, bool]:
        """Inline the whole article when it fits, so its KV state is computed once and reused."""
        numbered = "\n".join(f"[{s.id}] {s.text}" for s in self.article.sentences)
        inlined = render("system", article=numbered)
        budget = self.generator.context_size - _ROOM_FOR_QUESTION - self.config.max_tokens
        if self.generator.count_tokens(inlined) <= budget:
            return inlined, True
        logger.info("article too long for the context: candidate sentences go with each question instead")
        return render("system", article="(The sentences you may use come with each question.)"), False

    def warm(self) -> None:
        """Pay for the article prefix now rather than on the first question."""
        self.generator.warm(self.system_prompt)

    def describe_candidates(self, sentences: list[Sentence]) -> str:
        """Nothing when the article is in the prompt: the grammar alone limits the ids, and listing
        bare ids next to the question tempts a small model to answer with an id."""
        if self.article_inlined:
            return ""
        return "Sentences you may cite:\n" + "\n".join(f"[{s.id}] {s.text}" for s in sentences)

    def source(self, sentence_id: str) -> tuple[Sentence, tuple[Sentence, ...]]:
        """The sentence with that id, and the paragraph it stands in."""
        return self.source_in(self.article, sentence_id)

    @staticmethod
    def source_in(article: Article, sentence_id: str) -> tuple[Sentence, tuple[Sentence, ...]]:
        sentence = article.sentence(sentence_id)
        if sentence is None:
            raise UnknownSentence(f"no sentence {sentence_id!r}; ids look like 1.1 (paragraph 1, sentence 1), "
                                  f"up to {article.sentences[-1].id}")
        return sentence, article.paragraph(sentence.paragraph)

    def ask(self, question: str, history: Turn | None = None, language: str | None = None) -> Answer:
        started = time.perf_counter()
        question = check_question(question, self.config.max_question_chars)
        language = language or detect_language(question, default=self.article.language)
        timings = {"retrieve": 0.0, "generate": 0.0}
        with _timed(timings, "generate"):
            query = self._query(question, language)
        if history:
            query = f"{history.question} {query}"
        with _timed(timings, "retrieve"):
            ranked = self.retriever.search(query, len(self.article.sentences))

        def finish(text: str, cited: list[Hit]) -> Answer:
            timings["total"] = (time.perf_counter() - started) * 1000
            return Answer(question=question, text=text if cited else REFUSAL[language], refused=not cited,
                          language=language, citations=tuple(Citation.of(h.sentence) for h in cited),
                          model=self.model_name, timings_ms=timings)

        g = self.config.grounding
        top = ranked[: self.config.candidates]
        # A follow-up ("and how much?") has too few words of its own to judge its topic.
        on_topic = [h for h in top if history or is_on_topic(h.dense, h.lexical_coverage, g)]
        if not on_topic:
            logger.debug("refused before generation: no sentence is on topic for %r", question)
            return finish("", [])
        # With the article in the prompt every sentence is on offer; otherwise only the top candidates.
        offered = ranked if self.article_inlined else top
        with _timed(timings, "generate"):
            reply = self.generator.complete(self._prompt(question, history, top, language),
                                            answer_grammar([h.sentence.id for h in offered], self.config.max_citations),
                                            self.config.max_tokens)
        text, chosen = self._parse(reply, offered)
        # The support check reads the asker's own words: a model-made translation may carry names the
        # article never had, and would make a right answer look like a repeat of the question.
        asked = f"{history.question} {question}" if history else question
        cited = self._supporting(text, chosen, on_topic, asked, language)
        if not cited:
            logger.debug("refused %r: no on-topic candidate supports the reply %r", question, reply)
        return finish(text, cited)

    def _query(self, question: str, language: str) -> str:
        """Retrieval text: the question, or its translation when it is not in the article's language.

        The embedded MiniLM is English-only, and BM25 matches words, so an English question about an
        Indonesian article finds little until it is said in Indonesian. The translation shares the cached
        article prefix, so it costs only the question's tokens.
        """
        if language == self.article.language:
            return question
        user = render("translate", language=LANGUAGE_NAMES[self.article.language], question=question)
        reply = self.generator.complete(Prompt(system=self.system_prompt, user=user), text_grammar("translation"),
                                        self.config.max_tokens)
        try:
            translation = str(json.loads(reply)["translation"])
        except (ValueError, KeyError, TypeError):
            logger.warning("unparseable translation %r", reply)
            return question
        return translation

    def _supporting(self, text: str, chosen: list[Hit], on_topic: list[Hit], asked: str, language: str) -> list[Hit]:
        """The on-topic sentences that back `text`: the model's picks first, else the best other candidate.

        Small models often name the wrong id for a right answer; the sentence that holds the answer is
        found in code, so a citation is never taken on the model's word.
        """
        same_language = language == self.article.language
        g = self.config.grounding

        def backs(hits: list[Hit]) -> bool:
            return unsupported_reason(text, [h.sentence for h in hits], asked, same_language, g) is None

        # A sentence may be on topic through the article's ubiquitous names alone; it is citable only
        # if it also holds the question's rarer words.
        citable = [h for h in on_topic if h.weighted_coverage >= g.min_cited_coverage]
        picked = [h for h in chosen if h in citable]
        if picked and backs(picked):
            return [h for h in picked if backs([h])] or picked
        return next(([h] for h in citable if backs([h])), [])

    def _prompt(self, question: str, history: Turn | None, hits: list[Hit], language: str) -> Prompt:
        earlier = render("followup", question=history.question, answer=history.answer) if history else ""
        user = render("ask", history=earlier, question=question, language=LANGUAGE_NAMES[language],
                      candidates=self.describe_candidates([h.sentence for h in hits]))
        return Prompt(system=self.system_prompt, user=user)

    @staticmethod
    def _parse(reply: str, hits: list[Hit]) -> tuple[str, list[Hit]]:
        """Read the constrained JSON; ids outside the offered candidates are dropped, not trusted."""
        try:
            data = json.loads(reply)
            ids = [str(i) for i in data.get("ids", [])]
            text = str(data.get("answer", "")).strip()
        except (ValueError, AttributeError):
            logger.warning("unparseable model reply %r", reply)
            return "", []
        by_id = {h.sentence.id: h for h in hits}
        cited = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
        return text, cited
