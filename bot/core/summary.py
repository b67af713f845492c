"""Summaries: sentences chosen in code for what they add, each bullet a whole clause citing its sentence.

In the article's own language a bullet is its sentence, or the sentence's opening clauses up to a clause
boundary (bot/core/spans.py), so it never begins or ends mid-phrase and keeps its subject, verb and object;
no model is needed. In another language the model translates each chosen bullet, and a translation is shown
only if it passes the same claim check as an answer: its names and numbers are in the sentence, and the
model, asked plainly, agrees that the sentence says it.
"""

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
from bot.core.query import specifics
from bot.core.results import Bullet, Citation, Summary
from bot.core.spans import clause_ends, tidy_span, without_asides
from index.article import Article, Sentence
from index.store import article_sha256

logger = logging.getLogger(__name__)

# Bump when the cached JSON changes shape or meaning; older files are regenerated, not misread.
CACHE_FORMAT = "kutip-summary v5"  # v5: whole clauses, chosen for what they add

MAX_BULLET_CHARS = 220
MIN_BULLET_WORDS = 5  # fewer words rarely state a fact ("(res)", "Pelatih: Liestiadi")
# A sentence is prose when at least this share of its words are lowercase: a line-up, a results table or a
# spec list ("Persiba (4 - 5 - 1): 23 - Yoewanto Stya Beny; ...") is not, however many names it holds.
MIN_PROSE_SHARE = 0.4
# How a sentence is chosen: relevance (closeness to the article's centroid, plus LEAD_BONUS / (1 + its
# position): news puts its story first), less _DIVERSITY times its similarity to what is already chosen, plus
# NEWS_WEIGHT times the share of its names and numbers that no chosen bullet has yet (saturating: n / (n + 2)).
# Set by reading the summaries of the key-fact set (bench/keyfacts), not by ROUGE, whose references copy the lead.
LEAD_BONUS = 0.3
NEWS_WEIGHT = 0.6
_DIVERSITY = 0.3
# A translated bullet is one sentence of at most this many words (a 220-character clause is about 35).
_TRANSLATED_WORDS = 48
# A dateline opens many news articles ("Jakarta, CNN Indonesia -- ", "Wamena (ANTARA News) - "): a few words
# without digits, then a dash. Only the lede can carry one; a bullet copied from the lede starts after it.
_DATELINE = re.compile(r"^(?:[^\s\d]+\s){0,5}?[^\s\d]+\s[-–—]{1,2}\s")
_CUT_EDGES = ",;:-–—/|"


def bullet_count(sentence_count: int) -> int:
    return 3 if sentence_count <= 8 else 4 if sentence_count <= 20 else 5


def is_prose(text: str) -> bool:
    words = re.findall(r"[^\W_]+", text)
    return bool(words) and sum(w.islower() for w in words) / len(words) >= MIN_PROSE_SHARE


def clause_bullet(sentence: Sentence, lede: bool = False, limit: int = MAX_BULLET_CHARS) -> str | None:
    """The bullet a sentence gives: the sentence itself (the lede without its dateline) when it fits
    `limit`; else without its relative asides; else its longest opening run of whole clauses that fits.
    None when none fits, or the sentence is too short or not prose."""
    body = " ".join((_DATELINE.sub("", sentence.text, count=1) if lede else sentence.text).split())
    if len(body.split()) < MIN_BULLET_WORDS or not is_prose(body):
        return None
    compact = without_asides(body)
    for text in (body, compact):
        if len(text) <= limit:
            return text
    for text in (compact, body):
        fitting = [end for end in clause_ends(text) if end <= limit]
        if fitting:
            run = tidy_span(text[: fitting[-1]], edges=_CUT_EDGES, leading=True)
            if len(run.split()) >= MIN_BULLET_WORDS:
                return run
    return None


def choose(
    bullets: list[str | None],
    vectors: np.ndarray,
    count: int,
    lead_bonus: float = LEAD_BONUS,
    news_weight: float = NEWS_WEIGHT,
) -> list[int]:
    """Up to `count` sentence indices with a bullet, in the order they were chosen (most wanted first).

    The first sentence with a bullet always goes first: the lede carries the story. Each next one is the
    best by relevance, difference from those chosen, and the names and numbers it adds.
    """
    usable = [i for i, b in enumerate(bullets) if b]
    if not usable:
        return []
    centroid = vectors.mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
    relevance = vectors @ centroid + lead_bonus / (1 + np.arange(len(vectors)))
    facts = {i: specifics(bullets[i] or "", same_language=False) for i in usable}
    chosen = [usable[0]]
    covered = set(facts[usable[0]])
    while len(chosen) < min(count, len(usable)):
        best, best_score = -1, -np.inf
        for i in usable:
            if i in chosen:
                continue
            new = len(facts[i] - covered)
            similarity = float((vectors[chosen] @ vectors[i]).max())
            score = (1 - _DIVERSITY) * relevance[i] - _DIVERSITY * similarity + news_weight * new / (new + 2)
            if score > best_score:
                best, best_score = i, score
        chosen.append(best)
        covered |= facts[best]
    return chosen


# The text is a JSON string: a bullet may hold escaped quotes (\\") from its sentence.
_BULLET = re.compile(r'\{"id": "(?P<id>[^"\\]+)", "text": "(?P<text>(?:[^"\\]|\\.)*)"\}')


def parse_bullets(reply: str) -> dict[str, str]:
    """Sentence id -> bullet text, for every bullet the reply completed; a reply cut off by the token
    limit keeps its finished bullets (the grammar makes each one well-formed JSON)."""
    bullets = {}
    for m in _BULLET.finditer(reply):
        try:
            bullets[m["id"]] = json.loads(f'"{m["text"]}"').strip()
        except ValueError:
            continue  # a broken escape; that bullet is left out
    if not bullets and reply.strip():
        logger.warning("unparseable summary reply %r", reply)
    return bullets


# Scale words by power of ten: "$1 miliar" is "$1 billion", never "$1 million".
_SCALES = {
    "ribu": 3, "thousand": 3, "juta": 6, "million": 6, "miliar": 9, "milyar": 9, "billion": 9,
    "triliun": 12, "trillion": 12,
}  # fmt: skip
_SCALED = re.compile(r"(\d+(?:[.,]\d+)*)\s*(" + "|".join(_SCALES) + r")\b", re.IGNORECASE)


def scaled_amounts(text: str) -> set[tuple[str, int]]:
    """Each number with a scale word after it, as (digits, power of ten): "$1 miliar" -> ("1", 9)."""
    return {(re.sub(r"[.,]", "", n), _SCALES[w.lower()]) for n, w in _SCALED.findall(text)}


def swapped_names(text: str, article: Article) -> str | None:
    """`text` with its two names the article mentions most exchanged ("OpenAI ... Microsoft's" becomes
    "Microsoft ... OpenAI's"), or None when it names fewer than two the article has."""
    names = list(dict.fromkeys(w for w in re.findall(r"\b[A-Z]\w+", text)))
    names = [n for n in names if re.search(rf"\b{re.escape(n)}\b", article.text)]
    if len(names) < 2:
        return None
    first, second = sorted(names, key=lambda n: -len(re.findall(rf"\b{re.escape(n)}\b", article.text)))[:2]
    pattern = re.compile(rf"\b({re.escape(first)}|{re.escape(second)})\b")
    return pattern.sub(lambda m: second if m.group() == first else first, text)


def is_whole_sentence(text: str) -> bool:
    """A translated bullet ends as a sentence does: the word cap cut one that does not."""
    return text.rstrip("\"”’')").endswith((".", "!", "?"))


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
                try:
                    # Not `parents=True`: the cache's own folder only, so an article evicted from the library
                    # while its summary was being made is not recreated as an orphan folder.
                    path.parent.mkdir(exist_ok=True)
                    path.write_text(
                        json.dumps({"format": CACHE_FORMAT, **cached.to_dict()}, ensure_ascii=False), encoding="utf-8"
                    )
                except OSError as exc:  # that, or a full disk: the summary is still given, only not cached (a
                    logger.warning("summary not cached in %s: %s", path, exc)  # cut file is ignored when read)
        self._memory[language] = cached
        return cached

    def clauses(self) -> list[str | None]:
        """Each sentence's bullet in the article's language (None: it gives none)."""
        return [clause_bullet(s, lede=i == 0) for i, s in enumerate(self.article.sentences)]

    def _generate(self, language: str) -> Summary:
        count = bullet_count(len(self.vectors))
        clauses = self.clauses()
        if language == self.article.language:
            order = choose(clauses, self.vectors, count)
            texts = {i: clauses[i] or "" for i in order}
        else:
            # Two spares, so a translation that fails its check can be left out and `count` remain.
            texts = self._translated(choose(clauses, self.vectors, count + 2), clauses, language, count)
        return Summary(
            language=language,
            bullets=tuple(
                Bullet(text=texts[i], citations=(Citation.of(self.article.sentences[i]),)) for i in sorted(texts)
            ),
            model=self.generator.name,
        )

    def _translated(self, order: list[int], clauses: list[str | None], language: str, count: int) -> dict[int, str]:
        """The model translates each chosen bullet; the first `count` (in the order chosen) that pass the
        claim check are kept. One that fails is never shown."""
        sentences = [self.article.sentences[i] for i in order]
        user = render(
            "summary",
            count=len(order),
            language=LANGUAGE_NAMES[language],
            ids=", ".join(s.id for s in sentences),
            points="\n".join(f"[{s.id}] {clauses[i]}" for i, s in zip(order, sentences, strict=True)),
        )
        reply = self.generator.complete(
            Prompt(system=self.prompt.system, user=user),
            summary_grammar([s.id for s in sentences], max_words=_TRANSLATED_WORDS),
            max_tokens=80 * len(order),
        )
        texts = parse_bullets(reply.text)
        kept: dict[int, str] = {}
        for i, sentence in zip(order, sentences, strict=True):
            if len(kept) == count:
                break
            text = texts.get(sentence.id, "")
            if text and self.claim_holds(text, sentence):
                kept[i] = text
        return kept

    def verdict(self, bullet: str, sentence: Sentence) -> float:
        """P("yes"): the model, asked plainly, finds that `sentence` says what `bullet` says."""
        user = render("check_bullet", sentence=sentence.text, bullet=bullet)
        return self.generator.choose(Prompt(system=self.prompt.system, user=user), ("yes", "no")).probabilities["yes"]

    def claim_holds(self, text: str, sentence: Sentence) -> bool:
        """The answer's claim check, for a bullet in another language: a whole sentence within the length
        limit, no name or number its sentence lacks (nor a number at another scale: "million" for "miliar"),
        and P(yes) at least the answer's `min_verified`. And who did what to whom: with the article's two
        main names exchanged, the model must find the bullet less true than as written. That catches names
        put in each other's place; it does not catch a verb turned round with the names kept ("wants to take
        control of Microsoft's AI" for "wants to loosen Microsoft's control"), which the model still passes."""
        if not is_whole_sentence(text):
            reason = "not a whole sentence"
        elif len(text) > MAX_BULLET_CHARS + 60:  # a translation runs longer than its source
            reason = "too long"
        elif scaled_amounts(text) - scaled_amounts(sentence.text):
            reason = f"amounts not in the sentence: {sorted(scaled_amounts(text) - scaled_amounts(sentence.text))}"
        else:
            reason = unsupported_reason(text, [sentence])
        if reason is None:
            yes = self.verdict(text, sentence)
            if yes < self.thresholds.min_verified:
                reason = f"the model doubts it (P(yes) {yes:.2f})"
            elif (swapped := swapped_names(text, self.article)) is not None:
                other = self.verdict(swapped, sentence)
                if other >= yes:
                    reason = f"the model finds the roles swapped as true (P(yes) {other:.2f} >= {yes:.2f})"
        if reason is None:
            return True
        logger.debug("summary bullet %s left out: %s", sentence.id, reason)
        return False
