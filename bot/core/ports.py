"""Every interface the answer core depends on, and the core itself as the adapters see it.

Real implementations: LlamaGenerator and OpenAIServerGenerator (bot/llm), HybridRetriever (index/), Kutip
(answer.py) and the library's ArticleCore. Fakes implementing the same protocols live in tests/fakes.py.
The embedder's interface is the index's (index/embedder.py), the library's is the library's (bot/library/ports.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.core.results import Answer, Summary
    from bot.core.turn import Turn
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


@dataclass(frozen=True)
class Choice:
    """How likely the model's reply to a prompt starts with each option, and the state it chose from."""

    probabilities: dict[str, float]  # normalised over the options
    # The model's last hidden state at the prompt's final token, which a fitted probe reads
    # (bot/core/probe.py); empty when the generator cannot expose it (a model server).
    state: tuple[float, ...] = ()


class Tokens(Protocol):
    """What fitting an article's prompt into the model's context needs (ArticlePrompt.fit)."""

    @property
    def context_size(self) -> int:
        """The model's context window in tokens."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` takes in this model's vocabulary."""
        ...


class Generator(Tokens, Protocol):
    name: str

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> Completion:
        """Return the model's reply to `prompt`, constrained by the GBNF `grammar`."""
        ...

    def choose(self, prompt: Prompt, options: tuple[str, ...]) -> Choice:
        """How likely the reply to `prompt` starts with each option ("yes", "no"), and the model's state there."""
        ...

    def warm(self, system: str) -> None:
        """Evaluate and keep the fixed `system` prefix so later questions pay only for their own tokens."""
        ...

    def forget(self, system: str) -> None:
        """Delete whatever was saved of the `system` prefix (its article left the library)."""
        ...


class SavedPrefixes(Tokens, Protocol):
    """Which articles' prefixes the generator has evaluated and saved for its next start, told without loading the
    model (its vocabulary suffices: LlamaPrefixes), so a setup step that finds them saved loads nothing."""

    def saved(self, system: str) -> bool:
        """Whether the evaluated `system` prefix is saved and intact: the generator's warm() would restore it."""
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
