"""Summaries: sentences chosen in code (central and diverse), restated by the model, each bullet citing its sentence."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from bot.core.grammar import summary_grammar
from bot.core.grounding import GroundingThresholds, unsupported_reason
from bot.core.ports import Generator, Prompt
from bot.core.prompts import LANGUAGE_NAMES, ArticlePrompt, render
from bot.core.results import Bullet, Citation, Summary
from index.article import Article, Sentence
from index.store import article_sha256

logger = logging.getLogger(__name__)

# Bump when the cached JSON changes shape or meaning; older files are regenerated, not misread.
CACHE_FORMAT = "kutip-summary v2"

_DIVERSITY = 0.3  # MMR trade-off: how strongly a new bullet must differ from those already chosen


def bullet_count(sentence_count: int) -> int:
    return 3 if sentence_count <= 8 else 4 if sentence_count <= 20 else 5


def choose_sentences(vectors: np.ndarray, count: int) -> list[int]:
    """Maximal marginal relevance around the article's centroid, then back in article order.

    The opening sentence always goes first: news leads carry the story.
    """
    n = len(vectors)
    if n == 0:
        return []
    centroid = vectors.mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
    relevance = vectors @ centroid
    chosen = [0]
    while len(chosen) < min(count, n):
        similarity = (vectors @ vectors[chosen].T).max(axis=1)
        score = (1 - _DIVERSITY) * relevance - _DIVERSITY * similarity
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return sorted(chosen)


class Summariser:
    """Builds and caches summaries per article and language (in memory, and on disk when given a directory)."""

    def __init__(
        self,
        article: Article,
        vectors: np.ndarray,
        generator: Generator,
        prompt: ArticlePrompt,
        thresholds: GroundingThresholds | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.article = article
        self.vectors = vectors  # one L2-normalised row per sentence, in article order
        self.generator = generator
        self.prompt = prompt
        self.thresholds = thresholds or GroundingThresholds()
        self.cache_dir = cache_dir
        self._memory: dict[str, Summary] = {}

    def _cache_path(self, language: str) -> Path | None:
        if self.cache_dir is None:
            return None
        model = re.sub(r"[^\w.-]+", "_", self.generator.name)
        return self.cache_dir / f"{article_sha256(self.article)[:16]}-{language}-{model}.json"

    def _from_disk(self, language: str) -> Summary | None:
        path = self._cache_path(language)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != CACHE_FORMAT:
                logger.info(
                    "regenerating summary %s: format %r, expected %r", path.name, data.get("format"), CACHE_FORMAT
                )
                return None
            bullets = []
            for b in data["bullets"]:
                cited = [self.article.sentence(c["id"]) for c in b["citations"]]
                if not cited or any(s is None for s in cited):
                    return None  # quotes are re-rendered from the article, never trusted from the cache
                bullets.append(Bullet(text=b["text"], citations=tuple(Citation.of(s) for s in cited)))
            return Summary(language=language, bullets=tuple(bullets), model=data["model"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring unreadable summary cache %s: %s", path, exc)
            return None

    def summary(self, language: str) -> Summary:
        cached = self._memory.get(language) or self._from_disk(language)
        if cached is None:
            cached = self._generate(language)
            path = self._cache_path(language)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(
                    json.dumps({"format": CACHE_FORMAT, **cached.to_dict()}, ensure_ascii=False), encoding="utf-8"
                )
        self._memory[language] = cached
        return cached

    def _generate(self, language: str) -> Summary:
        article = self.article
        vectors = self.vectors
        chosen: list[Sentence] = [article.sentences[i] for i in choose_sentences(vectors, bullet_count(len(vectors)))]
        user = render(
            "summary",
            count=len(chosen),
            language=LANGUAGE_NAMES[language],
            ids=", ".join(s.id for s in chosen),
            sentences=self.prompt.candidates(chosen),
        )
        reply = self.generator.complete(
            Prompt(system=self.prompt.system, user=user),
            summary_grammar([s.id for s in chosen]),
            max_tokens=70 * len(chosen),
        )
        try:
            texts = {str(b["id"]): str(b["text"]).strip() for b in json.loads(reply.text)}
        except (ValueError, TypeError, KeyError):
            logger.warning("unparseable summary reply %r", reply.text)
            texts = {}
        same_language = language == article.language
        bullets = []
        for sentence in chosen:
            text = texts.get(sentence.id, "")
            overlap = self.thresholds.min_summary_overlap if same_language else 0.0
            reason = unsupported_reason(text, [sentence], "", overlap)
            if reason:
                # An unsupported restatement is replaced by the sentence itself: still true, still cited.
                logger.info("summary bullet %s falls back to its sentence: %s", sentence.id, reason)
                text = sentence.text
            bullets.append(Bullet(text=text, citations=(Citation.of(sentence),)))
        return Summary(language=language, bullets=tuple(bullets), model=self.generator.name)
