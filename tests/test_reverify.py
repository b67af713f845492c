"""evaluation.reverify: the verification turn replayed under other wordings, scored by how it separates quotes."""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

from evaluation.reverify import auc, replay, separation
from tests.fakes import FakeGenerator

TEXT = (
    "Jembatan itu dibuka pada tahun 1932 setelah enam tahun pembangunan. Panjangnya 500 meter.\n\n"
    "Arsiteknya adalah Budi Santoso dari Bandung. Ia juga merancang stasiun kota."
)


def bench(tmp_path: Path) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "docs.jsonl").write_text(json.dumps({"id": "d1", "title": "Jembatan", "text": TEXT}) + "\n")
    rows = [
        {"id": "q1", "doc": "d1", "question": "Kapan jembatan dibuka?", "answers": ["1932"], "answerable": True},
        {"id": "q2", "doc": "d1", "question": "Kapan jembatan ditutup?", "answers": [], "answerable": False},
        {"id": "q3", "doc": "d1", "question": "Siapa arsiteknya?", "answers": ["Budi"], "answerable": True},
    ]
    (folder / "qa.jsonl").write_text("".join(json.dumps({**r, "split": "dev"}) + "\n" for r in rows))
    return folder


def record(qid: str, answerable: bool, gold: list[str], sentence_id: str, text: str, verified) -> dict:
    support = {"answer": "1932", "sentence_id": sentence_id, "sentence_text": text, "verified": verified}
    return {"id": qid, "answerable": answerable, "gold": gold, "support": support}


def test_each_wording_is_asked_per_verified_proposal_and_scored_by_separation(tmp_path: Path) -> None:
    opened = "Jembatan itu dibuka pada tahun 1932 setelah enam tahun pembangunan."
    records = [
        record("q1", True, ["1932"], "1.1", opened, 0.6),  # a right quote
        record("q2", False, [], "1.1", opened, 0.5),  # a near-miss: answered, but unanswerable
        record("q3", True, ["Budi"], "1.1", opened, None),  # never verified (a cheap check refused): skipped
    ]
    generator = FakeGenerator().enqueue_yes(0.9, 0.3, 0.2, 0.8)  # q1: plain, blunt; q2: plain, blunt
    wordings = {"plain": Template("[$sid] $sentence / $question -> $answer?"), "blunt": Template("$question")}
    scores = replay(generator, bench(tmp_path), "dev", records, wordings)

    assert scores == {"q1": {"plain": 0.9, "blunt": 0.3}, "q2": {"plain": 0.2, "blunt": 0.8}}
    asked = [prompt.user for prompt, _ in generator.asked]
    assert asked[0] == f"[1.1] {opened} / Kapan jembatan dibuka? -> 1932?" and asked[1] == "Kapan jembatan dibuka?"
    assert all("[1.1]" in prompt.system for prompt, _ in generator.asked)  # over the article's own prefix
    assert separation(records, scores) == {"plain": 1.0, "blunt": 0.0}


def test_auc_counts_ties_half_and_needs_both_kinds() -> None:
    assert auc([0.5, 0.9], [0.5]) == 0.75
    assert auc([0.5], []) is None
