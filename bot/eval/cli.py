"""`kutip eval`: the command-line adapter over the evaluation runner and the retrieval ablation."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

from bot.settings import Settings
from index.retrieve import RetrievalConfig

logger = logging.getLogger(__name__)


def parse_retrieval_config(spec: str, base: RetrievalConfig | None = None) -> RetrievalConfig:
    """'dense=1,lexical=0.5' -> RetrievalConfig with those fields replaced; unknown names are an error."""
    base = base or RetrievalConfig()
    names = {f.name for f in dataclasses.fields(RetrievalConfig)}
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise argparse.ArgumentTypeError(f"expected NAME=NUMBER with NAME in {sorted(names)}, got {part!r}")
        try:
            values[name] = float(raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{name}: {raw!r} is not a number") from exc
    return dataclasses.replace(base, **values)


def add_eval_command(sub) -> None:
    p = sub.add_parser("eval", help="score the answer core on a benchmark folder (docs.jsonl + qa.jsonl)")
    p.add_argument("--bench", required=True, type=Path, help="benchmark folder, e.g. ../shared/bench/xquad-en")
    p.add_argument("--split", choices=("dev", "test"), default="dev")
    p.add_argument("--limit", type=int, help="only the first N questions (articles in order, questions in file order)")
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval only; the LLM is not loaded")
    p.add_argument("--retrieval-config", type=parse_retrieval_config, metavar="NAME=X,...",
                   help="override retrieval weights, e.g. dense=1,lexical=1,paragraph=0.5,neighbours=0")
    p.add_argument("--ablation", action="store_true", help="print R@1/3/5 of each retrieval variant (no LLM)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write {metrics, records} (or the ablation) here")
    p.set_defaults(func=cmd_eval)


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def cmd_eval(args: argparse.Namespace, settings: Settings) -> None:
    from bot.eval.ablation import ablate, default_variants
    from bot.eval.dataset import load_bench
    from bot.eval.report import ablation_table, metrics_table
    from bot.eval.runner import evaluate
    from bot.factory import core_config, load_generator
    from index.embedder import SentenceTransformerEmbedder

    settings.apply_offline()
    config = core_config(settings)
    if args.retrieval_config is not None:
        config = dataclasses.replace(config, retrieval=args.retrieval_config)
    groups = load_bench(args.bench, args.split, args.limit)
    embedder = SentenceTransformerEmbedder(settings.embedding_model)
    title = f"{args.bench.name} / {args.split}"

    if args.ablation:
        rows = ablate(groups, embedder, default_variants(config.retrieval))
        print(ablation_table(rows, f"retrieval ablation: {title}"))
        if args.json:
            _write_json(args.json, {"bench": args.bench.name, "split": args.split, "embedding_model": embedder.name,
                                    "rows": [{"variant": r.name, **r.recall, "questions": r.questions} for r in rows]})
        return

    generator = None if args.retrieval_only else load_generator(settings)
    run = evaluate(groups, embedder, generator, config, threads=settings.llm_threads)
    mode = "retrieval only" if generator is None else "answers"
    print(metrics_table(run.metrics, f"{title} ({mode})"))
    if args.json:
        _write_json(args.json, run.to_dict())
