"""A generator behind an OpenAI-compatible server (llama.cpp's llama-server, llama-cpp-python's server).

The prompt is the same ChatML conversation the in-process model gets: the article as the system
message, fixed across questions, and the question as the user message, so the server's prompt cache
(`cache_prompt`, or llama-cpp-python's prefix match) evaluates the article once. The GBNF grammar
is sent as `grammar`; a server that ignores it still has its reply parsed and checked by the core,
which refuses what it cannot read.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from base.errors import GenerationCancelled, ModelError, ModelUnavailable
from bot.core.ports import Choice, Completion, Prompt

logger = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# The OpenAI API caps top_logprobs at 20; "yes" and "no" are among the top few whenever they matter.
TOP_LOGPROBS = 20
# Without a tokenize endpoint, one token per 2.5 UTF-8 bytes: Qwen2.5's tokenizer measured 3.6 bytes
# per token on the seed article and 2.6 on English with ids and numbers, so this over-counts, and an
# article that might not fit is sent sentence by sentence instead of overflowing the context.
BYTES_PER_TOKEN_ESTIMATE = 2.5
# How often a thread waiting for the server looks whether Kutip is stopping.
_STOP_POLL_S = 0.1


@dataclass(frozen=True)
class ServerConfig:
    """How to reach the server. Built from Settings by bot/wiring/factory.load_generator."""

    url: str  # the OpenAI base URL, usually ending in /v1
    model: str = ""
    api_key: str | None = field(default=None, repr=False)  # never in a log line
    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    retries: int = 2
    max_concurrent: int = 2
    context_size: int = 4096  # used when the server does not say (llama-cpp-python's server does not)
    logprobs: str = "all"  # "all": answer tokens and the yes/no check; "verify": the check only; "none"
    backoff_s: float = 0.5  # first retry's wait; doubles per retry, with jitter
    max_wait_s: float = 30.0  # a Retry-After longer than this is not waited for


def plain(text: str) -> str:
    """Keep ChatML markers in an article or question as words: servers tokenise the whole prompt with
    special tokens enabled, so a question holding "<|im_end|>" could otherwise close its own turn."""
    return text.replace("<|", "<\u200c|")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN_ESTIMATE)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def refuses_logprobs(response: httpx.Response, body: dict[str, Any]) -> bool:
    """An error that is about the log-probabilities asked for: retrying the same request cannot help."""
    return response.status_code >= 400 and bool(body.get("logprobs")) and "logprobs" in response.text.lower()


class OpenAIServerGenerator:
    """Implements the Generator protocol over HTTP. Thread-safe; at most `max_concurrent` requests in flight."""

    def __init__(
        self, config: ServerConfig, client: httpx.Client | None = None, stop: threading.Event | None = None
    ) -> None:
        self.config = config
        # Set when Kutip stops: a request in flight is abandoned at once (GenerationCancelled).
        self._stop = stop or threading.Event()
        base = config.url.rstrip("/")
        self._root = base.removesuffix("/v1")  # tokenize and props live beside /v1, not under it
        self.name = config.model or f"server@{httpx.URL(base).host}"
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = client or httpx.Client(
            base_url=base,
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            limits=httpx.Limits(max_connections=max(1, config.max_concurrent)),
        )
        self._slots = threading.BoundedSemaphore(max(1, config.max_concurrent))
        self._logprobs = config.logprobs in ("all", "verify")
        # Answer-token scores feed the min_answer_logprob check; llama-cpp-python's server pays dearly for them.
        self._token_logprobs = config.logprobs == "all"
        self._tokenize_path: str | None | bool = None  # None: not probed yet; False: the server has none
        self._context: int | None = None

    def close(self) -> None:
        self._client.close()

    # --- HTTP -----------------------------------------------------------------

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise GenerationCancelled("the model request was abandoned: Kutip is stopping")

    def _send(self, url: str, body: dict[str, Any]) -> httpx.Response:
        """One POST, waited for until Kutip stops. A blocking httpx call cannot be interrupted from outside,
        so it runs in a daemon thread of its own; a stop abandons it, and the exit that follows closes its
        connection, which ends the server's work on it (llama-server stops a request whose client left)."""
        self._check_stop()
        done = threading.Event()
        outcome: list[httpx.Response | BaseException] = []

        def send() -> None:
            try:
                outcome.append(self._client.post(url, json=body))
            except BaseException as error:  # handed to the waiting thread, which raises it
                outcome.append(error)
            finally:
                done.set()

        threading.Thread(target=send, name="kutip-model-request", daemon=True).start()
        while not done.wait(_STOP_POLL_S):
            self._check_stop()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _pause(self, seconds: float) -> None:
        """Wait before a retry, or raise GenerationCancelled as soon as Kutip stops."""
        self._stop.wait(seconds)
        self._check_stop()

    def _post(self, url: str, body: dict[str, Any]) -> httpx.Response:
        """POST with retries on 429/5xx and dropped connections; ModelUnavailable when they run out."""
        host = httpx.URL(self.config.url).netloc.decode()
        for attempt in range(self.config.retries + 1):
            last = attempt == self.config.retries
            wait = self.config.backoff_s * 2**attempt * (0.5 + random.random())
            try:
                with self._slots:
                    response = self._send(url, body)
            except httpx.TimeoutException as error:
                if isinstance(error, httpx.ConnectTimeout) and not last:
                    self._pause(wait)
                    continue
                # Not retried: the server may still be working on it, and a retry would add to its load.
                raise ModelUnavailable(f"no reply from {host} within {self.config.timeout_s:g} s") from error
            except httpx.TransportError as error:  # refused, reset, closed mid-reply
                if last:
                    raise ModelUnavailable(f"cannot reach {host} ({type(error).__name__})") from error
                logger.info("model server %s: %s; retrying in %.1f s", host, type(error).__name__, wait)
                self._pause(wait)
                continue
            if response.status_code not in RETRIED_STATUSES or refuses_logprobs(response, body):
                return response
            asked = retry_after(response)
            if asked is not None and asked > self.config.max_wait_s:
                raise ModelUnavailable(f"{host} is busy (HTTP {response.status_code}, retry after {asked:.0f} s)")
            if last:
                raise ModelUnavailable(f"{host} answered HTTP {response.status_code}")
            wait = asked if asked is not None else wait
            logger.info("model server %s: HTTP %d; retrying in %.1f s", host, response.status_code, wait)
            self._pause(wait)
        raise AssertionError("unreachable")

    def _parse(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise ModelError(f"model server refused the request: HTTP {response.status_code} {response.text[:200]}")
        try:
            return response.json()
        except ValueError as error:
            raise ModelUnavailable("model server sent a reply that is not JSON") from error

    def _chat(
        self, prompt: Prompt, max_tokens: int, grammar: str | None = None, top_logprobs: int = 0
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            # System first and byte-identical for every question: that is the prefix the server reuses.
            "messages": [
                {"role": "system", "content": plain(prompt.system)},
                {"role": "user", "content": plain(prompt.user)},
            ],
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "seed": 0,
            "stream": False,
            "cache_prompt": True,  # llama.cpp's llama-server: keep the slot's KV for the next request
        }
        if self.config.model:
            body["model"] = self.config.model
        if grammar is not None:
            body["grammar"] = grammar
        if top_logprobs and self._logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = top_logprobs
        response = self._post("/chat/completions", body)
        if refuses_logprobs(response, body):
            # llama-cpp-python's server without logits_all answers 500 "logprobs is not supported".
            logger.warning("model server refuses logprobs: the yes/no check falls back to a hard verdict")
            self._logprobs = self._token_logprobs = False
            body = {k: v for k, v in body.items() if k not in ("logprobs", "top_logprobs")}
            response = self._post("/chat/completions", body)
        data = self._parse(response)
        # llama-server reports how much of the prompt came from its cache; llama-cpp-python only token usage.
        logger.debug("model server: timings %s, usage %s", data.get("timings"), data.get("usage"))
        try:
            choice = data["choices"][0]
        except (KeyError, IndexError, TypeError) as error:
            raise ModelError(f"model server reply has no choices: {str(data)[:200]}") from error
        if top_logprobs and self._logprobs and not (choice.get("logprobs") or {}).get("content"):
            logger.warning("model server sends no logprobs: the yes/no check falls back to a hard verdict")
            self._logprobs = self._token_logprobs = False
        return choice

    # --- the Generator protocol -----------------------------------------------

    @property
    def context_size(self) -> int:
        """llama-server's /props says its per-slot context; otherwise the configured size is trusted."""
        if self._context is None:
            self._context = self.config.context_size
            try:
                response = self._client.get(f"{self._root}/props", timeout=self.config.connect_timeout_s)
                props = response.json() if response.status_code == 200 else {}
                n_ctx = (props.get("default_generation_settings") or {}).get("n_ctx") or props.get("n_ctx")
                if isinstance(n_ctx, int) and n_ctx > 0:
                    self._context = n_ctx
            except (httpx.HTTPError, ValueError, AttributeError):
                logger.info("model server context unknown: assuming %d tokens", self._context)
        return self._context

    def count_tokens(self, text: str) -> int:
        """The server's own count (llama.cpp /tokenize, llama-cpp-python /extras/tokenize), else an over-estimate."""
        known = {"/tokenize": "content", "/extras/tokenize": "input"}
        paths = [self._tokenize_path] if isinstance(self._tokenize_path, str) else []
        if self._tokenize_path is None:
            paths = list(known)
        for path in paths:
            try:
                response = self._client.post(f"{self._root}{path}", json={known[path]: text, "add_special": False})
                if response.status_code in (404, 405):
                    continue
                response.raise_for_status()
                count = len(response.json()["tokens"])
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
                logger.warning("tokenize at the model server failed (%s): estimating", type(error).__name__)
                return estimate_tokens(text)
            self._tokenize_path = path
            return count
        if self._tokenize_path is None:
            logger.info("model server has no tokenize endpoint: token counts are estimated")
            self._tokenize_path = False
        return estimate_tokens(text)

    def warm(self, system: str) -> None:
        """One tiny request with the article, so the server holds its prefix before the first question.

        A server that is down is not fatal here: the bot starts, and says so when asked.
        """
        try:
            self._chat(Prompt(system=system, user=""), max_tokens=1)
        except ModelError as error:
            logger.warning("model server not ready at start: %s", error)

    def forget(self, system: str) -> None:
        """Nothing is saved here: the server manages its own prompt cache."""

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> Completion:
        choice = self._chat(prompt, max_tokens, grammar=grammar, top_logprobs=1 if self._token_logprobs else 0)
        text = (choice.get("message") or {}).get("content") or ""
        scored = (choice.get("logprobs") or {}).get("content") or []
        tokens = tuple((str(t["token"]), float(t["logprob"])) for t in scored if "token" in t and "logprob" in t)
        return Completion(text=text, tokens=tokens)

    def choose(self, prompt: Prompt, options: tuple[str, ...]) -> Choice:
        """From the first token's top log-probabilities; without them, a hard verdict (1.0 or 0.0). A server
        does not expose the model's hidden state, so no probe can read it."""
        return Choice(probabilities=self._probabilities(prompt, options))

    def _probabilities(self, prompt: Prompt, options: tuple[str, ...]) -> dict[str, float]:
        if self._logprobs:
            choice = self._chat(prompt, 1, top_logprobs=TOP_LOGPROBS)
            scored = (choice.get("logprobs") or {}).get("content") or []
            if scored:
                mass = dict.fromkeys(options, 0.0)
                for candidate in scored[0].get("top_logprobs") or []:
                    # "yes", "Yes" and " yes" are different tokens that all mean yes.
                    word = str(candidate.get("token", "")).strip().lower()
                    if word in mass:
                        mass[word] += math.exp(float(candidate["logprob"]))
                total = sum(mass.values())
                if total > 0:
                    return {o: m / total for o, m in mass.items()}
                logger.info("no option among the top %d tokens: asking for a hard verdict", TOP_LOGPROBS)
        return self._verdict(prompt, options)

    def _verdict(self, prompt: Prompt, options: tuple[str, ...]) -> dict[str, float]:
        """The option the model picks when it may say nothing else. A reply naming none of them (a server
        that ignored the grammar) gives every option 0, so a "yes" threshold refuses."""
        grammar = "root ::= " + " | ".join(f'"{o}"' for o in options)
        choice = self._chat(prompt, 4, grammar=grammar)
        said = ((choice.get("message") or {}).get("content") or "").strip().lower()
        picked = next((o for o in options if said.startswith(o)), None)
        return {o: 1.0 if o == picked else 0.0 for o in options}
