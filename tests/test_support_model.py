"""The fitted support model: a versioned file, pinned by SHA-256, scored on the recorded signals."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from base.errors import ModelError
from bot.core.grounding import GroundingThresholds, decide
from bot.core.signals import Support
from bot.core.support_model import FEATURES, FORMAT, SupportModel, features, load

# Weights that trust P(yes) and lower the bar for a question in another language than the article's.
MODEL = SupportModel(weights=(1.0, 0.0, 1.0, 0.0, 0.0, 0.0, -3.0, 0.0), bias=0.0, threshold=0.5)


def _write(tmp_path, model: SupportModel, **changes) -> tuple:
    path = tmp_path / "support_model.json"
    data = {**json.loads(model.to_json({"fitted_on": ["test"]})), **changes}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_saved_model_loads_back_when_its_checksum_matches(tmp_path):
    path, digest = _write(tmp_path, MODEL)
    assert load(path, digest) == MODEL


def test_a_model_file_with_another_checksum_is_refused(tmp_path):
    path, digest = _write(tmp_path, MODEL)
    path.write_text(path.read_text(encoding="utf-8").replace('"threshold": 0.5', '"threshold": 0.01'), encoding="utf-8")
    with pytest.raises(ModelError, match="SHA-256"):
        load(path, digest)


@pytest.mark.parametrize("changes", [{"format": "kutip-support-model v0"}, {"features": list(FEATURES[:-1])}])
def test_a_model_of_another_version_or_inputs_is_refused(tmp_path, changes):
    path, digest = _write(tmp_path, MODEL, **changes)
    with pytest.raises(ModelError, match="not a"):
        load(path, digest)


def _support(verified: float, coverage: float | None, missing: tuple[str, ...] = ()) -> Support:
    return Support("2019", "8.1", 1, verified, -0.5, missing, coverage)


def test_the_model_decides_where_one_threshold_on_p_yes_cannot():
    t = GroundingThresholds(min_verified=0.65)
    cross_lingual_right = _support(0.45, coverage=None)  # an English question: its right answers get a lower P(yes)
    same_language_doubted = _support(0.45, coverage=0.8)
    assert not decide(cross_lingual_right, t) and not decide(same_language_doubted, t)
    assert decide(cross_lingual_right, t, MODEL) and not decide(same_language_doubted, t, MODEL)
    # The hard rules hold whatever the score.
    assert not decide(_support(0.99, coverage=None, missing=("france",)), t, MODEL)


def test_features_are_in_the_declared_order():
    inputs = features(0.5, None, None, 1, 2)
    assert len(inputs) == len(FEATURES) and inputs[FEATURES.index("cross_lingual")] == 1.0
    assert inputs[FEATURES.index("missing_specifics")] == 2.0 and inputs[FEATURES.index("log_rank")] == 0.0
    assert inputs[FEATURES.index("first_logprob")] == -8.0  # no score from the generator counts as a low one
    assert features(0.5, None, None, 1, 2, first_logprob=-0.25)[FEATURES.index("first_logprob")] == -0.25
    assert FORMAT.endswith("v3")


def test_the_first_tokens_log_probability_moves_the_score():
    # Weighted on the first token alone: the same P(yes) passes when the model chose its answer's first token
    # readily, and not when it wrote it against its own first pick.
    weights = tuple(1.0 if f == "first_logprob" else 0.0 for f in FEATURES)
    model = SupportModel(weights=weights, bias=2.0, threshold=0.5)
    t = GroundingThresholds()
    assert decide(replace(_support(0.7, coverage=0.8), first_logprob=-0.1), t, model)
    assert not decide(replace(_support(0.7, coverage=0.8), first_logprob=-4.0), t, model)


# A probe over a three-number "hidden state": the first number is what it has learnt to trust.
PROBE = SupportModel(
    weights=(0.0,) * len(FEATURES), bias=0.0, threshold=0.5, state_weights=(4.0, 0.0, 0.0), llm_sha256="ab" * 32
)


def test_a_probe_decides_from_the_hidden_state_not_from_p_yes():
    t = GroundingThresholds(min_verified=0.65)
    doubted_but_right = replace(_support(0.3, coverage=None), state=(1.0, 5.0, -5.0))
    sure_but_wrong = replace(_support(0.95, coverage=0.8), state=(-1.0, 5.0, -5.0))
    assert decide(doubted_but_right, t, PROBE) and not decide(sure_but_wrong, t, PROBE)
    assert not decide(doubted_but_right, t) and decide(sure_but_wrong, t)


def test_without_a_state_of_its_size_a_probe_leaves_the_decision_to_the_thresholds():
    """A model server exposes no hidden state; a state of another size comes from another model."""
    t = GroundingThresholds(min_verified=0.65)
    for state in [(), (1.0, 2.0)]:
        assert PROBE.score([0.0] * len(FEATURES), state) is None
        assert decide(replace(_support(0.9, coverage=0.8), state=state), t, PROBE)
        assert not decide(replace(_support(0.3, coverage=0.8), state=state), t, PROBE)


def test_a_probe_loads_back_with_its_state_weights_and_its_model(tmp_path):
    path, digest = _write(tmp_path, PROBE)
    loaded = load(path, digest)
    assert loaded == PROBE and loaded.reads_state and loaded.llm_sha256 == "ab" * 32
