"""Builds the index for an article, or reuses the one on disk when it still matches."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from base.errors import IndexStale
from base.words import content_tokens
from index.article import Article
from index.embedder import Embedder
from index.store import StoredIndex, article_sha256, flat_index, load, save

logger = logging.getLogger(__name__)

_BATCH = 32


def _embed_with_progress(embedder: Embedder, texts: list[str], label: str, progress: bool) -> np.ndarray:
    batches = [texts[i : i + _BATCH] for i in range(0, len(texts), _BATCH)]
    rows = [
        embedder.embed(batch) for batch in tqdm(batches, desc=label, unit="batch", disable=not progress, leave=False)
    ]
    return np.vstack(rows) if rows else np.zeros((0, embedder.dimension), dtype=np.float32)


def paragraph_texts(article: Article) -> list[str]:
    return [" ".join(s.text for s in article.paragraph(p)) for p in range(1, article.paragraph_count + 1)]


def build_index(article: Article, embedder: Embedder, progress: bool = False) -> StoredIndex:
    sentences = [s.text for s in article.sentences]
    paragraphs = paragraph_texts(article)
    return StoredIndex(
        article=article,
        sentence_index=flat_index(_embed_with_progress(embedder, sentences, "embedding sentences", progress)),
        paragraph_index=flat_index(_embed_with_progress(embedder, paragraphs, "embedding paragraphs", progress)),
        sentence_tokens=[content_tokens(t) for t in sentences],
        paragraph_tokens=[content_tokens(t) for t in paragraphs],
        embedding_model=embedder.name,
    )


def saved_index(article: Article, embedding_model: str, directory: Path) -> StoredIndex | None:
    """The index saved for `article` with `embedding_model`; None when missing, stale or corrupt. Needs no model."""
    try:
        return load(directory, embedding_model=embedding_model, article_sha=article_sha256(article))
    except IndexStale as why:
        logger.info("rebuilding the index: %s", why)
        return None


def saved_build(article: Article, embedder: Embedder, directory: Path, progress: bool = False) -> StoredIndex:
    """Build the index for `article` and save it in `directory`."""
    stored = build_index(article, embedder, progress=progress)
    save(stored, directory)
    return stored


def ensure_index(article: Article, embedder: Embedder, directory: Path, progress: bool = True) -> StoredIndex:
    """Load the saved index for `article`; rebuild and save it when missing, stale or corrupt."""
    stored = saved_index(article, embedder.name, directory)
    return stored if stored is not None else saved_build(article, embedder, directory, progress)
