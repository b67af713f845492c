"""The versioned index on disk: FAISS vectors, lexical tokens and the article, under a manifest that load() checks.

The manifest names the format, the embedding model, the tokenizer version (lexical.json holds tokens)
and the SHA-256 of every file, so a stale or damaged index is rebuilt instead of silently misread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from base.errors import IndexStale
from base.words import TOKENIZER_VERSION
from index.article import Article, Sentence

if TYPE_CHECKING:
    import faiss

logger = logging.getLogger(__name__)

FORMAT = "kutip-index v2"
MANIFEST = "manifest.json"
FILES = ("article.json", "lexical.json", "sentences.faiss", "paragraphs.faiss")


def article_sha256(article: Article) -> str:
    return hashlib.sha256(article.text.encode("utf-8")).hexdigest()


def article_json(article: Article) -> dict:
    """The article as plain JSON: its text and each sentence's offsets into it."""
    return {
        "text": article.text,
        "title": article.title,
        "source_url": article.source_url,
        "language": article.language,
        "origin": article.origin,
        "sentences": [[s.paragraph, s.sentence, s.start, s.end] for s in article.sentences],
    }


def article_from_json(raw: dict) -> Article:
    """The inverse of article_json; KeyError, TypeError or ValueError on a malformed object."""
    text = raw["text"]
    sentences = tuple(
        Sentence(paragraph=p, sentence=n, text=text[start:end], start=start, end=end)
        for p, n, start, end in raw["sentences"]
    )
    return Article(
        text=text,
        sentences=sentences,
        title=raw["title"],
        source_url=raw["source_url"],
        language=raw["language"],
        origin=raw["origin"],
    )


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class StoredIndex:
    """Everything retrieval needs, as saved and loaded."""

    article: Article
    sentence_index: faiss.Index  # one L2-normalised vector per sentence, in article order
    paragraph_index: faiss.Index  # one per paragraph
    sentence_tokens: list[list[str]]
    paragraph_tokens: list[list[str]]
    embedding_model: str

    @property
    def manifest(self) -> dict:
        return {
            "format": FORMAT,
            "tokenizer": TOKENIZER_VERSION,
            "embedding_model": self.embedding_model,
            "dimension": int(self.sentence_index.d),
            "article_sha256": article_sha256(self.article),
            "sentence_count": len(self.article.sentences),
            "paragraph_count": self.article.paragraph_count,
        }


def flat_index(vectors: np.ndarray) -> faiss.Index:
    """An exact inner-product index; on normalised vectors, inner product is cosine similarity."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save(stored: StoredIndex, directory: Path) -> None:
    """Write every file, then the manifest last, so a half-written index never passes load()."""
    import faiss

    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).unlink(missing_ok=True)
    (directory / "article.json").write_text(
        json.dumps(article_json(stored.article), ensure_ascii=False), encoding="utf-8"
    )
    (directory / "lexical.json").write_text(
        json.dumps({"sentences": stored.sentence_tokens, "paragraphs": stored.paragraph_tokens}, ensure_ascii=False),
        encoding="utf-8",
    )
    faiss.write_index(stored.sentence_index, str(directory / "sentences.faiss"))
    faiss.write_index(stored.paragraph_index, str(directory / "paragraphs.faiss"))
    manifest = {**stored.manifest, "files": {name: _file_sha256(directory / name) for name in FILES}}
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)
    logger.info("index saved to %s", directory)


def read_manifest(directory: Path) -> dict:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexStale(f"no index at {directory}") from exc
    except (OSError, ValueError) as exc:
        raise IndexStale(f"unreadable manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexStale(
            f"index format {manifest.get('format') if isinstance(manifest, dict) else '?'!r}, expected {FORMAT!r}"
        )
    return manifest


def load(directory: Path, *, embedding_model: str, article_sha: str | None = None) -> StoredIndex:
    """Load and check an index; raise IndexStale saying why it cannot be used."""
    import faiss

    manifest = read_manifest(directory)
    if manifest.get("tokenizer") != TOKENIZER_VERSION:
        raise IndexStale(f"tokens made by tokenizer v{manifest.get('tokenizer')}, now v{TOKENIZER_VERSION}")
    if manifest.get("embedding_model") != embedding_model:
        raise IndexStale(f"built with embedding model {manifest.get('embedding_model')!r}, now {embedding_model!r}")
    if article_sha is not None and manifest.get("article_sha256") != article_sha:
        raise IndexStale("the article changed since the index was built")
    checksums = manifest.get("files") or {}
    for name in FILES:
        try:
            actual = _file_sha256(directory / name)
        except OSError as exc:
            raise IndexStale(f"corrupt index: {name}: {exc}") from exc
        if actual != checksums.get(name):
            raise IndexStale(f"corrupt index: {name} does not match its checksum")
    try:
        raw = json.loads((directory / "article.json").read_text(encoding="utf-8"))
        lexical = json.loads((directory / "lexical.json").read_text(encoding="utf-8"))
        sentence_index = faiss.read_index(str(directory / "sentences.faiss"))
        paragraph_index = faiss.read_index(str(directory / "paragraphs.faiss"))
        article = article_from_json(raw)
        sentences = article.sentences
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexStale(f"corrupt index: {exc.__class__.__name__}: {exc}") from exc
    stored = StoredIndex(
        article=article,
        sentence_index=sentence_index,
        paragraph_index=paragraph_index,
        sentence_tokens=lexical.get("sentences", []),
        paragraph_tokens=lexical.get("paragraphs", []),
        embedding_model=embedding_model,
    )
    if {**stored.manifest, "files": checksums} != manifest:
        raise IndexStale("corrupt index: files disagree with the manifest")
    if (
        len(stored.sentence_tokens) != sentence_index.ntotal
        or sentence_index.ntotal != len(sentences)
        or len(stored.paragraph_tokens) != paragraph_index.ntotal
        or paragraph_index.ntotal != article.paragraph_count
    ):
        raise IndexStale("corrupt index: vectors or lexical tokens do not match the sentences")
    return stored
