"""Hand-written fakes implementing the same narrow interfaces as the real embedder and generator."""

from __future__ import annotations

import hashlib
from collections import deque

import numpy as np

from bot.generator import Prompt
from index.lexical import content_tokens


class FakeEmbedder:
    """Deterministic bag-of-words vectors: texts sharing words are similar, others are not."""

    def __init__(self, dimension: int = 256, name: str = "fake-embedder") -> None:
        self.name = name
        self.dimension = dimension
        self.calls: list[list[str]] = []

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = []
        for text in texts:
            v = sum((self._word(w) for w in content_tokens(text)), np.zeros(self.dimension, dtype=np.float32))
            norm = float(np.linalg.norm(v))
            rows.append(v / norm if norm else v)
        return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, self.dimension), np.float32)


class FakeGenerator:
    """Replies from a queue; records what it was sent. An empty queue fails the test loudly."""

    def __init__(self, replies: list[str] | None = None, context_size: int = 4096, name: str = "fake-llm") -> None:
        self.name = name
        self.context_size = context_size
        self.replies: deque[str] = deque(replies or [])
        self.history: list[tuple[Prompt, str, int]] = []
        self.warmed: list[str] = []

    def enqueue(self, *replies: str) -> "FakeGenerator":
        self.replies.extend(replies)
        return self

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def warm(self, system: str) -> None:
        self.warmed.append(system)

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> str:
        self.history.append((prompt, grammar, max_tokens))
        if not self.replies:
            raise AssertionError("FakeGenerator called with no queued reply")
        return self.replies.popleft()
