"""`make bench`'s long-article pass: answer latency when the article is too long to inline.

A long article (the facqa-id dev articles as one, evaluation/longarticle.py) cannot sit in the
model's context, so each question carries its candidate sentences instead and pays for their tokens.
Its latency is set against the inlined seed article's, measured in the same bench run.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from base.measure import percentile
from bot.core.answer import CoreConfig
from bot.core.ports import Generator
from evaluation.longarticle import load_long_bench
from evaluation.recording import RecordingGenerator
from index.embedder import Embedder

logger = logging.getLogger(__name__)

QUESTIONS = 15


def _p(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else round(value, 3)


def long_article_speed(
    embedder: Embedder,
    generator: Generator,
    config: CoreConfig,
    bench_dir: Path,
    seed_rows: list[dict],
    questions: int = QUESTIONS,
) -> dict:
    """Index the long article, warm it, ask its first `questions` questions; `seed_rows` are the seed's
    answer rows of the same run (`ask_s` each), of which as many are taken for the inlined side."""
    from bot.wiring.factory import assemble_core
    from index.build import build_index
    from index.ingest import parse_article

    if not (bench_dir / "docs.jsonl").is_file():
        logger.warning("no %s: skipping the long-article latency", bench_dir / "docs.jsonl")
        return {}
    long = load_long_bench(bench_dir, "dev", questions)
    started = time.perf_counter()
    stored = build_index(parse_article(long.group.doc.text, origin=long.group.doc.id), embedder)
    index_s = time.perf_counter() - started
    recorder = RecordingGenerator(generator)
    core = assemble_core(stored, embedder, recorder, config)
    started = time.perf_counter()
    core.warm()
    warm_s = time.perf_counter() - started
    rows = []
    for q in long.group.questions:
        before = len(recorder.calls)
        started = time.perf_counter()
        answer = core.ask(q.question)
        ask_s = time.perf_counter() - started
        tokens = [generator.count_tokens(c.prompt.user) for c in recorder.calls[before:]]
        rows.append({"id": q.id, "ask_s": round(ask_s, 4), "refused": answer.refused, "question_tokens": tokens})
    asked = [r["ask_s"] for r in rows]
    seed = [r["ask_s"] for r in seed_rows[: len(rows)]]
    return {
        "bench": bench_dir.name,
        "inlined": core.prompt.inlined,
        "sentences": long.sentences,
        "articles": len(long.docs),
        "index_build_s": round(index_s, 3),
        "warm_s": round(warm_s, 3),
        "questions": len(rows),
        "latency_p50_s": _p(asked, 50),
        "latency_p95_s": _p(asked, 95),
        "seed_questions": len(seed),
        "seed_latency_p50_s": _p(seed, 50),
        "seed_latency_p95_s": _p(seed, 95),
        "answer_prompt_tokens_median": _p([r["question_tokens"][0] for r in rows if r["question_tokens"]], 50),
        "refused": sum(r["refused"] for r in rows),
        "rows": rows,
    }


def lines(r: dict) -> list[tuple[str, str]]:
    """Rows for bench.table."""
    if not r:
        return []
    return [
        (
            "long article: answer latency p50 / p95 (s)",
            f"{r['latency_p50_s']:.2f} / {r['latency_p95_s']:.2f} over {r['questions']} questions "
            f"({r['bench']} dev, {r['sentences']} sentences from {r['articles']} articles, "
            f"{'inlined' if r['inlined'] else 'candidates with each question'}, "
            f"median question prompt {r['answer_prompt_tokens_median']:.0f} tokens)",
        ),
        (
            "  against the inlined seed, same run (s)",
            f"{r['seed_latency_p50_s']:.2f} / {r['seed_latency_p95_s']:.2f} over its first {r['seed_questions']} "
            f"questions",
        ),
        ("  long article index build / warm-up (s)", f"{r['index_build_s']:.1f} / {r['warm_s']:.2f}"),
    ]
