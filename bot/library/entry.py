"""An article as the library lists it: what /article, /articles and `kutip articles` show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The steps of reading an article, reported to a progress callback ("reading the article…" edits).
ReadStage = Literal["fetching", "cleaning", "indexing", "ready"]


@dataclass(frozen=True)
class ArticleEntry:
    id: str  # SHA-256 (hex) of the cleaned text: the same story read twice is one entry
    title: str
    origin: str  # the URL, file name or path it was read from
    language: str
    sentences: int
    added_at: float  # Unix time
    added_by: int | None  # the chat that first read it; None from the CLI or for the default
    is_default: bool = False

    @property
    def short_id(self) -> str:
        """Enough of the id to name it in a command (`/use 3f2a9c1b`, `kutip ask --article 3f2a9c1b`)."""
        return self.id[:8]
