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
CACHE_FORMAT = "kutip-summary v3"

_DIVERSITY = 0.3  # MMR trade-off: how strongly a new bullet must differ from those already chosen
# News puts its key facts early: a sentence's relevance gains LEAD_BONUS / (1 + its position).
# Chosen with ROUGE on indosum-id dev (`python -m evaluation.summaries --extractive`).
LEAD_BONUS = 1.0
MAX_BULLET_CHARS = 200
MIN_BULLETS = 3
_CLAUSE_END = re.compile(r"[,;:]\s|\s[-–—]\s")


def bullet_count(sentence_count: int) -> int:
    return 3 if sentence_count <= 8 else 4 if sentence_count <= 20 else 5


def choose_sentences(vectors: np.ndarray, count: int, lead_bonus: float = LEAD_BONUS) -> list[int]:
    """Maximal marginal relevance around the article's centroid, favouring the lead, in article order.

    The opening sentence always goes first: news leads carry the story.
    """
    n = len(vectors)
    if n == 0:
        return []
    centroid = vectors.mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
    relevance = vectors @ centroid + lead_bonus / (1 + np.arange(n))
    chosen = [0]
    while len(chosen) < min(count, n):
        similarity = (vectors @ vectors[chosen].T).max(axis=1)
        score = (1 - _DIVERSITY) * relevance - _DIVERSITY * similarity
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return sorted(chosen)


_BULLET = re.compile(r'\{"id": "(?P<id>[^"]+)", "text": "(?P<text>[^"]*)"\}')


def parse_bullets(reply: str) -> dict[str, str]:
    """Sentence id -> bullet text, for every bullet the reply completed; a reply cut off by the token
    limit keeps its finished bullets (the grammar makes each one well-formed JSON)."""
    bullets = {m["id"]: m["text"].strip() for m in _BULLET.finditer(reply)}
    if not bullets and reply.strip():
        logger.warning("unparseable summary reply %r", reply)
    return bullets


def fit_bullet(text: str, limit: int = MAX_BULLET_CHARS) -> str:
    """`text` within `limit` characters, cut only between words."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def extract_bullet(sentence: Sentence, limit: int = MAX_BULLET_CHARS) -> str | None:
    """A bullet copied from the sentence's opening clauses: true by construction, never the whole sentence.

    None when the sentence has no clause to stop at (a short sentence is then better left out).
    """
    ends = [m.start() for m in _CLAUSE_END.finditer(sentence.text) if m.start() <= limit]
    for end in reversed(ends):
        clause = sentence.text[:end].strip()
        if len(clause.split()) >= 5:
            return clause
    return None


def _fold(text: str) -> str:
    return " ".join(text.lower().strip(" .!?").split())


def is_copy(bullet: str, sentence: Sentence) -> bool:
    return _fold(bullet) == _fold(sentence.text)


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
        count = bullet_count(len(self.vectors))
        # One spare sentence, so a bullet that fails its checks can be left out and `count` remain.
        chosen = [article.sentences[i] for i in choose_sentences(self.vectors, count + 1)]
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
            max_tokens=80 * len(chosen),
        )
        texts = parse_bullets(reply.text)
        checked = {s.id: self._checked(texts.get(s.id, ""), s, language) for s in chosen}
        if sum(1 for text in checked.values() if text) < MIN_BULLETS and language == article.language:
            # Too few restatements held: fill with the opening clauses of the sentences that failed.
            for sentence in chosen:
                if not checked[sentence.id] and sum(1 for t in checked.values() if t) < MIN_BULLETS:
                    checked[sentence.id] = extract_bullet(sentence)
        bullets = [Bullet(text=checked[s.id], citations=(Citation.of(s),)) for s in chosen if checked[s.id]]
        # The spare goes: the latest bullet, so the lede stays first.
        return Summary(language=language, bullets=tuple(bullets[:count]), model=self.generator.name)

    def verdict(self, bullet: str, sentence: Sentence) -> float:
        """P("yes"): the model, asked plainly, finds that `sentence` says what `bullet` says."""
        user = render("check_bullet", sentence=sentence.text, bullet=bullet)
        return self.generator.choice_probabilities(Prompt(system=self.prompt.system, user=user), ("yes", "no"))["yes"]

    def _checked(self, text: str, sentence: Sentence, language: str) -> str | None:
        """The model's bullet if its sentence backs it, else nothing."""
        text = fit_bullet(text)
        same_language = language == self.article.language
        reason = unsupported_reason(text, [sentence], "", self.thresholds.min_summary_overlap if same_language else 0.0)
        if reason is None and is_copy(text, sentence):
            reason = "a copy of the whole sentence"
        if reason is None:
            yes = self.verdict(text, sentence)
            if yes < self.thresholds.min_bullet_verified:
                reason = f"the model doubts it (P(yes) {yes:.2f})"
        if reason is None:
            return text
        logger.debug("summary bullet %s left out: %s", sentence.id, reason)
        return None
