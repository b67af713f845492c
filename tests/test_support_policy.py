"""The shipped thresholds on signals recorded from the real model: near-misses refused, right answers kept."""

import json
from pathlib import Path

import pytest

from bot.core.grounding import GroundingThresholds, decide
from bot.core.signals import Support

RECORDED = json.loads((Path(__file__).parent / "data" / "recorded_support.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("record", RECORDED["records"], ids=lambda r: r["question"][:40])
def test_recorded_near_misses_are_refused_and_right_answers_with_extra_words_pass(record):
    fields = {k: v for k, v in record["support"].items() if k != "sentence_text"}
    support = Support(**{**fields, "missing_specifics": tuple(fields["missing_specifics"])})
    assert decide(support, GroundingThresholds()) == (record["expect"] == "answer")


def test_the_recording_holds_both_kinds():
    kinds = [(r["answerable"], r["expect"]) for r in RECORDED["records"]]
    assert kinds.count((False, "refuse")) >= 5 and kinds.count((True, "answer")) >= 5
