"""The first core's two model loads (bot/wiring/factory.build_library): they run side by side, so a start waits for
the longer one rather than for both in turn, and an error from either reaches the caller once both have ended."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from base.errors import ModelError
from bot.wiring.factory import build_library
from bot.wiring.settings import Settings
from tests.fakes import FakeEmbedder, FakeGenerator

WAIT_S = 10.0  # only reached when the loads do not overlap: the test then fails, it does not hang


def _settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", embedding_model="embedded:fake")


def _loaders(monkeypatch, load_embedder, load_generator) -> None:
    monkeypatch.setattr("bot.wiring.factory.load_embedder", load_embedder)
    monkeypatch.setattr("bot.wiring.factory.load_generator", load_generator)


def _restart_with_the_index_saved(tmp_path: Path, monkeypatch) -> Settings:
    """A data directory whose default article has its index saved, as `kutip index` leaves it: the next start
    loads the models only to build the core (a missing index would load the embedder first, to build it)."""
    _loaders(monkeypatch, lambda *_, **__: FakeEmbedder(name="embedded:fake"), lambda *_, **__: FakeGenerator())
    settings = _settings(tmp_path)
    library = build_library(settings)
    library.core(library.default.id)
    return settings


def test_the_embedder_and_the_llm_load_at_the_same_time(tmp_path: Path, monkeypatch) -> None:
    generator_loading, embedder_loading = threading.Event(), threading.Event()
    embedder, generator = FakeEmbedder(name="embedded:fake"), FakeGenerator()

    def load_embedder(settings, *_, **__):
        embedder_loading.set()
        # In turn, the LLM's load would start only after this one returned: it would never be seen here.
        assert generator_loading.wait(WAIT_S), "the LLM did not load while the embedder loaded"
        return embedder

    def load_generator(settings, *_, **__):
        generator_loading.set()
        assert embedder_loading.wait(WAIT_S), "the embedder did not load while the LLM loaded"
        return generator

    settings = _restart_with_the_index_saved(tmp_path, monkeypatch)
    _loaders(monkeypatch, load_embedder, load_generator)
    library = build_library(settings)
    core = library.core(library.default.id)
    core.warm()
    assert generator.warmed == [core.system], "the core was not built on the generator that was loaded"


def test_an_llm_that_fails_to_load_is_the_callers_error_and_the_next_core_tries_again(
    tmp_path: Path, monkeypatch
) -> None:
    loads: list[str] = []
    generator = FakeGenerator()

    def load_embedder(settings, *_, **__):
        loads.append("embedder")
        return FakeEmbedder(name="embedded:fake")

    def load_generator(settings, *_, **__):
        loads.append("generator")
        if loads.count("generator") == 1:
            raise ModelError("cannot load the model file m.gguf: truncated")
        return generator

    _loaders(monkeypatch, load_embedder, load_generator)
    library = build_library(_settings(tmp_path))
    with pytest.raises(ModelError, match="m.gguf"):
        library.core(library.default.id)
    core = library.core(library.default.id)  # the model file was put right: the embedder is not loaded again
    assert sorted(loads) == ["embedder", "generator", "generator"]
    core.warm()
    assert generator.warmed == [core.system]


def test_an_embedder_that_fails_to_load_is_raised_only_after_the_llm_load_has_ended(
    tmp_path: Path, monkeypatch
) -> None:
    embedder_failed = threading.Event()
    loads: list[str] = []

    def load_embedder(settings, *_, **__):
        embedder_failed.set()
        raise ModelError("no embedding model embedded:fake")

    def load_generator(settings, *_, **__):
        embedder_failed.wait(WAIT_S)  # still loading when the embedder's error is raised
        loads.append("generator loaded")
        return FakeGenerator()

    settings = _restart_with_the_index_saved(tmp_path, monkeypatch)
    _loaders(monkeypatch, load_embedder, load_generator)
    library = build_library(settings)
    with pytest.raises(ModelError, match="embedding model"):
        library.core(library.default.id)
    assert loads == ["generator loaded"], "the LLM was still loading behind the caller's back"
