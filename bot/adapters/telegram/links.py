"""Finding an article in a message: a link, or a .txt/.html document."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from telegram import Document, Message, MessageEntity

_LINK = re.compile(r"https?://\S+", re.IGNORECASE)

# What a document may be to be read as an article; anything else is refused before it is downloaded.
ARTICLE_SUFFIXES = {".txt": "text/plain", ".html": "text/html", ".htm": "text/html"}


def only_link(text: str | None) -> str | None:
    """The link when `text` is nothing but one http(s) link (a "read this" message), else None."""
    text = (text or "").strip()
    return text if _LINK.fullmatch(text) else None


def link_in(message: Message) -> str | None:
    """The first http(s) link a message carries: a URL or text-link entity of its text or caption, or a bare
    link in its text."""
    kinds = [MessageEntity.URL, MessageEntity.TEXT_LINK]
    found = {**message.parse_entities(kinds), **message.parse_caption_entities(kinds)}
    for entity, text in sorted(found.items(), key=lambda item: item[0].offset):
        link = entity.url if entity.type == MessageEntity.TEXT_LINK else text
        if link and _LINK.fullmatch(link.strip()):
            return link.strip()
    match = _LINK.search(message.text or message.caption or "")
    return match.group() if match else None


def document_name(document: Document) -> str | None:
    """The name to read `document` under (its suffix tells text from HTML), or None if it is not .txt/.html."""
    name = PurePosixPath(document.file_name or "").name
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in ARTICLE_SUFFIXES:
        return name
    for known, mime in ARTICLE_SUFFIXES.items():  # a nameless or oddly named file of a known kind
        if not suffix and (document.mime_type or "").lower() == mime:
            return f"{name or 'article'}{known}"
    return None
