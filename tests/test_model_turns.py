"""Model turns across articles: one in-process context is taken in turn; a model server's slots are not."""

from __future__ import annotations

import threading

import pytest

from bot.library.turns import ModelTurns
from bot.wiring.factory import library_config
from bot.wiring.settings import Settings


def b_entered_while_a_held(turns: ModelTurns) -> bool:
    """Hold a turn for article "a" for up to 0.5 s; whether a turn for "b" began meanwhile."""
    inside_a, b_entered = threading.Event(), threading.Event()
    seen: list[bool] = []

    def hold_a() -> None:
        with turns.turn("a", lambda: None):
            inside_a.set()
            seen.append(b_entered.wait(timeout=0.5))

    def take_b() -> None:
        inside_a.wait(timeout=2)
        with turns.turn("b", lambda: None):
            b_entered.set()

    threads = [threading.Thread(target=hold_a), threading.Thread(target=take_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert b_entered.is_set(), "the turn for b never came"
    return seen == [True]


def test_an_in_process_model_serves_one_article_at_a_time() -> None:
    turns = ModelTurns(exclusive=True)
    assert not b_entered_while_a_held(turns)
    assert turns.switches == 2  # b warmed its prefix after a let go


def test_behind_a_model_server_articles_are_answered_at_once() -> None:
    assert b_entered_while_a_held(ModelTurns(exclusive=False))


@pytest.mark.parametrize(("url", "exclusive"), [("", True), ("http://127.0.0.1:8080/v1", False)])
def test_the_library_takes_turns_only_with_the_in_process_model(monkeypatch, url: str, exclusive: bool) -> None:
    monkeypatch.setenv("KUTIP_LLM_URL", url)
    assert library_config(Settings(_env_file=None)).exclusive_model is exclusive
