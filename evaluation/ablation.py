"""Retrieval ablation: R@1/3/5 of each ranking variant, every article indexed once and shared by all variants."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

from tqdm import tqdm

from evaluation.dataset import Group, article_of
from evaluation.embedcache import CachingEmbedder
from evaluation.metrics import contains_gold, gold_rank, recall_metrics
from index.article import Sentence
from index.build import build_index
from index.embedder import Embedder
from index.retrieve import HybridRetriever, RetrievalConfig
from index.store import StoredIndex

logger = logging.getLogger(__name__)

RRF_K = 60  # the constant from Cormack et al. (2009), as in the shared benchmark's baseline
DEPTH = 5

# A ranker returns the top sentences for a question.
Ranker = Callable[[str, int], list[Sentence]]
RankerFactory = Callable[[StoredIndex, Embedder], Ranker]

DENSE = RetrievalConfig(dense=1.0, lexical=0.0, paragraph=0.0, neighbours=0.0)
LEXICAL = RetrievalConfig(dense=0.0, lexical=1.0, paragraph=0.0, neighbours=0.0)
FUSED = RetrievalConfig(dense=1.0, lexical=1.0, paragraph=0.0, neighbours=0.0)


def config_ranker(config: RetrievalConfig) -> RankerFactory:
    def factory(stored: StoredIndex, embedder: Embedder) -> Ranker:
        retriever = HybridRetriever(stored, embedder, config)
        return lambda query, k: [h.sentence for h in retriever.search(query, k)]

    return factory


def rrf_ranker(stored: StoredIndex, embedder: Embedder) -> Ranker:
    """Reciprocal-rank fusion of the dense and the BM25 rankings: the benchmark's naive hybrid baseline."""
    dense = HybridRetriever(stored, embedder, DENSE)
    lexical = HybridRetriever(stored, embedder, LEXICAL)
    n = len(stored.article.sentences)

    def rank(query: str, k: int) -> list[Sentence]:
        fused: dict[str, float] = {}
        by_id: dict[str, Sentence] = {}
        for rank_, hit in enumerate(dense.search(query, n), start=1):
            fused[hit.sentence.id] = 1 / (RRF_K + rank_)
            by_id[hit.sentence.id] = hit.sentence
        for rank_, hit in enumerate(lexical.search(query, n), start=1):
            # A sentence sharing no query word was not retrieved by BM25 at all; its tie-broken
            # position in the tail must not add a vote.
            if hit.score > 0:
                fused[hit.sentence.id] += 1 / (RRF_K + rank_)
        order = sorted(fused, key=lambda i: -fused[i])  # stable: ties keep dense order
        return [by_id[i] for i in order[:k]]

    return rank


def default_variants(configured: RetrievalConfig) -> dict[str, RankerFactory]:
    return {
        "dense only": config_ranker(DENSE),
        "lexical (BM25) only": config_ranker(LEXICAL),
        "RRF dense+BM25": rrf_ranker,
        "fused": config_ranker(FUSED),
        "fused+paragraph": config_ranker(replace(FUSED, paragraph=0.5)),
        "fused+paragraph+neighbours": config_ranker(replace(FUSED, paragraph=0.5, neighbours=0.25)),
        f"configured ({describe(configured)})": config_ranker(configured),
    }


def describe(config: RetrievalConfig) -> str:
    return ",".join(f"{name}={getattr(config, name):g}" for name in ("dense", "lexical", "paragraph", "neighbours"))


@dataclass(frozen=True)
class AblationRow:
    name: str
    recall: dict[str, float | None]
    questions: int


def ablate(
    groups: list[Group], embedder: Embedder, variants: dict[str, RankerFactory], progress: bool = True
) -> list[AblationRow]:
    embedder = CachingEmbedder(embedder)
    records: dict[str, list[dict]] = {name: [] for name in variants}
    total = sum(len(g.questions) for g in groups)
    with tqdm(total=total, desc="ablation", unit="q", file=sys.stderr, disable=not progress) as bar:
        for group in groups:
            article = article_of(group.doc)
            stored = build_index(article, embedder)
            rankers = {name: factory(stored, embedder) for name, factory in variants.items()}
            for question in group.questions:
                findable = question.answerable and any(
                    contains_gold(s.text, question.answers) for s in article.sentences
                )
                for name, ranker in rankers.items():
                    texts = [s.text for s in ranker(question.question, DEPTH)] if findable else []
                    records[name].append(
                        {
                            "answerable": question.answerable,
                            "gold_in_article": findable,
                            "gold_rank": gold_rank(texts, question.answers) if findable else None,
                        }
                    )
                bar.update()
    return [
        AblationRow(name, recall_metrics(rows), sum(r["gold_in_article"] for r in rows))
        for name, rows in records.items()
    ]
