"""BM25 over sentences: catches names, numbers and rare words that small embedding models blur."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+", re.UNICODE)
# Indonesian clitics and particles glue onto words ("kemitraannya", "apakah"); stripping them lets
# question words meet article words. English possessives likewise.
_SUFFIXES = ("nya", "lah", "kah", "'s")
STOPWORDS = frozenset(
    # Indonesian
    "yang dan di ke dari ini itu dengan untuk pada adalah tidak akan juga atau oleh dalam sebagai karena "
    "apa siapa kapan mengapa kenapa bagaimana berapa mana apakah siapakah tersebut telah sudah ada "
    "mereka kami kita saya anda sebuah seorang para antara tentang saat ketika secara bahwa jika maka "
    "lebih sangat se nama ya bukan pada tahun namun selain hal oleh akan "
    # English
    "the and of to in is are was were be been for on with as by at from that this it its an a "
    "what who when why how which where whom whose does do did has have had will would can could "
    "should not or but about their they he she his her there than into after before name during since until "
    "because yes no also so then some any all more most other such only own same too very just over under".split()
)


def tokenize(text: str) -> list[str]:
    tokens = []
    for raw in _TOKEN.findall(text.lower()):
        for suffix in _SUFFIXES:
            if len(raw) > len(suffix) + 3 and raw.endswith(suffix):
                raw = raw[: -len(suffix)]
                break
        tokens.append(raw)
    return tokens


# Indonesian derivational affixes, longest first. Used only to judge whether a question's words
# occur in a sentence ("mulai" in "memulai"), never to rank: BM25 stays on the surface forms.
_AFFIX_SUFFIXES = ("kan", "an", "i")
_AFFIX_PREFIXES = ("meng", "meny", "mem", "men", "me", "peng", "peny", "pem", "pen", "pe", "ber", "be", "ter",
                   "di", "ke")
_MIN_STEM = 4


def stem(token: str) -> str:
    """A crude Indonesian stem: one derivational suffix, then one prefix, each only if 4+ letters remain."""
    for suffix in _AFFIX_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= _MIN_STEM:
            token = token[: -len(suffix)]
            break
    for prefix in _AFFIX_PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= _MIN_STEM:
            return token[len(prefix):]
    return token


def content_tokens(text: str) -> list[str]:
    return [t for t in tokenize(text) if t not in STOPWORDS]


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
