"""The article as typed data: paragraphs of sentences, each with a stable, human id."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sentence:
    """One sentence; `text` is an exact substring of the cleaned article at [start, end)."""

    paragraph: int  # 1-based
    sentence: int  # 1-based within its paragraph
    text: str
    start: int
    end: int

    @property
    def id(self) -> str:
        return sentence_id(self.paragraph, self.sentence)


def sentence_id(paragraph: int, sentence: int) -> str:
    """Human numbering: paragraph 3, sentence 2 is "3.2"."""
    return f"{paragraph}.{sentence}"


@dataclass(frozen=True)
class Article:
    """A cleaned article and its sentences."""

    text: str
    sentences: tuple[Sentence, ...]
    title: str = ""
    source_url: str = ""
    language: str = "id"
    origin: str = ""  # the path or URL it was read from
    _by_id: dict[str, Sentence] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({s.id: s for s in self.sentences})

    def sentence(self, sentence_id_: str) -> Sentence | None:
        return self._by_id.get(sentence_id_.strip())

    def paragraph(self, number: int) -> tuple[Sentence, ...]:
        return tuple(s for s in self.sentences if s.paragraph == number)

    @property
    def paragraph_count(self) -> int:
        return max((s.paragraph for s in self.sentences), default=0)
