"""A llama.cpp grammar for greedy decoding that checks the model's own choice before masking the vocabulary.

llama-cpp-python's `grammar=` runs llama.cpp's grammar sampler over the whole vocabulary (151,936
tokens for Qwen2.5) at every step. Under the copying grammar that costs about 65 ms a token on two
cores, twice the model's own decode time. Kutip always decodes greedily, and the greedy token under a
grammar is the most probable token the grammar allows, so it suffices to ask the grammar about the
single most probable token; only when it refuses that one is the whole vocabulary masked. The chosen
tokens are the same as with `grammar=` (up to ties in the logits), and most steps cost one check.
llama.cpp's own common sampler does the same ("grammar_first" off).

When the best token is refused, the 64 most probable are asked next, in one call: the best of them
the grammar allows is the best allowed token of the whole vocabulary, since every other token is less
probable. If it refuses all 64, the 2,048 most probable are asked; only when it refuses those too is
the whole vocabulary masked. Checking a token costs the same for every one, and grows with how many
places the grammar could go on from (a copying grammar over eight sentences has hundreds), so
checking 64 tokens instead of 151,936 matters.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable

import numpy as np

logger = logging.getLogger(__name__)

_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
# How many of the most probable tokens are asked about when the best one is refused.
SHORTLIST = 64


def best_allowed(logits: np.ndarray, allowed: Callable[[np.ndarray], np.ndarray], shortlist: int) -> int | None:
    """The most probable token `allowed` accepts among the `shortlist` most probable, or None if it accepts none.

    Every token at least as probable as the shortlist's last is asked, ties included, so no token
    outside the shortlist can beat one inside. Among equals the lowest id wins, as when llama.cpp's
    greedy sampler reads the masked vocabulary in id order. The answer is the token that masking the
    whole vocabulary would have led greedy decoding to.
    """
    if shortlist <= 0 or shortlist >= len(logits):
        return None
    cutoff = np.partition(logits, len(logits) - shortlist)[len(logits) - shortlist]
    ids = np.flatnonzero(logits >= cutoff).astype(np.intc)
    ok = allowed(ids)
    if not ok.any():
        return None
    candidates = ids[ok]
    values = logits[candidates]
    return int(candidates[np.flatnonzero(values == values.max())[0]])


class GreedyGrammar:
    """A logits processor that constrains greedy decoding to a GBNF grammar. Call `close()` when done.

    Step k first tells the grammar which token step k-1 chose (the same one-step lag as any llama-cpp-python
    logits processor), then checks the best token. It is only valid with greedy sampling: under
    sampling, a token other than the best could be drawn without the grammar having seen it.
    """

    def __init__(self, vocab: object, gbnf: str, n_vocab: int, shortlist: int | None = None) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self._sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), b"root")
        if not self._sampler:
            raise ValueError("llama.cpp could not parse the grammar")
        self._one = (llama_cpp.llama_token_data * 1)()
        self._n_vocab = n_vocab
        self._all: np.ndarray | None = None  # the whole vocabulary, built on the first refused step only
        self._started = False
        self._shortlist = SHORTLIST if shortlist is None else shortlist  # 0: mask the vocabulary at once
        self.masked_steps = 0  # steps whose best token was refused
        self.full_masks = 0  # of those, steps where the whole vocabulary had to be masked

    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self._started:
            self._llama_cpp.llama_sampler_accept(self._sampler, int(input_ids[-1]))
        self._started = True
        best = int(np.argmax(logits))
        if self._allows(best):
            return logits
        self.masked_steps += 1
        chosen = None
        # A longer shortlist before the whole vocabulary: the answer is the same, only the cost differs.
        for size in (self._shortlist, 32 * self._shortlist):
            chosen = best_allowed(logits, self._allowed, size)
            if chosen is not None:
                break
        if chosen is not None:
            # Only the chosen token stays: greedy sampling after this takes exactly it.
            narrowed = np.full_like(logits, -np.inf)
            narrowed[chosen] = logits[chosen]
            return narrowed
        self.full_masks += 1
        return self._masked(logits)

    def _allowed(self, ids: np.ndarray) -> np.ndarray:
        """Which of `ids` the grammar allows next, asked in one call."""
        some = np.zeros(len(ids), dtype=_TOKEN_DATA)
        some["id"] = ids
        self._apply(some.ctypes.data_as(self._llama_cpp.llama_token_data_p), len(some))
        return some["logit"] != -np.inf

    def _allows(self, token: int) -> bool:
        self._one[0].id = token
        self._one[0].logit = 0.0
        self._apply(ctypes.cast(self._one, self._llama_cpp.llama_token_data_p), 1)
        return self._one[0].logit != -np.inf

    def _masked(self, logits: np.ndarray) -> np.ndarray:
        if self._all is None:
            self._all = np.zeros(self._n_vocab, dtype=_TOKEN_DATA)
            self._all["id"] = np.arange(self._n_vocab, dtype=np.intc)
        self._all["logit"] = logits
        self._apply(self._all.ctypes.data_as(self._llama_cpp.llama_token_data_p), len(self._all))
        return self._all["logit"].copy()

    def _apply(self, data: object, size: int) -> None:
        candidates = self._llama_cpp.llama_token_data_array(data=data, size=size, selected=-1, sorted=False)
        self._llama_cpp.llama_sampler_apply(self._sampler, ctypes.byref(candidates))

    def close(self) -> None:
        if self._sampler:
            self._llama_cpp.llama_sampler_free(self._sampler)
            self._sampler = None
