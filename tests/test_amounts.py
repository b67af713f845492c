"""A copied amount keeps its currency and the noun the question counts, and nothing else."""

import json

import pytest

from bot.core.amounts import with_unit

SENTENCE = "Hingga kini tercatat 84 penumpang selamat, dengan kerugian Rp 3,717 miliar bagi maskapai."


@pytest.mark.parametrize(
    ("answer", "question", "expected"),
    [
        ("84", "Berapa penumpang yang selamat?", "84 penumpang"),
        ("84", "Berapakah penumpang yang selamat?", "84 penumpang"),
        ("3,717 miliar", "Berapa kerugian maskapai?", "Rp 3,717 miliar"),
        # The question counts something else, or nothing: the number stays bare.
        ("84", "Berapa jumlah korban?", "84"),
        ("84", "Siapa yang selamat?", "84"),
        # Not an amount at its end: nothing is added after it.
        ("tercatat", "Berapa penumpang yang selamat?", "tercatat"),
        # A run that is not in the sentence is left as it is.
        ("85", "Berapa penumpang yang selamat?", "85"),
    ],
)
def test_an_amount_gets_its_currency_and_counted_noun_from_its_own_sentence(answer, question, expected):
    assert with_unit(answer, SENTENCE, question) == expected


def test_the_counted_noun_is_not_taken_across_a_comma_and_english_counts_too():
    assert with_unit("12", "Ada 12, penumpang lain pulang.", "Berapa penumpang?") == "12"
    assert with_unit("11", "He scored 11 points in the final.", "How many points did he score?") == "11 points"
    assert with_unit("$1 miliar", "Ia menginvestasikan $1 miliar di sana.", "Berapa dana?") == "$1 miliar"


def test_the_core_answers_with_the_counted_noun_its_quote_has(fake_core, fake_generator, seed_article):
    # Sentence 8.1: "... menginvestasikan $1 miliar di perusahaan rintisan tersebut."
    fake_generator.enqueue(json.dumps({"answer": "$1"}))
    answer = fake_core.ask("Berapa miliar dolar yang diinvestasikan Microsoft di OpenAI pada tahun 2019?")
    assert [c.id for c in answer.citations] == ["8.1"]
    assert answer.text == "$1 miliar" and answer.text in answer.citations[0].text
