"""A copied number or date keeps the words that give it its meaning, from its own sentence, and nothing else."""

import json

import pytest

from bot.core.amounts import complete_amount

SENTENCE = "Hingga kini tercatat 84 penumpang selamat, dengan kerugian Rp 3,717 miliar bagi maskapai."


@pytest.mark.parametrize(
    ("answer", "question", "expected"),
    [
        ("84", "Berapa penumpang yang selamat?", "84 penumpang"),
        ("84", "Berapakah penumpang yang selamat?", "84 penumpang"),
        ("3,717 miliar", "Berapa kerugian maskapai?", "Rp 3,717 miliar"),
        # The noun after the number is not one the question names, nor a unit: the number stays bare.
        ("84", "Berapa jumlah korban?", "84"),
        ("84", "Siapa yang selamat?", "84"),
        # Not an amount at its end: nothing is added after it.
        ("tercatat", "Berapa penumpang yang selamat?", "tercatat"),
        # A run that is not in the sentence is left as it is.
        ("85", "Berapa penumpang yang selamat?", "85"),
    ],
)
def test_an_amount_gets_its_currency_and_counted_noun_from_its_own_sentence(answer, question, expected):
    assert complete_amount(answer, SENTENCE, question) == expected


def test_the_counted_noun_is_not_taken_across_a_comma_and_english_counts_too():
    assert complete_amount("12", "Ada 12, penumpang lain pulang.", "Berapa penumpang?") == "12"
    assert complete_amount("11", "He scored 11 points in the final.", "How many points did he score?") == "11 points"
    assert complete_amount("$1 miliar", "Ia menginvestasikan $1 miliar di sana.", "Berapa dana?") == "$1 miliar"


def test_the_core_answers_with_the_counted_noun_its_quote_has(fake_core, fake_generator, seed_article):
    # Sentence 8.1: "... menginvestasikan $1 miliar di perusahaan rintisan tersebut."
    fake_generator.enqueue(json.dumps({"answer": "$1"}))
    answer = fake_core.ask("Berapa miliar dolar yang diinvestasikan Microsoft di OpenAI pada tahun 2019?")
    assert [c.id for c in answer.citations] == ["8.1"]
    assert answer.text == "$1 miliar" and answer.text in answer.citations[0].text


@pytest.mark.parametrize(
    ("answer", "sentence", "question", "expected"),
    [
        # A bound or estimate changes what the number claims.
        ("20 jenis", "Koleksinya lebih dari 20 jenis katak.", "Berapa jenis katak?", "lebih dari 20 jenis"),
        ("50.000 ekor", "Populasinya masih sekitar 50.000 ekor.", "Berapa populasinya?", "sekitar 50.000 ekor"),
        ("300", "It has at least 300 members.", "How many members?", "at least 300 members"),
        # A unit or classifier says what is counted, even when the question does not name it.
        ("13", "Penyakit ini telah menewaskan 13 orang.", "Berapa korban yang tewas?", "13 orang"),
        ("7", "Ekonomi tumbuh 7 persen tahun ini.", "Berapa pertumbuhan ekonomi?", "7 persen"),
        # The noun the question names, wherever it names it.
        ("253", "Tercatat 253 suku di sana.", "Berapa jumlah suku di Papua?", "253 suku"),
        # A scale word is part of the number.
        ("3,717", "Kerugiannya 3,717 miliar rupiah.", "Berapa kerugiannya?", "3,717 miliar rupiah"),
        # A year keeps its "tahun" and the rest of its date; a starting point stays a starting point.
        ("1982", "Pembantaian itu terjadi tahun 1982.", "Kapan pembantaian terjadi?", "tahun 1982"),
        ("656", "Kaisar Zhongzong (26 November 656 – 3 Juli 710) memerintah.", "Kapan ia lahir?", "26 November 656"),
        ("14 Juli", "Hari itu dirayakan tanggal 14 Juli 1789.", "Kapan hari itu?", "14 Juli 1789"),
        ("1990", "Perjuangan itu berawal sejak tahun 1990.", "Mulai tahun berapa?", "sejak tahun 1990"),
    ],
)
def test_a_number_keeps_its_bound_unit_scale_and_date(answer, sentence, question, expected):
    completed = complete_amount(answer, sentence, question)
    assert completed == expected
    assert completed in sentence


@pytest.mark.parametrize(
    ("answer", "sentence", "question"),
    [
        # Nothing is taken across punctuation.
        ("1969", "Pada 1969, tahun itu, semua berubah.", "Kapan?"),
        ("16", "Harga naik (sekitar) 16, lalu turun.", "Berapa kenaikan?"),
        # A function word the question happens to use is not what the number counts.
        ("Rp 800 triliun", "Anggarannya Rp 800 triliun per tahun anggaran.", "Berapa anggaran per tahun?"),
        # An answer without a number or month is left alone, even beside a bound.
        ("katak pohon", "Ada lebih dari katak pohon di sana.", "Apa yang ada?"),
    ],
)
def test_nothing_else_is_added(answer, sentence, question):
    assert complete_amount(answer, sentence, question) == answer
