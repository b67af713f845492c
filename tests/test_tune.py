"""evaluation.tune: re-deciding recorded runs, and what it reads from records made before a signal was kept."""

from __future__ import annotations

import json

from bot.core.grounding import GroundingThresholds
from bot.core.support_model import FEATURES, SupportModel
from evaluation.tune import curve, first_logprob_of, load_runs

ANSWER_TOKENS = [['{"', -0.5], ["answer", 0.0], ['":', 0.0], [' "', -0.1], ["pada", -2.5], [" 2019", -0.1], ['"}', 0.0]]


def _record(record_id: str, verified: float, answerable: bool = True, **support) -> dict:
    return {
        "id": record_id,
        "doc": "seed",
        "answerable": answerable,
        "gold": ["2019"] if answerable else [],
        "kind": "answer",
        "support": {
            "answer": "pada 2019",
            "sentence_id": "8.1",
            "rank": 1,
            "verified": verified,
            "answer_logprob": -0.5,
            "missing_specifics": [],
            "coverage": 1.0,
            "unsupported": None,
            "supported": True,
            "sentence_text": "Kolaborasi dimulai pada 2019.",
            **support,
        },
        "relevance": {"missing_specifics": [], "absent_things": [], "top_dense": 0.9, "top_coverage": 1.0},
        "retrieved": ["8.1"],
        "retrieved_texts": ["Kolaborasi dimulai pada 2019."],
    }


def test_an_older_record_gets_its_first_tokens_log_probability_from_the_judged_reply(tmp_path):
    # A copy made again around an echo replaces the first reply: the last answer turn is the judged one.
    older = _record("q1", 0.9)
    older["llm_replies"] = [
        {
            "text": '{"answer": "OpenAI"}',
            "tokens": [['{"', 0.0], ["answer", 0.0], ['":', 0.0], [' "', 0.0], ["Open", -0.2]],
        },
        {"text": '{"answer": "pada 2019"}', "tokens": ANSWER_TOKENS},
    ]
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"metrics": {}, "records": [older, _record("q2", 0.9, first_logprob=-0.3)]}))
    q1, q2 = load_runs([path])["run"]
    assert q1["support"]["first_logprob"] == -2.5
    assert q2["support"]["first_logprob"] == -0.3  # recorded: kept as it is
    assert first_logprob_of({"llm_replies": []}) is None


def test_the_curve_of_a_fitted_model_moves_its_threshold():
    # Scored on P(yes) alone: the right answer (0.9) passes up to a high threshold, the near-miss (0.6) only low.
    weights = tuple(1.0 if f == "logit_verified" else 0.0 for f in FEATURES)
    model = SupportModel(weights=weights, bias=0.0, threshold=0.5)
    runs = {"dev": [_record("right", 0.9, first_logprob=-0.1), _record("near", 0.6, answerable=False)]}
    rows = {row["threshold"]: row for row in curve(runs, GroundingThresholds(), 1.0, model)}
    assert rows[0.5]["dev"]["false_answer_rate"] == 0.5 and rows[0.5]["dev"]["answer_accuracy"] == 1.0
    assert rows[0.8]["dev"]["false_answer_rate"] == 0.0 and rows[0.8]["dev"]["answer_accuracy"] == 1.0
    assert rows[0.5]["cost"] > rows[0.8]["cost"]
