"""A copied answer that only repeats the question: what is left to copy, and the second try."""

import pytest

from bot.core.echo import around
from bot.core.grammar import span_answer_grammar
from bot.core.refusals import CLOSEST
from bot.core.results import ReplyKind
from tests.fakes import copied_reply


@pytest.mark.parametrize(
    "sentence, run, parts",
    [
        (
            "GPS atau Global Positioning System adalah sistem navigasi.",
            "GPS",
            ["atau Global Positioning System adalah sistem navigasi."],
        ),
        ("Sistem navigasi (GPS) dipakai luas.", "GPS", ["Sistem navigasi", "dipakai luas."]),  # cut inside "(GPS)"
        (
            "Kabupaten Subang terletak di Jawa Barat, dekat Subang lama.",
            "subang",
            ["Kabupaten", "terletak di Jawa Barat, dekat", "lama."],
        ),
        ("Tidak ada di sini.", "GPS", []),
        ("GPS", "GPS", []),
        ("GPS  dan   satelit", "GPS", ["dan satelit"]),  # spacing as the sentence is copied
    ],
)
def test_around_keeps_the_whole_words_beside_every_occurrence(sentence, run, parts):
    assert around(sentence, run) == parts


def test_an_answer_that_repeats_the_question_is_copied_again_from_around_those_words(
    fake_core, fake_generator, seed_article
):
    question = "Kapan Microsoft dan OpenAI memulai kolaborasi mereka?"
    fake_generator.enqueue(
        copied_reply("Microsoft dan OpenAI memulai kolaborasi mereka"), copied_reply("pada tahun 2019,")
    )
    answer = fake_core.ask(question)
    assert not answer.refused and answer.text == "pada tahun 2019"
    assert [c.id for c in answer.citations] == ["8.1"]
    first, second = fake_generator.history
    assert second[0] == first[0]  # the same prompt again: only the reply's tokens are new
    sentence = seed_article.sentence("8.1").text
    assert second[1] == span_answer_grammar(around(sentence, "Microsoft dan OpenAI memulai kolaborasi mereka"))
    assert "memulai kolaborasi" not in second[1]


def test_without_a_new_answer_the_echo_is_refused_as_before(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("Microsoft dan OpenAI memulai kolaborasi mereka"), copied_reply("NONE"))
    answer = fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert answer.kind is ReplyKind.CLOSEST and answer.text == CLOSEST["id"]
    assert answer.support.unsupported == "the answer only repeats the question"
    assert len(fake_generator.history) == 2 and not fake_generator.asked


def test_an_answer_with_words_of_its_own_is_not_copied_again(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("pada tahun 2019"))
    fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert len(fake_generator.history) == 1
