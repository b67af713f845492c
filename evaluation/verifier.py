"""How well each support signal separates right proposals from wrong ones, alone and combined.

Reads `kutip-eval --thresholds permissive --json` records (every proposal verified, every signal kept, and
beside them, RECORDS.states.npy, the LLM's hidden state at each verification turn) and prints, per dev set,
the ROC-AUC of right against wrong proposals for each signal and for a logistic combination of them, the
combination scored out of fold with the folds grouped by article (so no article is both learnt from and
scored), plus each set's proposal recall: the share of answerable questions whose proposal holds a gold answer.

A probe is the same logistic model over the hidden state as well (`--probe`); its grouped-CV score is a
column of the table.

`python -m evaluation.verifier RECORDS.json [RECORDS.json ...] [--json OUT] [--fit [--probe] [--write PATH]]`
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from bot.core.grounding import GroundingThresholds
from bot.core.support_model import FEATURES, SupportModel, features
from bot.llm.packs import PACKS
from evaluation.metrics import answer_metrics, best_f1, contains_gold
from evaluation.tune import GRID, TRUST_KEYS, cost, decided, load_runs

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
    "first token log-prob": lambda r: features_of(r)[FEATURES.index("first_logprob")],
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
        support.get("first_logprob"),
    )


def _auc(labels: list[bool], scores: list[float]) -> float | None:
    return roc_auc_score(labels, scores) if 0 < sum(labels) < len(labels) else None


def out_of_fold(runs: dict[str, list[dict]], with_state: bool = False) -> dict[str, list[float]]:
    """The combiner's score for every proposal, from a model fitted on the other folds' articles."""
    rows = [(name, r) for name, recs in runs.items() for r in proposals(recs)]
    # By article alone: the English questions ask about idkmrc-id's articles, the follow-ups about the seed's.
    groups = np.array([r["doc"] for _, r in rows])
    scores = np.zeros(len(rows))
    for train, test in GroupKFold(n_splits=min(FOLDS, len(set(groups)))).split(rows, groups=groups):
        model = fit([rows[i][1] for i in train], with_state)
        scores[test] = [_score(model, rows[i][1]) for i in test]
    out: dict[str, list[float]] = {name: [] for name in runs}
    for (name, _), score in zip(rows, scores, strict=True):
        out[name].append(float(score))
    return out


def _score(model: SupportModel, record: dict) -> float:
    return model.score(features_of(record), record["support"].get("state", ()))


def has_states(runs: dict[str, list[dict]]) -> bool:
    return all("state" in r["support"] for recs in runs.values() for r in proposals(recs))


def table(runs: dict[str, list[dict]]) -> dict[str, dict]:
    combined = out_of_fold(runs)
    probed = out_of_fold(runs, with_state=True) if has_states(runs) else None
    result = {}
    for name, recs in runs.items():
        judged = proposals(recs)
        labels = [is_right(r) for r in judged]
        answerable = [r for r in recs if r["answerable"]]
        held = [r for r in answerable if r.get("support") and contains_gold(r["support"]["answer"], r["gold"])]
        row = {signal: _auc(labels, [f(r) for r in judged]) for signal, f in SIGNALS.items()}
        row["combined (grouped CV)"] = _auc(labels, combined[name])
        row["probe (grouped CV)"] = _auc(labels, probed[name]) if probed else None
        row["proposals"] = len(judged)
        row["right"] = sum(labels)
        row["proposal recall"] = len(held) / len(answerable) if answerable else None
        result[name] = row
    return result


THRESHOLDS = [round(0.05 * n, 2) for n in range(2, 20)]


# The probe's regularisation: 1,536 numbers per proposal against a few thousand proposals. Chosen by grouped-CV
# ROC-AUC on the dev sets (docs/measurements.md, "The verifier").
PROBE_C = 0.01


def _probe() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=PROBE_C))


def fit(judged: list[dict], with_state: bool = False, llm_sha256: str = "") -> SupportModel:
    """A logistic model over the signals of `judged` proposals (threshold 0.5: `best_model` chooses it).

    With the state, in two stages folded into one linear model: a probe over the standardised hidden state,
    then the signals and the probe's logit, that logit learnt out of fold (grouped by article) so the second
    stage weighs the probe as it does on articles it has not seen. The probe's logit is linear in the state,
    so the whole is one weight per signal, one per state number, and a bias.
    """
    y = np.array([is_right(r) for r in judged])
    signals = np.array([features_of(r) for r in judged])
    if not with_state:
        lr = LogisticRegression(max_iter=1000, C=1.0).fit(signals, y)
        return SupportModel(tuple(float(w) for w in lr.coef_[0]), float(lr.intercept_[0]), 0.5)
    states = np.array([r["support"]["state"] for r in judged])
    groups = np.array([r["doc"] for r in judged])
    held_out_logit = np.zeros(len(judged))
    for train, test in GroupKFold(n_splits=min(FOLDS, len(set(groups)))).split(states, y, groups):
        held_out_logit[test] = _probe().fit(states[train], y[train]).decision_function(states[test])
    probe = _probe().fit(states, y)
    scaler, lr1 = probe[0], probe[-1]
    probe_weights = lr1.coef_[0] / scaler.scale_
    probe_bias = float(lr1.intercept_[0] - np.dot(probe_weights, scaler.mean_))
    lr2 = LogisticRegression(max_iter=1000, C=1.0).fit(np.hstack([signals, held_out_logit[:, None]]), y)
    *weights, probe_weight = lr2.coef_[0]
    return SupportModel(
        tuple(float(w) for w in weights),
        float(lr2.intercept_[0] + probe_weight * probe_bias),
        0.5,
        tuple(float(f"{probe_weight * w:.6g}") for w in probe_weights),
        llm_sha256,
    )


def _cost(runs: dict[str, list[dict]], t: GroundingThresholds, model: SupportModel | None) -> float:
    return sum(cost([decided(r, t, model=model) for r in recs]) / len(recs) for recs in runs.values() if recs)


def best_model(
    runs: dict[str, list[dict]], t: GroundingThresholds, with_state: bool = False, llm_sha256: str = ""
) -> SupportModel:
    """The model fitted on every proposal of `runs`, its threshold the cheapest there."""
    fitted = fit(proposals([r for recs in runs.values() for r in recs]), with_state, llm_sha256)
    return min((replace(fitted, threshold=th) for th in THRESHOLDS), key=lambda m: _cost(runs, t, m))


def best_verified(runs: dict[str, list[dict]], t: GroundingThresholds) -> GroundingThresholds:
    """The threshold rule at its cheapest min_verified on `runs` (the other thresholds as given)."""
    return min((replace(t, min_verified=v) for v in GRID["min_verified"]), key=lambda c: _cost(runs, c, None))


def held_out(
    runs: dict[str, list[dict]], t: GroundingThresholds, with_state: bool = False
) -> dict[str, tuple[list[dict], list[dict]]]:
    """Per set, its records as decided on held-out articles by the threshold rule and by the fitted model, each
    chosen (and the model fitted) on the other folds' articles only."""
    docs = sorted({r["doc"] for name, recs in runs.items() for r in recs})
    folds = [set(docs[i::FOLDS]) for i in range(FOLDS)]
    decisions: dict[str, tuple[list[dict], list[dict]]] = {name: ([], []) for name in runs}
    for held in folds:
        train = {n: [r for r in recs if r["doc"] not in held] for n, recs in runs.items()}
        test = {n: [r for r in recs if r["doc"] in held] for n, recs in runs.items()}
        rule, model = best_verified(train, t), best_model(train, t, with_state)
        for name, recs in test.items():
            decisions[name][0].extend(decided(r, rule) for r in recs)
            decisions[name][1].extend(decided(r, t, model=model) for r in recs)
    return decisions


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.verifier", description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, nargs="+", help="`kutip-eval --thresholds permissive --json` files")
    parser.add_argument("--json", type=Path, help="also write the table here")
    parser.add_argument(
        "--at", default="", help="the other thresholds (relatedness, specifics) as 'name=x,...' (default: shipped)"
    )
    parser.add_argument("--fit", action="store_true", help="compare with a fitted model on held-out articles")
    parser.add_argument("--probe", action="store_true", help="with --fit: the model reads the hidden state too")
    parser.add_argument(
        "--llm-sha256",
        default=PACKS["qwen2.5-coder-1.5b"].sha256,
        help="with --probe: the SHA-256 of the GGUF the states came from (default: the default pack's)",
    )
    parser.add_argument(
        "--write", type=Path, help="with --fit: write the model fitted on every set here (for KUTIP_SUPPORT_MODEL)"
    )
    args = parser.parse_args(argv)
    runs = load_runs(args.records)
    rows = table(runs)
    columns = [*SIGNALS, "combined (grouped CV)", "probe (grouped CV)", "proposals", "right", "proposal recall"]
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
        print(
            f"held out ({FOLDS} folds grouped by article): cost, then the trust measures, threshold on P(yes) / model"
        )
        for name, (by_rule, by_model) in held_out(runs, t, args.probe).items():
            print(f"  {name:<24} cost {cost(by_rule) / len(by_rule):.3f} / {cost(by_model) / len(by_model):.3f}")
            for label, again in (("rule", by_rule), ("model", by_model)):
                measures = answer_metrics(again)
                print(f"    {label:<6} " + "  ".join(f"{k}={_fmt(measures[k])}" for k in TRUST_KEYS))
        if args.write:
            model = best_model(runs, t, args.probe, args.llm_sha256 if args.probe else "")
            provenance = {
                "fitted_on": sorted(runs),
                "features_doc": "bot/core/support_model.py",
                "command": " ".join(
                    [
                        "python -m evaluation.verifier",
                        *map(str, args.records),
                        "--fit",
                        *(["--probe"] if args.probe else []),
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
