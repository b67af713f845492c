"""Property: whatever the question and whatever the model says, the core answers, refuses, or raises a
domain error, and what it returns renders for Telegram and the terminal. Never a traceback."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from base.errors import KutipError
from bot.adapters import terminal
from bot.adapters.telegram import render
from bot.core.ports import Choice, Completion
from bot.core.turn import Turn
from bot.wiring.factory import assemble_core, core_config
from bot.wiring.settings import Settings
from index.build import build_index
from index.ingest import load_article
from tests.conftest import SEED
from tests.fakes import FakeEmbedder
from tests.fuzz.strategies import FUZZ, Tally, hostile_text

pytestmark = pytest.mark.fuzz

TALLY = Tally("core")


class ScriptedGenerator:
    """A Generator whose next reply is whatever the property drew (the fuzz is also of the model's side)."""

    name = "fuzz-llm"
    context_size = 4096

    def __init__(self) -> None:
        self.next_reply = ""

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def warm(self, system: str) -> None:
        pass

    def forget(self, system: str) -> None:
        pass

    def complete(self, prompt, grammar: str, max_tokens: int) -> Completion:
        return Completion(self.next_reply)

    def choose(self, prompt, options: tuple[str, ...]) -> Choice:
        # A verifier that agrees, so whatever the drawn reply passes is judged by the checks in code.
        return Choice({o: 1.0 if o == "yes" else 0.0 for o in options})


GENERATOR = ScriptedGenerator()


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    embedder = FakeEmbedder()
    stored = build_index(load_article(str(SEED)), embedder)
    settings = Settings(_env_file=None)
    yield assemble_core(stored, embedder, GENERATOR, core_config(settings), tmp_path_factory.mktemp("summaries"))
    print(f"\n{TALLY.report()}")


ids = st.lists(st.one_of(st.sampled_from(["8.1", "8.2", "1.1", "99.9", ""]), st.text(max_size=8)), max_size=4)
model_replies = st.one_of(
    st.builds(lambda i, a: json.dumps({"ids": i, "answer": a}, ensure_ascii=False), ids, hostile_text),
    st.builds(lambda a: json.dumps({"answer": a}, ensure_ascii=False), hostile_text),
    hostile_text,
)


@FUZZ
@given(question=hostile_text, model_reply=model_replies, follow_up=st.booleans())
def test_the_core_never_raises_more_than_a_domain_error(core, question, model_reply, follow_up):
    TALLY.tried += 1
    GENERATOR.next_reply = model_reply
    history = Turn("Kapan kerja sama dimulai?", "Tahun 2019.") if follow_up else None
    try:
        answer = core.ask(question, history=history)
    except KutipError:
        return
    except Exception:
        TALLY.tracebacks += 1
        raise
    for message in render.to_messages(render.answer_blocks(answer)):
        assert 0 < render.units(message) <= render.MESSAGE_LIMIT
    assert terminal.answer_text(answer)
    for citation in answer.citations:
        assert citation.text in core.article.text


@FUZZ
@given(sentence_id=hostile_text)
def test_source_lookup_never_raises_more_than_a_domain_error(core, sentence_id):
    TALLY.tried += 1
    try:
        core.source(sentence_id)
    except KutipError:
        return
    except Exception:
        TALLY.tracebacks += 1
        raise
