"""Kutip's answer time against a bare llama-cpp-python call on the identical tokens and grammar.

The bare call is the plain llama-cpp-python one: `create_completion(..., grammar=LlamaGrammar)`. The
difference is what Kutip adds (retrieval, prompt rendering, grammar building, parsing and the
grounding checks) less what it saves by checking the grammar on the greedy token first
(bot/llm/greedy_grammar.py) instead of masking the vocabulary at every step. Both calls start from
the same KV state (the warmed article prefix), so neither profits from the other having just
evaluated the same question.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from bot.core.ports import Prompt
from bot.llm.llama import LlamaGenerator
from evaluation.recording import Call

logger = logging.getLogger(__name__)


@dataclass
class BareLlama:
    """Calls the Llama inside a LlamaGenerator directly, on the very tokens and context the generator uses."""

    generator: LlamaGenerator
    _prefix_len: dict[str, int] = field(default_factory=dict)

    @property
    def llm(self):
        return self.generator.llama

    def tokens(self, prompt: Prompt) -> list[int]:
        return self.generator.prompt_tokens(prompt)

    def rewind_to_prefix(self, system: str) -> None:
        """Drop everything after the article prefix from the context, as if no question had been asked yet."""
        if system not in self._prefix_len:
            self._prefix_len[system] = len(self.generator.prefix_tokens(system))
        # generate() keeps the longest common prefix of its input ids and the new tokens and removes
        # the rest from the KV cache, so lowering n_tokens is enough to forget the last question.
        self.llm.n_tokens = min(self.llm.n_tokens, self._prefix_len[system])

    def complete(self, call: Call) -> tuple[str, float]:
        """Time create_completion alone, with the grammar built beforehand."""
        from llama_cpp import LlamaGrammar

        tokens = self.tokens(call.prompt)
        grammar = LlamaGrammar.from_string(call.grammar, verbose=False)
        started = time.perf_counter()
        out = self.llm.create_completion(
            tokens, max_tokens=call.max_tokens, temperature=0.0, top_k=1, grammar=grammar, seed=0
        )
        return out["choices"][0]["text"], time.perf_counter() - started
