"""How well each support signal separates right proposals from wrong ones, alone and combined.

Reads `kutip-eval --thresholds permissive --json` records (every proposal verified, every signal kept)
and prints, per dev set, the ROC-AUC of right against wrong proposals for each signal and for a logistic
combination of them, the combination scored out of fold with the folds grouped by article (so no article
is both learnt from and scored), plus each set's proposal recall: the share of answerable questions whose
proposal holds a gold answer.

`python -m evaluation.verifier RECORDS.json [RECORDS.json ...] [--json OUT]`
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from evaluation.metrics import best_f1, contains_gold

FOLDS = 5


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def is_right(record: dict) -> bool:
    """A proposal is right when its question is answerable, its sentence holds a gold string and its words
    hold one too (or overlap one, under the right sentence: a partial answer is not a false one)."""
    support = record["support"]
    if not record["answerable"]:
        return False
    in_sentence = contains_gold(support["sentence_text"], record["gold"])
    return contains_gold(support["answer"], record["gold"]) or (
        in_sentence and best_f1(support["answer"], record["gold"]) > 0
    )


def proposals(records: list[dict]) -> list[dict]:
    """The records whose proposal was judged by the model (permissive runs verify every proposal that no
    hard rule refused)."""
    return [r for r in records if r.get("support") and r["support"].get("verified") is not None]


# Each signal oriented so that higher means "more likely right".
SIGNALS = {
    "P(yes)": lambda r: r["support"]["verified"],
    "answer log-prob": lambda r: r["support"]["answer_logprob"] if r["support"]["answer_logprob"] is not None else -5.0,
    "coverage": lambda r: r["support"]["coverage"] if r["support"]["coverage"] is not None else 0.5,
    "rank": lambda r: -r["support"]["rank"],
    "missing specifics": lambda r: -len(r["support"]["missing_specifics"]),
    "nearest sentence (dense)": lambda r: (r.get("relevance") or {}).get("top_dense") or 0.0,
}


def features(record: dict) -> list[float]:
    """The combiner's inputs: every signal, P(yes) on the logit scale, and whether the question is in the
    article's language (a cross-lingual question's right answers get a lower P(yes))."""
    support = record["support"]
    cross = float(support["coverage"] is None)
    verified = _logit(support["verified"])
    return [
        verified,
        verified * cross,
        cross,
        SIGNALS["answer log-prob"](record),
        SIGNALS["coverage"](record) * (1 - cross),
        math.log(support["rank"]),
        len(support["missing_specifics"]),
        float(support["unsupported"] is not None),
        SIGNALS["nearest sentence (dense)"](record),
    ]


def _auc(labels: list[bool], scores: list[float]) -> float | None:
    return roc_auc_score(labels, scores) if 0 < sum(labels) < len(labels) else None


def out_of_fold(runs: dict[str, list[dict]]) -> dict[str, list[float]]:
    """The combiner's score for every proposal, from a model fitted on the other folds' articles."""
    rows = [(name, i, r) for name, recs in runs.items() for i, r in enumerate(proposals(recs))]
    x = np.array([features(r) for _, _, r in rows])
    y = np.array([is_right(r) for _, _, r in rows])
    groups = np.array([f"{name}/{r['doc']}" for name, _, r in rows])
    scores = np.zeros(len(rows))
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        model = LogisticRegression(max_iter=1000, C=1.0).fit(x[train], y[train])
        scores[test] = model.predict_proba(x[test])[:, 1]
    out: dict[str, list[float]] = {name: [] for name in runs}
    for (name, _, _), score in zip(rows, scores, strict=True):
        out[name].append(float(score))
    return out


def table(runs: dict[str, list[dict]]) -> dict[str, dict]:
    combined = out_of_fold(runs)
    result = {}
    for name, recs in runs.items():
        judged = proposals(recs)
        labels = [is_right(r) for r in judged]
        answerable = [r for r in recs if r["answerable"]]
        held = [r for r in answerable if r.get("support") and contains_gold(r["support"]["answer"], r["gold"])]
        row = {signal: _auc(labels, [f(r) for r in judged]) for signal, f in SIGNALS.items()}
        row["combined (grouped CV)"] = _auc(labels, combined[name])
        row["proposals"] = len(judged)
        row["right"] = sum(labels)
        row["proposal recall"] = len(held) / len(answerable) if answerable else None
        result[name] = row
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.verifier", description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, nargs="+", help="`kutip-eval --thresholds permissive --json` files")
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    runs = {p.stem: json.loads(p.read_text(encoding="utf-8"))["records"] for p in args.records}
    rows = table(runs)
    columns = [*SIGNALS, "combined (grouped CV)", "proposals", "right", "proposal recall"]
    print("| set | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in rows.items():
        cells = [
            "—" if row[c] is None else (f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c])) for c in columns
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
