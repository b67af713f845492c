"""Runs benchmark questions through the product's own code: ingestion, index build, answer core."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

from tqdm import tqdm

from base.errors import KutipError
from base.language import detect_language
from bot.core.answer import CoreConfig, Kutip
from bot.core.grounding import GroundingThresholds
from bot.core.ports import Generator, Retriever
from bot.core.support_model import SupportModel
from bot.core.turn import Turn
from bot.wiring.factory import assemble_core
from evaluation.dataset import Group, Question, article_of, in_passage
from evaluation.embedcache import CachingEmbedder
from evaluation.metrics import contains_gold, gold_rank, summarise
from evaluation.recording import RecordingGenerator, RecordingRetriever, call_record
from index.article import Article
from index.build import build_index
from index.embedder import Embedder
from index.retrieve import Hit, HybridRetriever, RetrievalConfig

logger = logging.getLogger(__name__)


# A benchmark field renamed in the record where the record has a field of that name already.
_EXTRA_NAMES = {"kind": "question_kind"}


@dataclass
class EvalRun:
    metrics: dict
    records: list[dict]
    # The hidden state of each verified proposal (bot/core/ports.Choice), for a probe to learn from; a record's
    # "state_row" is its row here.
    states: list[tuple[float, ...]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"metrics": self.metrics, "records": self.records}


def rank_depth(config: CoreConfig) -> int:
    return max(5, config.candidates)


def _retrieval_fields(question: Question, article: Article, hits: list[Hit]) -> dict:
    fields = {
        "gold": list(question.answers),
        "answerable": question.answerable,
        # R@k counts only questions whose gold string some sentence holds: a span across a
        # sentence boundary can never be retrieved as one sentence.
        "gold_in_article": question.answerable
        and any(contains_gold(s.text, question.answers) for s in article.sentences),
        "gold_rank": gold_rank([h.sentence.text for h in hits], question.answers) if question.answerable else None,
        "retrieved": [h.sentence.id for h in hits],
        # Their texts, so evaluation.tune can re-decide which sentences a "closest" reply would show.
        "retrieved_texts": [h.sentence.text for h in hits],
    }
    if question.passage is not None:
        # A long article made of many: the same scores again, counting the question's own article only
        # (a gold string may stand in another one, by chance or because two articles report the same fact).
        fields["gold_paragraphs"] = list(question.passage)
        fields["gold_in_passage"] = question.answerable and any(
            contains_gold(s.text, question.answers) for s in article.sentences if in_passage(question, s)
        )
        own = [h.sentence.text if in_passage(question, h.sentence) else "" for h in hits]
        fields["gold_rank_in_passage"] = gold_rank(own, question.answers) if question.answerable else None
    return fields


def _answer_fields(core: Kutip, question: Question, states: list[tuple[float, ...]]) -> dict:
    """The reply's record; the verified proposal's hidden state, if any, goes to `states`."""
    try:
        # A follow-up question (bench/followups) carries the earlier turn it refers to.
        earlier = question.extra.get("history")
        answer = core.ask(question.question, history=Turn(**earlier) if earlier else None)
        fields = answer.to_dict()
        if answer.support is not None:
            # The judged sentence's text, so evaluation.tune can score a citation the policy refused.
            fields["support"]["sentence_text"] = core.article.sentence(answer.support.sentence_id).text
            if answer.support.state:
                fields["state_row"] = len(states)
                states.append(answer.support.state)
        return fields
    except KutipError as error:
        # The user would get an error message, not an answer: score it as a refusal, keep the reason.
        logger.warning("question %s failed: %s", question.id, error)
        return {
            "question": question.question,
            "answer": "",
            "kind": "error",
            "refused": True,
            "citations": [],
            "error": str(error),
            "model": core.model_name,
            "timings_ms": {},
        }


def _ranking(
    question: Question, article: Article, recorder: RecordingRetriever | None, retriever: Retriever, depth: int
) -> list[Hit]:
    """The core's own first search when it made one (it may have searched a translation), else ours.

    The core searches every sentence of the article, so its ranking is always deep enough. Ours tells
    the retriever the question's language as the core would.
    """
    if recorder is not None and recorder.searches:
        return recorder.searches[0][1][:depth]
    language = detect_language(question.question, default=article.language)
    return retriever.search(question.question, depth, same_language=language == article.language)


def evaluate(
    groups: list[Group],
    embedder: Embedder,
    generator: Generator | None,
    config: CoreConfig,
    threads: int | None = None,
    progress: bool = True,
    retrieval: RetrievalConfig | None = None,
    thresholds: GroundingThresholds | None = None,
    model: SupportModel | None = None,
) -> EvalRun:
    """Index each article in memory and ask its questions; without a generator, score retrieval only."""
    embedder = CachingEmbedder(embedder)
    depth = rank_depth(config)
    # Keep the model's raw replies: a refusal hides what the model said and why it was not trusted.
    generator = RecordingGenerator(generator) if generator is not None else None
    records: list[dict] = []
    states: list[tuple[float, ...]] = []
    total = sum(len(g.questions) for g in groups)
    with tqdm(total=total, desc="eval", unit="q", file=sys.stderr, disable=not progress) as bar:
        for group in groups:
            article = article_of(group.doc)
            stored = build_index(article, embedder)
            retriever = HybridRetriever(stored, embedder, retrieval)
            core = recorder = None
            if generator is not None:
                recorder = RecordingRetriever(retriever)
                core = assemble_core(
                    stored, embedder, generator, config, retriever=recorder, thresholds=thresholds, model=model
                )
                # Questions are grouped by article so the article's KV prefix is evaluated once, here.
                core.warm()
            for question in group.questions:
                record: dict = {"id": question.id, "doc": question.doc}
                if core is not None:
                    recorder.clear()
                    generator.calls.clear()
                    generator.choices.clear()
                    record.update(_answer_fields(core, question, states))
                    record["llm_replies"] = [call_record(c) for c in generator.calls]
                    record["llm_choices"] = list(generator.choices)
                    if recorder.searches and recorder.searches[0][0] != " ".join(question.question.split()):
                        record["query"] = recorder.searches[0][0]  # what the core searched for instead
                else:
                    record["question"] = question.question
                ranking = _ranking(question, article, recorder, retriever, depth)
                record.update(_retrieval_fields(question, article, ranking))
                # The question's own kind (fact, injection...) must not hide the reply's.
                record.update({_EXTRA_NAMES.get(k, k): v for k, v in question.extra.items()})
                records.append(record)
                bar.update()
    metrics = summarise(
        records,
        with_answers=generator is not None,
        embedding_model=embedder.name,
        llm_model=generator.name if generator is not None else None,
        threads=threads,
    )
    return EvalRun(metrics=metrics, records=records, states=states)
