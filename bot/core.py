"""The answer core: pure, synchronous, and free of Telegram. Adapters (CLI, Telegram) call it."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.generator import Generator, Prompt
from bot.grammar import answer_grammar
from bot.grounding import GroundingThresholds, on_topic, unsupported_reason
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

# Room left in the context for the question, candidates and the reply when the article is inlined.
_ROOM_FOR_QUESTION = 600


@dataclass(frozen=True)
class CoreConfig:
    candidates: int = 6
    max_citations: int = 3
    max_tokens: int = 120
    max_question_chars: int = 2000
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    grounding: GroundingThresholds = field(default_factory=GroundingThresholds)


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
        if self.article_inlined:
            return ", ".join(s.id for s in sentences)
        return "\n" + "\n".join(f"[{s.id}] {s.text}" for s in sentences)

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

    def check_question(self, question: str) -> str:
        question = " ".join(question.split())
        if not question:
            raise QuestionError("the question is empty")
        if len(question) > self.config.max_question_chars:
            raise QuestionError(f"the question is {len(question)} characters; the limit is {self.config.max_question_chars}")
        return question

    def ask(self, question: str, history: Turn | None = None, language: str | None = None) -> Answer:
        started = time.perf_counter()
        question = self.check_question(question)
        language = language or detect_language(question, default=self.article.language)
        query = f"{history.question} {question}" if history else question
        hits = self.retriever.search(query, self.config.candidates)
        retrieved = time.perf_counter()
        timings = {"retrieve": (retrieved - started) * 1000}

        def finish(text: str, refused: bool, citations: tuple[Citation, ...] = ()) -> Answer:
            done = time.perf_counter()
            timings["generate"] = (done - retrieved) * 1000
            timings["total"] = (done - started) * 1000
            return Answer(question=question, text=text, refused=refused, language=language, citations=citations,
                          model=self.model_name, timings_ms=timings)

        g = self.config.grounding
        on_topic_hits = [h for h in hits if on_topic(h.dense, h.lexical_coverage, g)]
        if not on_topic_hits and not history:
            logger.info("refused before generation: no sentence is on topic for %r", question)
            return finish(REFUSAL[language], True)

        reply = self.generator.complete(self._prompt(question, history, hits, language),
                                        answer_grammar([h.sentence.id for h in hits], self.config.max_citations),
                                        self.config.max_tokens)
        text, cited = self._parse(reply, hits)
        usable = [h for h in cited if history or on_topic(h.dense, h.lexical_coverage, g)]
        reason = unsupported_reason(text, [h.sentence for h in usable], query,
                                    same_language=language == self.article.language, t=g)
        if reason:
            logger.info("refused %r: %s (reply %r)", question, reason, reply)
            return finish(REFUSAL[language], True)
        return finish(text, False, tuple(Citation.of(h.sentence) for h in usable))

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
