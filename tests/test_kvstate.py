"""The saved KV prefix state: a garbage payload with an intact token list must not be restored."""

from __future__ import annotations

import ctypes
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.llm import kvstate

TOKENS = [1, 2, 3, 4]


class FakeLlama:
    """What kvstate touches on llama_cpp.Llama: a context handle, n_ctx, reset, the token bookkeeping."""

    def __init__(self) -> None:
        self._ctx = SimpleNamespace(ctx=None)
        self.input_ids = [0] * 16
        self.n_tokens = 0
        self.resets = 0

    def n_ctx(self) -> int:
        return 16

    def reset(self) -> None:
        self.resets += 1
        self.n_tokens = 0


@pytest.fixture
def fake_state_file(monkeypatch):
    """llama.cpp's session file, faked: the token list in the first line, any payload after it."""
    import llama_cpp

    def save(ctx, path, tokens, count):
        Path(path.decode()).write_bytes(",".join(map(str, tokens[:count])).encode() + b"\nKV-PAYLOAD" * 100)
        return True

    def load(ctx, path, out, capacity, count):
        head = Path(path.decode()).read_bytes().split(b"\n", 1)[0]
        tokens = [int(t) for t in head.decode().split(",")]
        for i, token in enumerate(tokens):
            out[i] = token
        ctypes.cast(count, ctypes.POINTER(ctypes.c_size_t)).contents.value = len(tokens)
        return True

    monkeypatch.setattr(llama_cpp, "llama_state_save_file", save)
    monkeypatch.setattr(llama_cpp, "llama_state_load_file", load)


def test_a_saved_state_is_restored(tmp_path, fake_state_file):
    path = tmp_path / "kv" / "prefix.kv"
    kvstate.save_prefix(FakeLlama(), path, TOKENS)
    llm = FakeLlama()
    assert kvstate.load_prefix(llm, path, TOKENS)
    assert llm.n_tokens == len(TOKENS) and llm.resets == 0


def test_a_garbage_payload_with_intact_tokens_is_not_restored_and_is_removed(tmp_path, fake_state_file):
    path = tmp_path / "kv" / "prefix.kv"
    kvstate.save_prefix(FakeLlama(), path, TOKENS)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8] = b"GARBAGE!"  # the token line is untouched
    path.write_bytes(bytes(data))
    llm = FakeLlama()
    assert not kvstate.load_prefix(llm, path, TOKENS)
    assert llm.resets == 1 and llm.n_tokens == 0
    assert not path.exists(), "the corrupted state stays on disk and is tried at every start"


def test_a_state_without_its_checksum_is_not_restored(tmp_path, fake_state_file):
    path = tmp_path / "prefix.kv"
    path.write_bytes(b"1,2,3,4\nKV-PAYLOAD")
    llm = FakeLlama()
    assert not kvstate.load_prefix(llm, path, TOKENS)
    assert llm.resets == 1


@pytest.mark.e2e
def test_garbage_in_the_real_saved_state_is_discarded_and_saved_again(real_settings, real_core, real_generator):
    """The issue's case on the real model: a saved prefix state whose payload is garbage (tokens intact)."""
    import hashlib
    import os

    (state,) = (real_settings.data_dir / "kv").glob("*.kv")
    data = bytearray(state.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = os.urandom(4096)
    state.write_bytes(bytes(data))
    real_generator.llama.reset()  # the next warm() must come from disk or from evaluating
    real_core.warm()
    fresh = state.read_bytes()
    assert fresh != bytes(data), "the corrupted state was restored and kept"
    assert state.with_name(state.name + ".sha256").read_text() == hashlib.sha256(fresh).hexdigest()
    answer = real_core.ask("Kapan Microsoft dan OpenAI mulai bekerja sama?")
    assert not answer.refused and "2019" in answer.text


@pytest.mark.e2e
def test_the_models_vocabulary_names_the_prefix_state_the_generator_saved(real_settings, real_core, real_generator):
    """`kutip index` trusts LlamaPrefixes, which loads no weights, to find the file LlamaGenerator.warm saves and
    restores: the same prompt, the same tokens, the same path."""
    from bot.core.answer import article_prompt
    from bot.wiring.factory import core_config, load_prefixes

    prefixes = load_prefixes(real_settings)
    system = real_core.prompt.system
    assert article_prompt(real_core.article, prefixes, core_config(real_settings)).system == system
    assert prefixes.path(system) == real_generator.saved_prefix(system)
    assert prefixes.saved(system)  # real_core was warmed: evaluated and saved, or restored
    assert not prefixes.saved(system + " ")
