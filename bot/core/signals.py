"""The measured signals behind a reply: value types the grounding policy fills and the results carry."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Relevance:
    """Whether a question is about the article at all: measured for every question, proposal or not."""

    missing_specifics: tuple[str, ...]  # the question's names, numbers and titles the article never mentions
    top_dense: float | None  # the embedder's cosine of question and the nearest best-ranked sentence
    # The rarity-weighted share of the question's words in the best candidate's paragraph; None when the
    # question is in another language than the article, so its words cannot match.
    top_coverage: float | None
    # The things the question names (a whole name, a number, a title) none of whose words the article has.
    absent_things: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "missing_specifics": list(self.missing_specifics),
            "absent_things": list(self.absent_things),
            "top_dense": None if self.top_dense is None else round(self.top_dense, 4),
            "top_coverage": None if self.top_coverage is None else round(self.top_coverage, 4),
        }


@dataclass(frozen=True)
class Support:
    """The signals behind one answer's support decision, and the decision. Kept for the eval and logs."""

    answer: str  # what the model proposed
    sentence_id: str  # the sentence judged (and quoted, when supported)
    rank: int  # its place in the retrieval ranking, 1 = best
    verified: float | None = None
    answer_logprob: float | None = None
    missing_specifics: tuple[str, ...] = ()
    coverage: float | None = None  # None: the question is not in the article's language, so words can't match
    unsupported: str | None = None
    supported: bool = False
    # The answer's first token's log-probability: the model's raw choice between answering and "NONE" (before the
    # grammar's mask), and where the answer starts. Low for an answer it wrote against its own first pick.
    first_logprob: float | None = None
    # The model's hidden state at the verification turn (bot/core/ports.Choice): what a probe reads. Not in
    # `to_dict`: 1,536 numbers per reply; the eval keeps them beside its records.
    state: tuple[float, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict:
        return {
            "answer": self.answer,
            "sentence_id": self.sentence_id,
            "rank": self.rank,
            "verified": None if self.verified is None else round(self.verified, 4),
            "answer_logprob": None if self.answer_logprob is None else round(self.answer_logprob, 4),
            "first_logprob": None if self.first_logprob is None else round(self.first_logprob, 4),
            "missing_specifics": list(self.missing_specifics),
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "unsupported": self.unsupported,
            "supported": self.supported,
        }
