"""An embedder wrapper that remembers vectors, so one question embedded twice is paid for once."""

from __future__ import annotations

import numpy as np

from index.embedder import Embedder


class CachingEmbedder:
    """Same interface and name as the wrapped embedder; repeated texts come from memory.

    The eval searches each question more than once (the core's own search, then one for the gold
    rank; the ablation once per variant). Vectors are deterministic, so reusing them changes no score.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, row in zip(missing, self.inner.embed(missing)):
                self._cache[text] = row
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._cache[t] for t in texts]).astype(np.float32)
