"""The shipped decision on signals the real models recorded on the dev sets (tests/data/recorded_signals.json:
kutip-eval --thresholds permissive records, re-decided exactly as the core decides: by the default model pack's
fitted support model, KUTIP_SUPPORT_MODEL=signals)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.grounding import GroundingThresholds
from bot.wiring.factory import load_support_model
from bot.wiring.settings import Settings
from evaluation.metrics import contains_gold
from evaluation.tune import decided

RECORDS = {r["id"]: r for r in json.loads((Path(__file__).parent / "data" / "recorded_signals.json").read_text())}


SHIPPED = load_support_model(Settings(_env_file=None))


def _replied(record_id: str) -> dict:
    return decided(RECORDS[record_id], GroundingThresholds(), model=SHIPPED)


def test_the_shipped_decision_is_the_fitted_model():
    assert SHIPPED is not None and not SHIPPED.reads_state


def test_a_right_english_answer_with_a_low_p_yes_is_answered():
    # "ChatGPT" to "Which chatbot is OpenAI behind?": P(yes) 0.60, under the 0.65 the threshold rule asks, but the
    # model chose the answer's first word readily (log-probability -0.03); once told "the article doesn't say".
    record = RECORDS["seed-q12"]
    assert record["support"]["verified"] < GroundingThresholds().min_verified
    assert decided(record, GroundingThresholds())["kind"] != "answer"
    reply = _replied("seed-q12")
    assert reply["kind"] == "answer" and contains_gold(reply["answer"], reply["gold"])
    assert [c["id"] for c in reply["citations"]] == [record["support"]["sentence_id"]]


def test_right_english_proposals_still_doubted_are_shown_in_their_sentence_not_denied():
    # "Stargate" (P(yes) 0.40) and "tahun 2024" (0.52): right, not confirmed, and shown in their sentence.
    for record_id in ("seed-q08", "seed-q10"):
        reply = _replied(record_id)
        assert reply["kind"] == "closest", record_id
        assert any(contains_gold(c["text"], reply["gold"]) for c in reply["citations"]), record_id


def test_near_miss_proposals_are_not_answered():
    near_misses = [i for i, r in RECORDS.items() if not r["answerable"] and r["support"]]
    assert len(near_misses) >= 4
    for record_id in near_misses:
        assert _replied(record_id)["kind"] != "answer", record_id


def test_an_off_article_question_gets_the_flat_refusal_on_recorded_signals():
    reply = _replied("seed-q42")  # "What is the capital of France?"
    assert reply["kind"] == "not_in_article" and reply["citations"] == []
