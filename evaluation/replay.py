"""Re-scores recorded model replies under other grounding settings, without running the model.

With the article inlined, the answer prompt does not depend on the grounding thresholds or on how
many candidates may be cited, so the replies in an eval's records are what the model would say
again. Replaying them tunes those settings on a dev split in seconds instead of an LLM hour.

`python -m evaluation.replay RECORDS.json --bench DIR --split dev [--limit N] --min-cited-coverage 0 0.1 0.2`
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict, deque
from dataclasses import replace
from pathlib import Path

from bot.core.grounding import GroundingThresholds
from bot.core.ports import Prompt
from bot.wiring.settings import Settings
from evaluation.dataset import load_bench
from evaluation.runner import evaluate

NO_REPLY = '{"ids": [], "answer": "NONE"}'


class ReplayGenerator:
    """Answers each prompt with the next recorded reply for the question it contains.

    A call the recording never made (a question refused before generation then, asked now) gets the
    no-answer reply and is counted in `unrecorded`, so a replay can only err towards refusing.
    """

    def __init__(self, records: list[dict], name: str = "replay", context_size: int = 4096) -> None:
        self.name = name
        self.context_size = context_size
        self._replies: dict[str, deque[str]] = defaultdict(deque)
        for record in records:
            self._replies[" ".join(record["question"].split())].extend(record.get("llm_replies") or [])
        self.unrecorded = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def warm(self, system: str) -> None:
        pass

    def complete(self, prompt: Prompt, grammar: str, max_tokens: int) -> str:
        # The longest question contained in the prompt is the one asked (one may be part of another).
        asked = [q for q in self._replies if q in prompt.user]
        queue = self._replies[max(asked, key=len)] if asked else deque()
        if not queue:
            self.unrecorded += 1
            return NO_REPLY
        return queue.popleft()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.replay", description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, help="JSON written by `kutip-eval --json` (with answers)")
    parser.add_argument("--bench", type=Path, required=True)
    parser.add_argument("--split", choices=["dev", "test"], required=True)
    parser.add_argument("--limit", type=int, default=None, help="the --limit the records were made with")
    parser.add_argument(
        "--min-cited-coverage", type=float, nargs="+", default=[GroundingThresholds().min_cited_coverage]
    )
    parser.add_argument("--candidates", type=int, nargs="+", default=[Settings().candidates])
    args = parser.parse_args(argv)

    from bot.wiring.factory import core_config, load_embedder

    settings = Settings()
    records = json.loads(args.records.read_text(encoding="utf-8"))["records"]
    groups = load_bench(args.bench, args.split, args.limit)
    embedder = load_embedder(settings)
    base = core_config(settings)
    print(
        "candidates  min_cited_coverage  citation_precision  answer_accuracy  answer_f1  refusal_rate  "
        "wrong_refusal_rate  unrecorded"
    )
    for candidates in args.candidates:
        for coverage in args.min_cited_coverage:
            config = replace(base, candidates=candidates)
            thresholds = replace(GroundingThresholds(), min_cited_coverage=coverage)
            generator = ReplayGenerator(records)
            m = evaluate(groups, embedder, generator, config, progress=False, thresholds=thresholds).metrics
            cells = [
                m[k]
                for k in ("citation_precision", "answer_accuracy", "answer_f1", "refusal_rate", "wrong_refusal_rate")
            ]
            print(
                f"{candidates:>10}  {coverage:>18}  "
                + "  ".join("—" if v is None else f"{v:.3f}" for v in cells)
                + f"  {generator.unrecorded}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
