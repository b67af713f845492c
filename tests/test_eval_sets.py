"""The project's own dev sets (bench/en-questions, bench/followups) load with the eval's loader and are well formed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evaluation.dataset import article_of, load_bench

REPO = Path(__file__).resolve().parents[1]
EN_QUESTIONS = REPO / "bench" / "en-questions"
FOLLOWUPS = REPO / "bench" / "followups"
REQUIRED = {"id", "doc", "lang", "question", "answers", "answerable", "split"}


def rows(folder: Path) -> list[dict]:
    with (folder / "qa.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def has_gold(text: str, answers: tuple[str, ...]) -> bool:
    return any(gold.lower() in text.lower() for gold in answers)


@pytest.mark.parametrize(("folder", "minimum"), [(EN_QUESTIONS, 150), (FOLLOWUPS, 60)])
def test_a_set_loads_whole_with_unique_ids_and_consistent_labels(folder: Path, minimum: int) -> None:
    raw = rows(folder)
    incomplete = [row.get("id") for row in raw if not set(row) >= REQUIRED]
    assert incomplete == []
    assert {row["split"] for row in raw} == {"dev"}
    questions = [q for group in load_bench(folder, "dev") for q in group.questions]
    assert len(questions) == len(raw) >= minimum  # the loader drops nothing
    assert [qid for qid, n in Counter(q.id for q in questions).items() if n > 1] == []
    assert all(q.answers for q in questions if q.answerable)
    assert all(not q.answers for q in questions if not q.answerable)
    assert {q.answerable for q in questions} == {True, False}


def test_every_english_question_gold_is_in_its_article_as_kutip_reads_it() -> None:
    # The golds are the source's words, and Kutip copies answers from the cleaned article: a gold string missing
    # there could never be matched.
    missing = []
    for group in load_bench(EN_QUESTIONS, "dev"):
        text = article_of(group.doc).text.lower()
        missing += [(q.id, g) for q in group.questions if q.answerable for g in q.answers if g.lower() not in text]
    assert missing == []


def test_every_answerable_follow_up_has_a_gold_in_its_article() -> None:
    # Like the seed set, a follow-up may add a rendering of the article's words ("6 tahun" for "enam tahun") so a
    # correctly rendered answer scores too; at least one gold must be the article's own words.
    missing = []
    for group in load_bench(FOLLOWUPS, "dev"):
        text = article_of(group.doc).text
        missing += [q.id for q in group.questions if q.answerable and not has_gold(text, q.answers)]
    assert missing == []


def test_english_questions_keep_their_idkmrc_source_and_labels() -> None:
    raw = rows(EN_QUESTIONS)
    assert {row["lang"] for row in raw} == {"en"}
    assert all(row["id"] == f"en-{row['source_id']}" and row["source_question"] for row in raw)
    assert len({row["source_id"] for row in raw}) == len(raw)
    docs = {group.doc.id: group.doc for group in load_bench(EN_QUESTIONS, "dev")}
    assert all(doc.lang == "id" and doc.text for doc in docs.values())  # English questions, Indonesian articles
    assert len(docs) >= 50  # spread over many articles, so a per-article effect cannot dominate
    unanswerable = sum(not row["answerable"] for row in raw)
    assert 0.3 <= unanswerable / len(raw) <= 0.7


def test_follow_ups_carry_their_earlier_turn_and_a_gold_sentence_that_holds_the_answer() -> None:
    groups = load_bench(FOLLOWUPS, "dev")
    assert len(groups) >= 2  # not only the seed article
    questions = [q for group in groups for q in group.questions]
    assert {q.lang for q in questions} == {"id", "en"}
    assert sum(q.lang == "id" for q in questions) > len(questions) / 2
    assert sum(not q.answerable for q in questions) >= 0.1 * len(questions)
    for group in groups:
        article = article_of(group.doc)
        for q in group.questions:
            assert q.extra["kind"] == "followup", q.id
            history = q.extra["history"]
            assert set(history) == {"question", "answer"} and all(history.values()), q.id
            if q.answerable:
                sentence = article.sentence(q.extra["gold_sentence"])
                assert sentence is not None, q.id
                assert has_gold(sentence.text, q.answers), q.id
            else:
                assert "gold_sentence" not in q.extra, q.id
