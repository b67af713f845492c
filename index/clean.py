"""Removes page debris that news sites leave around an article's text.

Works line by line on plain text, after HTML extraction. Each rule removes a whole line or a
trailing fragment of one, so what stays is still verbatim article text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# "Sumber: https://..." / "Source: https://..." names where the article came from: metadata, not text.
_SOURCE_LINE = re.compile(r"^\s*(?:sumber|source)\s*:\s*(https?://\S+)\s*$", re.IGNORECASE)
# A whole line that is only a comment counter or a share/UI widget.
_WIDGET_LINE = re.compile(
    r"^\s*(?:komentar|comments?|bagikan|share|baca juga|read more|advertisement|iklan)\s*(?:\(\d+\))?\s*:?\s*$",
    re.IGNORECASE,
)
# A trailing photo credit on a caption line, with the separator a layout leaves behind:
# "... Foto: Financial Times . |".  The credit names a photographer, not a fact of the story.
_PHOTO_CREDIT = re.compile(
    r"\s*(?:foto|photo|gambar|image|ilustrasi)\s*:\s*[^.|]{1,80}?\s*\.?\s*\|?\s*$", re.IGNORECASE
)
_LONE_SEPARATOR = re.compile(r"^\s*[|•·\-–—]+\s*$")


@dataclass(frozen=True)
class CleanedText:
    text: str
    source_url: str = ""
    caption: str = ""  # the photo caption line, kept out of the body (see docs/articles.md, "Cleaning")


def clean_text(raw: str) -> CleanedText:
    """Return the article body without debris, plus the source URL and caption found in it."""
    source_url = ""
    caption = ""
    kept: list[str] = []
    # A byte order mark left by a decoder (a fetched page's) is no part of the first line's text.
    for line in raw.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.strip()
        if not line or _LONE_SEPARATOR.match(line) or _WIDGET_LINE.match(line):
            continue
        if match := _SOURCE_LINE.match(line):
            source_url = source_url or match.group(1)
            continue
        without_credit = _PHOTO_CREDIT.sub("", line)
        if without_credit != line:
            # A line carrying a photo credit is a caption: it repeats the story's claim in the
            # editor's words, so it is kept as metadata rather than offered as citable text.
            caption = caption or without_credit.strip()
            continue
        kept.append(line)
    text = "\n\n".join(kept)
    logger.debug("cleaned %d chars into %d paragraphs", len(raw), len(kept))
    return CleanedText(text=text, source_url=source_url, caption=caption)
