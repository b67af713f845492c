"""Keeps the evaluated article prefix on disk, so a restart skips re-reading the article (~4 s on 2 cores)."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


def state_key(model_path: Path, n_ctx: int, tokens: list[int]) -> str:
    """Everything the saved KV cache depends on: model file, context size, library version, tokens."""
    import llama_cpp

    stat = model_path.stat()
    digest = hashlib.sha256(f"{model_path.name}:{stat.st_size}:{n_ctx}:{llama_cpp.__version__}".encode())
    digest.update(",".join(map(str, tokens)).encode())
    return digest.hexdigest()[:32]


def _checksum_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def intact(path: Path) -> bool:
    """The state file is there with the SHA-256 recorded when it was saved. llama.cpp checks only the token list,
    so without this a garbage KV payload would be restored and spoil every answer until deleted."""
    checksum = _checksum_file(path)
    return path.is_file() and checksum.is_file() and checksum.read_text().strip() == _sha256(path)


def discard_prefix(path: Path) -> None:
    """Delete a saved state and its checksum, if there."""
    path.unlink(missing_ok=True)
    _checksum_file(path).unlink(missing_ok=True)


def save_prefix(llm, path: Path, tokens: list[int]) -> None:
    import llama_cpp

    tmp = path.with_suffix(".tmp")
    array = (llama_cpp.llama_token * len(tokens))(*tokens)
    # The library's own session-file format: KV cache plus tokens; the tokens are checked again when
    # loaded, the payload by the checksum written beside it.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if llama_cpp.llama_state_save_file(llm._ctx.ctx, str(tmp).encode(), array, len(tokens)):
            _checksum_file(path).unlink(missing_ok=True)  # never a new state with an old checksum
            os.replace(tmp, path)
            _checksum_file(path).write_text(_sha256(path))
            return
    except OSError as error:  # a full disk: the prefix is evaluated in memory, only not kept for the next start
        logger.warning("could not save the prompt prefix state to %s: %s", path, error)
        discard_prefix(path)
    else:
        logger.warning("could not save the prompt prefix state to %s", path)
    tmp.unlink(missing_ok=True)


def load_prefix(llm, path: Path, tokens: list[int]) -> bool:
    """Restore the KV cache for exactly `tokens`; False (and a clean context) when that is not possible."""
    import llama_cpp

    if not path.is_file():
        return False
    if not intact(path):
        logger.warning("discarding prefix state %s: its checksum is missing or does not match", path.name)
        discard_prefix(path)
        llm.reset()
        return False
    capacity = llm.n_ctx()
    out = (llama_cpp.llama_token * capacity)()
    count = ctypes.c_size_t(0)
    ok = llama_cpp.llama_state_load_file(llm._ctx.ctx, str(path).encode(), out, capacity, ctypes.byref(count))
    if not ok or list(out[: count.value]) != tokens:
        logger.info("ignoring prefix state %s: unreadable or for other tokens", path.name)
        llm.reset()
        return False
    # Tell the Python wrapper what the context now holds, so its prefix match reuses it.
    llm.input_ids[: len(tokens)] = tokens
    llm.n_tokens = len(tokens)
    return True
