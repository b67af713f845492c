"""Chooses the grounding thresholds from recorded signals, without running the model again.

An eval run with permissive thresholds (`kutip-eval ... --thresholds permissive --json FILE`)
records, for every proposed answer, the signals the grounding policy decides on. Which sentence is
cited and every signal are independent of the thresholds, so re-deciding the records under other
thresholds is exact. This sweeps a grid, scores each setting with one cost that weighs both errors
(a wrong answer, or an answer to an unanswerable question, costs `--wrong-answer-cost` refusals),
and prints the best setting, its per-set metrics and the trade-off curve of the verification
threshold.

`python -m evaluation.tune RECORDS.json [RECORDS.json ...] [--wrong-answer-cost 3]`
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from bot.core import support_model
from bot.core.answer import closest_ids, parse_copied, parse_reply
from bot.core.grounding import GroundingThresholds, answer_token_logprobs, reply_kind
from bot.core.results import ReplyKind
from bot.core.signals import Relevance, Support
from bot.core.support_model import SupportModel
from evaluation.metrics import answer_metrics, cites_gold, contains_gold, kind_of
from evaluation.recording import states_path

GRID = {
    "min_verified": [0.0, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9],
    "min_answer_logprob": [-100.0, -3.0, -2.0, -1.5, -1.0, -0.75, -0.5, -0.3],
    "max_missing_specifics": [0, 1, 99],
    "min_coverage": [0.0, 0.1, 0.2, 0.3],
}
# Which non-answers say "not in the article" rather than show the closest sentences: tuned after the answer
# thresholds, since they decide only among the questions those leave unanswered.
RELATED_GRID = {
    "max_missing_specifics": [0, 1, 99],
    "min_related_dense": [0.0, 0.75, 0.78, 0.8, 0.82, 0.84, 0.86, 0.88],
    "min_related_coverage": [0.0, 0.05, 0.1, 0.2, 0.3],
}
# How many of the closest sentences a reply shows (CoreConfig.closest_quotes).
CLOSEST_QUOTES = 2


def load_runs(paths: list[Path]) -> dict[str, list[dict]]:
    """Each file's records by its name, each verified proposal's hidden state (if kept) in its support."""
    runs = {}
    for path in paths:
        records = json.loads(path.read_text(encoding="utf-8"))["records"]
        states_file = states_path(path)
        if states_file.exists():
            states = np.load(states_file)
            for r in records:
                if "state_row" in r:
                    r["support"]["state"] = tuple(float(x) for x in states[r["state_row"]])
        for r in records:
            if r.get("support") and "first_logprob" not in r["support"]:
                r["support"]["first_logprob"] = first_logprob_of(r)
        runs[path.stem] = records
    return runs


def first_logprob_of(record: dict) -> float | None:
    """The judged answer's first token's log-probability, for a record made before the support kept it: read
    from the last answer turn's reply (a copy made again around an echo replaces the first), as the core
    reads it (`answer_token_logprobs`)."""
    for reply in reversed(record.get("llm_replies") or []):
        text = reply["text"]
        if text.startswith(('{"answer"', '{"ids"')):
            parsed = parse_copied(text, []) if text.startswith('{"answer"') else parse_reply(text)
            scores = answer_token_logprobs(tuple(map(tuple, reply["tokens"])), parsed.answer_start)
            return scores[0] if scores else None
    return None


def support_of(record: dict) -> Support | None:
    data = record.get("support")
    if not data:
        return None
    names = {f.name for f in fields(Support)}
    values = {k: v for k, v in data.items() if k in names}
    values["missing_specifics"] = tuple(values.get("missing_specifics", ()))
    return Support(**values)


def relevance_of(record: dict) -> Relevance | None:
    data = record.get("relevance")
    if not data:
        return None
    absent = data.get("absent_things", data["missing_specifics"])  # recorded before things were told apart
    return Relevance(tuple(data["missing_specifics"]), data["top_dense"], data["top_coverage"], tuple(absent))


def _closest_quotes(record: dict) -> list[dict]:
    """The sentences a "closest" reply shows, as Kutip.ask picks them (`closest_ids`). The record keeps the top
    of the ranking only; a proposal ranked below it comes after those."""
    texts = dict(zip(record.get("retrieved", ()), record.get("retrieved_texts", ()), strict=False))
    proposed = record["support"]["sentence_id"] if record.get("support") else None
    if proposed and proposed not in texts:
        texts[proposed] = record["support"]["sentence_text"]
    return [{"id": i, "text": texts[i]} for i in closest_ids(list(texts), proposed, CLOSEST_QUOTES)]


def decided(
    record: dict, thresholds: GroundingThresholds, two_kinds: bool = False, model: SupportModel | None = None
) -> dict:
    """The record as the policy with `thresholds` would have replied to it; with `two_kinds`, as Kutip did
    before it showed the closest sentences (every reply that was not an answer said "not in the article")."""
    if record.get("kind") == "error":
        return record
    if two_kinds:
        again = decided(record, thresholds, model=model)
        if again["kind"] == ReplyKind.ANSWER:
            return again
        return {**again, "kind": ReplyKind.NOT_IN_ARTICLE.value, "citations": []}
    support = support_of(record)
    relevance = relevance_of(record)
    if relevance is None:  # recorded before relevance was measured: two kinds only
        relevance = Relevance(("?",), None, None, ("?",)) if support is None else Relevance((), 1.0, 1.0)
    kind = reply_kind(support, relevance, thresholds, model)
    if kind is ReplyKind.ANSWER:
        answer, citations = support.answer, [{"id": support.sentence_id, "text": record["support"]["sentence_text"]}]
    else:
        answer, citations = "", _closest_quotes(record) if kind is ReplyKind.CLOSEST else []
    return {
        **record,
        "kind": kind.value,
        "refused": kind is not ReplyKind.ANSWER,
        "answer": answer,
        "citations": citations,
    }


# An answer under the right quote that misses part of the gold string (a partial answer to "what is
# X?", whose gold is a whole definition) is a lesser fault: the reader has the sentence.
PARTIAL_COST = 0.25
# The closest sentences, no answer asserted: the reader must read, more so when they hold no answer.
CLOSEST_COST = 0.25
CLOSEST_WITHOUT_ANSWER_COST = 0.5


def cost(records: list[dict], wrong_answer_cost: float = 1.0) -> float:
    """Both false statements weigh the most: a wrong answer (or any answer to an unanswerable question)
    `wrong_answer_cost`, and "not in the article" to a question the article answers 1. The closest
    sentences cost a little, more when they don't hold the answer; a partial answer under the right quote
    PARTIAL_COST. An error (no reply) counts as a false "not in the article"."""
    total = 0.0
    for r in records:
        kind = kind_of(r)
        if kind == "closest":
            total += CLOSEST_WITHOUT_ANSWER_COST if r["answerable"] and not cites_gold(r) else CLOSEST_COST
        elif kind != "answer":
            total += 1.0 if r["answerable"] else 0.0
        elif not r["answerable"] or not cites_gold(r):
            total += wrong_answer_cost
        elif not contains_gold(r["answer"], r["gold"]):
            total += PARTIAL_COST
    return total


def _grid_sweep(runs: dict[str, list[dict]], wrong_answer_cost: float, base: GroundingThresholds, grid: dict):
    rows = []
    for values in itertools.product(*grid.values()):
        t = replace(base, **dict(zip(grid, values, strict=True)))
        total = sum(cost([decided(r, t) for r in recs], wrong_answer_cost) / len(recs) for recs in runs.values())
        rows.append((total, t))
    rows.sort(key=lambda row: row[0])
    return rows


def sweep(runs: dict[str, list[dict]], wrong_answer_cost: float, base: GroundingThresholds | None = None):
    """Every setting of the answer thresholds with its summed cost (each run normalised by its size), best
    first; then the relatedness thresholds at the best of those, and the answer thresholds once more."""
    base = base or GroundingThresholds()
    best = _grid_sweep(runs, wrong_answer_cost, base, GRID)[0][1]
    best = _grid_sweep(runs, wrong_answer_cost, best, RELATED_GRID)[0][1]
    return _grid_sweep(runs, wrong_answer_cost, best, GRID)


# Each signal's "off" value: with it, that signal never refuses.
SIGNAL_OFF = {"min_verified": 0.0, "min_answer_logprob": -100.0, "max_missing_specifics": 99, "min_coverage": 0.0}


def ablation(runs: dict[str, list[dict]], wrong_answer_cost: float) -> list[tuple[str, float, GroundingThresholds]]:
    """The best setting with each signal switched off in turn (the others re-tuned), and with all on."""
    rows = [("all signals", *sweep(runs, wrong_answer_cost)[0])]
    for name, off in SIGNAL_OFF.items():
        saved = GRID[name]
        GRID[name] = [off]
        try:
            rows.append((f"without {name}", *sweep(runs, wrong_answer_cost)[0]))
        finally:
            GRID[name] = saved
    return rows


TRUST_KEYS = (
    "answer_accuracy",
    "false_answer_rate",
    "false_not_in_article_rate",
    "reply_holds_answer_rate",
    "refusal_rate",
    "citation_precision",
    "closest_rate",
)


def _line(name: str, m: dict) -> str:
    return f"  {name:<28} " + "  ".join(f"{k}={'—' if m[k] is None else f'{m[k]:.3f}'}" for k in TRUST_KEYS)


# The fitted model's least score for an answer, as the curve moves it (SupportModel.threshold).
MODEL_THRESHOLDS = [round(0.05 * n, 2) for n in range(6, 19)]


def curve(
    runs: dict[str, list[dict]], best: GroundingThresholds, wrong_answer_cost: float, model: SupportModel | None = None
) -> list[dict]:
    """The cost and the trust measures of each set at every min_verified, the other thresholds at `best`; with a
    fitted `model`, at every threshold on its score instead."""
    rows = []
    steps = MODEL_THRESHOLDS if model is not None else GRID["min_verified"]
    for v in steps:
        t, m = (best, replace(model, threshold=v)) if model is not None else (replace(best, min_verified=v), None)
        row: dict = {"threshold" if model is not None else "min_verified": v, "cost": 0.0}
        for name, recs in runs.items():
            again = [decided(r, t, model=m) for r in recs]
            row["cost"] += cost(again, wrong_answer_cost) / len(recs)
            row[name] = {k: answer_metrics(again)[k] for k in TRUST_KEYS}
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.tune", description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, nargs="+", help="`kutip-eval --json` files recorded with answers")
    parser.add_argument("--wrong-answer-cost", type=float, default=1.0)
    parser.add_argument("--ablation", action="store_true", help="also re-tune with each signal switched off")
    parser.add_argument(
        "--at", help="score these thresholds instead of tuning (e.g. 'min_verified=0.65,...' or 'shipped')"
    )
    parser.add_argument("--json", type=Path, help="write the chosen setting, its per-set measures and the curve here")
    parser.add_argument("--two-kinds", action="store_true", help="with --at: every non-answer as 'not in the article'")
    parser.add_argument(
        "--model", type=Path, help="with --at: decide answers with this fitted model or probe (KUTIP_SUPPORT_MODEL)"
    )
    args = parser.parse_args(argv)
    runs = load_runs(args.records)
    model = support_model.load(args.model) if args.model else None
    if args.at:
        from evaluation.cli import parse_overrides

        best = GroundingThresholds() if args.at == "shipped" else parse_overrides(args.at, GroundingThresholds())
        best_cost = sum(
            cost([decided(r, best, args.two_kinds, model) for r in recs], args.wrong_answer_cost) / len(recs)
            for recs in runs.values()
        )
        print(f"at {best} (cost {best_cost:.3f}):")
    else:
        best_cost, best = sweep(runs, args.wrong_answer_cost)[0]
        print(f"best (cost {best_cost:.3f}): {best}")
    for name, recs in runs.items():
        print(_line(name, answer_metrics([decided(r, best, args.two_kinds, model) for r in recs])))
    if args.two_kinds:
        return 0
    rows = curve(runs, best, args.wrong_answer_cost, model)
    moved = "the model's threshold" if model is not None else "min_verified"
    print(f"cost curve over {moved} (per set: accuracy / false answers / false 'not in the article' / holds answer):")
    for row in rows:
        cells = [
            f"{name} " + "/".join("—" if row[name][k] is None else f"{row[name][k]:.2f}" for k in TRUST_KEYS[:4])
            for name in runs
        ]
        print(f"  {row.get('threshold', row.get('min_verified')):>5} cost {row['cost']:.3f}  " + "  ".join(cells))
    if args.json:
        per_set = {name: answer_metrics([decided(r, best, model=model) for r in recs]) for name, recs in runs.items()}
        args.json.write_text(
            json.dumps({"thresholds": best.__dict__, "cost": best_cost, "sets": per_set, "curve": rows}, indent=1),
            encoding="utf-8",
        )
    if args.ablation:
        print("ablation (cost, then per-set accuracy / wrong refusals / unanswerable refused / citation precision):")
        for label, total, t in ablation(runs, args.wrong_answer_cost):
            cells = []
            for name, recs in runs.items():
                m = answer_metrics([decided(r, t) for r in recs])
                cells.append(
                    name
                    + " "
                    + "/".join(
                        "—" if m[k] is None else f"{m[k]:.2f}"
                        for k in ("answer_accuracy", "wrong_refusal_rate", "refusal_rate", "citation_precision")
                    )
                )
            print(f"  {label:<32} {total:.3f}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
