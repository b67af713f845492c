"""Property: hostile messages through the real handlers, queue and renderer, on the local Bot API server,
are answered, refused or ignored; Telegram accepts every message sent; nothing reaches the error handler."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.ports import Choice, Completion
from bot.wiring.factory import assemble_core, core_config
from bot.wiring.settings import Settings
from index.build import build_index
from index.ingest import load_article
from tests.conftest import SEED
from tests.fakes import FakeEmbedder, copied_reply
from tests.fuzz.strategies import FUZZ, Tally, hostile_text
from tests.telegram_helpers import bot_session, feed, group_chat, private_chat, run_async, text_update, user

pytestmark = pytest.mark.fuzz

TALLY = Tally("telegram")


class SteadyGenerator:
    """Always cites 8.1: the fuzz here is of the user's side; test_fuzz_core fuzzes the model's."""

    name = "fuzz-llm"
    context_size = 4096

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def warm(self, system: str) -> None:
        pass

    def forget(self, system: str) -> None:
        pass

    def complete(self, prompt, grammar: str, max_tokens: int) -> Completion:
        return Completion(copied_reply("pada tahun 2019"))

    def choose(self, prompt, options: tuple[str, ...]) -> Choice:
        # A verifier that agrees, so an answer the cheap checks pass is sent like a real one.
        return Choice({o: 1.0 if o == "yes" else 0.0 for o in options})


class Errors(logging.Handler):
    """Records ERROR logs: the handlers' on_error logs every unexpected exception there."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    embedder = FakeEmbedder()
    stored = build_index(load_article(str(SEED)), embedder)
    settings = Settings(_env_file=None)
    yield assemble_core(stored, embedder, SteadyGenerator(), core_config(settings), tmp_path_factory.mktemp("s"))
    print(f"\n{TALLY.report()}")


@pytest.fixture(scope="module")
def errors():
    handler = Errors()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


FORMS = ["private", "ask", "group-mention", "source", "summary"]


@FUZZ
@given(text=hostile_text, form=st.sampled_from(FORMS), language=st.sampled_from(["id", "en", None, "vi"]))
def test_hostile_messages_never_reach_the_error_handler(core, errors, text, form, language):
    TALLY.tried += 1
    before = len(errors.records)
    sender = user(111, language)
    update = {
        "private": lambda: text_update(text, private_chat(111), sender),
        "ask": lambda: text_update(f"/ask {text}", private_chat(111), sender),
        "group-mention": lambda: text_update(f"@KutipBot {text}", group_chat(), sender),
        "source": lambda: text_update(f"/source {text}", private_chat(111), sender),
        "summary": lambda: text_update(f"/summary {text}", private_chat(111), sender),
    }[form]()

    async def scenario() -> list:
        async with bot_session(core, max_question_chars=2000) as (api, app, _):
            await feed(app, update)
            return api.calls_to("sendMessage", ok_only=False)

    calls = run_async(scenario())
    refused = [c for c in calls if not c.ok]
    new_errors = errors.records[before:]
    if refused or new_errors:
        TALLY.tracebacks += 1
    assert not new_errors, [r.getMessage() for r in new_errors]
    assert not refused, [c.params for c in refused]
