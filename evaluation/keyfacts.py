"""Scores summaries for what a news reader wants: the article's key facts, bullets that are whole clauses,
and bullets their sentences back. ROUGE (against IndoSum's references) is kept beside them, with lead-3.

The yardstick is `bench/keyfacts/keyfacts.jsonl` (format in bench/README.md): for each article, 5-8 key
facts written by hand, each with the words of the article that state it.

Definitions (each has unit tests in tests/test_keyfacts.py):

- **Evidence found** in a text: the evidence string occurs in it as whole words, ignoring case and runs of
  whitespace ("2019" is found in "pada tahun 2019." but not in "20190").
- **Fact recalled** by a summary: every evidence item of the fact (a string, or a list of alternatives of
  which one suffices) is found in one of the texts a reader sees. Two readings:
  `recall` counts a bullet's text *and* the sentences it cites (the quote shown with each bullet), and
  `recall_text` counts the bullets' text alone. Different items may be found in different bullets.
- **Cut bullet**: one that begins or ends mid-phrase (`cut_reason`): it ends with an ellipsis or on a word
  that cannot end a phrase (base/words.py DANGLING_WORDS: "yang", "dan", "sehingga", "the", "of", ...);
  or it begins with a lowercase letter, unless it begins where its cited sentence does (at its start, or
  right after its dateline: up to six words and a dash, "Rimanews - "); or, when it is a run of its cited
  sentence's words, the run starts or stops inside a clause: a run must start where the sentence does or
  after a clause mark (, ; : ( -- – — or an opening quote) and stop at the sentence's end or before a
  clause mark (, ; : ) -- – — or a closing quote). A spaced single hyphen is not a clause mark: IndoSum
  spells hyphenated words that way ("me - manage", "2 - 0").
- **Unsupported bullet**: one that is not a run of its cited sentences and either names a number or name
  they lack (bot/core/grounding.unsupported_reason, the answer's own check) or, when a judge is given,
  the judge's P(yes) that the sentence says it is below 0.5. A run of its sentence is supported by
  construction (the words are the sentence's).
- **Untranslated bullet**: one the summariser flagged (Bullet.untranslated) as left in the article's words in
  a summary in another language. Its text carries no mark, so it is judged as any run of its sentence, and
  is unsupported if it is not one; `untranslated` counts these bullets.

`python -m evaluation.keyfacts [--limit N] [--lead3-only] [--show ID ...] [--english ID ...] [--json FILE]`
scores the product's summaries and lead-3 on the set (the real models, so run it under the heavy lock).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from base.words import DANGLING_WORDS

logger = logging.getLogger(__name__)

FORMAT = "kutip-keyfacts v1"
REPO = Path(__file__).resolve().parent.parent
KEYFACTS = REPO / "bench" / "keyfacts" / "keyfacts.jsonl"
SEED = REPO / "bench" / "seed"
INDOSUM = REPO.parent / "shared" / "bench" / "indosum-id"

Evidence = str | tuple[str, ...]  # one string, or alternatives of which one suffices


@dataclass(frozen=True)
class KeyFact:
    fact: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Shown:
    """One bullet as a reader sees it: its text, the sentences it quotes, and whether it was left in the
    article's words in a summary in another language (the text is then those words, with no mark in it)."""

    text: str
    cited: tuple[str, ...]
    untranslated: bool = False

    @classmethod
    def of(cls, bullet) -> Shown:
        """From a core Bullet."""
        return cls(bullet.text, tuple(c.text for c in bullet.citations), bullet.untranslated)


def load_keyfacts(path: Path = KEYFACTS) -> dict[str, tuple[KeyFact, ...]]:
    """Article id -> its key facts. The first line names the format; another format is refused."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    header = json.loads(lines[0]) if lines else {}
    if header.get("format") != FORMAT:
        raise ValueError(f"{path}: format {header.get('format')!r}, expected {FORMAT!r}")
    out = {}
    for line in lines[1:]:
        row = json.loads(line)
        out[row["id"]] = tuple(
            KeyFact(f["fact"], tuple(e if isinstance(e, str) else tuple(e) for e in f["evidence"]))
            for f in row["facts"]
        )
    return out


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def found(evidence: str, text: str) -> bool:
    """`evidence` occurs in `text` as whole words, ignoring case and whitespace runs."""
    return re.search(rf"(?<!\w){re.escape(_norm(evidence))}(?!\w)", _norm(text)) is not None


def recalled(fact: KeyFact, texts: Sequence[str]) -> bool:
    """Every evidence item is found in one of `texts` (alternatives: any one of them)."""
    return all(
        any(found(option, t) for option in ((item,) if isinstance(item, str) else item) for t in texts)
        for item in fact.evidence
    )


def recall(facts: Sequence[KeyFact], shown: Sequence[Shown], with_quotes: bool = True) -> float:
    texts = [b.text for b in shown] + ([c for b in shown for c in b.cited] if with_quotes else [])
    return sum(recalled(f, texts) for f in facts) / len(facts) if facts else 0.0


# --- cut bullets --------------------------------------------------------------------------------------------

_OPENING_MARKS = (",", ";", ":", "(", "--", "–", "—", '"', "“", "‘", "'")
_CLOSING_MARKS = (",", ";", ":", ")", "--", "–", "—", '"', "”", "’", "'")
_DATELINE = re.compile(r"^(?:\S+\s){0,5}?\S+\s[-–—]{1,2}$")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _position(bullet: str, sentence: str) -> int:
    """Where `bullet` (less a final full stop, first letter in either case) starts in `sentence`, or -1."""
    body = _squash(bullet).rstrip(".")
    sentence = _squash(sentence)
    if not body:
        return -1
    for variant in dict.fromkeys((body, body[0].lower() + body[1:], body[0].upper() + body[1:])):
        at = sentence.find(variant)
        if at >= 0:
            return at
    return -1


def _at_start(sentence: str, at: int) -> bool:
    """`at` is where the sentence starts, or where it starts after its dateline."""
    before = sentence[:at].strip()
    return not before or bool(_DATELINE.match(before))


def _starts_clause(sentence: str, at: int) -> bool:
    return _at_start(sentence, at) or sentence[:at].rstrip().endswith(_OPENING_MARKS)


def _ends_clause(sentence: str, end: int) -> bool:
    after = sentence[end:].lstrip()
    return not after.strip(".!?\"”’')… ") or after.startswith(_CLOSING_MARKS)


def cut_reason(bullet: str, cited: Sequence[str] = ()) -> str | None:
    """Why `bullet` begins or ends mid-phrase, or None (the rule is in this module's docstring)."""
    text = _squash(bullet)
    words = _WORD.findall(text)
    if not words:
        return "no words"
    if text.endswith(("…", "...")):
        return "ends with an ellipsis"
    if words[-1].casefold() in DANGLING_WORDS:
        return f"ends on {words[-1]!r}"
    source = next(((s, at) for s in cited if (at := _position(text, s)) >= 0), None)
    if (source is None or not _at_start(_squash(source[0]), source[1])) and next(
        c for c in text if c.isalnum()
    ).islower():
        return "starts lowercase"
    if source is not None:
        sentence, at = _squash(source[0]), source[1]
        if not _starts_clause(sentence, at):
            return "starts inside a clause of its sentence"
        if not _ends_clause(sentence, at + len(text.rstrip("."))):
            return "stops inside a clause of its sentence"
    return None


# --- unsupported bullets ------------------------------------------------------------------------------------

Judge = Callable[[str, str], float]  # (bullet, sentence) -> P(the sentence says it)


def is_run(bullet: str, cited: Sequence[str]) -> bool:
    return any(_position(bullet, s) >= 0 for s in cited)


def unsupported_reason(bullet: str, cited: Sequence[str], judge: Judge | None = None) -> str | None:
    """Why the cited sentences do not back `bullet`, or None (a run of its sentence is backed by construction)."""
    from bot.core.grounding import unsupported_reason as lacks
    from index.article import Sentence

    if is_run(bullet, cited):
        return None
    sentences = [Sentence(0, i + 1, s, 0, len(s)) for i, s in enumerate(cited)]
    reason = lacks(bullet, sentences)
    if reason is None and judge is not None:
        yes = judge(bullet, " ".join(cited))
        if yes < 0.5:
            reason = f"the judge says no (P(yes) {yes:.2f})"
    return reason


# --- one summary, and a set of them -------------------------------------------------------------------------


def score(facts: Sequence[KeyFact], shown: Sequence[Shown], judge: Judge | None = None) -> dict:
    cuts = {b.text: r for b in shown if (r := cut_reason(b.text, b.cited))}
    unsupported = {b.text: r for b in shown if (r := unsupported_reason(b.text, b.cited, judge))}
    # An untranslated bullet stands for its sentence's own words: if it is not a run of them, it says what the
    # article may not, in words the reader takes for the article's.
    for b in shown:
        if b.untranslated and not is_run(b.text, b.cited):
            unsupported[b.text] = "untranslated, but not its sentence's words"
    return {
        "recall": round(recall(facts, shown), 4),
        "recall_text": round(recall(facts, shown, with_quotes=False), 4),
        "bullets": len(shown),
        "cut": len(cuts),
        "unsupported": len(unsupported),
        "untranslated": sum(b.untranslated for b in shown),
        "cut_reasons": cuts,
        "unsupported_reasons": unsupported,
    }


def summarise_rows(rows: list[dict], prefix: str = "") -> dict:
    """Means over articles for recall and ROUGE; totals for bullets, cut, unsupported and untranslated."""
    keys = ("recall", "recall_text", "rouge1", "rouge2", "rougeL", "seconds", "english_seconds")
    keys = [k for k in keys if any(k in r for r in rows)]
    out = {}
    for key in keys:
        values = [r[key] for r in rows if r.get(key) is not None]
        out[f"{prefix}{key}"] = round(statistics.mean(values), 4) if values else None
    for key in ("bullets", "cut", "unsupported", "untranslated"):
        out[f"{prefix}{key}"] = sum(r.get(key, 0) for r in rows)  # a run saved before "untranslated": none
    return out


def lead3(sentences: Sequence[str]) -> list[Shown]:
    """The baseline: the first three sentences, each shown whole and citing itself."""
    return [Shown(s, (s,)) for s in sentences[:3]]


def _docs(limit: int | None, indosum: Path = INDOSUM) -> list:
    from evaluation.dataset import load_docs

    docs = {d.id: d for d in load_docs(SEED, "dev")}
    references = {}
    if not (indosum / "docs.jsonl").is_file():
        logger.warning("no %s: the seed article only", indosum / "docs.jsonl")
        return [(docs["seed"], load_keyfacts()["seed"], None)]
    docs |= {d.id: d for d in load_docs(indosum, "dev")}
    for line in (indosum / "docs.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            references[row["id"]] = row.get("reference_summary")
    facts = load_keyfacts()
    ids = list(facts)[:limit] if limit else list(facts)
    return [(docs[i], facts[i], references.get(i)) for i in ids]


def _saved(bullet) -> dict:
    return {"text": bullet.text, "ids": [c.id for c in bullet.citations], "untranslated": bullet.untranslated}


def as_shown(summary) -> str:
    """The summary as a Telegram reader sees it (the messages' plain text)."""
    from bot.adapters.telegram import render

    return "\n\n".join(render.plain(m) for m in render.to_messages(render.summary_blocks(summary)))


def evaluate(
    limit: int | None = None,
    with_model: bool = True,
    judge_bullets: bool = True,
    indosum: Path = INDOSUM,
    show: Sequence[str] = (),
    english: Sequence[str] = (),
) -> dict:
    """Scores lead-3 and (with the models) the product's summary of every article in the set; the articles in
    `show` are also rendered as Telegram shows them, and those in `english` summarised in English too (timed)."""
    from bot.wiring.factory import assemble_core, core_config, load_embedder, load_generator
    from bot.wiring.settings import Settings
    from evaluation.dataset import article_of
    from evaluation.summaries import rouge
    from index.build import build_index

    settings = Settings()
    embedder = load_embedder(settings) if with_model else None
    generator = load_generator(settings) if with_model else None
    base_rows, rows, en_rows, shown_text = [], [], [], {}
    for doc, facts, reference in _docs(limit, indosum):
        article = article_of(doc)
        texts = [s.text for s in article.sentences]
        base = {"id": doc.id, **score(facts, lead3(texts))}
        if reference:
            base.update(rouge(" ".join(texts[:3]), reference))
        base_rows.append(base)
        if generator is None or embedder is None:
            continue
        core = assemble_core(build_index(article, embedder), embedder, generator, core_config(settings))
        if doc.id in english:  # a summary in the article's language makes no model call: no prefix to warm
            core.warm()
        started = time.perf_counter()
        summary = core.summary(article.language)
        seconds = time.perf_counter() - started
        shown = [Shown.of(b) for b in summary.bullets]

        def judge(bullet: str, sentence: str, core=core, article=article) -> float:
            from index.article import Sentence

            return core.summariser.verdict(bullet, Sentence(0, 1, sentence, 0, len(sentence)))

        row = {"id": doc.id, "seconds": round(seconds, 2), **score(facts, shown, judge if judge_bullets else None)}
        row["shown"] = [_saved(b) for b in summary.bullets]
        if reference:
            row.update(rouge(" ".join(b.text for b in shown), reference))
        if doc.id in show:
            shown_text[doc.id] = as_shown(summary)
        if doc.id in english:
            started = time.perf_counter()
            translated = core.summary("en")
            row["english_seconds"] = round(time.perf_counter() - started, 2)
            shown_text[f"{doc.id} (en)"] = as_shown(translated)
            en_shown = [Shown.of(b) for b in translated.bullets]
            en = score(facts, en_shown, judge if judge_bullets else None)
            en_rows.append({"id": doc.id, "seconds": row["english_seconds"], **en})
            row["en_shown"] = [_saved(b) for b in translated.bullets]
        rows.append(row)
        logger.info("%s: recall %.2f, cut %d, %.1f s", doc.id, row["recall"], row["cut"], seconds)
    metrics = summarise_rows(base_rows, "lead3_")
    if rows:
        metrics.update(summarise_rows(rows))
    if en_rows:
        # English bullets: recall counts their Indonesian quotes (the evidence words are the article's), and
        # "unsupported" their names, numbers and the judge's P(yes); a turned verb needs reading by hand.
        metrics.update(summarise_rows(en_rows, "en_"))
    return {"metrics": metrics, "lead3": base_rows, "rows": rows, "english": en_rows, "shown": shown_text}


def rescore(result: dict, indosum: Path = INDOSUM) -> dict:
    """A saved run scored again with this scorer, from its bullets and cited ids (no model: a bullet the judge
    doubted stays doubted; other reasons are computed afresh)."""
    from evaluation.dataset import article_of

    articles = {doc.id: (article_of(doc), facts) for doc, facts, _ in _docs(None, indosum)}
    rows = []
    for old in result["rows"]:
        article, facts = articles[old["id"]]
        shown = [
            Shown(b["text"], tuple(article.sentence(i).text for i in b["ids"]), b.get("untranslated", False))
            for b in old["shown"]
        ]
        row = {**old, **score(facts, shown)}
        doubted = {t: r for t, r in old["unsupported_reasons"].items() if "judge" in r}
        row["unsupported_reasons"] = {**row["unsupported_reasons"], **doubted}
        row["unsupported"] = len(row["unsupported_reasons"])
        rows.append(row)
    base = [
        {**b, **score(articles[b["id"]][1], lead3([s.text for s in articles[b["id"]][0].sentences]))}
        for b in result["lead3"]
    ]
    metrics = summarise_rows(base, "lead3_")
    if rows:
        metrics.update(summarise_rows(rows))
    return {**result, "metrics": metrics, "lead3": base, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.keyfacts", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--lead3-only", action="store_true", help="score lead-3 only; no LLM")
    parser.add_argument("--no-judge", action="store_true", help="skip the model's yes/no check of each bullet")
    parser.add_argument("--indosum", type=Path, default=INDOSUM, help="the indosum-id folder (docs.jsonl)")
    parser.add_argument("--show", nargs="*", default=[], help="article ids whose summaries to print as shown")
    parser.add_argument("--english", nargs="*", default=[], help="article ids to summarise in English too")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--rescore", type=Path, help="score a saved --json run again with this scorer; no model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.rescore:
        result = rescore(json.loads(args.rescore.read_text(encoding="utf-8")), args.indosum)
        print(", ".join(f"{k}={v}" for k, v in result["metrics"].items()))
        return 0
    result = evaluate(args.limit, not args.lead3_only, not args.no_judge, args.indosum, args.show, args.english)
    print(", ".join(f"{k}={v}" for k, v in result["metrics"].items()))
    for name, text in result["shown"].items():
        print(f"\n--- {name} ---\n{text}")
    for name, rows in (("", result["rows"]), (" (en)", result.get("english", []))):
        for row in rows:
            for reason in (*row["cut_reasons"].items(), *row["unsupported_reasons"].items()):
                print(f"  {row['id']}{name}: {reason[1]}: {reason[0]}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
