"""Wrappers that keep what the core asked of its retriever and its generator, for scoring and for replaying."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bot.core.ports import Choice, Completion, Generator, Prompt, Retriever
from index.retrieve import Hit


class RecordingRetriever:
    """Delegates to a Retriever; `searches` holds each (query, hits, same_language) since the last `clear()`.

    The core may search with other text than the question (a translation, a follow-up joined to the
    question before it); the gold rank must come from that search, not from one the eval makes up.
    """

    def __init__(self, inner: Retriever) -> None:
        self.inner = inner
        self.searches: list[tuple[str, list[Hit], bool]] = []

    def search(self, query: str, k: int, same_language: bool = True) -> list[Hit]:
        hits = self.inner.search(query, k, same_language)
        self.searches.append((query, hits, same_language))
        return hits

    def clear(self) -> None:
        self.searches.clear()


@dataclass
class Call:
    prompt: Prompt
    grammar: str
    max_tokens: int
    reply: Completion = Completion("")
    seconds: float = 0.0


class RecordingGenerator:
    """Delegates to a generator and keeps what each completion was asked and answered."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[Call] = []
        self.choices: list[dict[str, float]] = []
        self.choice_seconds: list[float] = []  # one per entry of `choices`

    @property
    def context_size(self) -> int:
        return self.inner.context_size

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def warm(self, system: str) -> None:
        self.inner.warm(system)

    def forget(self, system: str) -> None:
        self.inner.forget(system)

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> Completion:
        call = Call(prompt, grammar, max_tokens)
        self.calls.append(call)
        started = time.perf_counter()
        call.reply = self.inner.complete(prompt, grammar, max_tokens)
        call.seconds = time.perf_counter() - started
        return call.reply

    def choose(self, prompt: Prompt, options: tuple[str, ...]) -> Choice:
        started = time.perf_counter()
        choice = self.inner.choose(prompt, options)
        self.choice_seconds.append(time.perf_counter() - started)
        self.choices.append(choice.probabilities)
        return choice


def call_record(call: Call) -> dict:
    """A completion as the eval's records keep it: its text and each token's log-probability."""
    return {"text": call.reply.text, "tokens": [[p, round(lp, 4)] for p, lp in call.reply.tokens]}


def states_path(records: Path) -> Path:
    """Where the hidden states of a run's records are kept: beside them, RECORDS.states.npy."""
    return records.with_suffix(".states.npy")
