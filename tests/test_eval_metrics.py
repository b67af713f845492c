"""Metric definitions on small hand-made records (shared/bench/README.md, "How to score")."""

import pytest

from evaluation.metrics import (
    METRIC_KEYS,
    answer_metrics,
    best_f1,
    contains_gold,
    gold_rank,
    percentile,
    recall_metrics,
    summarise,
    token_f1,
)


def record(
    answerable=True, gold=("2019",), rank=None, in_article=True, refused=False, answer="", cited=(), total_ms=1000.0
):
    return {
        "answerable": answerable,
        "gold": list(gold) if answerable else [],
        "gold_rank": rank,
        "gold_in_article": in_article and answerable,
        "refused": refused,
        "answer": answer,
        "citations": [{"text": t} for t in cited],
        "timings_ms": {"total": total_ms},
    }


def test_gold_match_is_case_insensitive_substring():
    assert contains_gold("Kolaborasi dimulai pada tahun 2019.", ["2019"])
    assert contains_gold("layanan cloud AZURE", ["azure"])
    assert contains_gold("sebesar $1   miliar", ["$1 miliar"])
    assert not contains_gold("pada 2018", ["2019"])
    assert not contains_gold("anything", [""])


def test_gold_rank_is_first_retrieved_sentence_with_a_gold_string():
    retrieved = ["Tidak relevan.", "Azure disebut.", "Azure lagi."]
    assert gold_rank(retrieved, ["azure"]) == 2
    assert gold_rank(retrieved, ["Stargate"]) is None
    assert gold_rank([], ["x"]) is None


def test_recall_counts_only_answerable_questions_whose_gold_is_in_a_sentence():
    records = [
        record(rank=1),
        record(rank=2),
        record(rank=4),
        record(rank=None),
        record(rank=None, in_article=False),  # gold spans two sentences: excluded
        record(answerable=False),  # no gold: excluded
    ]
    assert recall_metrics(records) == {"recall_at_1": 0.25, "recall_at_3": 0.5, "recall_at_5": 0.75}


def test_recall_is_null_when_nothing_can_be_retrieved():
    assert recall_metrics([record(answerable=False)]) == {"recall_at_1": None, "recall_at_3": None, "recall_at_5": None}


def test_token_f1_follows_squad_normalisation():
    assert token_f1("The Azure cloud", "azure cloud") == 1.0
    assert token_f1("Azure", "Azure cloud") == pytest.approx(2 / 3)
    assert token_f1("nothing shared", "Azure") == 0.0
    assert best_f1("pada tahun 2019", ["2018", "tahun 2019"]) == pytest.approx(0.8)
    assert best_f1("x", []) == 0.0


def test_answer_metrics_on_a_mixed_run():
    records = [
        record(answer="Pada tahun 2019.", cited=["Mulai pada tahun 2019."], total_ms=1000),  # right, right quote
        record(answer="2019", cited=["Tidak relevan."], total_ms=2000),  # right answer, wrong quote
        record(refused=True, answer="Artikel ini tidak menyebutkan hal itu.", total_ms=3000),  # wrongly refused
        record(answerable=False, refused=True, total_ms=4000),  # rightly refused
        record(answerable=False, answer="Sam Altman", cited=["Microsoft dan OpenAI."], total_ms=5000),  # should refuse
    ]
    m = answer_metrics(records)
    assert m["citation_precision"] == pytest.approx(1 / 3)  # 3 answered, only the first quotes a gold string
    assert m["answer_accuracy"] == pytest.approx(2 / 3)
    assert m["answer_f1"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)  # "pada tahun 2019" vs "2019": P=1/3, R=1
    assert m["refusal_rate"] == 0.5
    assert m["wrong_refusal_rate"] == pytest.approx(1 / 3)
    assert m["latency_p50_s"] == 3.0
    assert m["latency_p95_s"] == pytest.approx(4.8)


def test_rates_without_questions_of_that_kind_are_null_not_zero():
    m = answer_metrics([record(answer="2019", cited=["2019"])])
    assert m["refusal_rate"] is None
    m = answer_metrics([record(answerable=False, refused=True)])
    assert m["answer_accuracy"] is None and m["answer_f1"] is None and m["wrong_refusal_rate"] is None
    assert m["citation_precision"] is None  # nothing answered


def test_percentile_interpolates_like_numpy():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5


def test_summary_has_exactly_the_documented_keys_and_nulls_llm_metrics_for_retrieval_only():
    records = [record(rank=1)]
    full = summarise(records, with_answers=True, embedding_model="e", llm_model="m", threads=2)
    assert tuple(full) == METRIC_KEYS
    assert full["llm_model"] == "m" and full["threads"] == 2 and full["questions"] == 1
    retrieval = summarise(records, with_answers=False, embedding_model="e", llm_model=None, threads=2)
    assert tuple(retrieval) == METRIC_KEYS
    assert retrieval["recall_at_1"] == 1.0
    llm_only = (
        "citation_precision answer_accuracy answer_f1 refusal_rate wrong_refusal_rate latency_p50_s latency_p95_s "
        "llm_model threads"
    ).split()
    assert all(retrieval[k] is None for k in llm_only)


def test_failure_outcomes_tell_retrieval_model_and_grounding_apart():
    from evaluation import failures as f

    def rec(**kw):
        base = {
            "answerable": True,
            "gold": ["Azure"],
            "refused": False,
            "answer": "",
            "citations": [],
            "llm_replies": [],
        }
        return {**base, **kw}

    assert f.outcome(rec(answer="Azure", citations=[{"text": "via Azure"}])) == f.CORRECT
    assert f.outcome(rec(answer="AWS", citations=[{"text": "via Azure"}])) == f.WRONG_ANSWER_RIGHT_QUOTE
    assert f.outcome(rec(answer="AWS", citations=[{"text": "other"}])) == f.WRONG_ANSWER_WRONG_QUOTE
    assert f.outcome(rec(refused=True)) == f.REFUSED_BEFORE
    assert f.outcome(rec(refused=True, llm_replies=['{"ids": [], "answer": "Azure"}'])) == f.REFUSED_MODEL_RIGHT
    assert f.outcome(rec(refused=True, llm_replies=['{"ids": ["1.1"], "answer": "AWS"}'])) == f.REFUSED_MODEL_WRONG
    assert f.outcome(rec(refused=True, llm_replies=['{"ids": ["1.1"], "answer": "00000'])) == f.REFUSED_UNPARSEABLE
    recorded = [{"text": '{"ids": [], "answer": "Azure"}', "tokens": []}]  # as the runner writes them
    assert f.outcome(rec(refused=True, llm_replies=recorded)) == f.REFUSED_MODEL_RIGHT
    assert f.outcome(rec(answerable=False, gold=[], refused=True)) == f.UNANSWERABLE_REFUSED
    assert f.outcome(rec(answerable=False, gold=[], answer="Sam Altman")) == f.UNANSWERABLE_ANSWERED


def _kind(kind, answerable=True, answer="", cited=(), gold=("2019",)):
    return {
        **record(answerable=answerable, gold=gold, refused=kind != "answer", answer=answer, cited=cited),
        "kind": kind,
    }


def test_both_false_statements_and_what_a_reply_shows_are_counted():
    records = [
        _kind("answer", answer="pada tahun 2019", cited=("Dimulai pada tahun 2019.",)),  # right
        _kind("answer", answer="2018", cited=("Pada 2018 ada rapat.",)),  # false: neither answer nor quote holds 2019
        _kind("answer", answerable=False, answer="2019", cited=("x",)),  # false: the article does not answer it
        _kind("closest", cited=("Ada rapat.", "Dimulai pada tahun 2019.")),  # no answer, but the quotes hold it
        _kind("closest", cited=("Ada rapat.",)),  # no answer, nor in the quotes
        _kind("not_in_article"),  # false: the question is answerable
        _kind("not_in_article", answerable=False),  # true
    ]
    m = answer_metrics(records)
    assert m["false_answer_rate"] == pytest.approx(2 / 7)
    assert m["false_not_in_article_rate"] == pytest.approx(1 / 5)
    assert m["reply_holds_answer_rate"] == pytest.approx(2 / 5)
    assert m["closest_rate"] == pytest.approx(2 / 7)
    assert m["answer_accuracy"] == pytest.approx(1 / 5) and m["refusal_rate"] == pytest.approx(1 / 2)


def test_the_tuning_cost_weighs_both_false_statements_alike_and_the_closest_little():
    from evaluation.tune import CLOSEST_COST, CLOSEST_WITHOUT_ANSWER_COST, cost

    assert cost([_kind("not_in_article")]) == cost([_kind("answer", answerable=False, answer="2019")]) == 1.0
    assert cost([_kind("not_in_article", answerable=False)]) == 0.0
    assert cost([_kind("closest", cited=("pada 2019",))]) == CLOSEST_COST
    assert cost([_kind("closest", cited=("x",))]) == CLOSEST_WITHOUT_ANSWER_COST
    assert cost([_kind("answer", answer="2019", cited=("pada 2019",))]) == 0.0
