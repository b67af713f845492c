"""A turn of a conversation: a value every layer from the core up passes around (the follow-up context)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    """An earlier question and answer, given as context to a follow-up."""

    question: str
    answer: str
