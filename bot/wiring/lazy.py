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
