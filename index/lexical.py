"""BM25 over sentences: catches names, numbers and rare words that small embedding models blur.

Documents are token lists from base.words.tokenize."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np


@dataclass
class BM25:
    """Okapi BM25 with the usual k1/b; documents are token lists."""

    docs: list[list[str]]
    k1: float = 1.2
    b: float = 0.75

    def __post_init__(self) -> None:
        self._tf = [Counter(d) for d in self.docs]
        self._len = np.array([len(d) for d in self.docs], dtype=np.float32)
        self._avg = float(self._len.mean()) if len(self.docs) else 0.0
        df = Counter(t for d in self.docs for t in set(d))
        n = len(self.docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def idf(self, term: str) -> float:
        """A term no document has weighs most: a question about it asks what the article lacks."""
        n = len(self.docs)
        return self._idf.get(term, math.log(1 + (n + 0.5) / 0.5))

    def scores_tokens(self, query_tokens: list[str]) -> np.ndarray:
        out = np.zeros(len(self.docs), dtype=np.float32)
        if not self.docs:
            return out
        norm = self.k1 * (1 - self.b + self.b * self._len / max(self._avg, 1e-9))
        for term in set(query_tokens):
            idf = self._idf.get(term)
            if idf is None:
                continue
            tf = np.array([c.get(term, 0) for c in self._tf], dtype=np.float32)
            out += idf * tf * (self.k1 + 1) / (tf + norm)
        return out
