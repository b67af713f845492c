"""One model, many articles: each use of the model first makes sure it holds that article's prefix.

The model's context holds one article's prefix at a time. A core of another article would otherwise make
llama.cpp evaluate its whole prefix again (seconds) on its first call; warming it instead restores the
prefix saved on disk (bot/llm/kvstate, keyed by content). The turn lock spans the warm and the whole
answer (answer, verification, translation), so another article cannot take the context in between.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.core.answer import Kutip
from bot.core.results import Answer, Summary
from bot.core.turn import Turn
from index.article import Article, Sentence

logger = logging.getLogger(__name__)


class ModelTurns:
    """Serialises the model's work across articles and tracks whose prefix the model holds.

    Only an in-process model (`exclusive`) needs this: behind a model server every request carries its
    whole prompt and the server's slots keep their own prompt caches, so cores of different articles
    may run at once (the desk's several workers, KUTIP_LLM_MAX_CONCURRENT).
    """

    def __init__(self, exclusive: bool = True) -> None:
        self.exclusive = exclusive
        self._lock = threading.Lock()
        self._held: str | None = None
        self.switches = 0  # how often the model changed article (a measurement for make bench)

    @contextmanager
    def turn(self, article_id: str, warm: Callable[[], None]) -> Iterator[None]:
        if not self.exclusive:
            yield
            return
        with self._lock:
            if self._held != article_id:
                self._held = None  # a warm that fails leaves the model's content unknown
                warm()
                self._held = article_id
                self.switches += 1
            yield

    def warm(self, article_id: str, warm: Callable[[], None]) -> None:
        if not self.exclusive:
            warm()  # a server caches the prefix in a slot; nothing here to hold
            return
        with self.turn(article_id, warm):
            pass

    def forget(self, article_id: str) -> None:
        with self._lock:
            if self._held == article_id:
                self._held = None


class ArticleCore:
    """A core of the library (implements AnswerCore): the model's work goes through the shared turns."""

    def __init__(self, article_id: str, core: Kutip, turns: ModelTurns) -> None:
        self.article_id = article_id
        self._core = core
        self._turns = turns

    @property
    def article(self) -> Article:
        return self._core.article

    @property
    def model_name(self) -> str:
        return self._core.model_name

    @property
    def system(self) -> str:
        """The article's fixed system prompt: what the model's saved prefix state is keyed by."""
        return self._core.prompt.system

    def warm(self) -> None:
        self._turns.warm(self.article_id, self._core.warm)

    def ask(self, question: str, history: Turn | None = None, language: str | None = None) -> Answer:
        with self._turns.turn(self.article_id, self._core.warm):
            return self._core.ask(question, history=history, language=language)

    def summary(self, language: str) -> Summary:
        with self._turns.turn(self.article_id, self._core.warm):
            return self._core.summary(language)

    def source(self, sentence_id: str) -> tuple[Sentence, tuple[Sentence, ...]]:
        return self._core.source(sentence_id)
