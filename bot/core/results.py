"""What the answer core returns: typed answers whose quotes come from stored sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from index.article import Sentence

if TYPE_CHECKING:
    from bot.core.grounding import Support


@dataclass(frozen=True)
class Citation:
    """A cited sentence. Built only from a stored Sentence, so its text is verbatim."""

    id: str
    paragraph: int
    sentence: int
    text: str

    @classmethod
    def of(cls, s: Sentence) -> Citation:
        return cls(id=s.id, paragraph=s.paragraph, sentence=s.sentence, text=s.text)

    def to_dict(self) -> dict:
        return {"id": self.id, "paragraph": self.paragraph, "sentence": self.sentence, "text": self.text}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    refused: bool
    language: str  # "id" or "en"
    citations: tuple[Citation, ...] = ()
    model: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The grounding policy's signals and decision for the proposed answer (None when the model found none).
    support: Support | None = None

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "language": self.language,
            "citations": [c.to_dict() for c in self.citations],
            "model": self.model,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "support": self.support.to_dict() if self.support else None,
        }


@dataclass(frozen=True)
class Bullet:
    text: str
    citations: tuple[Citation, ...]

    def to_dict(self) -> dict:
        return {"text": self.text, "citations": [c.to_dict() for c in self.citations]}


@dataclass(frozen=True)
class Summary:
    language: str
    bullets: tuple[Bullet, ...]
    model: str = ""

    def to_dict(self) -> dict:
        return {"language": self.language, "bullets": [b.to_dict() for b in self.bullets], "model": self.model}
