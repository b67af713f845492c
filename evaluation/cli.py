"""`python -m evaluation` (kutip-eval): scores the product on a benchmark folder; a development tool, run from a
checkout (evaluation/ is not in the product's wheel)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

import numpy as np

from bot.core.grounding import GroundingThresholds
from bot.wiring.settings import Settings
from evaluation.recording import states_path
from index.retrieve import RetrievalConfig, default_retrieval

logger = logging.getLogger(__name__)


def parse_overrides(spec: str, base):
    """'name=1,other=0.5' -> the dataclass `base` with those numeric fields replaced; unknown names are an error."""
    types = {f.name: f.type for f in dataclasses.fields(base)}
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep or name not in types:
            raise argparse.ArgumentTypeError(f"expected NAME=NUMBER with NAME in {sorted(types)}, got {part!r}")
        try:
            values[name] = int(raw) if types[name] in ("int", int) else float(raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{name}: {raw!r} is not a number") from exc
    return dataclasses.replace(base, **values)


def parse_retrieval_config(spec: str) -> RetrievalConfig:
    """'dense=1,lexical=0.5' -> RetrievalConfig with those fields replaced."""
    return parse_overrides(spec, RetrievalConfig())


# Every cheap check passes, so the model verifies every proposed answer and all signals are recorded
# for evaluation.tune; only the verdict still decides (and its value is recorded whatever it is).
PERMISSIVE = "min_answer_logprob=-1000,max_missing_specifics=1000,min_coverage=0,min_verified=0.5"


def parse_thresholds(spec: str) -> GroundingThresholds:
    """'permissive' or 'min_verified=0.7,...' -> GroundingThresholds with those fields replaced."""
    return parse_overrides(PERMISSIVE if spec == "permissive" else spec, GroundingThresholds())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kutip-eval", description="score the answer core on a benchmark folder (docs.jsonl + qa.jsonl)"
    )
    p.add_argument("--bench", required=True, type=Path, help="benchmark folder, e.g. ../shared/bench/xquad-en")
    p.add_argument("--split", choices=("train", "dev", "test"), default="dev", help="train: for fitting a probe only")
    p.add_argument("--limit", type=int, help="only the first N questions (articles in order, questions in file order)")
    p.add_argument("--skip", type=int, default=0, help="leave out the first N questions (before --limit)")
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval only; the LLM is not loaded")
    p.add_argument(
        "--retrieval-config",
        type=parse_retrieval_config,
        metavar="NAME=X,...",
        help="override retrieval weights, e.g. dense=1,lexical=1,paragraph=0.5,neighbours=0",
    )
    p.add_argument(
        "--thresholds",
        type=parse_thresholds,
        metavar="NAME=X,...|permissive",
        help="override grounding thresholds; 'permissive' records every signal for evaluation.tune",
    )
    p.add_argument(
        "--long-article",
        action="store_true",
        help="ask the selected questions of one long article made of the split's articles (evaluation/longarticle.py)",
    )
    p.add_argument("--ablation", action="store_true", help="print R@1/3/5 of each retrieval variant (no LLM)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write {metrics, records} (or the ablation) here")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return p


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def run_eval(args: argparse.Namespace, settings: Settings) -> None:
    from bot.wiring.factory import core_config, load_embedder, load_generator, load_support_model
    from evaluation.ablation import ablate, default_variants
    from evaluation.dataset import load_bench
    from evaluation.report import ablation_table, metrics_table
    from evaluation.runner import evaluate

    config = core_config(settings)
    title = f"{args.bench.name} / {args.split}"
    long = None
    if args.long_article:
        from evaluation.longarticle import load_long_bench

        long = load_long_bench(args.bench, args.split, args.limit)
        groups = [long.group]
        title += f", one long article ({long.sentences} sentences from {len(long.docs)} articles)"
        print(_long_line(long))
    else:
        groups = load_bench(args.bench, args.split, args.limit, args.skip)
    embedder = load_embedder(settings)
    retrieval = args.retrieval_config or default_retrieval(embedder.multilingual)

    if args.ablation:
        rows = ablate(groups, embedder, default_variants(retrieval))
        print(ablation_table(rows, f"retrieval ablation: {title}"))
        if args.json:
            _write_json(
                args.json,
                {
                    "bench": args.bench.name,
                    "split": args.split,
                    "embedding_model": embedder.name,
                    "rows": [{"variant": r.name, **r.recall, "questions": r.questions} for r in rows],
                },
            )
        return

    # A run that writes its records keeps the verification turn's hidden states beside them (RECORDS.states.npy),
    # whatever support model decides, so a probe can be fitted on them; otherwise, as the product would.
    keep_state = True if args.json else None
    generator = None if args.retrieval_only else load_generator(settings, keep_state=keep_state)
    run = evaluate(
        groups,
        embedder,
        generator,
        config,
        threads=settings.llm_threads,
        retrieval=retrieval,
        thresholds=args.thresholds,
        # Thresholds given on the command line mean the per-signal rule; otherwise the product's decision.
        model=None if args.thresholds is not None else load_support_model(settings),
    )
    mode = "retrieval only" if generator is None else "answers"
    print(metrics_table(run.metrics, f"{title} ({mode})"))
    extra = {}
    if long:
        from evaluation.metrics import in_passage_metrics

        own = in_passage_metrics(run.records)
        print(metrics_table(own, "counting each question's own article only"))
        extra = {"long_article": long.describe() | {"own_article_only": own}}
    if args.json:
        _write_json(args.json, run.to_dict() | extra)
        if run.states:
            # Beside the records, as numbers: what `python -m evaluation.verifier --probe` learns from.
            np.save(states_path(args.json), np.asarray(run.states, dtype=np.float32))


def _long_line(long) -> str:
    line = (
        f"long article: {long.sentences} sentences in {long.paragraphs} paragraphs from {len(long.docs)} articles, "
        f"{len(long.group.questions)} questions"
    )
    if long.left_out:
        line += f"; left out (they answer an unanswerable question): {', '.join(long.left_out)}"
    if long.dropped:
        line += f"; dropped (answered by an asked article): {', '.join(long.dropped)}"
    return line


def main(argv: list[str] | None = None) -> int:
    from base.errors import KutipError
    from bot.adapters.messages import message_for

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        run_eval(args, Settings())
    except KutipError as error:
        print(f"kutip-eval: {message_for(error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
