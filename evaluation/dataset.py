"""Reads a benchmark folder (docs.jsonl + qa.jsonl) into articles with their questions, in a fixed order."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from base.errors import ArticleError
from index.article import Article, Sentence
from index.ingest import load_article, parse_article

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    id: str
    doc: str
    question: str
    answers: tuple[str, ...]
    answerable: bool
    lang: str = ""
    extra: dict = field(default_factory=dict, compare=False)  # e.g. gold_sentence, kind: copied into records
    # The paragraphs (first, last) of the question's own article when it was concatenated with others
    # (evaluation/longarticle.py), so R@k and citation precision can also count that article only.
    passage: tuple[int, int] | None = None


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    lang: str
    text: str = ""
    path: Path | None = None  # a raw article file, read exactly as the product reads it


@dataclass(frozen=True)
class Group:
    """One article and the questions asked against it."""

    doc: Doc
    questions: tuple[Question, ...]


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise ArticleError(f"benchmark file not found: {path}")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise ArticleError(f"{path}:{number}: not JSON: {exc}") from exc
    return rows


def _doc(row: dict, folder: Path) -> Doc:
    # A doc may point at a raw article file instead of carrying its text: the seed set uses the
    # product's own article file, so cleaning and sentence ids are exactly what users get.
    path = (folder / row["path"]).resolve() if row.get("path") else None
    return Doc(id=row["id"], title=row.get("title", ""), lang=row.get("lang", ""), text=row.get("text", ""), path=path)


_QUESTION_KEYS = {"id", "doc", "question", "answers", "answerable", "lang", "split"}


def load_docs(folder: Path, split: str) -> list[Doc]:
    """The split's articles in file order (a doc without a split belongs to every split)."""
    return [_doc(row, folder) for row in _read_jsonl(folder / "docs.jsonl") if row.get("split", split) == split]


def load_bench(folder: Path, split: str, limit: int | None = None, skip: int = 0) -> list[Group]:
    """The split's questions grouped by article.

    Order: articles in order of their first question, questions in file order within each article.
    `skip` drops the first N questions of that order (a later slice of a large split), `limit` keeps the
    first N of the rest. The shared benchmarks list every unanswerable
    question at the end of the file, so a plain file-order prefix would contain none of them.
    """
    docs = {row["id"]: _doc(row, folder) for row in _read_jsonl(folder / "docs.jsonl")}
    grouped: dict[str, list[Question]] = {}
    for row in _read_jsonl(folder / "qa.jsonl"):
        if row.get("split") != split:
            continue
        if row["doc"] not in docs:
            raise ArticleError(f"question {row['id']} names unknown doc {row['doc']!r}")
        grouped.setdefault(row["doc"], []).append(
            Question(
                id=str(row["id"]),
                doc=row["doc"],
                question=row["question"],
                answers=tuple(row.get("answers", ())),
                answerable=bool(row["answerable"]),
                lang=row.get("lang", ""),
                extra={k: v for k, v in row.items() if k not in _QUESTION_KEYS},
            )
        )
    groups, left, skipping = [], limit, skip
    for doc_id, questions in grouped.items():
        dropped = min(skipping, len(questions))
        questions, skipping = questions[dropped:], skipping - dropped
        if left is not None:
            questions = questions[:left]
            left -= len(questions)
        if questions:
            groups.append(Group(docs[doc_id], tuple(questions)))
        if left == 0:
            break
    logger.info(
        "%s/%s: %d questions over %d articles", folder.name, split, sum(len(g.questions) for g in groups), len(groups)
    )
    return groups


def in_passage(question: Question, sentence: Sentence) -> bool:
    """Whether `sentence` stands in the question's own passage (always, for an article of its own)."""
    return question.passage is None or question.passage[0] <= sentence.paragraph <= question.passage[1]


def article_of(doc: Doc) -> Article:
    """Parse a benchmark doc with the product's ingestion code."""
    if doc.path is not None:
        return load_article(str(doc.path))
    return parse_article(doc.text, title=doc.title, origin=doc.id)
