"""A stop interrupts the model call in progress, and its question is answered after the restart (issue 22,
defect 4). The model here is a scripted OpenAI-compatible server that takes 30 s to answer."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from base.errors import GenerationCancelled
from bot.adapters.telegram import build_application
from bot.core.ports import Prompt
from bot.llm.openai_server import OpenAIServerGenerator, ServerConfig
from bot.storage import DATABASE_NAME, JobJournal, open_database
from bot.wiring.factory import assemble_core, core_config
from bot.wiring.settings import Settings
from index.build import build_index
from tests.fake_bot_api import FakeBotApi
from tests.fake_openai_server import FakeOpenAIServer, Reply, chat, serve
from tests.fakes import FakeCore, FakeEmbedder, FakeLibrary
from tests.telegram_helpers import desk_of, private_chat, run_async, running, settings_for, text_update, user

SLOW_S = 30.0  # how long the model server takes: a stop must not wait for it
STOP_BUDGET_S = 3.0


@pytest.fixture
def slow_server():
    fake = FakeOpenAIServer()
    fake.default = Reply(200, chat('{"answer": ""}').body, delay_s=SLOW_S)
    with serve(fake) as url:
        yield fake, url


def generator(url: str, stop: threading.Event) -> OpenAIServerGenerator:
    return OpenAIServerGenerator(ServerConfig(url=url, timeout_s=SLOW_S * 2, retries=0), stop=stop)


def test_a_stop_abandons_the_model_request_in_flight_at_once(slow_server) -> None:
    fake, url = slow_server
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    with pytest.raises(GenerationCancelled):
        generator(url, stop).complete(Prompt(system="ARTICLE", user="QUESTION"), "root ::= .*", 40)
    assert time.monotonic() - started < 0.5 + 1.0
    assert len(fake.chats) == 1


def test_after_a_stop_no_request_is_sent(slow_server) -> None:
    fake, url = slow_server
    stop = threading.Event()
    stop.set()
    with pytest.raises(GenerationCancelled):
        generator(url, stop).complete(Prompt(system="ARTICLE", user="QUESTION"), "root ::= .*", 40)
    assert fake.chats == []


def test_a_stop_interrupts_the_answer_in_progress_and_it_is_answered_after_the_restart(
    slow_server, seed_article
) -> None:
    fake, url = slow_server
    stop = threading.Event()
    embedder = FakeEmbedder()
    core = assemble_core(
        build_index(seed_article, embedder), embedder, generator(url, stop), core_config(Settings(_env_file=None))
    )
    chat_ = private_chat(900)

    async def scenario() -> None:
        with FakeBotApi() as api:
            settings = settings_for(api)
            app = build_application(settings, FakeLibrary(core), interrupt=stop.set)
            async with running(app):
                await app.process_update(text_update("Kapan OpenAI didirikan?", chat_, user(900)))
                await api.wait_for(lambda a: fake.chats, what="the question to reach the model")
                started = time.monotonic()
            stopped_s = time.monotonic() - started
            assert stopped_s < STOP_BUDGET_S, f"the stop took {stopped_s:.1f} s"
            assert api.sent() == []  # neither an answer nor an error notice
            [pending] = JobJournal(open_database(settings.data_dir / DATABASE_NAME)).pending()
            assert pending.text == "Kapan OpenAI didirikan?"

            second = FakeCore(seed_article)
            app = build_application(settings, FakeLibrary(second))
            async with running(app):
                [answer] = await api.wait_for_messages(1, chat_id=900)
                await desk_of(app).join()
                await asyncio.sleep(0.3)
            assert answer["text"].startswith("Jawaban: Kapan OpenAI didirikan?")
            assert len(api.sent()) == 1
            assert len(JobJournal(open_database(settings.data_dir / DATABASE_NAME))) == 0

    run_async(scenario(), timeout=60)


@pytest.mark.e2e
def test_a_stop_interrupts_the_real_model_at_its_next_token(real_settings) -> None:
    """llama.cpp itself: a long constrained completion ends within a second of the stop, and no later call starts."""
    from bot.core.grammar import text_grammar
    from bot.llm.llama import LlamaGenerator
    from bot.llm.source import resolve_model

    path, name = resolve_model(real_settings.llm_model, real_settings.data_dir / "models", real_settings.llm_sha256)
    stop = threading.Event()
    model = LlamaGenerator(path, name, n_ctx=1024, n_threads=real_settings.llm_threads, stop=stop)
    prompt = Prompt(system="Write long answers.", user="Describe the history of the harbour in many words.")
    grammar = text_grammar("answer", max_words=300)
    set_at: list[float] = []
    prompt_length = len(model.prompt_tokens(prompt))

    def stop_once_decoding() -> None:
        # The criterion runs after each generated token; the prompt's own evaluation is one llama.cpp call
        # that is not interrupted (about 1 s for a question's tokens), so the stop comes once tokens flow.
        deadline = time.monotonic() + 60
        while model.llama.n_tokens <= prompt_length + 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        set_at.append(time.monotonic())
        stop.set()

    threading.Thread(target=stop_once_decoding, daemon=True).start()
    with pytest.raises(GenerationCancelled):
        model.complete(prompt, grammar, max_tokens=600)  # about 40 s of decoding without the stop
    assert time.monotonic() - set_at[0] < 1.0
    with pytest.raises(GenerationCancelled):
        model.choose(prompt, ("yes", "no"))
