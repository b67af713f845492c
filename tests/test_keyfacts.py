"""The key-fact yardstick: its data, and each rule of its scorer (evaluation/keyfacts.py)."""

import json

import pytest

from evaluation.keyfacts import (
    INDOSUM,
    KEYFACTS,
    SEED,
    KeyFact,
    Shown,
    cut_reason,
    found,
    lead3,
    load_keyfacts,
    recall,
    score,
    summarise_rows,
    unsupported_reason,
)

# The shipped article's opening sentences, as the index splits them.
S2 = (
    "Menurut WSJ , kemitraan tingkat tinggi antara OpenAI dan Microsoft, yang pernah dipuji sebagai salah satu "
    "kolaborasi paling sukses dalam sejarah teknologi, berada di ambang titik kritis."
)
S4 = (
    "Tujuan terbesarnya adalah untuk bertransformasi menjadi perusahaan yang menguntungkan dan melakukan "
    "penawaran saham perdana (IPO), sebuah langkah penting dalam mengumpulkan modal tambahan dan meningkatkan "
    "skala bisnis."
)
S9 = (
    "Microsoft dan OpenAI memulai kolaborasi mereka pada tahun 2019, ketika raksasa perangkat lunak itu "
    "menginvestasikan $1 miliar di perusahaan rintisan tersebut."
)


def test_the_set_has_31_articles_of_5_to_8_facts_whose_evidence_is_in_the_article():
    from evaluation.dataset import article_of, load_docs

    facts = load_keyfacts()
    docs = {d.id: d for d in load_docs(SEED, "dev")}
    if (INDOSUM / "docs.jsonl").is_file():
        docs |= {d.id: d for d in load_docs(INDOSUM, "dev")}
    assert len(facts) >= 31 and "seed" in facts
    for doc_id, article_facts in facts.items():
        assert 5 <= len(article_facts) <= 8, doc_id
        if doc_id not in docs:
            continue  # the shared bench is not on this machine
        text = [s.text for s in article_of(docs[doc_id]).sentences]
        for fact in article_facts:
            assert recall([fact], [Shown(" ", tuple(text))]) == 1.0, (doc_id, fact)


def test_load_refuses_another_format(tmp_path):
    path = tmp_path / "k.jsonl"
    path.write_text('{"format": "kutip-keyfacts v0"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="format"):
        load_keyfacts(path)
    assert load_keyfacts(KEYFACTS)  # the shipped file passes


def test_load_reads_alternatives_as_tuples(tmp_path):
    path = tmp_path / "k.jsonl"
    row = {"id": "a", "facts": [{"fact": "f", "evidence": ["x", ["y", "z"]]}]}
    path.write_text('{"format": "kutip-keyfacts v1"}\n' + json.dumps(row) + "\n", encoding="utf-8")
    assert load_keyfacts(path) == {"a": (KeyFact("f", ("x", ("y", "z"))),)}


def test_evidence_is_found_as_whole_words_ignoring_case_and_spacing():
    assert found("2019", "pada tahun 2019.")
    assert not found("2019", "pada tahun 20190")
    assert found("$1 miliar", "menginvestasikan  $1\nmiliar di")
    assert found("IPO", "saham perdana (ipo),")
    assert not found("Azure", "Azurenya")


def test_a_fact_needs_every_item_and_any_one_alternative():
    fact = KeyFact("start", ("2019", ("$1 miliar", "1 billion")))
    assert recall([fact], [Shown("dimulai 2019 dengan 1 billion", ())]) == 1.0
    assert recall([fact], [Shown("dimulai 2019", ())]) == 0.0
    # Items may come from different bullets.
    assert recall([fact], [Shown("2019", ()), Shown("$1 miliar", ())]) == 1.0


def test_recall_counts_the_quote_unless_told_text_only():
    fact = KeyFact("start", ("2019",))
    shown = [Shown("Microsoft dan OpenAI memulai kolaborasi mereka", (S9,))]
    assert recall([fact], shown) == 1.0
    assert recall([fact], shown, with_quotes=False) == 0.0


@pytest.mark.parametrize(
    ("bullet", "cited", "reason"),
    [
        # The cut bullets, from the shipped article.
        ("kemitraan tingkat tinggi antara OpenAI dan Microsoft berada di ambang titik", (), "starts lowercase"),
        ("OpenAI dan Microsoft, yang pernah dipuji sebagai salah satu kolaborasi", (S2,), "inside a clause"),
        ("Menurut WSJ , kemitraan tingkat tinggi antara OpenAI dan Microsoft, yang pernah", (S2,), "stops inside"),
        ("Menurut WSJ , kemitraan tingkat tinggi antara OpenAI dan Microsoft, yang", (S2,), "ends on 'yang'"),
        ("saham perdana (IPO), sebuah langkah penting", (S4,), "starts lowercase"),
        ("Tujuan terbesarnya adalah untuk bertransformasi menjadi perusahaan yang", (S4,), "ends on 'yang'"),
        ("Microsoft akan membuat proyek sehingga", (), "ends on 'sehingga'"),
        ("Tujuan terbesarnya adalah untuk bertransformasi…", (S4,), "ellipsis"),
        # A spaced hyphen inside a word is not a clause mark.
        ("Mereka yang akan me", ("Mereka yang akan me - manage Sipral Ventures secara rutin.",), "stops inside"),
        ("Tujuan terbesarnya adalah untuk bertransformasi menjadi perusahaan", (S4,), "stops inside a clause"),
    ],
)
def test_cut_bullets_are_caught(bullet, cited, reason):
    assert reason in (cut_reason(bullet, cited) or "")


@pytest.mark.parametrize(
    ("bullet", "cited"),
    [
        (S9, (S9,)),  # the whole sentence
        ("Microsoft dan OpenAI memulai kolaborasi mereka pada tahun 2019", (S9,)),  # up to a comma
        ("Microsoft dan OpenAI memulai kolaborasi mereka pada tahun 2019.", (S9,)),  # a full stop added
        ("Microsoft and OpenAI began working together in 2019.", ()),  # restated, whole
        ("OpenAI wants to go public.", ()),
        # A lede copied after its dateline begins where the sentence does.
        ("Seorang pelajar nekat mencuri sepeda motor.", ("Rimanews - Seorang pelajar nekat mencuri sepeda motor.",)),
        ("vibrator ini terbuat lapisan emas.", ("Jakarta, CNN Indonesia -- vibrator ini terbuat lapisan emas.",)),
        # A sentence that opens in lowercase in the article is not cut at its own start.
        ("vibrator ini terbuat lapisan emas 24 karat.", ("vibrator ini terbuat lapisan emas 24 karat.",)),
        # A clause after a comma, starting with a name (Microsoft ...), whole to the end.
        (
            "Microsoft memiliki hak eksklusif untuk menjual perangkat lunak OpenAI melalui layanan cloud Azure",
            (
                "Berdasarkan perjanjian saat ini, Microsoft memiliki hak eksklusif untuk menjual perangkat lunak "
                "OpenAI melalui layanan cloud Azure.",
            ),
        ),
    ],
)
def test_whole_clauses_are_not_cut(bullet, cited):
    assert cut_reason(bullet, cited) is None


def test_a_run_is_supported_and_a_restatement_needs_its_names_and_the_judge():
    assert unsupported_reason("Microsoft dan OpenAI memulai kolaborasi mereka pada tahun 2019", (S9,)) is None
    assert "numbers" in unsupported_reason("Microsoft invested $2 billion in 2019.", (S9,))
    assert "names" in unsupported_reason("In 2019 Google invested $1 billion.", (S9,))
    assert unsupported_reason("Microsoft invested $1 billion in OpenAI in 2019.", (S9,)) is None
    said = []
    judge = lambda bullet, sentence: said.append((bullet, sentence)) or 0.2  # noqa: E731
    assert "judge" in unsupported_reason("OpenAI invested $1 billion in Microsoft in 2019.", (S9,), judge)
    assert said == [("OpenAI invested $1 billion in Microsoft in 2019.", S9)]


def test_score_and_totals_over_articles():
    facts = [KeyFact("start", ("2019",)), KeyFact("money", ("$1 miliar",)), KeyFact("azure", ("Azure",))]
    shown = [Shown("Microsoft dan OpenAI memulai kolaborasi mereka pada tahun 2019", (S9,)), Shown("yang dan", ())]
    row = score(facts, shown)
    assert row["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["recall_text"] == pytest.approx(1 / 3, abs=1e-4)
    assert (row["bullets"], row["cut"]) == (2, 1)
    totals = summarise_rows([row, {**row, "recall": 0.0}])
    assert totals["recall"] == pytest.approx(1 / 3, abs=1e-4) and totals["cut"] == 2 and totals["bullets"] == 4


def test_an_untranslated_bullet_is_read_by_its_flag_not_by_a_mark_in_its_text():
    from bot.core.results import Bullet, Citation
    from tests.fakes import make_article

    sentence = make_article(((S9,),)).sentences[0]
    flagged = Shown.of(Bullet(S9, (Citation.of(sentence),), untranslated=True))
    assert flagged == Shown(S9, (S9,), untranslated=True)
    translated = Shown("Microsoft and OpenAI began working together in 2019.", (S9,))
    row = score([KeyFact("start", ("2019",))], [flagged, translated])
    # The article's words, flagged: a whole run of its sentence, neither cut nor unsupported, counted apart.
    assert (row["bullets"], row["cut"], row["unsupported"], row["untranslated"]) == (2, 0, 0, 1)
    # A mark in the text is not read as the flag: it is words the sentence lacks, which begin mid-phrase.
    assert cut_reason(f"(untranslated) {S9}", (S9,)) is not None
    # Flagged, but not its sentence's words: the reader would take them for the article's.
    made_up = Shown("Microsoft dan OpenAI memulai kolaborasi mereka pada tahun 2020.", (S9,), untranslated=True)
    assert "untranslated" in score([], [made_up])["unsupported_reasons"][made_up.text]
    assert summarise_rows([row, row], "en_")["en_untranslated"] == 2


def test_lead3_shows_the_first_three_sentences_whole():
    shown = lead3(["A satu.", "B dua.", "C tiga.", "D empat."])
    assert [b.text for b in shown] == ["A satu.", "B dua.", "C tiga."]
    assert all(cut_reason(b.text, b.cited) is None for b in shown)


def test_a_saved_run_is_scored_again_from_its_bullets_and_ids():
    from evaluation.keyfacts import rescore

    saved = {
        "metrics": {},
        "lead3": [{"id": "seed"}],
        "rows": [
            {
                "id": "seed",
                "seconds": 1.0,
                "shown": [{"text": "Microsoft dan OpenAI memulai kolaborasi mereka pada tahun 2019", "ids": ["8.1"]}],
                "unsupported_reasons": {"x": "the judge says no (P(yes) 0.10)"},
            }
        ],
    }
    again = rescore(saved)
    (row,) = again["rows"]
    # "2019" and "$1 miliar": the bullet has the year, its quote the sum as well.
    assert row["recall"] == pytest.approx(1 / 8) and row["recall_text"] == 0
    assert row["cut"] == 0 and row["unsupported"] == 1  # the judge's doubt is kept
    assert again["metrics"]["lead3_bullets"] == 3 and again["metrics"]["bullets"] == 1
