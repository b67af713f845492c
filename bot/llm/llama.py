"""The llama.cpp generator: ChatML prompts, grammar-constrained decoding, and a reused KV prefix."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bot.generator import Prompt

logger = logging.getLogger(__name__)


def chatml(prompt: Prompt) -> tuple[str, str]:
    """Split a ChatML conversation where the fixed system part ends, so its KV state can be reused."""
    prefix = f"<|im_start|>system\n{prompt.system}<|im_end|>\n"
    suffix = f"<|im_start|>user\n{prompt.user}<|im_end|>\n<|im_start|>assistant\n"
    return prefix, suffix


class LlamaGenerator:
    """Generates with llama-cpp-python. One context: callers serialise access (the lock enforces it)."""

    def __init__(self, model_path: Path, name: str, n_ctx: int = 4096, n_threads: int = 2) -> None:
        from llama_cpp import Llama

        self.name = name
        self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                          n_batch=512, seed=0, verbose=False)
        self._lock = threading.Lock()
        self._prefix_tokens: dict[str, list[int]] = {}
        self._grammars: dict[str, object] = {}
        logger.info("LLM %s loaded (%d threads, context %d)", name, n_threads, n_ctx)

    @property
    def context_size(self) -> int:
        return self._llm.n_ctx()

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _tokens(self, prompt: Prompt) -> list[int]:
        prefix, suffix = chatml(prompt)
        # Tokenise the two parts apart: the prefix then has the same tokens for every question,
        # which is what lets llama.cpp's prefix match skip re-evaluating it.
        if prefix not in self._prefix_tokens:
            self._prefix_tokens.clear()  # one article at a time: keep memory flat
            self._prefix_tokens[prefix] = self._llm.tokenize(prefix.encode("utf-8"), add_bos=True, special=True)
        return self._prefix_tokens[prefix] + self._llm.tokenize(suffix.encode("utf-8"), add_bos=False, special=True)

    def _grammar(self, gbnf: str):
        from llama_cpp import LlamaGrammar

        if gbnf not in self._grammars:
            if len(self._grammars) > 64:
                self._grammars.clear()
            self._grammars[gbnf] = LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[gbnf]

    def warm(self, system: str) -> None:
        """Evaluate the system prefix now, so the first question does not pay for it."""
        with self._lock:
            prefix, _ = chatml(Prompt(system=system, user=""))
            self._tokens(Prompt(system=system, user=""))
            tokens = self._prefix_tokens[prefix]
            if list(self._llm.input_ids[: len(tokens)]) != tokens or self._llm.n_tokens < len(tokens):
                self._llm.reset()
                self._llm.eval(tokens)

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> str:
        tokens = self._tokens(prompt)
        if len(tokens) + max_tokens > self.context_size:
            from index.errors import ModelError

            raise ModelError(f"prompt of {len(tokens)} tokens does not fit the {self.context_size}-token context")
        with self._lock:
            # create_completion finds the longest common token prefix with what the context already
            # holds and evaluates only the rest: the article prefix is paid once, not per question.
            out = self._llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, top_k=1,
                                              grammar=self._grammar(grammar), seed=0)
        return out["choices"][0]["text"]
