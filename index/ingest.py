"""Reads an article from a text file, an HTML file or a URL, and turns it into an Article."""

from __future__ import annotations

import logging
from pathlib import Path

from base.errors import ArticleError, FetchRefused
from base.language import detect_language
from index.article import Article
from index.clean import clean_text
from index.fetch import FetchPolicy, fetch
from index.segment import segment

logger = logging.getLogger(__name__)

_TITLE_CHARS = 90


def is_url(spec: str) -> bool:
    return "://" in spec


def _looks_like_html(text: str, name: str = "", content_type: str = "") -> bool:
    if "html" in content_type or name.lower().endswith((".html", ".htm", ".xhtml")):
        return True
    head = text.lstrip()[:512].lower()
    return head.startswith(("<!doctype html", "<html")) or "<body" in head


def _extract_html(html: str, url: str = "") -> tuple[str, str]:
    """Return (text, title) using trafilatura, which keeps the main article and drops page furniture."""
    import trafilatura

    document = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=False
    )
    text = getattr(document, "text", None) if document is not None else None
    if not text:
        raise ArticleError("no article text could be extracted from the HTML page")
    return text, getattr(document, "title", "") or ""


def read_source(spec: str, policy: FetchPolicy | None) -> tuple[str, str, str]:
    """Return (raw text, title, origin) for a path or URL; HTML is reduced to its article text."""
    if is_url(spec):
        if policy is None:
            raise FetchRefused("fetching a URL needs a fetch policy (timeout, size cap, address rules)")
        fetched = fetch(spec, policy)
        if _looks_like_html(fetched.body, fetched.url, fetched.content_type):
            text, title = _extract_html(fetched.body, fetched.url)
            return text, title, fetched.url
        return fetched.body, "", fetched.url
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ArticleError(f"article not found: {path}")
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArticleError(f"cannot read article {path}: {exc}") from exc
    if _looks_like_html(raw, path.name):
        text, title = _extract_html(raw)
        return text, title, str(path)
    return raw, "", str(path)


def parse_article(raw: str, title: str = "", origin: str = "") -> Article:
    """Clean, segment and describe an article's raw text."""
    cleaned = clean_text(raw)
    sentences = segment(cleaned.text)
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


def load_article(spec: str, policy: FetchPolicy | None = None) -> Article:
    """Read, clean and segment an article; a URL needs a `policy`, a local file does not."""
    raw, title, origin = read_source(spec, policy)
    article = parse_article(raw, title=title, origin=origin)
    logger.info(
        "article %r: %d sentences in %d paragraphs (%s)",
        article.title,
        len(article.sentences),
        article.paragraph_count,
        article.language,
    )
    return article
