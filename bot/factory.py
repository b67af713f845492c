"""Wires the real components together from Settings: article, embedder, index, model, core."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.core import CoreConfig, Kutip
from bot.settings import Settings
from index.article import Article
from index.build import ensure_index
from index.embedder import SentenceTransformerEmbedder
from index.fetch import FetchPolicy
from index.ingest import load_article
from index.store import StoredIndex

logger = logging.getLogger(__name__)


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(timeout_s=settings.fetch_timeout_s, max_bytes=settings.fetch_max_bytes,
                       allow_private=settings.allow_private_urls)


def index_dir(settings: Settings) -> Path:
    return settings.data_dir / "index"


def load_index(settings: Settings, progress: bool = True) -> tuple[StoredIndex, SentenceTransformerEmbedder]:
    """Read the configured article and return its index, rebuilding it when stale."""
    settings.apply_offline()
    article: Article = load_article(settings.article, fetch_policy(settings))
    embedder = SentenceTransformerEmbedder(settings.embedding_model)
    return ensure_index(article, embedder, index_dir(settings), progress=progress), embedder


def load_generator(settings: Settings):
    from bot.llm.llama import LlamaGenerator
    from bot.llm.source import resolve_model

    settings.apply_offline()
    path, name = resolve_model(settings.llm_model, settings.data_dir / "models", settings.llm_sha256)
    return LlamaGenerator(path, name, n_ctx=settings.llm_context, n_threads=settings.llm_threads,
                          state_dir=settings.data_dir / "kv")


def core_config(settings: Settings) -> CoreConfig:
    return CoreConfig(candidates=settings.candidates, max_tokens=settings.llm_max_tokens,
                      max_question_chars=settings.max_question_chars)


def build_core(settings: Settings, progress: bool = True) -> Kutip:
    stored, embedder = load_index(settings, progress=progress)
    generator = load_generator(settings)
    return Kutip(stored, embedder, generator, core_config(settings), summary_cache_dir=settings.data_dir / "summaries")
