"""The answer core: pure, synchronous, and free of Telegram. Adapters (CLI, Telegram) call it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from base.errors import UnknownSentence
from base.language import detect_language
from bot.core.grammar import answer_grammar, text_grammar
from bot.core.grounding import GroundingPolicy
from bot.core.ports import Generator, Prompt, Retriever
from bot.core.prompts import LANGUAGE_NAMES, ArticlePrompt, render
from bot.core.questions import check_question
from bot.core.refusals import REFUSAL
from bot.core.results import Answer, Citation, Summary, Turn
from bot.core.summary import Summariser
from index.article import Article, Sentence
from index.retrieve import Hit

logger = logging.getLogger(__name__)

# Room left in the context for the question, candidates and the reply when the article is inlined.
ROOM_FOR_QUESTION = 600


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
            return Answer(
                question=question,
                text=text if cited else REFUSAL[language],
                refused=not cited,
                language=language,
                citations=tuple(Citation.of(h.sentence) for h in cited),
                model=self.model_name,
                timings_ms=timings,
            )

        top = ranked[: self.config.candidates]
        on_topic = self.grounding.on_topic(query, top, followup=history is not None)
        if not on_topic:
            logger.debug("refused before generation: no sentence is on topic for %r", question)
            return finish("", [])
        # With the article in the prompt every sentence is on offer; otherwise only the top candidates.
        offered = ranked if self.prompt.inlined else top
        with _timed(timings, "generate"):
            reply = self.generator.complete(
                self._prompt(question, history, top, language),
                answer_grammar([h.sentence.id for h in offered], self.config.max_citations),
                self.config.max_tokens,
            )
        text, chosen = self._parse(reply, offered)
        asked = f"{history.question} {question}" if history else question
        cited = self.grounding.citations(text, chosen, on_topic, query, asked, language == self.article.language)
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
        reply = self.generator.complete(
            Prompt(system=self.prompt.system, user=user), text_grammar("translation"), self.config.max_tokens
        )
        try:
            return str(json.loads(reply)["translation"])
        except (ValueError, KeyError, TypeError):
            logger.warning("unparseable translation %r", reply)
            return question

    def _prompt(self, question: str, history: Turn | None, hits: list[Hit], language: str) -> Prompt:
        earlier = render("followup", question=history.question, answer=history.answer) if history else ""
        user = render(
            "ask",
            history=earlier,
            question=question,
            language=LANGUAGE_NAMES[language],
            candidates=self.prompt.candidates([h.sentence for h in hits]),
        )
        return Prompt(system=self.prompt.system, user=user)

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
