"""Models loaded where a caller asks for them, so `kutip articles`, `kutip source` or a failing `kutip read`
never wait seconds for models they do not need."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def once(load: Callable[[], T]) -> Callable[[], T]:
    """A loader: the first call runs `load()` (one thread at a time), every call returns what it returned.

    Calling it says "this may load a model": no attribute read ever does.
    """
    lock = threading.Lock()
    loaded: list[T] = []

    def get() -> T:
        with lock:
            if not loaded:
                loaded.append(load())
            return loaded[0]

    return get


A = TypeVar("A")
B = TypeVar("B")


def side_by_side(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """`first()` on this thread while `second()` runs on a thread of its own; both values once both are done.

    For two model loads the caller needs together: the embedder's (Python imports, which hold the GIL) and the
    LLM's (file reads and weight repacking inside llama.cpp, which release it) overlap, so a start waits for the
    longer of the two rather than their sum. An error from either is raised here, `first`'s before `second`'s,
    only after both have ended: no load is left running behind the caller's back.
    """
    outcome: list[B] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(second())
        except BaseException as error:  # handed to the caller below, whatever it was
            failure.append(error)

    thread = threading.Thread(target=run, name="kutip-load", daemon=True)
    thread.start()
    try:
        value = first()
    finally:
        thread.join()
    if failure:
        raise failure[0]
    return value, outcome[0]
