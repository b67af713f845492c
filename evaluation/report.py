"""Plain-text tables for the terminal; the JSON output carries the same numbers."""

from __future__ import annotations

from collections.abc import Sequence

from evaluation.ablation import AblationRow

_LABELS = {
    "recall_at_1": "R@1",
    "recall_at_3": "R@3",
    "recall_at_5": "R@5",
    "citation_precision": "citation precision",
    "answer_accuracy": "answer accuracy",
    "answer_f1": "answer token-F1",
    "refusal_rate": "no answer asserted (unanswerable)",
    "wrong_refusal_rate": "no answer asserted (answerable)",
    "false_answer_rate": "false answers (all questions)",
    "false_not_in_article_rate": "false 'not in the article' (answerable)",
    "reply_holds_answer_rate": "reply holds the answer (answerable)",
    "closest_rate": "closest sentences shown (all questions)",
    "latency_p50_s": "latency p50 (s)",
    "latency_p95_s": "latency p95 (s)",
    "questions": "questions",
    "embedding_model": "embedding model",
    "llm_model": "LLM",
    "threads": "LLM threads",
}


def cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def metrics_table(metrics: dict, title: str = "") -> str:
    width = max(len(label) for label in _LABELS.values())
    lines = [title] if title else []
    lines += [f"  {_LABELS.get(key, key):<{width}}  {cell(value)}" for key, value in metrics.items()]
    return "\n".join(lines)


def ablation_table(rows: Sequence[AblationRow], title: str = "") -> str:
    width = max(len(r.name) for r in rows)
    lines = [title] if title else []
    lines.append(f"  {'variant':<{width}}  {'R@1':>5}  {'R@3':>5}  {'R@5':>5}")
    for row in rows:
        r = row.recall
        lines.append(f"  {row.name:<{width}}  " + "  ".join(f"{cell(r[f'recall_at_{k}']):>5}" for k in (1, 3, 5)))
    if rows:
        lines.append(f"  (over {rows[0].questions} answerable questions whose gold string is in one sentence)")
    return "\n".join(lines)
