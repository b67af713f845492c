"""Scores `kutip summary` against reference summaries (indosum-id), next to the lead-3 baseline.

For each article: ROUGE-1/2/L F1 of the joined bullets against `reference_summary`, the bullets'
length, and the share of bullets whose cited sentence supports them, as the model judges when asked
plainly (the same yes/no turn the summariser uses, asked again of the final bullets). `--extractive`
scores the bullets chosen in code, without the LLM (a summary in the article's language needs none).

`python -m evaluation.summaries --bench ../shared/bench/indosum-id [--limit N] [--extractive] [--json FILE]`
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import time
from pathlib import Path

from bot.core.summary import LEAD_BONUS, bullet_count, choose, clause_bullet
from bot.wiring.factory import assemble_core, core_config, load_embedder, load_generator
from bot.wiring.settings import Settings
from evaluation.dataset import Doc, article_of
from index.build import build_index

logger = logging.getLogger(__name__)

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL")


class _Words:
    """rouge-score's tokenizer interface, keeping every letter (its default drops non-ASCII)."""

    def tokenize(self, text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())


def rouge(candidate: str, reference: str) -> dict[str, float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_KEYS), tokenizer=_Words())
    return {k: v.fmeasure for k, v in scorer.score(reference, candidate).items()}


def read_docs(folder: Path, limit: int | None) -> list[tuple[Doc, str]]:
    rows = [json.loads(line) for line in (folder / "docs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    docs = [(Doc(r["id"], r.get("title", ""), r.get("lang", ""), r["text"]), r["reference_summary"]) for r in rows]
    return docs[:limit] if limit else docs


def _mean(rows: list[dict], key: str) -> float:
    return round(statistics.mean(r[key] for r in rows), 4) if rows else 0.0


def evaluate(docs, embedder, generator=None, settings: Settings | None = None, lead_bonus: float = LEAD_BONUS):
    settings = settings or Settings()
    rows = []
    for doc, reference in docs:
        article = article_of(doc)
        stored = build_index(article, embedder)
        lead3 = " ".join(s.text for s in article.sentences[:3])
        row = {"id": doc.id, **{f"lead3_{k}": v for k, v in rouge(lead3, reference).items()}}
        if generator is None:
            vectors = stored.sentence_index.reconstruct_n(0, stored.sentence_index.ntotal)
            clauses = [clause_bullet(s, lede=i == 0) for i, s in enumerate(article.sentences)]
            chosen = sorted(choose(clauses, vectors, bullet_count(len(article.sentences)), lead_bonus))
            bullets = [clauses[i] or "" for i in chosen]
            supported = [True] * len(bullets)
        else:
            core = assemble_core(stored, embedder, generator, core_config(settings))
            core.warm()
            started = time.perf_counter()
            summary = core.summary(article.language)
            row["seconds"] = time.perf_counter() - started
            bullets = [b.text for b in summary.bullets]
            # The summariser's own yes/no check, asked again of the bullets it kept.
            supported = [
                core.summariser.verdict(b.text, article.sentence(b.citations[0].id)) >= 0.5 for b in summary.bullets
            ]
            row["bullets"] = bullets
            row["ids"] = [b.citations[0].id for b in summary.bullets]
            row["copies"] = sum(b.text == b.citations[0].text for b in summary.bullets)
        row.update(rouge(" ".join(bullets), reference))
        row.update(
            count=len(bullets),
            mean_chars=statistics.mean(len(b) for b in bullets) if bullets else 0.0,
            max_chars=max((len(b) for b in bullets), default=0),
            supported=sum(supported),
        )
        rows.append(row)
    total = sum(r["count"] for r in rows)
    metrics = {k: _mean(rows, k) for k in ROUGE_KEYS}
    metrics.update({f"lead3_{k}": _mean(rows, f"lead3_{k}") for k in ROUGE_KEYS})
    metrics.update(
        articles=len(rows),
        bullets_per_summary=round(total / len(rows), 2) if rows else 0,
        mean_bullet_chars=round(sum(r["mean_chars"] * r["count"] for r in rows) / total, 1) if total else 0,
        max_bullet_chars=max((r["max_chars"] for r in rows), default=0),
        supported_share=round(sum(r["supported"] for r in rows) / total, 3) if total else None,
    )
    if rows and "seconds" in rows[0]:
        metrics["seconds_per_summary"] = round(statistics.mean(r["seconds"] for r in rows), 2)
    return metrics, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.summaries", description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, required=True, help="a folder whose docs.jsonl has reference_summary")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--extractive", action="store_true", help="score the chosen sentences; no LLM")
    parser.add_argument("--lead-bonus", type=float, nargs="+", default=[LEAD_BONUS])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = Settings()
    docs = read_docs(args.bench, args.limit)
    embedder = load_embedder(settings)
    generator = None if args.extractive else load_generator(settings)
    for bonus in args.lead_bonus:
        metrics, rows = evaluate(docs, embedder, generator, settings, bonus)
        print(f"lead_bonus={bonus}: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
        if args.json:
            args.json.write_text(json.dumps({"metrics": metrics, "rows": rows}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
