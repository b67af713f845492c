"""bot/core/spans.py: one trimming for copied answers and bullets, and where a sentence may be cut."""

import pytest

from bot.core.spans import clause_ends, tidy_span, without_asides


@pytest.mark.parametrize(
    ("span", "tidy"),
    [
        ("(Panthera tigris", "Panthera tigris"),
        ("Panthera tigris),", "Panthera tigris"),
        ("(Panthera tigris)", "Panthera tigris"),
        ("tahun 2019.", "tahun 2019"),
        ('"Tim ahli dari Makassar', "Tim ahli dari Makassar"),
        (",.", ",."),  # nothing would be left: the run as it was
    ],
)
def test_an_answers_run_loses_trailing_marks_and_lone_halves_of_pairs(span, tidy):
    assert tidy_span(span) == tidy


def test_a_bullets_run_loses_marks_at_both_edges_but_keeps_its_full_stop():
    edges = ",;:-–—/|"
    assert tidy_span("-- Pelatih fisik timnas Portugal,", edges=edges, leading=True) == "Pelatih fisik timnas Portugal"
    assert tidy_span("(SKD) mulai Senin (2/10).", edges=edges + ".", leading=True, keep_full_stop=True) == (
        "(SKD) mulai Senin (2/10)."
    )
    assert tidy_span('Makassar tiga orang,"', edges=edges, leading=True) == "Makassar tiga orang"
    assert tidy_span("tahun 2019.", edges=",;:.") == "tahun 2019"  # the answer's way: the stop goes


def test_a_sentence_may_be_cut_before_a_clause_but_not_inside_a_list_or_after_a_function_word():
    clause = "Perbedaan soal AI, kontrol produk, dan sumber daya mengadu domba kedua pihak"
    text = clause + ", sehingga membahayakan aliansi."
    assert [text[:e] for e in clause_ends(text)] == [clause]  # not at ", kontrol" nor ", dan" (a list)
    assert clause_ends("Ia datang dari, yang jauh itu.") == []  # "dari" cannot end a phrase
    assert clause_ends("Skor bertahan; Persipura menang.") == [len("Skor bertahan")]  # a semicolon always ends one
    assert clause_ends("Kata Budi -- Pemerintah datang.") == [len("Kata Budi")]
    assert clause_ends("Mereka yang akan me - manage Sipral Ventures, skor 2 - 0.") == []  # hyphens, not dashes


def test_a_relative_aside_between_commas_is_taken_out_when_the_predicate_follows():
    text = "Kemitraan OpenAI dan Microsoft, yang pernah dipuji, berada di ambang titik kritis."
    assert without_asides(text) == "Kemitraan OpenAI dan Microsoft berada di ambang titik kritis."
    kept = "Ia bertemu Budi, yang datang dari Bandung, Kamis."  # the comma closes a date, not an aside
    assert without_asides(kept) == kept
