"""The narrow interface every text generator implements (llama.cpp in production, a fake in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Prompt:
    """A chat prompt split where caching pays: `system` is fixed per article, `user` changes per question."""

    system: str
    user: str


class Generator(Protocol):
    name: str
    context_size: int

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` takes in this model's vocabulary."""
        ...

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> str:
        """Return the model's reply to `prompt`, constrained by the GBNF `grammar`."""
        ...

    def warm(self, system: str) -> None:
        """Evaluate and keep the fixed `system` prefix so later questions pay only for their own tokens."""
        ...
