"""A model that is loaded when first used, so `kutip articles`, `kutip source` or a failing `kutip read` never
wait seconds for models they do not need."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Lazy:
    """Stands for the object `load()` returns; attributes named in `known` are answered without loading it."""

    def __init__(self, load: Callable[[], Any], **known: Any) -> None:
        self.__dict__["_load"] = load
        self.__dict__["_known"] = known
        self.__dict__["_value"] = None
        self.__dict__["_lock"] = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def get(self) -> Any:
        with self._lock:
            if self._value is None:
                self.__dict__["_value"] = self._load()
            return self._value

    def __getattr__(self, name: str) -> Any:
        # Called only for names not found normally: the proxied object's attributes.
        if name in self._known:
            return self._known[name]
        return getattr(self.get(), name)
