"""What the answer core returns: typed answers whose quotes come from stored sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.core.turn import Turn
from index.article import Sentence

if TYPE_CHECKING:
    from bot.core.signals import Relevance, Support


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


class ReplyKind(StrEnum):
    """The three things Kutip may say about a question. Each is a statement about the article, so each
    must be true: an answer that is wrong and a "not in the article" for a question the article answers
    are both false (docs/how-it-answers.md, "Three kinds of reply")."""

    ANSWER = "answer"  # a short answer copied from the article, with its quote: the support is confident
    CLOSEST = "closest"  # no answer asserted: the sentences nearest the question, marked as not an answer
    NOT_IN_ARTICLE = "not_in_article"  # the article has nothing about it: the thing named is absent, or nothing related


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # the answer (ANSWER), or what Kutip says instead (CLOSEST, NOT_IN_ARTICLE)
    kind: ReplyKind
    language: str  # "id" or "en"
    # ANSWER: the sentence the answer is copied from; CLOSEST: the nearest one or two; NOT_IN_ARTICLE: none.
    citations: tuple[Citation, ...] = ()
    model: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The grounding policy's signals and decision for the proposed answer (None when the model found none).
    support: Support | None = None
    # Whether the question is about the article at all (None from cores that do not measure it).
    relevance: Relevance | None = None

    @property
    def refused(self) -> bool:
        """No answer is asserted (CLOSEST or NOT_IN_ARTICLE)."""
        return self.kind is not ReplyKind.ANSWER

    def as_turn(self) -> Turn:
        """This exchange as the earlier turn of a follow-up: only an asserted answer is carried over."""
        return Turn(self.question, "" if self.refused else self.text)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "kind": self.kind.value,
            "refused": self.refused,
            "language": self.language,
            "citations": [c.to_dict() for c in self.citations],
            "model": self.model,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "support": self.support.to_dict() if self.support else None,
            "relevance": self.relevance.to_dict() if self.relevance else None,
        }


@dataclass(frozen=True)
class Bullet:
    text: str  # the bullet in the summary's language, or (untranslated) its clause in the article's own words
    citations: tuple[Citation, ...]
    # No translation of it passed its checks, so `text` is the article's words in a summary in another
    # language. Each adapter marks it in the reader's language; the text itself carries no mark.
    untranslated: bool = False

    def is_its_sentence(self, citation: Citation) -> bool:
        """The bullet says its cited sentence word for word: an adapter shows where the sentence stands rather
        than the same words twice."""
        return " ".join(citation.text.split()) == " ".join(self.text.split())

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "untranslated": self.untranslated,
        }


@dataclass(frozen=True)
class Summary:
    language: str
    bullets: tuple[Bullet, ...]
    model: str = ""

    def to_dict(self) -> dict:
        return {"language": self.language, "bullets": [b.to_dict() for b in self.bullets], "model": self.model}
