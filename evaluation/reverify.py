"""Replays only the verification turn, under other wordings, on the proposals an eval run recorded.

The verifier's P("yes") carries the support decision (docs/how-it-answers.md, "Trust"). To try another wording of
`prompts/verify.txt` without running the whole eval again, this re-asks the yes/no question for every
recorded proposal that was verified, over the same cached article prefix, once per wording, and
prints how well each wording separates right quotes from wrong ones (AUC: the chance that a right
quote gets a higher P(yes) than a wrong one). A wording is a template file with the placeholders
$history, $question, $answer, $sentence, $sid and $paragraph.

`python -m evaluation.reverify --bench DIR --split dev --records RUN.json --wording NAME=FILE ... [--json OUT]`

RUN.json comes from `kutip-eval ... --thresholds permissive --json RUN.json`, so that every proposal
was verified. Heavy (it loads the model): run it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from string import Template

import numpy as np

from bot.core.answer import ROOM_FOR_QUESTION
from bot.core.ports import Generator, Prompt
from bot.core.prompts import ArticlePrompt, render
from evaluation.dataset import article_of, load_bench
from evaluation.metrics import contains_gold


def auc(right: list[float], wrong: list[float]) -> float | None:
    """P(a right quote scores above a wrong one), ties counting half; None without both kinds."""
    if not right or not wrong:
        return None
    r, w = np.asarray(right)[:, None], np.asarray(wrong)[None, :]
    return float((r > w).mean() + 0.5 * (r == w).mean())


def replay(
    generator: Generator, bench: Path, split: str, records: list[dict], wordings: dict[str, Template]
) -> dict[str, dict[str, float]]:
    """P("yes") per record id and wording, for the records whose proposal was verified."""
    by_id = {r["id"]: r for r in records}
    scores: dict[str, dict[str, float]] = {}
    for group in load_bench(bench, split):
        todo = [
            q for q in group.questions if ((by_id.get(q.id) or {}).get("support") or {}).get("verified") is not None
        ]
        if not todo:
            continue
        article = article_of(group.doc)
        system = ArticlePrompt.fit(article, generator, reserved_tokens=ROOM_FOR_QUESTION).system
        for question in todo:
            support = by_id[question.id]["support"]
            sentence = article.sentence(support["sentence_id"])
            paragraph = " ".join(s.text for s in article.paragraph(sentence.paragraph))
            earlier = question.extra.get("history")
            history = render("followup", question=earlier["question"], answer=earlier["answer"]) if earlier else ""
            scores[question.id] = {
                name: generator.choose(
                    Prompt(
                        system=system,
                        user=wording.substitute(
                            history=history,
                            question=question.question,
                            answer=support["answer"],
                            sentence=sentence.text,
                            sid=sentence.id,
                            paragraph=paragraph,
                        ).strip(),
                    ),
                    ("yes", "no"),
                ).probabilities["yes"]
                for name, wording in wordings.items()
            }
    return scores


def separation(records: list[dict], scores: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """AUC per wording: right quotes (answerable, the cited sentence holds a gold answer) against the rest."""
    right_ids = {
        r["id"]
        for r in records
        if r["id"] in scores and r["answerable"] and contains_gold(r["support"]["sentence_text"], r["gold"])
    }
    names = next(iter(scores.values()), {}).keys()
    return {
        name: auc(
            [row[name] for qid, row in scores.items() if qid in right_ids],
            [row[name] for qid, row in scores.items() if qid not in right_ids],
        )
        for name in names
    }


def _wording(spec: str) -> tuple[str, Template]:
    name, _, path = spec.partition("=")
    if not name or not path:
        raise argparse.ArgumentTypeError(f"--wording wants NAME=FILE, got {spec!r}")
    return name, Template(Path(path).read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.reverify", description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, required=True)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--records", type=Path, required=True, help="a `kutip-eval --json` file")
    parser.add_argument("--wording", type=_wording, action="append", required=True, help="NAME=TEMPLATE_FILE")
    parser.add_argument("--json", type=Path, help="write the P(yes) per record and wording here")
    args = parser.parse_args(argv)

    from bot.wiring.factory import load_generator
    from bot.wiring.settings import Settings

    records = json.loads(args.records.read_text(encoding="utf-8"))["records"]
    scores = replay(load_generator(Settings()), args.bench, args.split, records, dict(args.wording))
    if args.json:
        args.json.write_text(json.dumps(scores), encoding="utf-8")
    for name, value in separation(records, scores).items():
        print(f"{name:<16} AUC {'—' if value is None else f'{value:.3f}'}  ({len(scores)} verified proposals)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
