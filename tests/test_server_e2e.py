"""Kutip with its model behind an OpenAI-compatible server on 127.0.0.1: llama-cpp-python's own, and
llama.cpp's llama-server with 2 slots when `make llama-server` has built it (skipped otherwise).

The server runs the same embedded GGUF with 2 threads; KUTIP_LLM_URL points the core at it, so no
GGUF is loaded in this process. Heavy: run under the shared lock (HELPERS.md).
"""

from __future__ import annotations

import html
import signal

import pytest

from bot.llm.openai_server import OpenAIServerGenerator
from bot.llm.source import resolve_model
from bot.wiring.factory import assemble_core, core_config, load_generator, load_index
from bot.wiring.settings import DEFAULT_ARTICLE
from evaluation.llama_server import LLAMA_SERVER_BINARY, llama_cpp_llama_server, llama_cpp_server
from tests.telegram_helpers import ask_through_fake_server, run_async

pytestmark = pytest.mark.e2e

TEST_TIMEOUT_S = 600


@pytest.fixture(scope="module", params=["llama_cpp.server", "llama-server"])
def llama_server(request, real_settings):
    """The server's OpenAI base URL; the process is always stopped, whatever the tests did."""
    model, _ = resolve_model(real_settings.llm_model, real_settings.data_dir / "models", real_settings.llm_sha256)
    if request.param == "llama-server":
        if not LLAMA_SERVER_BINARY.is_file():
            pytest.skip("llama.cpp's llama-server is not built (make llama-server)")
        serving = llama_cpp_llama_server(
            LLAMA_SERVER_BINARY, model, slots=2, threads=2, n_ctx=real_settings.llm_context
        )
    else:
        serving = llama_cpp_server(model, threads=2, n_ctx=real_settings.llm_context)
    with serving as server:
        yield server.url


@pytest.fixture(scope="module")
def server_settings(real_settings, llama_server):
    return real_settings.model_copy(update={"llm_url": llama_server, "llm_timeout_s": 120.0})


@pytest.fixture(scope="module")
def server_core(server_settings, real_embedder):
    generator = load_generator(server_settings)
    assert isinstance(generator, OpenAIServerGenerator)
    stored, _ = load_index(server_settings, progress=False)
    core = assemble_core(
        stored, real_embedder, generator, core_config(server_settings), server_settings.data_dir / "summaries"
    )
    core.warm()
    return core


@pytest.fixture(autouse=True)
def _bounded():
    """Fail a test that runs past TEST_TIMEOUT_S instead of hanging the suite."""

    def expire(*_):
        raise TimeoutError(f"test ran past {TEST_TIMEOUT_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_TIMEOUT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_the_seed_question_is_answered_with_2019_and_a_verbatim_citation(server_core):
    answer = server_core.ask("Kapan Microsoft dan OpenAI mulai bekerja sama?")
    assert not answer.refused, answer.support
    assert "2019" in answer.text
    article = DEFAULT_ARTICLE.read_text(encoding="utf-8")
    assert answer.citations and all(c.text in article for c in answer.citations)
    assert "2019" in answer.citations[0].text
    assert answer.support.verified is not None and 0.0 < answer.support.verified <= 1.0


def test_a_question_the_article_does_not_answer_is_refused(server_core):
    answer = server_core.ask("Who is the CEO of OpenAI?")
    assert answer.refused and not answer.citations


def test_a_telegram_question_through_the_server(server_core, server_settings):
    sent = run_async(
        ask_through_fake_server(server_core, "Kapan Microsoft dan OpenAI mulai bekerja sama?", server_settings),
        timeout=300,
    )
    assert sent, "the bot sent nothing"
    quote_block = sent[0]["text"].split("<blockquote>", 1)[1].split("</blockquote>", 1)[0]
    quoted = html.unescape(quote_block.split("\n", 1)[0])
    assert quoted in DEFAULT_ARTICLE.read_text(encoding="utf-8") and "2019" in quoted
