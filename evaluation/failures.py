"""Sorts eval records into outcomes, so a failure can be blamed on retrieval, the model or the grounding check.

`python -m evaluation.failures bench/results/seed-dev-llm.json [--show CATEGORY ...]`
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from evaluation.metrics import cites_gold, contains_gold

CORRECT = "correct"
WRONG_ANSWER_RIGHT_QUOTE = "wrong answer, right quote"
WRONG_ANSWER_WRONG_QUOTE = "wrong answer, wrong quote"
REFUSED_MODEL_RIGHT = "refused, though the model's answer was right"
REFUSED_MODEL_WRONG = "refused, the model's answer was wrong"
REFUSED_UNPARSEABLE = "refused, the model's reply did not parse"
REFUSED_BEFORE = "refused before generation"
REFUSED_UNRECORDED = "refused, the model's reply was not recorded"
UNANSWERABLE_REFUSED = "unanswerable, refused"
UNANSWERABLE_ANSWERED = "unanswerable, answered"


def _last_reply(record: dict) -> str | None:
    replies = record.get("llm_replies") or []
    if not replies:
        return None
    # The runner records each reply as {"text", "tokens"}; older files hold the bare text.
    return replies[-1].get("text", "") if isinstance(replies[-1], dict) else replies[-1]


def model_answer(record: dict) -> str | None:
    """The answer text of the model's last reply (the answer call), None without a parseable reply."""
    text = _last_reply(record)
    if text is None:
        return None
    try:
        return str(json.loads(text).get("answer", ""))
    except (ValueError, AttributeError):
        return None


def outcome(record: dict) -> str:
    if not record["answerable"]:
        return UNANSWERABLE_REFUSED if record["refused"] else UNANSWERABLE_ANSWERED
    gold = record["gold"]
    if not record["refused"]:
        if contains_gold(record["answer"], gold):
            return CORRECT
        return WRONG_ANSWER_RIGHT_QUOTE if cites_gold(record) else WRONG_ANSWER_WRONG_QUOTE
    if "llm_replies" not in record:
        return REFUSED_UNRECORDED
    if not record["llm_replies"]:
        return REFUSED_BEFORE
    answer = model_answer(record)
    if answer is None:
        return REFUSED_UNPARSEABLE
    return REFUSED_MODEL_RIGHT if contains_gold(answer, gold) else REFUSED_MODEL_WRONG


def describe(record: dict) -> str:
    said = record["answer"] if not record["refused"] else (_last_reply(record) or "—")
    cited = ",".join(c["id"] for c in record.get("citations", ())) or "—"
    query = f"  [searched: {record['query']}]" if record.get("query") else ""
    return (
        f"{record['id']}: {record['question']}{query}\n      said: {said[:160]}\n"
        f"      gold: {record['gold'][:3]} rank {record.get('gold_rank')} cited {cited} "
        f"retrieved {record.get('retrieved', [])[:5]}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.failures", description=__doc__.splitlines()[0])
    parser.add_argument("json", type=Path, help="a `kutip-eval --json` file (with answers)")
    parser.add_argument("--show", nargs="*", default=None, help="categories to list (default: every failure)")
    args = parser.parse_args(argv)
    records = json.loads(args.json.read_text(encoding="utf-8"))["records"]
    if records and "refused" not in records[0]:
        print("these records hold no answers (a --retrieval-only run)", file=sys.stderr)
        return 2
    by_outcome: dict[str, list[dict]] = {}
    for record in records:
        by_outcome.setdefault(outcome(record), []).append(record)
    for name, count in Counter({k: len(v) for k, v in by_outcome.items()}).most_common():
        print(f"{count:5d}  {name}")
    show = args.show if args.show is not None else [k for k in by_outcome if k not in (CORRECT, UNANSWERABLE_REFUSED)]
    for name in show:
        print(f"\n== {name}")
        for record in by_outcome.get(name, []):
            print("  " + describe(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
