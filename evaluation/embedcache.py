"""An embedder wrapper that remembers vectors, so one question embedded twice is paid for once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from index.embedder import Embedder


class CachingEmbedder:
    """Same interface and name as the wrapped embedder; repeated texts come from memory.

    The ablation searches each question once per variant, and the eval searches again when the core
    looked fewer sentences deep than R@5 needs. Vectors are deterministic, so reuse changes no score.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.multilingual = inner.multilingual
        # Queries and passages apart: a model with prefixes (e5) embeds the same text differently as each.
        self._passages: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._cached(texts, self._passages, self.inner.embed)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._cached(texts, self._queries, self.inner.embed_queries)

    def _cached(
        self, texts: list[str], cache: dict[str, np.ndarray], compute: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            for text, row in zip(missing, compute(missing), strict=True):
                cache[text] = row
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([cache[t] for t in texts]).astype(np.float32)
