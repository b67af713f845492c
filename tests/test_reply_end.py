"""ReplyEnd: decoding stops at the token that closes the reply's JSON, which the completion keeps."""

from __future__ import annotations

import numpy as np
import pytest

from bot.llm.llama import ReplyEnd, TokenProbabilities

# A toy vocabulary: token id -> its bytes.
PIECES = {0: b"", 1: b'{"answer": "', 2: b"in 1932", 3: b'"}', 4: b"}", 5: b"a}b", 6: b'"', 7: b"]"}
PROMPT = [9, 9, 9]


def detokenize(tokens: list[int]) -> bytes:
    return b"".join(PIECES[t] for t in tokens)


def choose(end: ReplyEnd, token: int) -> None:
    """The logits processors' pass of one step whose best remaining token is `token`."""
    logits = np.full(len(PIECES), -np.inf, dtype=np.float32)
    logits[token] = 1.0
    end.choose(np.asarray(PROMPT), logits)


def steps(end: ReplyEnd, chosen: list[int]) -> list[bool]:
    """What the stopping criterion says after each step, the tokens before it already read."""
    said = []
    for n, token in enumerate(chosen):
        choose(end, token)
        said.append(end(np.asarray(PROMPT + chosen[:n]), np.zeros(1)))
    return said


def test_decoding_stops_at_the_token_that_closes_the_reply():
    end = ReplyEnd(detokenize, len(PROMPT))
    assert steps(end, [1, 2, 3]) == [False, False, True]
    assert end.final == 3
    # llama-cpp-python asks once more after the loop, with every token it read: still stopped.
    assert end(np.asarray(PROMPT + [1, 2]), np.zeros(1))


def test_a_closing_brace_inside_the_answer_does_not_stop_it():
    end = ReplyEnd(detokenize, len(PROMPT))
    assert steps(end, [1, 5, 4, 2, 6, 4]) == [False, False, False, False, False, True]
    assert end.final == 4


def test_a_reply_ended_by_the_model_leaves_nothing_to_add():
    end = ReplyEnd(detokenize, len(PROMPT))
    assert steps(end, [1, 2, 0]) == [False, False, False]  # the end-of-turn token renders as nothing
    assert end.final is None


def test_the_last_token_is_scored_as_the_next_step_would_have():
    scorer = TokenProbabilities()
    logits = np.log(np.asarray([0.5, 0.25, 0.25]))
    scorer(np.asarray([0]), logits)
    scorer.score_last(1)
    assert scorer.logprobs == pytest.approx([np.log(0.25)])
