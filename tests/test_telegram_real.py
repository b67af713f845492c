"""The Telegram path once with the real embedded models: a local Bot API server, real llama.cpp, real FAISS."""

import html

import pytest

from bot.wiring.settings import DEFAULT_ARTICLE
from tests.telegram_helpers import ask_through_fake_server, run_async

pytestmark = pytest.mark.e2e


def test_a_telegram_question_about_the_seed_gets_a_verbatim_cited_sentence(real_core, real_settings):
    sent = run_async(
        ask_through_fake_server(real_core, "Kapan Microsoft dan OpenAI mulai bekerja sama?", real_settings), timeout=300
    )
    assert sent, "the bot sent nothing"
    reply = sent[0]
    assert reply["parse_mode"] == "HTML"
    assert "2019" in reply["text"]
    quote_block = reply["text"].split("<blockquote>", 1)[1].split("</blockquote>", 1)[0]
    quoted = html.unescape(quote_block.split("\n", 1)[0])  # the sentence, then its position
    assert quoted in DEFAULT_ARTICLE.read_text(encoding="utf-8")
    assert "2019" in quoted
