"""The shipped decision on signals the real models recorded on the dev sets (tests/data/recorded_signals.json:
kutip-eval --thresholds permissive records, re-decided exactly as the core decides)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.grounding import GroundingThresholds
from evaluation.metrics import contains_gold
from evaluation.tune import decided

RECORDS = {r["id"]: r for r in json.loads((Path(__file__).parent / "data" / "recorded_signals.json").read_text())}


def _replied(record_id: str) -> dict:
    return decided(RECORDS[record_id], GroundingThresholds())


def test_right_english_proposals_the_verifier_doubts_are_shown_in_their_sentence_not_denied():
    # "Stargate" (P(yes) 0.40), "tahun 2024" (0.52), "ChatGPT" (0.60): English questions about the Indonesian
    # article, right, and once told "the article doesn't say".
    for record_id in ("seed-q08", "seed-q10", "seed-q12"):
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
