"""Hybrid retrieval over one article: dense (FAISS) and lexical (BM25) scores, at sentence and paragraph level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from base.words import content_tokens
from index.article import Sentence
from index.embedder import Embedder
from index.lexical import BM25
from index.store import StoredIndex


@dataclass(frozen=True)
class RetrievalConfig:
    """Weights of the fused score, tuned on the benchmarks' dev splits (docs/measurements.md, "Retrieval ablation" with
    MiniLM and "BM25's weight beside e5")."""

    dense: float = 1.0
    lexical: float = 0.5
    # A query in another language than the article's shares only its names and numbers with it, so BM25
    # ranks sentences by how often they name the article's subject, and that noise outranks the
    # multilingual embedder's match (docs/measurements.md, "BM25's weight beside e5").
    cross_lingual_lexical: float = 0.0
    paragraph: float = 0.5  # how much a sentence borrows from its paragraph's score
    neighbours: float = 0.0  # how much it borrows from the sentences beside it


def default_retrieval(multilingual: bool) -> RetrievalConfig:
    """The weights tuned for the kind of embedder: BM25 counts half as much beside multilingual-e5-small
    as beside all-MiniLM-L6-v2, which keeps the weights first tuned with it."""
    return RetrievalConfig() if multilingual else RetrievalConfig(lexical=1.0)


@dataclass(frozen=True)
class Hit:
    """A ranked sentence. Whether it supports an answer is the grounding policy's question, not retrieval's."""

    sentence: Sentence
    score: float  # fused, comparable only within one query
    dense: float  # cosine similarity of question and sentence


def _minmax(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    span = float(x.max() - x.min())
    return (x - x.min()) / span if span > 1e-9 else np.zeros_like(x)


def _dense(index, query_vector: np.ndarray) -> np.ndarray:
    n = index.ntotal
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    scores, ids = index.search(query_vector, n)
    out = np.zeros(n, dtype=np.float32)
    out[ids[0]] = scores[0]
    return out


class HybridRetriever:
    """Ranks an article's sentences for a query: the Retriever (bot/core/ports.py) used in production."""

    def __init__(self, stored: StoredIndex, embedder: Embedder, config: RetrievalConfig | None = None) -> None:
        self.stored = stored
        self.embedder = embedder
        self.config = config or default_retrieval(embedder.multilingual)
        self._sentence_bm25 = BM25(stored.sentence_tokens)
        self._paragraph_bm25 = BM25(stored.paragraph_tokens)
        self._paragraph_of = np.array([s.paragraph - 1 for s in stored.article.sentences], dtype=np.int64)

    def search(self, query: str, k: int, same_language: bool = True) -> list[Hit]:
        sentences = self.stored.article.sentences
        if not sentences:
            return []
        c = self.config
        lexical_weight = c.lexical if same_language else c.cross_lingual_lexical
        query_vector = self.embedder.embed_queries([query])
        dense = _dense(self.stored.sentence_index, query_vector)
        para_dense = _dense(self.stored.paragraph_index, query_vector)
        sentence_score = c.dense * _minmax(dense)
        paragraph_score = c.dense * _minmax(para_dense)
        if lexical_weight:  # BM25 weighing nothing (a question in another language) is not computed at all
            query_tokens = content_tokens(query)
            sentence_score += lexical_weight * _minmax(self._sentence_bm25.scores_tokens(query_tokens))
            paragraph_score += lexical_weight * _minmax(self._paragraph_bm25.scores_tokens(query_tokens))
        fused = sentence_score + c.paragraph * paragraph_score[self._paragraph_of]
        if c.neighbours:
            same_para = self._paragraph_of[1:] == self._paragraph_of[:-1]
            left = np.concatenate([[0.0], np.where(same_para, sentence_score[:-1], 0.0)])
            right = np.concatenate([np.where(same_para, sentence_score[1:], 0.0), [0.0]])
            fused = fused + c.neighbours * np.maximum(left, right)
        return [
            Hit(sentence=sentences[i], score=float(fused[i]), dense=float(dense[i]))
            for i in np.argsort(-fused, kind="stable")[:k]
        ]
