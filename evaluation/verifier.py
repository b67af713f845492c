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
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from bot.core.grounding import GroundingThresholds
from bot.core.support_model import SupportModel, features
from evaluation.metrics import best_f1, contains_gold
from evaluation.tune import GRID, cost, decided

FOLDS = 5


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


def features_of(record: dict) -> list[float]:
    """The fitted model's inputs for a recorded proposal: the same function the core scores with."""
    support = record["support"]
    return features(
        support["verified"],
        support["answer_logprob"],
        support["coverage"],
        support["rank"],
        len(support["missing_specifics"]),
    )


def _auc(labels: list[bool], scores: list[float]) -> float | None:
    return roc_auc_score(labels, scores) if 0 < sum(labels) < len(labels) else None


def out_of_fold(runs: dict[str, list[dict]]) -> dict[str, list[float]]:
    """The combiner's score for every proposal, from a model fitted on the other folds' articles."""
    rows = [(name, i, r) for name, recs in runs.items() for i, r in enumerate(proposals(recs))]
    x = np.array([features_of(r) for _, _, r in rows])
    y = np.array([is_right(r) for _, _, r in rows])
    groups = np.array([r["doc"] for name, _, r in rows])
    scores = np.zeros(len(rows))
    for train, test in GroupKFold(n_splits=min(FOLDS, len(set(groups)))).split(x, y, groups):
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


THRESHOLDS = [round(0.05 * n, 2) for n in range(2, 20)]


def fit(recs: list[dict]) -> LogisticRegression:
    judged = proposals(recs)
    return LogisticRegression(max_iter=1000, C=1.0).fit(
        np.array([features_of(r) for r in judged]), np.array([is_right(r) for r in judged])
    )


def _as_model(lr: LogisticRegression, threshold: float) -> SupportModel:
    return SupportModel(tuple(float(w) for w in lr.coef_[0]), float(lr.intercept_[0]), threshold)


def _cost(runs: dict[str, list[dict]], t: GroundingThresholds, model: SupportModel | None) -> float:
    return sum(cost([decided(r, t, model=model) for r in recs]) / len(recs) for recs in runs.values() if recs)


def best_model(runs: dict[str, list[dict]], t: GroundingThresholds) -> SupportModel:
    """The model fitted on every proposal of `runs`, its threshold the cheapest there."""
    lr = fit([r for recs in runs.values() for r in recs])
    return min((_as_model(lr, th) for th in THRESHOLDS), key=lambda m: _cost(runs, t, m))


def best_verified(runs: dict[str, list[dict]], t: GroundingThresholds) -> GroundingThresholds:
    """The threshold rule at its cheapest min_verified on `runs` (the other thresholds as given)."""
    from dataclasses import replace

    return min((replace(t, min_verified=v) for v in GRID["min_verified"]), key=lambda c: _cost(runs, c, None))


def held_out_costs(runs: dict[str, list[dict]], t: GroundingThresholds) -> dict[str, tuple[float, float]]:
    """Per set, the summed cost on held-out articles of the threshold rule and of the fitted model, each
    chosen (and the model fitted) on the other folds' articles only."""
    docs = sorted({r["doc"] for name, recs in runs.items() for r in recs})
    folds = [set(docs[i::FOLDS]) for i in range(FOLDS)]
    totals = {name: [0.0, 0.0] for name in runs}
    for held in folds:
        train = {n: [r for r in recs if r["doc"] not in held] for n, recs in runs.items()}
        test = {n: [r for r in recs if r["doc"] in held] for n, recs in runs.items()}
        rule, model = best_verified(train, t), best_model(train, t)
        for name, recs in test.items():
            totals[name][0] += cost([decided(r, rule) for r in recs])
            totals[name][1] += cost([decided(r, t, model=model) for r in recs])
    return {name: (a / len(runs[name]), b / len(runs[name])) for name, (a, b) in totals.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.verifier", description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, nargs="+", help="`kutip-eval --thresholds permissive --json` files")
    parser.add_argument("--json", type=Path, help="also write the table here")
    parser.add_argument(
        "--at", default="", help="the other thresholds (relatedness, specifics) as 'name=x,...' (default: shipped)"
    )
    parser.add_argument("--fit", action="store_true", help="compare with a fitted model on held-out articles")
    parser.add_argument(
        "--write", type=Path, help="with --fit: write the model fitted on every set here (for KUTIP_SUPPORT_MODEL)"
    )
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
    if args.fit:
        from evaluation.cli import parse_overrides

        t = parse_overrides(args.at, GroundingThresholds())
        print(f"held-out cost ({FOLDS} folds grouped by article), threshold on P(yes) vs fitted model:")
        for name, (rule, model) in held_out_costs(runs, t).items():
            print(f"  {name:<24} {rule:.3f}  {model:.3f}")
        if args.write:
            model = best_model(runs, t)
            provenance = {
                "fitted_on": sorted(runs),
                "features_doc": "bot/core/support_model.py",
                "command": " ".join(
                    [
                        "python -m evaluation.verifier",
                        *map(str, args.records),
                        "--fit",
                        "--at",
                        repr(args.at),
                        "--write",
                        str(args.write),
                    ]
                ),
            }
            args.write.write_text(model.to_json(provenance) + "\n", encoding="utf-8")
            digest = hashlib.sha256(args.write.read_bytes()).hexdigest()
            print(f"wrote {args.write}: threshold {model.threshold}, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
