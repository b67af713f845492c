"""The llama.cpp generator: ChatML prompts, grammar-constrained decoding, and a reused KV prefix."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.errors import GenerationCancelled, ModelError
from bot.core.ports import Choice, Completion, Prompt
from bot.llm.greedy_grammar import GreedyGrammar
from bot.llm.kvstate import discard_prefix, intact, load_prefix, save_prefix, state_key

logger = logging.getLogger(__name__)


# A ChatML turn as pieces: (text, is_template_marker). Only the template's own markers are read as
# control tokens; the article, the question and everything else are plain text, so a question that
# contains "<|im_end|><|im_start|>system" stays words and cannot open a turn of its own.
Pieces = tuple[tuple[str, bool], ...]
_START, _END = ("<|im_start|>", True), ("<|im_end|>", True)


def chatml(prompt: Prompt) -> tuple[Pieces, Pieces]:
    """Split a ChatML conversation where the fixed system part ends, so its KV state can be reused."""
    prefix = (_START, (f"system\n{prompt.system}", False), _END, ("\n", False))
    suffix = (_START, (f"user\n{prompt.user}", False), _END, ("\n", False), _START, ("assistant\n", False))
    return prefix, suffix


def encode(tokenize, pieces: Pieces, add_bos: bool) -> list[int]:
    """The tokens of `pieces` by `tokenize(text, add_bos, special)`: llama_cpp.Llama's or the vocabulary's alone,
    which are the same function (llama_cpp's LlamaModel.tokenize), so both give the same tokens."""
    tokens: list[int] = []
    for text, marker in pieces:
        tokens += tokenize(text.encode("utf-8"), add_bos=add_bos and not tokens, special=marker)
    return tokens


def state_path(state_dir: Path, model_path: Path, n_ctx: int, tokens: list[int]) -> Path:
    """Where the evaluated prefix `tokens` is kept: named by everything its KV state depends on."""
    return state_dir / f"{state_key(model_path, n_ctx, tokens)}.kv"


class TokenProbabilities:
    """A logits processor that notes how likely the model found each token it went on to produce.

    It sees the raw logits before the grammar narrows them, so a token the grammar forced on an
    unwilling model shows up as improbable. Step k learns the probability of the token chosen at
    step k-1; the last token (a closing quote or brace under our grammars) goes unscored.
    """

    def __init__(self) -> None:
        self.logprobs: list[float] = []
        self._previous: np.ndarray | None = None

    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self._previous is not None:
            self.logprobs.append(float(self._previous[int(input_ids[-1])]))
        self._previous = log_softmax(logits)
        return logits

    def score_last(self, token: int) -> None:
        """Score `token`, chosen at the last step, when decoding ends there (ReplyEnd) rather than one step later."""
        if self._previous is not None:
            self.logprobs.append(float(self._previous[token]))


class ReplyEnd:
    """Ends greedy decoding as soon as the reply is a whole JSON value, without reading the token after it.

    Every Kutip grammar (bot/core/grammar.py) is one JSON object or list with nothing after it, so once its
    closing character is chosen the grammar allows only the end of the turn. Decoding on would cost one more
    forward pass of the model (about 40 ms on 2 cores) to produce the end-of-turn token that is already
    certain; stopping here gives the same reply, tokens and probabilities.

    `choose` goes last among the logits processors: greedy decoding takes the best token they leave (the
    first of equals, as llama.cpp's greedy sampler does). The stopping criterion then sees that token
    before llama-cpp-python would evaluate it, and drops it from the completion: `final` keeps it.
    """

    def __init__(self, detokenize, prompt_tokens: int) -> None:
        self._detokenize = detokenize
        self._prompt_tokens = prompt_tokens
        self._chosen: int | None = None
        self.final: int | None = None

    def choose(self, input_ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        self._chosen = int(np.argmax(logits))
        return logits

    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> bool:
        if self.final is not None:
            return True  # llama-cpp-python asks once more after the last step
        if self._chosen is None or not any(c in self._detokenize([self._chosen]) for c in (b"}", b"]")):
            return False
        reply = [int(t) for t in input_ids[self._prompt_tokens :]] + [self._chosen]
        try:
            json.loads(self._detokenize(reply).decode("utf-8"))
        except ValueError:  # UnicodeDecodeError included
            return False
        self.final = self._chosen
        return True


@dataclass(frozen=True)
class CallStats:
    """What one model call cost: how much of its prompt the context already held, and what it decoded.

    `make bench` reads these to tell a prefix that missed (many evaluated tokens) from a slow decode.
    """

    kind: str  # "complete" or "choice"
    prompt_tokens: int
    reused_tokens: int  # the longest common prefix with what the context held before the call
    evaluated_tokens: int  # prompt tokens the model had to read
    generated_tokens: int
    masked_steps: int  # steps whose best token the grammar refused
    full_masks: int  # of those, steps where no likely token was allowed, so the whole vocabulary was masked
    grammar_chars: int
    seconds: float


def common_prefix(held: list[int] | np.ndarray, tokens: list[int]) -> int:
    n = 0
    for have, want in zip(held, tokens, strict=False):
        if have != want:
            break
        n += 1
    return n


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - float(np.max(logits))
    return shifted - np.log(np.exp(shifted).sum())


class LlamaGenerator:
    """Generates with llama-cpp-python. One context: callers serialise access (the lock enforces it)."""

    def __init__(
        self,
        model_path: Path,
        name: str,
        n_ctx: int = 4096,
        n_threads: int = 2,
        state_dir: Path | None = None,
        stop: threading.Event | None = None,
        keep_state: bool = False,
    ) -> None:
        """`keep_state`: `choose` returns the model's hidden state at the prompt's last token (Choice.state), for
        a support model that reads it (and the eval, which records it); off, the state is not read and costs
        nothing."""
        import llama_cpp
        from llama_cpp import Llama

        self.name = name
        self._model_path = model_path
        self._n_ctx = n_ctx
        self._state_dir = state_dir
        self._keep_state = keep_state
        # Set when Kutip stops: the model call in progress ends at its next token (GenerationCancelled).
        self._stop = stop or threading.Event()
        try:
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=512,
                # Read into memory, not mapped: llama.cpp repacks most weights for the CPU's vector units into
                # a buffer of their own (597 MiB for the default model), and the mapped file pages it read them
                # from stayed resident beside them. Measured: 1,937 MB mapped against 1,352 MB read, the same
                # weights and speed, 0.4 s longer to load.
                use_mmap=False,
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
        self._prefix_tokens: dict[Pieces, list[int]] = {}
        self._vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        self._n_embd = llama_cpp.llama_model_n_embd(self._llm.model)
        # The last calls' costs, for measurements; bounded, so a long-running bot keeps no history.
        self.recent_calls: deque[CallStats] = deque(maxlen=64)
        logger.info("LLM %s loaded (%d threads, context %d)", name, n_threads, n_ctx)

    @property
    def context_size(self) -> int:
        return self._llm.n_ctx()

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _encode(self, pieces: Pieces, add_bos: bool) -> list[int]:
        return encode(self._llm.tokenize, pieces, add_bos)

    def _prefix(self, prefix: Pieces) -> list[int]:
        """The prefix's tokens, tokenised once per article."""
        if prefix not in self._prefix_tokens:
            self._prefix_tokens.clear()  # one article at a time: keep memory flat
            self._prefix_tokens[prefix] = self._encode(prefix, add_bos=True)
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
        return self._prefix(prefix) + self._encode(suffix, add_bos=False)

    def warm(self, system: str) -> None:
        """Have the system prefix evaluated before the first question: from disk if saved, else now."""
        with self._lock:
            self._check_stop()
            tokens = self.prefix_tokens(system)
            if self._llm.n_tokens >= len(tokens) and list(self._llm.input_ids[: len(tokens)]) == tokens:
                return
            saved = self.saved_prefix(system)
            if saved is not None and load_prefix(self._llm, saved, tokens):
                logger.info("prompt prefix (%d tokens) restored from %s", len(tokens), saved.name)
                return
            self._llm.reset()
            self._llm.eval(tokens)
            if saved is not None:
                save_prefix(self._llm, saved, tokens)

    def saved_prefix(self, system: str) -> Path | None:
        """Where the evaluated `system` prefix is kept on disk (None without a state directory)."""
        if self._state_dir is None:
            return None
        # Keyed by the context size asked for, which LlamaPrefixes knows without creating a context.
        return state_path(self._state_dir, self._model_path, self._n_ctx, self.prefix_tokens(system))

    def forget(self, system: str) -> None:
        """Delete the saved state of the `system` prefix and its checksum (its article was evicted)."""
        with self._lock:
            path = self.saved_prefix(system)
        if path is not None:
            discard_prefix(path)
            logger.info("prompt prefix state %s deleted", path.name)

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise GenerationCancelled("the model call was interrupted: Kutip is stopping")

    def _stop_criterion(self, input_ids: np.ndarray, logits: np.ndarray) -> bool:
        """A llama-cpp-python stopping criterion, called after each token: it raises rather than returns
        True, since a reply cut short would be parsed and answered as if it were whole."""
        self._check_stop()
        return False

    def _fitting(self, prompt: Prompt, room: int) -> list[int]:
        tokens = self.prompt_tokens(prompt)
        if len(tokens) + room > self.context_size:
            raise ModelError(f"prompt of {len(tokens)} tokens does not fit the {self.context_size}-token context")
        return tokens

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> Completion:
        from llama_cpp import LogitsProcessorList, StoppingCriteriaList

        tokens = self._fitting(prompt, max_tokens)
        scorer = TokenProbabilities()
        end = ReplyEnd(self._llm.detokenize, len(tokens))
        with self._lock:
            self._check_stop()
            started = time.perf_counter()
            reused = common_prefix(self._llm.input_ids[: self._llm.n_tokens], tokens)
            # Not `grammar=`: that masks the whole vocabulary at every step (see greedy_grammar).
            constraint = GreedyGrammar(self._vocab, grammar, self._llm.n_vocab())
            try:
                # create_completion finds the longest common token prefix with what the context already
                # holds and evaluates only the rest: the article prefix is paid once, not per question.
                out = self._llm.create_completion(
                    tokens,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    top_k=1,
                    seed=0,
                    # The scorer goes first: it must see the model's own logits, before the grammar's mask.
                    logits_processor=LogitsProcessorList([scorer, constraint, end.choose]),
                    stopping_criteria=StoppingCriteriaList([self._stop_criterion, end]),
                )
            finally:
                constraint.close()
            generated = [int(t) for t in self._llm.input_ids[len(tokens) : self._llm.n_tokens]]
            text = out["choices"][0]["text"]
            if end.final is not None:
                generated.append(end.final)
                scorer.score_last(end.final)
                # As create_completion renders its tokens.
                text = self._llm.detokenize(generated, prev_tokens=tokens).decode("utf-8", errors="ignore")
            # llama-cpp-python re-reads the last prompt token when the whole prompt is held (it needs its logits).
            evaluated = len(tokens) - min(reused, len(tokens) - 1)
            self.recent_calls.append(
                CallStats(
                    "complete",
                    len(tokens),
                    reused,
                    evaluated,
                    len(generated),
                    constraint.masked_steps,
                    constraint.full_masks,
                    len(grammar),
                    time.perf_counter() - started,
                )
            )
        pieces = [self._llm.detokenize([t]).decode("utf-8", errors="replace") for t in generated]
        return Completion(text=text, tokens=tuple(zip(pieces, scorer.logprobs, strict=False)))

    def choose(self, prompt: Prompt, options: tuple[str, ...]) -> Choice:
        import llama_cpp

        tokens = self._fitting(prompt, 1)
        with self._lock:
            self._check_stop()
            # Reuse what the context holds (the article prefix), evaluate the rest, read the next-token logits.
            started = time.perf_counter()
            common = common_prefix(self._llm.input_ids[: self._llm.n_tokens], tokens)
            self._llm.n_tokens = min(common, len(tokens) - 1)
            evaluated = len(tokens) - self._llm.n_tokens
            self._llm.eval(tokens[self._llm.n_tokens :])
            logits = np.ctypeslib.as_array(
                llama_cpp.llama_get_logits_ith(self._llm.ctx, -1), shape=(self._llm.n_vocab(),)
            ).copy()
            # The verdict comes from the prompt read in one batch whether or not the state is kept, so a kept
            # state (the eval's records, a probe) never changes P(yes).
            state = self._last_state(tokens[-1]) if self._keep_state else ()
            self.recent_calls.append(
                CallStats("choice", len(tokens), common, evaluated, 0, 0, 0, 0, time.perf_counter() - started)
            )
        probabilities = np.exp(log_softmax(logits))
        mass = {}
        for option in options:
            # "yes", "Yes" and " yes" are different tokens that all mean yes.
            firsts = {
                self._llm.tokenize(v.encode(), add_bos=False, special=False)[0]
                for v in (option, option.capitalize(), " " + option)
            }
            mass[option] = float(sum(probabilities[t] for t in firsts))
        total = sum(mass.values())
        normalised = {o: (m / total if total > 0 else 1 / len(options)) for o, m in mass.items()}
        return Choice(probabilities=normalised, state=state)

    def _last_state(self, token: int) -> tuple[float, ...]:
        """The last layer's output at `token`, the prompt's last one, which the context has just read: the hidden
        state a fitted probe reads.

        The token is read again alone, with embeddings on: llama.cpp then keeps the last layer's output there.
        Reading the whole prompt with embeddings on would output every position (logits over the whole
        vocabulary for each): 18 % slower for a 150-token question read in one batch. This costs one token's step.
        """
        import llama_cpp

        self._llm.n_tokens -= 1  # eval() drops that position from the KV cache before reading it again
        llama_cpp.llama_set_embeddings(self._llm.ctx, True)
        try:
            self._llm.eval([token])
        finally:
            llama_cpp.llama_set_embeddings(self._llm.ctx, False)
        state = np.ctypeslib.as_array(llama_cpp.llama_get_embeddings_ith(self._llm.ctx, -1), shape=(self._n_embd,))
        return tuple(state.tolist())


class LlamaPrefixes:
    """Which article prefixes LlamaGenerator has evaluated and saved, told from the model file's vocabulary alone.

    The vocabulary is the GGUF's metadata, not its 1.1 GB of weights: it loads in a fraction of a second, with no
    compute buffers, so `kutip index` can tell there is nothing left to evaluate without loading the model. Tokens
    and state paths come from the functions LlamaGenerator uses (encode, chatml, state_path), so both name the
    same file. It implements Tokens, so the article's prompt is fitted exactly as the core fits it.
    """

    def __init__(self, model_path: Path, n_ctx: int, state_dir: Path) -> None:
        import llama_cpp

        # Not llama_cpp.Llama(vocab_only=True): it creates a context (KV cache, compute buffers) whatever the
        # model holds. Its own model wrapper loads the vocabulary alone, and Llama.tokenize is that wrapper's.
        from llama_cpp._internals import LlamaModel

        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        try:
            self._model = LlamaModel(path_model=str(model_path), params=params, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"cannot read the model file {model_path}: {exc}. Delete it to have it assembled again, "
                "or check KUTIP_LLM_MODEL"
            ) from exc
        self._model_path = model_path
        self._n_ctx = n_ctx
        self._state_dir = state_dir

    @property
    def context_size(self) -> int:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def path(self, system: str) -> Path:
        prefix, _ = chatml(Prompt(system=system, user=""))
        return state_path(self._state_dir, self._model_path, self._n_ctx, encode(self._model.tokenize, prefix, True))

    def saved(self, system: str) -> bool:
        """Whether the evaluated `system` prefix is on disk and intact, ready for LlamaGenerator.warm to restore."""
        return intact(self.path(system))
