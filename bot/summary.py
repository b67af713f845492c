"""Summaries: sentences chosen in code (central and diverse), restated by the model, each bullet citing its sentence."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.generator import Prompt
from bot.grammar import summary_grammar
from bot.grounding import unsupported_reason
from bot.prompts import LANGUAGE_NAMES, render
from bot.results import Bullet, Citation, Summary
from index.article import Sentence
from index.store import article_sha256

if TYPE_CHECKING:
    from bot.core import Kutip

logger = logging.getLogger(__name__)

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

    def __init__(self, core: "Kutip", cache_dir: Path | None = None) -> None:
        self.core = core
        self.cache_dir = cache_dir
        self._memory: dict[str, Summary] = {}

    def _cache_path(self, language: str) -> Path | None:
        if self.cache_dir is None:
            return None
        model = re.sub(r"[^\w.-]+", "_", self.core.model_name)
        return self.cache_dir / f"{article_sha256(self.core.article)[:16]}-{language}-{model}.json"

    def _from_disk(self, language: str) -> Summary | None:
        path = self._cache_path(language)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            bullets = []
            for b in data["bullets"]:
                cited = [self.core.article.sentence(c["id"]) for c in b["citations"]]
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
                path.write_text(json.dumps(cached.to_dict(), ensure_ascii=False), encoding="utf-8")
        self._memory[language] = cached
        return cached

    def _generate(self, language: str) -> Summary:
        article = self.core.article
        index = self.core.stored.sentence_index
        vectors = index.reconstruct_n(0, index.ntotal)
        chosen: list[Sentence] = [article.sentences[i] for i in choose_sentences(vectors, bullet_count(len(vectors)))]
        user = render("summary", count=len(chosen), language=LANGUAGE_NAMES[language],
                      ids=", ".join(s.id for s in chosen), sentences=self.core.describe_candidates(chosen))
        reply = self.core.generator.complete(Prompt(system=self.core.system_prompt, user=user),
                                             summary_grammar([s.id for s in chosen]),
                                             max_tokens=70 * len(chosen))
        try:
            texts = {str(b["id"]): str(b["text"]).strip() for b in json.loads(reply)}
        except (ValueError, TypeError, KeyError):
            logger.warning("unparseable summary reply %r", reply)
            texts = {}
        same_language = language == article.language
        bullets = []
        for sentence in chosen:
            text = texts.get(sentence.id, "")
            reason = unsupported_reason(text, [sentence], "", same_language, self.core.config.grounding)
            if reason:
                # An unsupported restatement is replaced by the sentence itself: still true, still cited.
                logger.info("summary bullet %s falls back to its sentence: %s", sentence.id, reason)
                text = sentence.text
            bullets.append(Bullet(text=text, citations=(Citation.of(sentence),)))
        return Summary(language=language, bullets=tuple(bullets), model=self.core.model_name)
