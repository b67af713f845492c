"""The one rule for what counts as a question, shared by the core and every adapter."""

from __future__ import annotations

from base.errors import QuestionError


def check_question(question: str, max_chars: int) -> str:
    """The question with its white space folded; empty or over-long questions are refused."""
    question = " ".join(question.split())
    if not question:
        raise QuestionError("the question is empty")
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question)} characters; the limit is {max_chars}")
    return question
