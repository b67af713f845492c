"""Every interface the answer core depends on, and the core itself as the adapters see it.

Real implementations: LlamaGenerator (bot/llm), SentenceTransformerEmbedder and HybridRetriever
(index/). Fakes implementing the same protocols live in tests/fakes.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.core.results import Answer, Summary, Turn
    from bot.library.entry import ArticleEntry, ReadStage
    from index.article import Article, Sentence
    from index.retrieve import Hit


@dataclass(frozen=True)
class Prompt:
    """A chat prompt split where caching pays: `system` is fixed per article, `user` changes per question."""

    system: str
    user: str


@dataclass(frozen=True)
class Completion:
    """A reply and how sure the model was of it."""

    text: str
    # Each generated token's text and natural-log probability under the model itself, before the
    # grammar narrowed the choice. Empty when the generator cannot tell.
    tokens: tuple[tuple[str, float], ...] = ()


class Generator(Protocol):
    name: str

    @property
    def context_size(self) -> int:
        """The model's context window in tokens."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` takes in this model's vocabulary."""
        ...

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> Completion:
        """Return the model's reply to `prompt`, constrained by the GBNF `grammar`."""
        ...

    def choice_probabilities(self, prompt: Prompt, options: tuple[str, ...]) -> dict[str, float]:
        """How likely the reply to `prompt` starts with each option ("yes", "no"), normalised over the options."""
        ...

    def warm(self, system: str) -> None:
        """Evaluate and keep the fixed `system` prefix so later questions pay only for their own tokens."""
        ...

    def forget(self, system: str) -> None:
        """Delete whatever was saved of the `system` prefix (its article left the library)."""
        ...


class Embedder(Protocol):
    name: str
    dimension: int
    multilingual: bool  # a question in one language finds sentences in another (no translation needed)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return one L2-normalised float32 row per text: article sentences and paragraphs (passages)."""
        ...

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Like `embed`, for questions: models trained with a query prefix (e5: "query: ") add it here."""
        ...


class Retriever(Protocol):
    def search(self, query: str, k: int, same_language: bool = True) -> list[Hit]:
        """The article's sentences best matching `query`, best first, at most `k`.

        `same_language` says whether the query is in the article's language: word matching means
        little across languages.
        """
        ...


class AnswerCore(Protocol):
    """What the CLI and Telegram adapters may ask of the core; nothing else of it is theirs to touch."""

    @property
    def article(self) -> Article: ...

    @property
    def model_name(self) -> str: ...

    def warm(self) -> None:
        """Pay for the article prefix now rather than on the first question."""
        ...

    def ask(self, question: str, history: Turn | None = None, language: str | None = None) -> Answer:
        """Answer `question` from the article, citing stored sentences, or refuse."""
        ...

    def summary(self, language: str) -> Summary:
        """3-5 cited bullets in `language`."""
        ...

    def source(self, sentence_id: str) -> tuple[Sentence, tuple[Sentence, ...]]:
        """The sentence with that id and the paragraph it stands in; UnknownSentence otherwise."""
        ...


class ArticleLibrary(Protocol):
    """Articles kept on disk (data/articles/<id>/), each chat's current and recent ones, and a core per article.

    Implemented by bot/library (issue 10); the Telegram handlers and the CLI use only this. Slow calls
    (read, the first core of an article) are synchronous: the Telegram adapter runs them off the event loop.
    """

    def read(
        self,
        source: str,
        *,
        chat_id: int | None = None,
        document: bytes | None = None,
        progress: Callable[[ReadStage], None] | None = None,
    ) -> ArticleEntry:
        """Fetch (URL), open (path) or parse (`document` bytes, `source` being its file name) an article, index
        it once (same cleaned text, same id) and make it `chat_id`'s current article. Raises ArticleError
        subclasses, ReadLimit; on any failure the chat's current article stays as it was."""
        ...

    def current(self, chat_id: int | None) -> ArticleEntry:
        """The chat's current article; the default article for a chat that never chose (or None: the CLI)."""
        ...

    def recent(self, chat_id: int | None, limit: int = 10) -> list[ArticleEntry]:
        """The chat's articles in reading order, the default first: `/use N` picks the N-th (1-based), for good."""
        ...

    def use(self, chat_id: int | None, choice: str) -> ArticleEntry:
        """Make an article current: `choice` is a number from `recent`, an article id (or its prefix) or a URL
        already read. UnknownArticle otherwise."""
        ...

    def core(self, article_id: str) -> AnswerCore:
        """The answer core for that article, built on first use and cached; thread-safe. UnknownArticle if evicted."""
        ...
