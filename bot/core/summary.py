"""Summaries: sentences chosen in code (central and diverse), each bullet citing its sentence.

In the article's own language a bullet is a run of its sentence's whole words, copied under a grammar (the
model picks which run states the key fact); in another language the model restates the sentence.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from bot.core.grammar import span_summary_grammar, summary_grammar
from bot.core.grounding import GroundingThresholds, unsupported_reason
from bot.core.ports import Generator, Prompt
from bot.core.prompts import LANGUAGE_NAMES, ArticlePrompt, render
from bot.core.results import Bullet, Citation, Summary
from index.article import Article, Sentence
from index.store import article_sha256

logger = logging.getLogger(__name__)

# Bump when the cached JSON changes shape or meaning; older files are regenerated, not misread.
CACHE_FORMAT = "kutip-summary v4"  # v4: bullets copied from their sentences

_DIVERSITY = 0.3  # MMR trade-off: how strongly a new bullet must differ from those already chosen
# News puts its key facts early: a sentence's relevance gains LEAD_BONUS / (1 + its position).
# Chosen with ROUGE on indosum-id dev (`python -m evaluation.summaries --extractive`).
LEAD_BONUS = 1.0
MAX_BULLET_CHARS = 200
# Decode budget per copied bullet: 200 characters of Indonesian are about 60 tokens, plus the JSON around it.
_COPY_TOKENS = 80
# A dateline opens many news articles ("Jakarta, CNN Indonesia -- ", "Wamena (ANTARA News) - "): a few words
# without digits, then a dash. Only the lede can carry one; a bullet copied from the lede starts after it.
_DATELINE = re.compile(r"^(?:[^\s\d]+\s){0,5}?[^\s\d]+\s[-–—]{1,2}\s")
# What a cut between words can leave at a bullet's edges.
_EDGE = ",;:.-–—/|"
_PAIRS = {"(": ")", "[": "]", "“": "”", "‘": "’", '"': '"', "'": "'"}


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


# The text is a JSON string: a copied bullet may hold escaped quotes (\\") from its sentence.
_BULLET = re.compile(r'\{"id": "(?P<id>[^"\\]+)", "text": "(?P<text>(?:[^"\\]|\\.)*)"\}')


def parse_bullets(reply: str) -> dict[str, str]:
    """Sentence id -> bullet text, for every bullet the reply completed; a reply cut off by the token
    limit keeps its finished bullets (the grammar makes each one well-formed JSON)."""
    bullets = {}
    for m in _BULLET.finditer(reply):
        try:
            bullets[m["id"]] = json.loads(f'"{m["text"]}"').strip()
        except ValueError:
            continue  # a broken escape; the bullet is made another way
    if not bullets and reply.strip():
        logger.warning("unparseable summary reply %r", reply)
    return bullets


def fit_bullet(text: str, limit: int = MAX_BULLET_CHARS) -> str:
    """`text` within `limit` characters, cut only between words."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def span_bound(text: str, limit: int = MAX_BULLET_CHARS, whole: bool = False) -> int:
    """The most words a bullet copied from `text` may have: every run of that many consecutive words fits
    `limit` characters, and, unless `whole` may be copied, one fewer than `text` has (a bullet is never the
    whole sentence).

    0 when no run of words fits (a one-word sentence, or a word longer than `limit`).
    """
    words = text.split()
    widths = [len(w) for w in words]
    for k in range(len(words) if whole else len(words) - 1, 0, -1):
        # Run i..i+k-1 is its words plus k - 1 spaces; test the widest run of k words.
        if max(sum(widths[i : i + k]) for i in range(len(words) - k + 1)) + k - 1 <= limit:
            return k
    return 0


def copy_window(sentence: Sentence, lede: bool) -> tuple[str, int, int]:
    """What a bullet is copied from: the sentence (the lede without its dateline), and how many of its words
    the bullet may have. At most what fits 200 characters and is not the whole sentence; at least half the
    words (rounded up), because a small model otherwise collapses a bullet to a word or a date ("Agus",
    "Kamis."), which says nothing."""
    body = _DATELINE.sub("", sentence.text, count=1) if lede else sentence.text
    most = span_bound(body, whole=body != sentence.text)
    least = min(most, -(-len(body.split()) // 2))
    return body, least, most


def _loose_edge(text: str, at_start: bool) -> bool:
    """The character at that edge is left over from the cut: punctuation, or half of a quote or bracket pair."""
    if at_start:
        c = text[0]
        return c in _EDGE or (c in _PAIRS and _PAIRS[c] not in text[1:])
    c = text[-1]
    if c == ".":
        return False  # the sentence's own full stop: the run reached its end
    openers = [o for o, close in _PAIRS.items() if close == c]
    return c in _EDGE or (bool(openers) and not any(o in text[:-1] for o in openers))


def tidy_bullet(text: str) -> str:
    """A copied run without what the cut left at its edges: commas, dashes, a dateline's "--", and a quote
    mark or bracket whose partner the run left behind."""
    text = " ".join(text.split())
    while text and (_loose_edge(text, True) or _loose_edge(text, False)):
        text = (text[1:] if _loose_edge(text, True) else text[:-1]).strip()
    return text


def is_run_of(bullet: str, sentence: Sentence) -> bool:
    """`bullet` is a stretch of `sentence`'s text (whitespace aside): copied, nothing added."""
    return bool(bullet) and bullet in " ".join(sentence.text.split())


def fallback_bullet(sentence: Sentence, lede: bool = False) -> str | None:
    """A bullet made without the model: the opening words of what a bullet may copy (the lede's after its
    dateline), as many as fit.

    For a bullet the model's reply lacks (cut by the token limit, or unusable). None when the sentence is too
    short to give a bullet that is not the whole sentence.
    """
    body, _, most = copy_window(sentence, lede)
    text = tidy_bullet(" ".join(body.split()[:most]))
    if not text or is_copy(text, sentence) or len(text) > MAX_BULLET_CHARS:
        return None
    return text


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
        count = bullet_count(len(self.vectors))
        if language == self.article.language:
            return self._copied(count, language)
        return self._restated(count, language)

    def _copied(self, count: int, language: str) -> Summary:
        """One bullet per chosen sentence, each a run of that sentence's words (true by construction, so no
        yes/no check); a bullet the reply lacks is made in code from the sentence's opening words."""
        article = self.article
        order = choose_sentences(self.vectors, count)
        windows = {i: copy_window(article.sentences[i], lede=i == 0) for i in order}
        chosen = [article.sentences[i] for i in order if windows[i][2] > 0]
        texts: dict[str, str] = {}
        if chosen:
            user = render(
                "summary_copy",
                count=len(chosen),
                ids=", ".join(s.id for s in chosen),
                sentences=self.prompt.candidates(chosen),
            )
            grammar = span_summary_grammar([(article.sentences[i].id, *windows[i]) for i in order if windows[i][2]])
            reply = self.generator.complete(
                Prompt(system=self.prompt.system, user=user), grammar, max_tokens=_COPY_TOKENS * len(chosen)
            )
            texts = parse_bullets(reply.text)
        bullets: dict[int, str] = {}
        for i in order:
            sentence = article.sentences[i]
            text = self._checked_copy(texts.get(sentence.id, ""), sentence) or fallback_bullet(sentence, i == 0)
            if text:
                bullets[i] = text
        # A chosen sentence that gave no bullet is replaced by the next sentence that can, in article order
        # (news puts its key facts early), so a summary of three or more sentences has at least three bullets.
        for i, sentence in enumerate(article.sentences):
            if len(bullets) >= count:
                break
            if i not in bullets and (text := fallback_bullet(sentence, i == 0)):
                bullets[i] = text
        return Summary(
            language=language,
            bullets=tuple(
                Bullet(text=bullets[i], citations=(Citation.of(article.sentences[i]),)) for i in sorted(bullets)
            ),
            model=self.generator.name,
        )

    def _checked_copy(self, text: str, sentence: Sentence) -> str | None:
        """The model's copied run, tidied, if it is still a part of its sentence that fits a bullet."""
        text = tidy_bullet(text)
        if not text:
            reason = "missing or empty"
        elif not is_run_of(text, sentence):
            reason = "not a run of its sentence"  # the grammar rules this out; a guard, not a filter
        elif is_copy(text, sentence):
            reason = "a copy of the whole sentence"
        elif len(text) > MAX_BULLET_CHARS:
            reason = "too long"
        else:
            return text
        logger.debug("copied bullet %s replaced: %s", sentence.id, reason)
        return None

    def _restated(self, count: int, language: str) -> Summary:
        """In another language than the article's: the model restates each chosen sentence, and a bullet is kept
        only if its names and numbers are in its sentence and the model, asked plainly, agrees it says so."""
        article = self.article
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
        reason = unsupported_reason(text, [sentence])
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
