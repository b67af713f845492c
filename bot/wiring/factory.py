"""Wires the real components together from Settings: article, embedder, index, model, core.

This is the only place that builds things; every other module receives what it needs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from base.errors import ModelError
from bot.core import support_model
from bot.core.answer import CoreConfig, Kutip, article_prompt
from bot.core.grounding import GroundingPolicy, GroundingThresholds
from bot.core.ports import Generator, Retriever, SavedPrefixes
from bot.core.summary import Summariser
from bot.core.support_model import SupportModel
from bot.library.library import Library, LibraryConfig
from bot.llm.packs import PACKS
from bot.storage import DATABASE_NAME, open_database
from bot.storage.articles import ArticleStore
from bot.wiring.lazy import once, side_by_side
from bot.wiring.settings import Settings
from index.article import Article
from index.build import ensure_index
from index.embedder import Embedder
from index.fetch import FetchPolicy
from index.ingest import ArticleLimits, load_article
from index.retrieve import HybridRetriever, RetrievalConfig
from index.store import StoredIndex

logger = logging.getLogger(__name__)


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        timeout_s=settings.fetch_timeout_s,
        max_bytes=settings.fetch_max_bytes,
        allow_private=settings.allow_private_urls,
    )


def article_limits(settings: Settings) -> ArticleLimits:
    return ArticleLimits(
        max_bytes=settings.fetch_max_bytes,
        max_sentences=settings.article_max_sentences,
        max_html_elements=settings.article_max_html_elements,
        min_sentences=settings.article_min_sentences,
        min_words=settings.article_min_words,
    )


def core_config(settings: Settings) -> CoreConfig:
    return CoreConfig(
        candidates=settings.candidates,
        passage_sentences=settings.passage_sentences,
        max_tokens=settings.llm_max_tokens,
        max_question_chars=settings.max_question_chars,
        copy_answers=settings.copy_answers,
        closest_quotes=settings.closest_quotes,
    )


def grounding_thresholds(settings: Settings) -> GroundingThresholds:
    return replace(
        GroundingThresholds(),
        min_verified=settings.support_min_verified,
        min_answer_logprob=settings.support_min_answer_logprob,
        max_missing_specifics=settings.support_max_missing_specifics,
        min_coverage=settings.support_min_coverage,
        min_related_dense=settings.support_min_related_dense,
        min_related_coverage=settings.support_min_related_coverage,
        max_absent_coverage=settings.support_max_absent_coverage,
    )


def llm_sha256(settings: Settings) -> str:
    """The SHA-256 of the GGUF KUTIP_LLM_MODEL names, when known without reading the file: a pack's pinned one,
    else KUTIP_LLM_SHA256 (empty when not given, and for a model server)."""
    if settings.llm_url:
        return ""
    pack = PACKS.get(settings.llm_model.removeprefix("pack:")) if settings.llm_model.startswith("pack:") else None
    return pack.sha256 if pack is not None else settings.llm_sha256.lower()


def load_support_model(settings: Settings) -> SupportModel | None:
    """The fitted support model KUTIP_SUPPORT_MODEL names, or None for the per-signal thresholds.

    'signals' and 'probe' are the model pack's own, pinned by SHA-256 and fitted on that LLM's signals (a
    P(yes) or a log-probability means what it does for the model that gave it); with another LLM, or a model
    server, there is none and the thresholds decide. A probe given by path must name the LLM in use: a
    hidden state means nothing to a probe fitted on another model's.
    """
    if settings.support_model == "none":
        return None
    if settings.support_model in ("signals", "probe"):
        pack = next((p for p in PACKS.values() if p.sha256 == llm_sha256(settings)), None)
        shipped = pack.support_file(settings.support_model) if pack else None
        if shipped is None:
            logger.info("no %s support model for this LLM: the per-signal thresholds decide", settings.support_model)
            return None
        return support_model.load(*shipped)
    model = support_model.load(Path(settings.support_model))
    if model.reads_state and model.llm_sha256 != llm_sha256(settings):
        raise ModelError(
            f"{settings.support_model} reads the hidden states of the LLM with SHA-256 {model.llm_sha256[:12]}…, "
            "not of KUTIP_LLM_MODEL's (set KUTIP_LLM_SHA256 for a local file, or KUTIP_SUPPORT_MODEL=none)"
        )
    return model


def index_dir(settings: Settings) -> Path:
    return settings.data_dir / "index"


def load_embedder(settings: Settings) -> Embedder:
    from index.embedder import SentenceTransformerEmbedder

    settings.apply_offline()
    return SentenceTransformerEmbedder(settings.embedding_model, cache_dir=settings.data_dir / "models")


def load_index(settings: Settings, progress: bool = True) -> tuple[StoredIndex, Embedder]:
    """Read the configured article and return its index, rebuilding it when stale."""
    article = default_article(settings)
    embedder = load_embedder(settings)
    return ensure_index(article, embedder, index_dir(settings), progress=progress), embedder


def server_generator(settings: Settings, stop: threading.Event | None = None) -> Generator:
    """The model behind KUTIP_LLM_URL. Nothing is contacted yet: a server that is down does not stop the bot.
    `stop`, once set, abandons the request in flight (the bot sets it when it stops)."""
    from bot.llm.openai_server import OpenAIServerGenerator, ServerConfig

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return OpenAIServerGenerator(
        ServerConfig(
            url=settings.llm_url,
            model=settings.llm_server_model,
            api_key=key or None,
            timeout_s=settings.llm_timeout_s,
            connect_timeout_s=settings.llm_connect_timeout_s,
            retries=settings.llm_retries,
            max_concurrent=settings.llm_max_concurrent,
            context_size=settings.llm_context,
            logprobs=settings.llm_server_logprobs,
        ),
        stop=stop,
    )


def reads_states(model: SupportModel | None) -> bool:
    """Whether the verification turn must hand over the LLM's hidden state: only a support model that reads it
    uses it, and reading it costs a decode of its own."""
    return model is not None and model.reads_state


def load_generator(
    settings: Settings, stop: threading.Event | None = None, keep_state: bool | None = None
) -> Generator:
    """An OpenAI-compatible server when KUTIP_LLM_URL is set (no GGUF is loaded), else the in-process model.
    `stop`, once set, interrupts the model call in progress (GenerationCancelled). `keep_state`: the verification
    turn returns the model's hidden state; by default exactly when KUTIP_SUPPORT_MODEL reads it."""
    if settings.llm_url:
        return server_generator(settings, stop)
    from bot.llm.llama import LlamaGenerator
    from bot.llm.source import resolve_model

    settings.apply_offline()
    path, name = resolve_model(settings.llm_model, settings.data_dir / "models", settings.llm_sha256)
    if keep_state is None:
        keep_state = reads_states(load_support_model(settings))
    return LlamaGenerator(
        path,
        name,
        n_ctx=settings.llm_context,
        n_threads=settings.llm_threads,
        state_dir=settings.data_dir / "kv",
        stop=stop,
        keep_state=keep_state,
    )


def load_prefixes(settings: Settings) -> SavedPrefixes | None:
    """Which article prefixes the in-process model has saved, read from its vocabulary alone (no weights); None
    behind a model server (KUTIP_LLM_URL), whose slots keep their own prompt caches: nothing is saved here.
    A missing model pack or file is the same ModelError as loading the model."""
    if settings.llm_url:
        return None
    from bot.llm.llama import LlamaPrefixes
    from bot.llm.source import resolve_model

    settings.apply_offline()
    path, _ = resolve_model(settings.llm_model, settings.data_dir / "models", settings.llm_sha256)
    return LlamaPrefixes(path, settings.llm_context, settings.data_dir / "kv")


def assemble_core(
    stored: StoredIndex,
    embedder: Embedder,
    generator: Generator,
    config: CoreConfig,
    summary_cache_dir: Path | None = None,
    retriever: Retriever | None = None,
    retrieval: RetrievalConfig | None = None,
    thresholds: GroundingThresholds | None = None,
    model: SupportModel | None = None,
) -> Kutip:
    """A core over one article's index; `retriever` replaces the hybrid one (the eval wraps it to record)."""
    article = stored.article
    prompt = article_prompt(article, generator, config)
    grounding = GroundingPolicy(stored, thresholds, model)
    vectors = stored.sentence_index.reconstruct_n(0, stored.sentence_index.ntotal)
    summariser = Summariser(article, vectors, generator, prompt, grounding.thresholds, summary_cache_dir)
    retriever = retriever or HybridRetriever(stored, embedder, retrieval)
    config = replace(config, translate_questions=not embedder.multilingual)
    return Kutip(article, retriever, grounding, generator, prompt, summariser, config)


def library_config(settings: Settings) -> LibraryConfig:
    return LibraryConfig(
        fetch=fetch_policy(settings),
        limits=article_limits(settings),
        max_articles=settings.library_max_articles,
        reads_per_hour=settings.library_reads_per_hour,
        exclusive_model=not settings.llm_url,
    )


def build_library(
    settings: Settings,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    reread: Callable[[], Settings] | None = None,
    stop: threading.Event | None = None,
) -> Library:
    """The article library in the data directory, its default article KUTIP_ARTICLE (read when first needed).

    One embedder and one generator serve every article; by default each is loaded on first use, so a command
    that needs no model (`kutip articles`, `kutip source`) loads none, nor does `kutip index` once the article's
    index and model prefix are saved (the model's vocabulary tells the prefix: load_prefixes). `reread` gives the
    settings each read of the default article uses (the bot's /reload picks up an edited .env); by default,
    `settings`. `stop` goes to the generator loaded here.
    """
    model = load_support_model(settings)
    embedder_of = once(lambda: embedder or load_embedder(settings))
    generator_of = once(lambda: generator or load_generator(settings, stop, keep_state=reads_states(model)))
    prefixes_of = once(lambda: load_prefixes(settings))
    config = core_config(settings)
    thresholds = grounding_thresholds(settings)

    def assemble(stored: StoredIndex, summaries: Path) -> Kutip:
        # The first core needs both models: loading them side by side makes a start (`kutip run`'s, the first
        # `kutip ask`) wait for the longer load rather than for both in turn (`make bench`, "cold start").
        embedder_now, generator_now = side_by_side(embedder_of, generator_of)
        return assemble_core(stored, embedder_now, generator_now, config, summaries, thresholds=thresholds, model=model)

    def prefix_saved(article: Article) -> bool | None:
        prefixes = prefixes_of()
        return None if prefixes is None else prefixes.saved(article_prompt(article, prefixes, config).system)

    return Library(
        settings.data_dir / "articles",
        ArticleStore(
            open_database(settings.data_dir / DATABASE_NAME, shared=True, busy_timeout_s=settings.db_busy_timeout_s)
        ),
        embedder_of,
        generator_of,
        assemble,
        library_config(settings),
        default=lambda: default_article(reread() if reread is not None else settings),
        embedding_model=embedder.name if embedder is not None else settings.embedding_model,
        prefix_saved=prefix_saved,
    )


def default_article(settings: Settings) -> Article:
    """KUTIP_ARTICLE, read, cleaned and checked."""
    return load_article(settings.article, fetch_policy(settings), article_limits(settings))


def build_core(settings: Settings, progress: bool = True) -> Kutip:
    stored, embedder = load_index(settings, progress=progress)
    model = load_support_model(settings)
    generator = load_generator(settings, keep_state=reads_states(model))
    return assemble_core(
        stored,
        embedder,
        generator,
        core_config(settings),
        settings.data_dir / "summaries",
        thresholds=grounding_thresholds(settings),
        model=model,
    )
