"""Scores as pure functions over plain records, so they are testable on hand-made inputs.

The definitions follow shared/bench/README.md ("How to score"). A metric with no question to
count over is None (JSON null), never 0: "nothing to measure" must not read as "all wrong".
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

from base.measure import percentile

RECALL_KS = (1, 3, 5)
# Measured only when the model answers; None in a retrieval-only run.
ANSWER_KEYS = (
    "citation_precision",
    "answer_accuracy",
    "answer_f1",
    "refusal_rate",
    "wrong_refusal_rate",
    # The two false statements (docs/how-it-answers.md, "Three kinds of reply"), and what a reply shows.
    "false_answer_rate",
    "false_not_in_article_rate",
    "reply_holds_answer_rate",
    "closest_rate",
    "latency_p50_s",
    "latency_p95_s",
)
METRIC_KEYS = (
    *(f"recall_at_{k}" for k in RECALL_KS),
    *ANSWER_KEYS,
    "questions",
    "embedding_model",
    "llm_model",
    "threads",
)

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def contains_gold(text: str, golds: Iterable[str]) -> bool:
    """Case-insensitive substring match of any gold answer (whitespace runs count as one space)."""
    folded = _fold(text)
    return any(_fold(g) and _fold(g) in folded for g in golds)


def gold_rank(retrieved: Sequence[str], golds: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved sentence text that contains a gold answer, else None."""
    for rank, text in enumerate(retrieved, start=1):
        if contains_gold(text, golds):
            return rank
    return None


def _normalise(text: str) -> list[str]:
    # SQuAD's answer normalisation, so F1 is comparable with published numbers.
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split()


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = _normalise(prediction), _normalise(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: Sequence[str]) -> float:
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def cites_gold(record: dict, in_passage: bool = False) -> bool:
    """A cited sentence holds a gold string; with `in_passage`, only one of the question's own paragraphs
    counts (`gold_paragraphs`, set when its article was concatenated with others: evaluation/longarticle.py)."""
    passage = record.get("gold_paragraphs") if in_passage else None
    return any(
        contains_gold(c["text"], record["gold"]) and (passage is None or passage[0] <= _paragraph(c) <= passage[1])
        for c in record.get("citations", ())
    )


def _paragraph(citation: dict) -> int:
    return int(citation["paragraph"]) if "paragraph" in citation else int(citation["id"].split(".")[0])


def in_passage_metrics(records: Sequence[dict]) -> dict[str, float | None]:
    """R@k and citation precision counting only each question's own article within a long one."""
    ranked = [r.get("gold_rank_in_passage") for r in records if r["answerable"] and r.get("gold_in_passage")]
    metrics = {f"recall_at_{k}": _share([rank is not None and rank <= k for rank in ranked]) for k in RECALL_KS}
    answered = [r for r in records if "refused" in r and not r["refused"]]
    metrics["citation_precision"] = _share([cites_gold(r, in_passage=True) for r in answered])
    return metrics


def recall_metrics(records: Sequence[dict]) -> dict[str, float | None]:
    """R@k over answerable questions whose gold string occurs in some sentence of the article."""
    ranked = [r.get("gold_rank") for r in records if r["answerable"] and r.get("gold_in_article")]
    return {f"recall_at_{k}": _share([rank is not None and rank <= k for rank in ranked]) for k in RECALL_KS}


def kind_of(record: dict) -> str:
    """The reply's kind; records made before there were three call every refusal "not in the article"."""
    return record.get("kind") or ("not_in_article" if record["refused"] else "answer")


def is_false_answer(record: dict) -> bool:
    """An answer asserted that is wrong: to a question the article does not answer, or neither holding a gold
    string nor quoting a sentence that does (an answer under the right quote that misses part of a long
    gold string is partial, not false)."""
    if kind_of(record) != "answer":
        return False
    if not record["answerable"]:
        return True
    return not contains_gold(record["answer"], record["gold"]) and not (
        cites_gold(record) and best_f1(record["answer"], record["gold"]) > 0
    )


def holds_answer(record: dict) -> bool:
    """An answerable question's reply gives the reader the answer: the answer holds it, or a quote does."""
    if kind_of(record) == "answer" and contains_gold(record["answer"], record["gold"]):
        return True
    return kind_of(record) != "not_in_article" and cites_gold(record)


def answer_metrics(records: Sequence[dict]) -> dict[str, float | None]:
    """Metrics of generated answers. A record with an error counts as refused: the user got no answer."""
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    answered = [r for r in records if kind_of(r) == "answer"]
    f1s = [0.0 if r["refused"] else best_f1(r["answer"], r["gold"]) for r in answerable]
    latencies = [r["timings_ms"]["total"] / 1000 for r in records if "total" in r.get("timings_ms", {})]
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    return {
        # Every answered question counts, unanswerable ones too: a quote shown for a question the
        # article cannot answer is a wrong quote.
        "citation_precision": _share([cites_gold(r) for r in answered]),
        "answer_accuracy": _share([not r["refused"] and contains_gold(r["answer"], r["gold"]) for r in answerable]),
        "answer_f1": sum(f1s) / len(f1s) if f1s else None,
        "refusal_rate": _share([r["refused"] for r in unanswerable]),
        "wrong_refusal_rate": _share([r["refused"] for r in answerable]),
        "false_answer_rate": _share([is_false_answer(r) for r in records]),
        "false_not_in_article_rate": _share([kind_of(r) == "not_in_article" for r in answerable]),
        "reply_holds_answer_rate": _share([holds_answer(r) for r in answerable]),
        "closest_rate": _share([kind_of(r) == "closest" for r in records]),
        "latency_p50_s": round(p50, 3) if p50 is not None else None,
        "latency_p95_s": round(p95, 3) if p95 is not None else None,
    }


def summarise(
    records: Sequence[dict], *, with_answers: bool, embedding_model: str, llm_model: str | None, threads: int | None
) -> dict:
    """The metrics object of `kutip-eval --json`, with exactly METRIC_KEYS."""
    metrics: dict = dict(recall_metrics(records))
    if with_answers:
        metrics.update(answer_metrics(records))
    else:
        metrics.update(dict.fromkeys(ANSWER_KEYS))
    metrics.update(
        questions=len(records),
        embedding_model=embedding_model,
        llm_model=llm_model if with_answers else None,
        threads=threads if with_answers else None,
    )
    return {k: metrics[k] for k in METRIC_KEYS}
