"""The one rule for what counts as a question, shared by the core and every adapter."""

from __future__ import annotations

from base.errors import QuestionEmpty, QuestionTooLong


def check_question(question: str, max_chars: int) -> str:
    """The question with its white space folded; empty or over-long questions are refused."""
    question = " ".join(question.split())
    if not question:
        raise QuestionEmpty()
    if len(question) > max_chars:
        raise QuestionTooLong(len(question), max_chars)
    return question
