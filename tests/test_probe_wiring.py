"""Which support model the wiring loads: the pack's own probe, pinned by SHA-256, and only for its own LLM."""

from __future__ import annotations

import pytest

from base.errors import ModelError
from bot.core.support_model import FEATURES, SupportModel
from bot.llm.packs import PACKS
from bot.wiring.factory import llm_sha256, load_support_model
from bot.wiring.settings import Settings

PACK = PACKS["qwen2.5-coder-1.5b"]


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def _probe_file(tmp_path, llm: str):
    model = SupportModel((0.0,) * len(FEATURES), 0.0, 0.5, state_weights=(1.0, -1.0), llm_sha256=llm)
    path = tmp_path / "probe.json"
    path.write_text(model.to_json({}), encoding="utf-8")
    return path


def test_the_llm_is_known_by_its_pack_or_by_the_checksum_given():
    assert llm_sha256(settings(llm_model="pack:qwen2.5-coder-1.5b")) == PACK.sha256
    assert llm_sha256(settings(llm_model="/models/other.gguf", llm_sha256="AB" * 32)) == "ab" * 32
    assert llm_sha256(settings(llm_model="/models/other.gguf")) == ""
    assert llm_sha256(settings(llm_url="http://127.0.0.1:8080/v1")) == ""


def test_the_shipped_probe_loads_for_its_own_model_only():
    probe = load_support_model(settings(support_model="probe", llm_model="pack:qwen2.5-coder-1.5b"))
    assert probe is not None and probe.reads_state and probe.llm_sha256 == PACK.sha256
    # Another model's hidden states mean nothing to it, and a model server exposes none: the thresholds decide.
    assert load_support_model(settings(support_model="probe", llm_model="pack:qwen2.5-coder-0.5b")) is None
    assert load_support_model(settings(support_model="probe", llm_url="http://127.0.0.1:8080/v1")) is None


def test_the_default_decision_is_the_packs_signal_model_for_its_own_llm_only():
    model = load_support_model(settings(llm_model="pack:qwen2.5-coder-1.5b"))
    assert model is not None and not model.reads_state
    # A P(yes) or a log-probability means what it does for the model that gave it: the thresholds decide for others.
    assert load_support_model(settings(llm_model="pack:qwen2.5-coder-0.5b")) is None
    assert load_support_model(settings(llm_url="http://127.0.0.1:8080/v1")) is None
    assert load_support_model(settings(support_model="none")) is None


@pytest.mark.parametrize("kind", ["signals", "probe"])
def test_a_shipped_support_model_is_refused_when_its_file_differs_from_the_pinned_checksum(tmp_path, monkeypatch, kind):
    path, _ = PACK.support_file(kind)
    (tmp_path / path.name).write_text(path.read_text(encoding="utf-8").replace('"threshold": ', '"threshold": 0'))
    monkeypatch.setattr("bot.llm.packs.__file__", str(tmp_path / "packs.py"))
    with pytest.raises(ModelError, match="SHA-256"):
        load_support_model(settings(support_model=kind, llm_model="pack:qwen2.5-coder-1.5b"))


def test_a_probe_given_by_path_must_read_the_llm_in_use(tmp_path):
    path = _probe_file(tmp_path, llm=PACK.sha256)
    assert load_support_model(settings(support_model=str(path))).reads_state
    with pytest.raises(ModelError, match="hidden states"):
        load_support_model(settings(support_model=str(path), llm_model="/models/other.gguf"))


class _Recorded:
    """Stands in for LlamaGenerator: notes what the wiring asked of it, loads nothing."""

    def __init__(self, path, name, **options) -> None:
        self.name = name
        self.options = options


@pytest.fixture
def built(monkeypatch, tmp_path):
    """load_generator over a recording LlamaGenerator and a model path that needs no file."""
    monkeypatch.setattr("bot.llm.llama.LlamaGenerator", _Recorded)
    monkeypatch.setattr("bot.llm.source.resolve_model", lambda spec, cache, sha: (tmp_path / "m.gguf", "m"))


def test_the_hidden_state_is_read_only_for_a_support_model_that_reads_it(built, tmp_path):
    from bot.wiring.factory import load_generator

    def keeps(**values) -> bool:
        return load_generator(settings(data_dir=tmp_path, **values)).options["keep_state"]

    assert keeps() is False  # the default decision (per-signal thresholds) never reads it
    assert keeps(support_model="probe") is True
    assert keeps(support_model="probe", llm_model="pack:qwen2.5-coder-0.5b") is False  # no probe for that LLM
    assert keeps(support_model=str(_probe_file(tmp_path, llm=PACK.sha256))) is True
    # A fitted model over the signals alone reads no state either.
    signals_only = tmp_path / "signals.json"
    signals_only.write_text(SupportModel((0.0,) * len(FEATURES), 0.0, 0.5).to_json({}), encoding="utf-8")
    assert keeps(support_model=str(signals_only)) is False
    # The eval's recording runs ask for it whatever decides.
    assert load_generator(settings(data_dir=tmp_path), keep_state=True).options["keep_state"] is True


@pytest.mark.parametrize(("support", "kept"), [("none", False), ("probe", True)])
def test_the_library_loads_its_generator_keeping_states_only_for_a_probe(monkeypatch, tmp_path, support, kept):
    from bot.wiring.factory import build_library
    from tests.fakes import FakeEmbedder, FakeGenerator

    asked = []

    def load_generator(settings, stop=None, keep_state=None):
        asked.append(keep_state)
        return FakeGenerator()

    monkeypatch.setattr("bot.wiring.factory.load_embedder", lambda settings: FakeEmbedder(name="embedded:fake"))
    monkeypatch.setattr("bot.wiring.factory.load_generator", load_generator)
    library = build_library(
        settings(data_dir=tmp_path / "data", embedding_model="embedded:fake", support_model=support)
    )
    library.core(library.default.id)
    assert asked == [kept]
