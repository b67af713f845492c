"""One long article from a split's articles, so every question's gold sentence is among hundreds.

An article too long to inline in the model's context takes another path through the core (candidate
sentences go with each question, bot/core/prompts.py). The benchmarks' articles are short, so
`kutip-eval --long-article` concatenates the split's articles and asks every selected question
against the result, scored as before:

- The articles are joined with a blank line (a paragraph break) and parsed again with the product's
  own ingestion, as a user's long article would be. A question's sentence `p.s` in its own article is
  `p+P.s` in the long one, P being the paragraphs before it; the concatenation is checked to keep
  every sentence, so ids map exactly (`gold_sentence` is remapped).
- Scores are the usual ones (a gold string in a retrieved or cited sentence, wherever it stands). A
  question also keeps its own passage (`Question.passage`, a paragraph range), and R@k and citation
  precision are reported again counting that passage only: a gold string may stand in another
  article by chance (a year) or because two articles report the same fact (facqa-id's do).
- In xquad-en and facqa-id an unanswerable question is another article's answerable question. That
  article is left out of the long one, or the question would have an answer there; when the question's
  own article would have to go, the question is dropped instead (and named).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from base.errors import ArticleError
from evaluation.dataset import Doc, Group, Question, article_of, load_bench, load_docs
from index.article import Article, sentence_id
from index.ingest import parse_article

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LongArticle:
    group: Group  # the one long doc and every question kept, ids remapped
    docs: tuple[str, ...]  # the articles it is made of, in order
    left_out: tuple[str, ...]  # articles of the split left out: they answer a selected unanswerable question
    dropped: tuple[str, ...]  # questions not asked: unanswerable, yet answered by an article of the selection
    sentences: int
    paragraphs: int

    def describe(self) -> dict:
        return {
            "docs": list(self.docs),
            "left_out": list(self.left_out),
            "dropped_questions": list(self.dropped),
            "sentences": self.sentences,
            "paragraphs": self.paragraphs,
        }


def answered_in(groups: Iterable[Group]) -> dict[str, set[str]]:
    """Question text -> the docs where that question is answerable."""
    out: dict[str, set[str]] = {}
    for group in groups:
        for q in group.questions:
            if q.answerable:
                out.setdefault(_fold(q.question), set()).add(q.doc)
    return out


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def _remap(question: Question, doc_id: str, offset: int, paragraphs: int) -> Question:
    extra = dict(question.extra)
    if "gold_sentence" in extra:
        paragraph, _, number = str(extra["gold_sentence"]).partition(".")
        extra["gold_sentence"] = sentence_id(int(paragraph) + offset, int(number))
    extra["source_doc"] = question.doc
    return replace(question, doc=doc_id, extra=extra, passage=(offset + 1, offset + paragraphs))


def _check_kept(long: Article, parts: list[tuple[str, int, Article]]) -> None:
    """Every sentence of every part is in the long article, same text, at its shifted id."""
    for doc_id, offset, short in parts:
        for s in short.sentences:
            moved = long.sentence(sentence_id(s.paragraph + offset, s.sentence))
            if moved is None or moved.text != s.text:
                raise ArticleError(f"concatenating moved sentence {s.id} of {doc_id}: ids cannot be remapped")
    expected = sum(len(short.sentences) for _, _, short in parts)
    if len(long.sentences) != expected:
        raise ArticleError(f"the long article has {len(long.sentences)} sentences, its parts {expected}")


def concatenate(
    selected: list[Group], split_docs: list[Doc], answers: dict[str, set[str]], name: str = "long"
) -> LongArticle:
    """The long article made of `split_docs` (in order), with `selected`'s questions remapped onto it.

    `answers` maps a question's text to the docs that answer it (see `answered_in`).
    """
    asked_docs = {g.doc.id for g in selected}
    missing = asked_docs - {d.id for d in split_docs}
    if missing:
        raise ArticleError(f"selected questions name docs outside the split: {sorted(missing)}")
    left_out: set[str] = set()
    dropped: list[str] = []
    for group in selected:
        for q in group.questions:
            if q.answerable:
                continue
            answering = answers.get(_fold(q.question), set()) - {q.doc}
            if answering & asked_docs:
                dropped.append(q.id)  # its answer would sit next to the questions asked
            else:
                left_out |= answering
    parts: list[tuple[str, int, Article]] = []
    offset = 0
    for doc in split_docs:
        if doc.id in left_out:
            continue
        short = article_of(doc)
        parts.append((doc.id, offset, short))
        offset += short.paragraph_count
    if not parts:
        raise ArticleError("no article left to concatenate")
    text = "\n\n".join(short.text for _, _, short in parts)
    long = parse_article(text, title=f"{name}: {len(parts)} articles", origin=name)
    _check_kept(long, parts)
    place = {doc_id: (off, short.paragraph_count) for doc_id, off, short in parts}
    questions = tuple(
        _remap(q, name, *place[q.doc]) for group in selected for q in group.questions if q.id not in dropped
    )
    lang = selected[0].doc.lang if selected else ""
    doc = Doc(id=name, title=long.title, lang=lang, text=text)
    if dropped:
        logger.warning("dropped %d unanswerable questions answered by a selected article: %s", len(dropped), dropped)
    return LongArticle(
        group=Group(doc, questions),
        docs=tuple(doc_id for doc_id, _, _ in parts),
        left_out=tuple(d.id for d in split_docs if d.id in left_out),
        dropped=tuple(dropped),
        sentences=len(long.sentences),
        paragraphs=long.paragraph_count,
    )


def load_long_bench(folder: Path, split: str, limit: int | None = None) -> LongArticle:
    """The split's articles as one, with the first `limit` questions (load_bench's order) asked of it."""
    selected = load_bench(folder, split, limit)
    every = load_bench(folder, split)
    return concatenate(selected, load_docs(folder, split), answered_in(every), name=f"{folder.name}-{split}-long")
