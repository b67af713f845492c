"""Kutip's answer time against a bare llama-cpp-python call on the identical tokens and grammar.

The difference is what Kutip adds: retrieval, prompt rendering, grammar building, parsing and the
grounding checks. Both calls start from the same KV state (the warmed article prefix), so neither
profits from the other having just evaluated the same question.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from bot.eval.recording import Call
from bot.generator import Prompt
from bot.llm.llama import LlamaGenerator, chatml

logger = logging.getLogger(__name__)


@dataclass
class BareLlama:
    """Direct access to the Llama inside a LlamaGenerator.

    Reaches into the generator's private parts on purpose: the comparison is only fair with the very
    tokens and the very context the generator uses. (A public `tokens(prompt)` and `llama` on
    LlamaGenerator would remove the need.)
    """

    generator: LlamaGenerator
    _prefix_len: dict[str, int] = field(default_factory=dict)

    @property
    def llm(self):
        return self.generator._llm

    def tokens(self, prompt: Prompt) -> list[int]:
        return self.generator._tokens(prompt)

    def rewind_to_prefix(self, system: str) -> None:
        """Drop everything after the article prefix from the context, as if no question had been asked yet."""
        if system not in self._prefix_len:
            prefix, _ = chatml(Prompt(system=system, user=""))
            self._prefix_len[system] = len(self.llm.tokenize(prefix.encode("utf-8"), add_bos=True, special=True))
        # generate() keeps the longest common prefix of its input ids and the new tokens and removes
        # the rest from the KV cache, so lowering n_tokens is enough to forget the last question.
        self.llm.n_tokens = min(self.llm.n_tokens, self._prefix_len[system])

    def complete(self, call: Call) -> tuple[str, float]:
        """Time create_completion alone, with the grammar built beforehand."""
        from llama_cpp import LlamaGrammar

        tokens = self.tokens(call.prompt)
        grammar = LlamaGrammar.from_string(call.grammar, verbose=False)
        started = time.perf_counter()
        out = self.llm.create_completion(tokens, max_tokens=call.max_tokens, temperature=0.0, top_k=1,
                                         grammar=grammar, seed=0)
        return out["choices"][0]["text"], time.perf_counter() - started
