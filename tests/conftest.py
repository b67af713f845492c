"""Shared fixtures: fakes for unit tests, and one real loaded core for the end-to-end tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.answer import Kutip
from bot.wiring.factory import assemble_core, core_config, load_embedder, load_generator, load_index
from bot.wiring.settings import DEFAULT_ARTICLE, Settings
from index.build import build_index
from index.ingest import load_article
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.netguard import loopback_only  # noqa: F401 (autouse: no test leaves 127.0.0.1)

SEED = DEFAULT_ARTICLE
# The core configuration `make run` uses: Settings' defaults, no .env.
DEFAULT_CONFIG = core_config(Settings(_env_file=None))


FUZZ_DIR = Path(__file__).resolve().parent / "fuzz"


def pytest_addoption(parser):
    parser.addoption("--fuzz", action="store_true", help="run the property-based fuzz tests in tests/fuzz (make fuzz)")


def pytest_ignore_collect(collection_path, config):
    """tests/fuzz runs only with --fuzz, so `make test` stays fast."""
    if not config.getoption("--fuzz") and collection_path.is_relative_to(FUZZ_DIR):
        return True
    return None


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No test reads the developer's .env or touches a model hub."""
    for key in list(os.environ):
        if key.startswith("KUTIP_") or key == "TELEGRAM_BOT_TOKEN":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def seed_article():
    return load_article(str(SEED))


@pytest.fixture
def fake_generator() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture
def make_fake_core(seed_article, fake_generator, tmp_path):
    """A core over the seed article and the fake generator, with these settings changed."""

    def make(**settings) -> Kutip:
        embedder = FakeEmbedder()
        stored = build_index(seed_article, embedder)
        return assemble_core(
            stored,
            embedder,
            fake_generator,
            core_config(Settings(_env_file=None, **settings)),
            summary_cache_dir=tmp_path / "summaries",
        )

    return make


@pytest.fixture
def fake_core(make_fake_core) -> Kutip:
    return make_fake_core()


# --- real models: loaded once per session and shared by every e2e test ---


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory) -> Settings:
    data = tmp_path_factory.mktemp("kutip-data")
    # The assembled GGUF is 1.1 GB: share the repo's model cache with `make run` instead of
    # assembling it again for every test session.
    models = Path(__file__).resolve().parent.parent / "data" / "models"
    models.mkdir(parents=True, exist_ok=True)
    (data / "models").symlink_to(models, target_is_directory=True)
    return Settings(data_dir=data, _env_file=None)


@pytest.fixture(scope="session")
def real_embedder(real_settings):
    return load_embedder(real_settings)


@pytest.fixture(scope="session")
def real_generator(real_settings):
    return load_generator(real_settings)


@pytest.fixture(scope="session")
def real_core(real_settings, real_embedder, real_generator) -> Kutip:
    """The production core, built as build_core() builds it, from models every e2e test shares."""
    stored, _ = load_index(real_settings, progress=False)
    core = assemble_core(
        stored, real_embedder, real_generator, core_config(real_settings), real_settings.data_dir / "summaries"
    )
    core.warm()
    return core
