"""End to end with the real embedded models, through the installed `kutip` command."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.grounding import support_score
from bot.core.ports import Prompt
from bot.core.results import ReplyKind
from bot.wiring.factory import assemble_core, core_config, load_generator, load_index, load_support_model
from bot.wiring.settings import DEFAULT_ARTICLE

pytestmark = pytest.mark.e2e
ARTICLE = DEFAULT_ARTICLE.read_text(encoding="utf-8")


def kutip(real_settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUTIP_") and k != "TELEGRAM_BOT_TOKEN"}
    env.update(KUTIP_DATA_DIR=str(real_settings.data_dir), HF_HUB_OFFLINE="1", KUTIP_LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_ask_json_answers_2019_citing_the_sentence(real_settings, real_core):
    # real_core first: it assembles the model into the shared cache once for the whole session,
    # and saves the evaluated article prefix that this fresh process then restores instead of recomputing.
    assert list((real_settings.data_dir / "kv").glob("*.kv"))
    result = kutip(real_settings, "ask", "--json", "Kapan Microsoft dan OpenAI mulai bekerja sama?")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {
        *("question", "answer", "kind", "refused", "language", "citations", "model", "timings_ms", "support"),
        "relevance",
    }
    # Decided by the pack's fitted model (the default), which reads the real model's score of the answer's first token.
    assert answer["support"]["supported"] and answer["support"]["verified"] >= 0.5
    assert answer["support"]["first_logprob"] is not None and answer["support"]["first_logprob"] <= 0
    assert answer["kind"] == "answer" and answer["refused"] is False and answer["language"] == "id"
    assert "2019" in answer["answer"]
    assert any("2019" in c["text"] for c in answer["citations"])
    for c in answer["citations"]:
        assert c["text"] in ARTICLE
        assert c["id"] == f"{c['paragraph']}.{c['sentence']}"
    assert set(answer["timings_ms"]) == {"retrieve", "generate", "verify", "total"}


@pytest.mark.parametrize("question", ["Who is the CEO of OpenAI?", "What is the capital of France?"])
def test_a_question_about_what_the_article_lacks_gets_the_flat_refusal(real_core, question):
    answer = real_core.ask(question)
    assert answer.kind is ReplyKind.NOT_IN_ARTICLE, answer
    assert answer.text == "The article doesn't say." and answer.citations == ()


def test_a_question_the_article_nears_but_does_not_confirm_gets_its_closest_sentences(real_core):
    # The article names OpenAI's data-centre project, never its cost.
    answer = real_core.ask("Berapa biaya proyek pusat data Stargate milik OpenAI?")
    assert answer.kind is not ReplyKind.ANSWER, answer
    if answer.kind is ReplyKind.CLOSEST:
        assert 1 <= len(answer.citations) <= 2 and all(c.text in ARTICLE for c in answer.citations)


SEED_QUESTIONS = [
    "Berapa investasi awal Microsoft di OpenAI?",
    "Apa nama proyek pusat data OpenAI?",
    "Layanan cloud apa yang dipakai Microsoft untuk menjual perangkat lunak OpenAI?",
    "How much did Microsoft invest in OpenAI?",
    "When did Microsoft and OpenAI start working together?",
]


@pytest.mark.parametrize("question", SEED_QUESTIONS)
def test_every_answer_quotes_the_article_verbatim(real_core, question):
    answer = real_core.ask(question)
    assert answer.kind is not ReplyKind.NOT_IN_ARTICLE, answer  # every one of these is about the article
    assert all(c.text in ARTICLE for c in answer.citations)
    if not answer.refused:
        assert answer.citations
        assert all(c.text in ARTICLE for c in answer.citations)
        # The answer is words copied from its quote (the grammar allows nothing else).
        assert answer.text.lower() in " ".join(answer.citations[0].text.split()).lower()


def test_summary_bullets_each_cite_a_sentence(real_core):
    summary = real_core.summary("en")
    # A bullet whose translation fails its round trip is shown in the article's words, flagged, never translated.
    assert 3 <= len(summary.bullets) <= 5
    for bullet in summary.bullets:
        assert bullet.text and bullet.citations
        assert all(c.text in ARTICLE for c in bullet.citations)
        assert not bullet.text.startswith("(")  # the mark is the adapter's, never the core's text
        if bullet.untranslated:
            words = set(re.findall(r"\w+", bullet.text))
            assert words <= set(re.findall(r"\w+", bullet.citations[0].text)), bullet


def test_the_english_summary_does_not_turn_who_controls_what_around(real_core):
    """Sentence 3.1 says OpenAI wants to loosen Microsoft's control over its AI products and compute. The model
    translates it as OpenAI taking control of Microsoft's, and agrees with itself when asked; the round trip
    (translated back, "mengambil" where the clause says "melonggarkan") keeps that bullet out."""
    summary = real_core.summary("en")
    reversal = re.compile(
        r"\b(?:take|takes|taking|gain|seize|acquire|extend|expand|increase)\w*\b[^.]*\bcontrol\b"
        r"|\bcontrol (?:of|over) Microsoft",
        re.IGNORECASE,
    )
    for bullet in summary.bullets:
        assert not reversal.search(bullet.text), bullet
        if bullet.citations[0].id == "3.1" and not bullet.untranslated:
            assert re.search(r"\b(?:loosen|reduce|lessen|weaken|ease|relax)\w*\b", bullet.text, re.IGNORECASE), bullet


def test_the_shipped_probe_reads_the_real_models_hidden_state(real_settings, real_embedder, real_generator):
    """KUTIP_SUPPORT_MODEL=probe end to end: the generator its settings load hands the real model's hidden state
    at the verification turn to the pack's probe, whose score is the decision. The default generator (no probe)
    skips reading the state, and its verdict is the same."""
    settings = real_settings.model_copy(update={"support_model": "probe"})
    probe = load_support_model(settings)
    assert probe is not None and probe.reads_state
    stored, _ = load_index(settings, progress=False)
    stateful = load_generator(settings)
    core = assemble_core(stored, real_embedder, stateful, core_config(settings), model=probe)
    answer = core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    support = answer.support
    assert support is not None and len(support.state) == len(probe.state_weights) == 1536
    score = support_score(support, probe)
    assert (answer.kind is ReplyKind.ANSWER) == (score >= probe.threshold)
    assert answer.kind is ReplyKind.ANSWER and "2019" in answer.text

    prompt = Prompt(system=core.prompt.system, user="Is the sky green? Answer yes or no.")
    kept, skipped = stateful.choose(prompt, ("yes", "no")), real_generator.choose(prompt, ("yes", "no"))
    assert len(kept.state) == 1536 and skipped.state == ()
    # Both read the prompt in one batch; their contexts held different turns before it, hence not to the last digit.
    assert skipped.probabilities["yes"] == pytest.approx(kept.probabilities["yes"], abs=0.05)


def test_a_question_in_a_third_language_is_not_denied(real_core):
    """Asked in Vietnamese how much Microsoft invested in 2019, the model copies from the wrong sentence; the
    reply must not say the article doesn't say it, and its closest sentences hold the amount (8.1)."""
    answer = real_core.ask("Microsoft đã đầu tư bao nhiêu vào OpenAI vào năm 2019?")
    assert answer.kind is not ReplyKind.NOT_IN_ARTICLE
    if answer.kind is ReplyKind.CLOSEST:
        assert "8.1" in [c.id for c in answer.citations]
    else:
        assert "miliar" in answer.text and answer.citations[0].id == "8.1"
