"""The llama.cpp generator: ChatML prompts, grammar-constrained decoding, and a reused KV prefix."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from base.errors import ModelError
from bot.core.ports import Prompt
from bot.llm.kvstate import load_prefix, save_prefix, state_key

logger = logging.getLogger(__name__)


def chatml(prompt: Prompt) -> tuple[str, str]:
    """Split a ChatML conversation where the fixed system part ends, so its KV state can be reused."""
    prefix = f"<|im_start|>system\n{prompt.system}<|im_end|>\n"
    suffix = f"<|im_start|>user\n{prompt.user}<|im_end|>\n<|im_start|>assistant\n"
    return prefix, suffix


class LlamaGenerator:
    """Generates with llama-cpp-python. One context: callers serialise access (the lock enforces it)."""

    def __init__(
        self, model_path: Path, name: str, n_ctx: int = 4096, n_threads: int = 2, state_dir: Path | None = None
    ) -> None:
        from llama_cpp import Llama

        self.name = name
        self._model_path = model_path
        self._state_dir = state_dir
        try:
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=512,
                seed=0,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            # A truncated or corrupted GGUF: llama.cpp says only "failed to load"; say which file and what next.
            raise ModelError(
                f"cannot load the model file {model_path}: {exc}. Delete it to have it assembled again, "
                "or check KUTIP_LLM_MODEL"
            ) from exc
        self._lock = threading.Lock()
        self._prefix_tokens: dict[str, list[int]] = {}
        self._grammars: dict[str, object] = {}
        logger.info("LLM %s loaded (%d threads, context %d)", name, n_threads, n_ctx)

    @property
    def context_size(self) -> int:
        return self._llm.n_ctx()

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _prefix(self, prefix: str) -> list[int]:
        """The prefix's tokens, tokenised once per article."""
        if prefix not in self._prefix_tokens:
            self._prefix_tokens.clear()  # one article at a time: keep memory flat
            self._prefix_tokens[prefix] = self._llm.tokenize(prefix.encode("utf-8"), add_bos=True, special=True)
        return self._prefix_tokens[prefix]

    @property
    def llama(self):
        """The llama_cpp.Llama itself, for measurements that must run on this very context (make bench)."""
        return self._llm

    def prefix_tokens(self, system: str) -> list[int]:
        """The tokens of the fixed system part that every question's prompt starts with."""
        prefix, _ = chatml(Prompt(system=system, user=""))
        return self._prefix(prefix)

    def prompt_tokens(self, prompt: Prompt) -> list[int]:
        """Exactly the tokens `complete()` sends for `prompt`."""
        prefix, suffix = chatml(prompt)
        # Tokenise the two parts apart: the prefix then has the same tokens for every question,
        # which is what lets llama.cpp's prefix match skip re-evaluating it.
        return self._prefix(prefix) + self._llm.tokenize(suffix.encode("utf-8"), add_bos=False, special=True)

    def _grammar(self, gbnf: str):
        from llama_cpp import LlamaGrammar

        if gbnf not in self._grammars:
            if len(self._grammars) > 64:
                self._grammars.clear()
            self._grammars[gbnf] = LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[gbnf]

    def warm(self, system: str) -> None:
        """Have the system prefix evaluated before the first question: from disk if saved, else now."""
        with self._lock:
            tokens = self.prefix_tokens(system)
            if self._llm.n_tokens >= len(tokens) and list(self._llm.input_ids[: len(tokens)]) == tokens:
                return
            saved = (
                self._state_dir / f"{state_key(self._model_path, self.context_size, tokens)}.kv"
                if self._state_dir
                else None
            )
            if saved is not None and load_prefix(self._llm, saved, tokens):
                logger.info("prompt prefix (%d tokens) restored from %s", len(tokens), saved.name)
                return
            self._llm.reset()
            self._llm.eval(tokens)
            if saved is not None:
                save_prefix(self._llm, saved, tokens)

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> str:
        tokens = self.prompt_tokens(prompt)
        if len(tokens) + max_tokens > self.context_size:
            raise ModelError(f"prompt of {len(tokens)} tokens does not fit the {self.context_size}-token context")
        with self._lock:
            # create_completion finds the longest common token prefix with what the context already
            # holds and evaluates only the rest: the article prefix is paid once, not per question.
            out = self._llm.create_completion(
                tokens, max_tokens=max_tokens, temperature=0.0, top_k=1, grammar=self._grammar(grammar), seed=0
            )
        return out["choices"][0]["text"]
