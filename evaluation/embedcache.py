"""An embedder wrapper that remembers vectors, so one question embedded twice is paid for once."""

from __future__ import annotations

import numpy as np

from bot.core.ports import Embedder


class CachingEmbedder:
    """Same interface and name as the wrapped embedder; repeated texts come from memory.

    The ablation searches each question once per variant, and the eval searches again when the core
    looked fewer sentences deep than R@5 needs. Vectors are deterministic, so reuse changes no score.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, row in zip(missing, self.inner.embed(missing), strict=True):
                self._cache[text] = row
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._cache[t] for t in texts]).astype(np.float32)
