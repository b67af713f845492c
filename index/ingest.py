"""Reads an article from a text file, an HTML file or a URL, and turns it into an Article."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from base.errors import ArticleError, ArticleTooLarge, FetchRefused, NoArticleText
from base.language import detect_language
from base.words import tokenize
from index.article import Article
from index.clean import clean_text
from index.fetch import FetchPolicy, fetch
from index.segment import segment

logger = logging.getLogger(__name__)

_TITLE_CHARS = 90

# The steps of reading an article, reported to a progress callback ("reading the article…" edits): this
# module reports the first two, the library the others.
ReadStage = Literal["fetching", "cleaning", "indexing", "ready"]
Progress = Callable[[ReadStage], None]


@dataclass(frozen=True)
class ArticleLimits:
    """What counts as an article, for files and URLs alike; Settings carries the same defaults
    (KUTIP_FETCH_MAX_BYTES, KUTIP_ARTICLE_MAX_SENTENCES, KUTIP_ARTICLE_MAX_HTML_ELEMENTS,
    KUTIP_ARTICLE_MIN_SENTENCES, KUTIP_ARTICLE_MIN_WORDS).

    The minimums were measured: the seed article has 13 sentences and 277 words, the smallest of the
    209 bench documents 3 sentences and 76 words; a navigation bar or a paywall stub has far fewer words.
    The maximums keep embedding bounded (about 2000 sentences is a few minutes on 2 cores), and HTML parsing:
    trafilatura takes about 0.07 ms per element here, so 100,000 tiny paragraphs (1.3 MB) cost 7–21 s
    before the sentence bound could refuse them, and 20,000 elements about 1.4 s.
    """

    max_bytes: int = 5_000_000
    max_sentences: int = 2000
    max_html_elements: int = 20_000
    min_sentences: int = 3
    min_words: int = 40


def is_url(spec: str) -> bool:
    return "://" in spec


def _looks_like_html(text: str, name: str = "", content_type: str = "") -> bool:
    if "html" in content_type or name.lower().endswith((".html", ".htm", ".xhtml")):
        return True
    head = text.lstrip()[:512].lower()
    return head.startswith(("<!doctype html", "<html")) or "<body" in head


# An opening tag: "<" and a letter. Counted in comments and scripts too, which only errs towards refusing.
_OPENING_TAG = re.compile(r"<[A-Za-z]")


def _check_elements(html: str, origin: str, limit: int) -> None:
    """Refuse a page with more than `limit` elements before trafilatura parses it: its work grows with the
    element count, not the bytes, so a page of tiny paragraphs under the byte limit could hold a read for
    seconds. Counting stops at the bound plus one; the error's size is the whole count (one regex pass)."""
    for seen, _ in enumerate(_OPENING_TAG.finditer(html), start=1):
        if seen > limit:
            raise ArticleTooLarge(origin, len(_OPENING_TAG.findall(html)), limit, "HTML elements")


def _extract_html(html: str, url: str = "", origin: str = "", max_elements: int | None = None) -> tuple[str, str]:
    """Return (text, title) using trafilatura, which keeps the main article and drops page furniture; a page
    over `max_elements` elements is refused (ArticleTooLarge) before it is parsed."""
    if max_elements is not None:
        _check_elements(html, origin or url, max_elements)
    import trafilatura

    document = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=False
    )
    text = getattr(document, "text", None) if document is not None else None
    if not text:
        raise ArticleError("no article text could be extracted from the HTML page")
    return text, getattr(document, "title", "") or ""


# Formats that can be pure ASCII, so neither the NUL check nor UTF-8 decoding refuses them: a PDF or an
# RTF file renamed .txt, or an image header, would otherwise be indexed as an article of its own syntax.
_DOCUMENT_SIGNATURES = {"%PDF-": "a PDF", "{\\rtf": "an RTF document", "GIF87a": "a GIF image", "GIF89a": "a GIF image"}


def _refuse_binary(text: str, origin: str) -> None:
    """Text never holds NUL; a PDF, an image or UTF-16 does. Sent on, it would be indexed as garbage."""
    if "\x00" in text:
        raise ArticleError(f"{origin} is a binary file, not text (it holds NUL bytes)")
    head = text.lstrip()[:8]
    for signature, kind in _DOCUMENT_SIGNATURES.items():
        if head.startswith(signature):
            raise ArticleError(f"{origin} is {kind}, not text")


def _read_file(path: Path, max_bytes: int) -> str:
    """The file's text; refused before reading when over `max_bytes`, and when it is not UTF-8 text."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleTooLarge(str(path), size, max_bytes, "bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"cannot read article {path}: {exc}") from exc
    return _decode(data, str(path))


def _decode(data: bytes, origin: str) -> str:
    """UTF-8 text, or ArticleError for a binary file (NUL bytes, invalid UTF-8)."""
    if b"\x00" in data:
        raise ArticleError(f"{origin} is a binary file, not text (it holds NUL bytes)")
    try:
        # utf-8-sig: a byte order mark (Windows Notepad writes one) is not the first sentence's first character.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"{origin} is not UTF-8 text (a binary file?): {exc.reason} at byte {exc.start}") from exc
    _refuse_binary(text, origin)
    return text


DOCUMENT_SUFFIXES = (".txt", ".text", ".md", ".html", ".htm", ".xhtml")


def read_document(name: str, data: bytes, limits: ArticleLimits | None = None) -> tuple[str, str, str]:
    """Return (raw text, title, origin) for a document's bytes (a file sent to the bot): .txt or .html only."""
    limits = limits or ArticleLimits()
    if len(data) > limits.max_bytes:
        raise ArticleTooLarge(name, len(data), limits.max_bytes, "bytes")
    suffix = Path(name).suffix.lower()
    if suffix and suffix not in DOCUMENT_SUFFIXES:
        raise ArticleError(f"{name} is not a .txt or .html document")
    raw = _decode(data, name)
    if _looks_like_html(raw, name):
        text, title = _extract_html(raw, origin=name, max_elements=limits.max_html_elements)
        return text, title, name
    return raw, "", name


def read_source(spec: str, policy: FetchPolicy | None, limits: ArticleLimits | None = None) -> tuple[str, str, str]:
    """Return (raw text, title, origin) for a path or URL; HTML is reduced to its article text."""
    limits = limits or ArticleLimits()
    if is_url(spec):
        if policy is None:
            raise FetchRefused("fetching a URL needs a fetch policy (timeout, size cap, address rules)")
        fetched = fetch(spec, policy)
        _refuse_binary(fetched.body, fetched.url)
        if _looks_like_html(fetched.body, fetched.url, fetched.content_type):
            text, title = _extract_html(fetched.body, fetched.url, max_elements=limits.max_html_elements)
            return text, title, fetched.url
        return fetched.body, "", fetched.url
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ArticleError(f"article not found: {path}")
    raw = _read_file(path, limits.max_bytes)
    if _looks_like_html(raw, path.name):
        text, title = _extract_html(raw, origin=str(path), max_elements=limits.max_html_elements)
        return text, title, str(path)
    return raw, "", str(path)


def parse_article(raw: str, title: str = "", origin: str = "", max_sentences: int | None = None) -> Article:
    """Clean, segment and describe an article's raw text; with `max_sentences`, an article with more is
    refused as soon as splitting passes the bound (ArticleTooLarge), not after splitting all of it."""
    cleaned = clean_text(raw)
    try:
        sentences = segment(cleaned.text, max_sentences)
    except ArticleTooLarge as error:
        raise ArticleTooLarge(origin, error.size, error.limit, error.unit) from None
    if not sentences:
        raise ArticleError(f"the article has no text: {origin or 'input'}")
    if not title:
        # A photo caption is the page's own one-line summary; failing that, the opening sentence.
        title = cleaned.caption or sentences[0].text
    if len(title) > _TITLE_CHARS:
        title = title[: _TITLE_CHARS - 1].rstrip() + "…"
    return Article(
        text=cleaned.text,
        sentences=sentences,
        title=title,
        source_url=cleaned.source_url or (origin if is_url(origin) else ""),
        language=detect_language(cleaned.text, default="en"),
        origin=origin,
    )


def check_article(article: Article, limits: ArticleLimits) -> None:
    """Refuse what is not an article (too few sentences or words) or too much of one (too many sentences)."""
    sentences = len(article.sentences)
    if sentences > limits.max_sentences:
        raise ArticleTooLarge(article.origin, sentences, limits.max_sentences, "sentences")
    words = len(tokenize(article.text))
    if sentences < limits.min_sentences or words < limits.min_words:
        raise NoArticleText(article.origin, sentences, words, limits.min_sentences, limits.min_words)


def load_article(
    spec: str,
    policy: FetchPolicy | None = None,
    limits: ArticleLimits | None = None,
    document: bytes | None = None,
    progress: Progress | None = None,
) -> Article:
    """Read, clean, segment and check an article: the one read pipeline, for the CLI, the bot and the library.

    A URL needs a `policy`, a local file does not. With `document`, those bytes are the article and `spec` is
    only its file name. `progress` hears "fetching" and "cleaning" as each step starts."""
    limits = limits or ArticleLimits()
    report = progress or (lambda stage: None)
    report("fetching")
    if document is not None:
        raw, title, origin = read_document(spec, document, limits)
    else:
        raw, title, origin = read_source(spec, policy, limits)
    report("cleaning")
    article = parse_article(raw, title=title, origin=origin, max_sentences=limits.max_sentences)
    check_article(article, limits)
    logger.info(
        "article %r: %d sentences in %d paragraphs (%s)",
        article.title,
        len(article.sentences),
        article.paragraph_count,
        article.language,
    )
    return article
