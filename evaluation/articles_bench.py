"""Answer speed per stage on new articles (idkmrc-id dev) beside the shipped seed, in one process.

Each article is indexed and warmed as the bot does for an article a chat sends (a new core, its prefix
evaluated once), then its questions are asked through the product's core. Per question it keeps the
core's own `timings_ms` and what each model call cost (`CallStats`: prompt tokens held from before
the call and evaluated anew, decoded tokens, grammar-masked steps), so a per-turn slowdown can be told
apart: a prefix that misses, a longer verification prompt, or a grammar that refuses the model's token.

`python -m evaluation.articles_bench --limit 30` runs it alone; `make bench` runs it with 100 questions.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

from base.measure import percentile
from bot.core.answer import CoreConfig
from bot.wiring.settings import REPO_ROOT, Settings
from evaluation.dataset import Group, article_of, load_bench
from index.build import build_index
from index.embedder import Embedder

logger = logging.getLogger(__name__)

SEED_BENCH = REPO_ROOT / "bench" / "seed"
NEW_BENCH = REPO_ROOT.parent / "shared" / "bench" / "idkmrc-id"
STAGES = ("retrieve", "generate", "verify", "total")
NEW_ARTICLE_QUESTIONS = 100  # the first 100 of idkmrc-id dev: 12 articles, answerable and not


def ask_all(groups: list[Group], embedder: Embedder, generator, config: CoreConfig) -> list[dict]:
    """Every question of every group, each group's article indexed and warmed as a newly read one."""
    from bot.wiring.factory import assemble_core

    rows: list[dict] = []
    for group in groups:
        stored = build_index(article_of(group.doc), embedder)
        core = assemble_core(stored, embedder, generator, config)
        started = time.perf_counter()
        core.warm()
        warm_s = time.perf_counter() - started
        prefix_tokens = len(generator.prefix_tokens(core.prompt.system))
        for n, question in enumerate(group.questions):
            generator.recent_calls.clear()
            answer = core.ask(question.question)
            rows.append(
                {
                    "id": question.id,
                    "doc": question.doc,
                    "first_of_article": n == 0,
                    "warm_s": round(warm_s, 3) if n == 0 else None,
                    "prefix_tokens": prefix_tokens,
                    "inlined": core.prompt.inlined,
                    "answer": answer.text,
                    "kind": answer.kind.value,
                    "refused": answer.refused,
                    "citations": [c.id for c in answer.citations],
                    "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
                    "calls": [asdict(c) for c in generator.recent_calls],
                }
            )
    return rows


def _stage(rows: list[dict], stage: str, only_when_run: bool = False) -> dict:
    values = [r["timings_ms"].get(stage, 0.0) / 1000 for r in rows]
    if only_when_run:
        values = [v for v in values if v > 0]
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_s": round(percentile(values, 50), 3),
        "p95_s": round(percentile(values, 95), 3),
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def summarise(rows: list[dict]) -> dict:
    """Per-stage p50/p95 (verify over the questions that ran it) and the model calls' medians by kind."""
    completes = [c for r in rows for c in r["calls"] if c["kind"] == "complete"]
    choices = [c for r in rows for c in r["calls"] if c["kind"] == "choice"]
    steps = sum(c["generated_tokens"] for c in completes)
    return {
        "questions": len(rows),
        "articles": len({r["doc"] for r in rows}),
        "prefix_tokens_median": _median([r["prefix_tokens"] for r in rows]),
        "inlined": sum(r["inlined"] for r in rows),
        "answered": sum(not r["refused"] for r in rows),
        **{stage: _stage(rows, stage, only_when_run=stage == "verify") for stage in STAGES},
        "generate_calls": {
            "n": len(completes),
            "evaluated_tokens_median": _median([c["evaluated_tokens"] for c in completes]),
            "generated_tokens_median": _median([c["generated_tokens"] for c in completes]),
            "grammar_chars_median": _median([c["grammar_chars"] for c in completes]),
            "ms_per_call_median": _median([1000 * c["seconds"] for c in completes]),
            "masked_steps": sum(c["masked_steps"] for c in completes),
            "masked_share": round(sum(c["masked_steps"] for c in completes) / steps, 3) if steps else None,
            "full_masks": sum(c["full_masks"] for c in completes),
        },
        "verify_calls": {
            "n": len(choices),
            "evaluated_tokens_median": _median([c["evaluated_tokens"] for c in choices]),
            "reused_tokens_median": _median([c["reused_tokens"] for c in choices]),
            "ms_per_call_median": _median([1000 * c["seconds"] for c in choices]),
        },
    }


def articles_speed(embedder: Embedder, generator, config: CoreConfig, limit: int, new_bench: Path = NEW_BENCH) -> dict:
    """The seed's questions and the first `limit` of idkmrc-id dev, through the same code in this process."""
    out: dict = {"load_average_start": [round(x, 2) for x in os.getloadavg()]}
    runs = {"seed": load_bench(SEED_BENCH, "dev")}
    if (new_bench / "qa.jsonl").is_file():
        runs["new"] = load_bench(new_bench, "dev", limit)
    else:
        logger.warning("no %s: skipping the new-article rows", new_bench)
    for name, groups in runs.items():
        rows = ask_all(groups, embedder, generator, config)
        out[name] = {"summary": summarise(rows), "rows": rows}
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def _cell(stage: dict) -> str:
    return f"{stage['p50_s']:.2f} / {stage['p95_s']:.2f}" if stage.get("n") else "-"


def lines(result: dict) -> list[tuple[str, str]]:
    """Rows for the `make bench` table: per stage p50 / p95 seconds, then what the model calls cost."""
    out = []
    for name, label in (("seed", "seed article"), ("new", "new articles (idkmrc-id dev)")):
        if name not in result:
            continue
        s = result[name]["summary"]
        g, v = s["generate_calls"], s["verify_calls"]
        out.append(
            (
                f"{label}: retrieve / generate / verify / total p50 / p95 (s)",
                f"{_cell(s['retrieve'])} | {_cell(s['generate'])} | {_cell(s['verify'])} (n={s['verify']['n']}) | "
                f"{_cell(s['total'])} over {s['questions']} questions, {s['articles']} articles",
            )
        )
        out.append(
            (
                f"{label}: model calls, medians",
                f"generate {g['ms_per_call_median']} ms ({g['evaluated_tokens_median']} prompt tokens read, "
                f"{g['generated_tokens_median']} decoded, grammar {g['grammar_chars_median']} chars, "
                f"best token refused at {g['masked_steps']} steps = {g['masked_share']}, whole vocabulary masked at "
                f"{g['full_masks']}); verify {v['ms_per_call_median']} ms "
                f"({v['evaluated_tokens_median']} prompt tokens read, {v['reused_tokens_median']} reused)",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.articles_bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit", type=int, default=NEW_ARTICLE_QUESTIONS, help="idkmrc-id dev questions (default %(default)s)"
    )
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from bot.wiring.factory import core_config, load_embedder, load_generator

    settings = Settings()
    settings.apply_offline()
    started = time.perf_counter()
    embedder = load_embedder(settings)
    generator = load_generator(settings)
    load_s = time.perf_counter() - started
    result = articles_speed(embedder, generator, core_config(settings), args.limit)
    result["models_load_s"] = round(load_s, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for name, value in lines(result):
        print(f"  {name}: {value}")
    print(f"  peak RSS {result['peak_rss_mb']:.0f} MB; load average {result['load_average_start']} / "
          f"{result['load_average_end']}")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
