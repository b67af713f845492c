"""Questions are embedded as queries, article text as passages, and the eval cache keeps the two apart."""

from __future__ import annotations

import numpy as np

from evaluation.embedcache import CachingEmbedder
from index.build import build_index
from index.retrieve import HybridRetriever
from tests.fakes import FakeEmbedder


def test_the_retriever_embeds_the_question_as_a_query(seed_article):
    embedder = FakeEmbedder()
    stored = build_index(seed_article, embedder)
    passages = len(embedder.calls)
    HybridRetriever(stored, embedder).search("Kapan Microsoft dan OpenAI memulai kolaborasi?", k=3)
    assert embedder.query_calls == [["Kapan Microsoft dan OpenAI memulai kolaborasi?"]]
    assert len(embedder.calls) == passages  # no sentence or paragraph embedded again, and not the question


class PrefixedEmbedder(FakeEmbedder):
    """Like e5: the same text gets another vector as a query."""

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.query_calls.append(list(texts))
        return self._vectors([f"query {t}" for t in texts])


def test_the_cache_keeps_query_and_passage_vectors_apart():
    inner = PrefixedEmbedder()
    cached = CachingEmbedder(inner)
    as_query = cached.embed_queries(["azure cloud"])
    as_passage = cached.embed(["azure cloud"])
    assert not np.allclose(as_query, as_passage)
    np.testing.assert_array_equal(cached.embed_queries(["azure cloud"]), as_query)
    np.testing.assert_array_equal(cached.embed(["azure cloud"]), as_passage)
    assert inner.query_calls == [["azure cloud"]] and inner.calls == [["azure cloud"]]
    assert cached.embed_queries([]).shape == (0, inner.dimension)
