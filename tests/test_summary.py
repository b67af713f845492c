import json
import logging

import numpy as np
import pytest

from bot.core.prompts import ArticlePrompt
from bot.core.summary import (
    CACHE_FORMAT,
    MAX_BULLET_CHARS,
    Summariser,
    bullet_count,
    choose,
    clause_bullet,
    is_prose,
    is_whole_sentence,
    key_words,
    ordinals,
    parse_lines,
    round_trip_reason,
    scaled_amounts,
)
from evaluation.keyfacts import Shown, cut_reason, lead3, load_keyfacts, recall
from tests.fakes import FakeGenerator, make_article


def lines(texts) -> str:
    """A numbered reply, as the grammar makes the model write it."""
    return "\n".join(f"{n}. {t}" for n, t in enumerate(texts, 1))


LONG = (
    "Secara spesifik, sumber-sumber mengindikasikan bahwa perbedaan pendapat yang mendalam mengenai masa depan AI, "
    "kontrol produk, dan sumber daya komputasi sedang mengadu domba kedua pihak, sehingga membahayakan salah satu "
    "aliansi strategis terpenting di dunia teknologi."
)
ASIDE = (
    "Menurut WSJ, kemitraan tingkat tinggi antara OpenAI dan Microsoft, yang pernah dipuji sebagai salah satu "
    "kolaborasi paling sukses dalam sejarah teknologi dan menjadi contoh bagi banyak perusahaan lain di seluruh dunia, "
    "berada di ambang titik kritis."
)


def _sentence(text):
    return make_article(((text,),)).sentences[0]


def test_a_sentence_that_fits_is_its_own_bullet_and_the_lede_loses_its_dateline():
    lede = "Jakarta, CNN Indonesia -- Pelatih fisik timnas Portugal yakin Ronaldo bisa bermain hingga usia 41 tahun."
    assert clause_bullet(_sentence(lede), lede=True) == lede.split(" -- ", 1)[1]
    assert clause_bullet(_sentence(lede), lede=False) == lede  # only the lede has a dateline


def test_a_long_sentence_is_cut_only_where_a_clause_ends():
    assert len(LONG) > MAX_BULLET_CHARS
    bullet = clause_bullet(_sentence(LONG))
    # Not at ", kontrol" or ", dan sumber" (a list), but before ", sehingga": subject, verb and object kept.
    assert bullet == LONG.split(", sehingga")[0]
    assert cut_reason(bullet, [LONG]) is None


def test_a_long_sentence_loses_its_relative_aside_before_it_is_cut():
    assert len(ASIDE) > MAX_BULLET_CHARS
    bullet = clause_bullet(_sentence(ASIDE))
    assert bullet == "Menurut WSJ, kemitraan tingkat tinggi antara OpenAI dan Microsoft berada di ambang titik kritis."
    assert cut_reason(bullet) is None


def test_no_bullet_from_a_short_line_a_table_row_or_a_sentence_with_no_clause_end_that_fits():
    assert clause_bullet(_sentence("(res)")) is None
    assert clause_bullet(_sentence("Pelatih: Milomir Seslija")) is None
    row = "Persiba (4 - 5 - 1): 23 - Yoewanto Stya Beny; 4 - Ardhi Yuniar, 5 - Absor Fauzi, 6 - Alfath Faathier"
    assert not is_prose(row) and clause_bullet(_sentence(row)) is None
    assert clause_bullet(_sentence(" ".join(["kemitraan"] * 40))) is None


def test_every_bullet_of_the_seed_is_a_whole_clause(seed_article):
    for i, s in enumerate(seed_article.sentences):
        bullet = clause_bullet(s, lede=i == 0)
        if bullet:
            assert len(bullet) <= MAX_BULLET_CHARS
            assert cut_reason(bullet, [s.text]) is None, (bullet, cut_reason(bullet, [s.text]))


def test_choice_starts_with_the_lede_and_prefers_what_adds_names_and_numbers():
    texts = [
        "Banjir merendam ratusan rumah di Jakarta pada Senin.",
        "Banjir merendam banyak rumah warga di Jakarta.",  # the lede again
        "Gubernur Anies Baswedan mengirim 300 petugas dan 12 perahu pada 2019.",
        "Warga berharap banjir cepat surut.",
    ]
    v = np.array([[1, 0, 0], [0.99, 0.14, 0], [0.6, 0.8, 0], [0.8, 0.6, 0]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert choose(texts, v, 2) == [0, 2]
    assert choose([None, *texts[1:]], v, 1) == [1]  # no bullet from the lede: the first that gives one
    assert len(set(choose(texts, v, 4))) == 4
    assert [bullet_count(n) for n in (5, 17, 40)] == [3, 4, 5]


def test_a_summary_in_the_articles_language_needs_no_model_and_reaches_past_the_lead(
    fake_core, fake_generator, seed_article
):
    summary = fake_core.summary("id")
    assert not fake_generator.history and not fake_generator.asked
    ids = [b.citations[0].id for b in summary.bullets]
    assert len(ids) == bullet_count(len(seed_article.sentences))
    assert ids[0] == "1.1" and ids == sorted(ids, key=lambda i: tuple(map(int, i.split("."))))
    positions = [seed_article.sentences.index(seed_article.sentence(i)) for i in ids]
    assert max(positions) > len(ids)  # not just the opening sentences
    for b in summary.bullets:
        sentence = seed_article.sentence(b.citations[0].id).text
        assert b.citations[0].text == sentence
        assert cut_reason(b.text, [sentence]) is None
    facts = load_keyfacts()["seed"]
    shown = [Shown(b.text, (b.citations[0].text,)) for b in summary.bullets]
    assert recall(facts, shown) > recall(facts, lead3([s.text for s in seed_article.sentences]))


# Not ordinals: a translation that names a rank its sentence lacks fails the claim check.
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")
# The seed's sentence 3.1 says OpenAI wants to loosen Microsoft's control; the 1.5B model translates it as the
# reverse, and translated back, its reverse says "mengambil" (take) where the clause says "melonggarkan".
REVERSED = "OpenAI, the startup behind ChatGPT, wants to take control of Microsoft's AI products and technology."
REVERSED_BACK = "OpenAI, startup di balik ChatGPT, ingin mengambil kontrol atas produk AI dan teknologi Microsoft."


def _chosen(fake_core) -> tuple[list[str | None], int, list[int], list[str]]:
    clauses = fake_core.summariser.clauses()
    count = bullet_count(len(clauses))
    order = choose(clauses, fake_core.summariser.vectors, count)
    return clauses, count, order, [fake_core.article.sentences[i].id for i in order]


def _back(texts: list[str]) -> str:
    """A reply of the round trip: each text translated back, numbered in the order they were sent."""
    return lines(texts)


def test_in_another_language_each_chosen_clause_is_translated_there_and_back_and_checked(fake_core, fake_generator):
    clauses, count, order, ids = _chosen(fake_core)
    assert len(order) == count
    texts = {i: f"The article says something {WORDS[n]}." for n, i in enumerate(ids)}
    # Translated back, each gives its clause again: the round trip holds.
    fake_generator.enqueue(lines(texts.values()), _back([clauses[i] for i in order]))
    summary = fake_core.summary("en")
    # Two calls, there and back, every clause in each.
    (there, _, _), (back, _, _) = fake_generator.history
    assert "English" in there.user and "Indonesian" in back.user
    assert all(f"{n}. {clauses[i]}" in there.user for n, i in enumerate(order, 1))
    # Translated back numbered, not under their ids, so the model reads the text rather than looking it up.
    assert all(f"{n}. {t}" in back.user for n, t in enumerate(texts.values(), 1)) and "[3.1]" not in back.user
    # Translated back without the article (with it, the model gives back the article's sentence, not the
    # translation's), and the article's prefix warmed again for the next question.
    assert there.system == fake_core.prompt.system and clauses[order[1]] not in back.system
    assert fake_generator.warmed[-1] == fake_core.prompt.system
    # Every one passes: each is shown, in the article's order.
    assert [b.citations[0].id for b in summary.bullets] == [fake_core.article.sentences[i].id for i in sorted(order)]
    assert [b.text for b in summary.bullets] == [texts[fake_core.article.sentences[i].id] for i in sorted(order)]
    assert not any(b.untranslated for b in summary.bullets)
    # The model is asked only of a clause the round trip had no verb to compare in.
    assert len(fake_generator.asked) == len([i for i in order if not key_words(clauses[i], "id")])


def test_a_clause_with_no_verb_to_compare_is_put_to_the_model_and_dropped_when_it_doubts():
    article = make_article(
        (
            ("Harga emas Antam naik Rp 5.000 menjadi Rp 600.000 per gram pada Senin pagi.",),
            ("Pedagang di Pasar Baru berharap harga emas segera turun lagi minggu ini.",),
            ("Permintaan emas tetap tinggi pada akhir tahun di banyak kota besar.",),
        )
    )
    assert not any(key_words(s.text, "id") for s in article.sentences)  # "naik", "berharap": no me-/di- verb
    generator = FakeGenerator(default_yes=0.9)
    texts = [
        "Antam gold rose by Rp 5.000 to Rp 600.000 per gram in the morning.",
        "Traders at Pasar Baru hope that gold prices fall again this week.",
        "Demand for gold stays high at the end of the year in many big cities.",
    ]
    generator.enqueue(lines(texts), lines([s.text for s in article.sentences])).enqueue_yes(0.3)  # the first doubted
    vectors = np.eye(len(article.sentences), dtype=np.float32)
    summary = Summariser(article, vectors, generator, ArticlePrompt(system="s", inlined=True)).summary("en")
    assert len(generator.asked) == 3  # each came back whole, but the round trip had no verb to compare
    doubted = generator.asked[0][0].user.split("Summary point: ")[1].splitlines()[0]
    assert doubted in texts and doubted not in [b.text for b in summary.bullets]
    # Its place is taken by its own clause, in the article's words and flagged: true by construction. The flag
    # is data, not words in the text: each adapter marks it in the reader's language.
    assert [b.text for b in summary.bullets][0] == article.sentences[0].text
    assert [b.text for b in summary.bullets][1:] == texts[1:]
    assert [b.untranslated for b in summary.bullets] == [True, False, False]


MADE_UP_NUMBER = "Microsoft invested $7 billion in OpenAI."
CUT = "The partnership between the two companies is"
FIRST = [MADE_UP_NUMBER, REVERSED, CUT, "The article says something delta."]


def _three_failed(summary, clauses, count, order, generator) -> None:
    shown = [b.text for b in summary.bullets]
    assert not {REVERSED, MADE_UP_NUMBER, CUT} & set(shown)
    # Three failed: their clauses are shown in the article's words, flagged; never a failed translation.
    filled = [clauses[i] for i in order[:3]]
    assert sorted(shown) == sorted([FIRST[3], *filled])
    assert [b.text for b in summary.bullets if b.untranslated] == filled
    assert len(summary.bullets) == count
    # The reversal was never put to the model: the round trip had its verb to compare.
    assert not any(f"Summary point: {REVERSED}" in prompt.user for prompt, _ in generator.asked)


def test_a_reversed_translation_the_model_agrees_with_is_never_shown_its_sentence_is(fake_core, fake_generator):
    clauses, count, order, ids = _chosen(fake_core)
    assert ids[1] == "3.1" and "melonggarkan kendali Microsoft" in clauses[order[1]]
    fake_generator.enqueue(
        lines(FIRST),
        # Only those that pass the checks in code go round: the reversal and the fourth.
        _back([REVERSED_BACK, clauses[order[3]]]),
    )
    # The model agrees with every bullet, the reversal too (P(yes) 0.9, as the real one does).
    fake_generator.default_yes = 0.9
    summary = fake_core.summary("en")
    _three_failed(summary, clauses, count, order, fake_generator)
    assert len(fake_generator.history) == 2


def test_the_round_trip_finds_a_turned_verb_a_gained_negation_and_keeps_a_faithful_one(seed_article):
    clause = seed_article.sentence("3.1").text
    assert key_words(clause, "id") == ["melonggarkan"]
    assert "melonggarkan" in round_trip_reason(REVERSED_BACK, clause, "id")
    faithful = "OpenAI ingin melonggarkan kontrol Microsoft atas produk AI dan sumber daya komputasinya."
    assert round_trip_reason(faithful, clause, "id") is None
    assert "negations" in round_trip_reason(faithful.replace("ingin", "tidak ingin"), clause, "id")
    started = seed_article.sentence("8.1").text  # "memulai ... menginvestasikan": a stem comes back as well
    faithful = "Microsoft dan OpenAI mulai bekerja sama pada 2019, saat raksasa itu menginvestasikan $1 miliar."
    assert round_trip_reason(faithful, started, "id") is None
    # The model's "when the startup invested $1 billion in Microsoft" (seen once), translated back: one
    # Microsoft more than the sentence has, where the investor became the one invested in.
    turned = (
        "Microsoft dan OpenAI memulai kolaborasi pada 2019, ketika startup itu menginvestasikan $1 miliar di Microsoft."
    )
    assert "names in another order" in round_trip_reason(turned, started, "id")
    assert round_trip_reason(faithful.replace("mulai", "tak mulai"), started, "id").startswith("negations")
    # An article in English: its words, not its verbs, must come back (its verbs carry no mark).
    english = "Microsoft has the exclusive right to sell OpenAI's software through Azure."
    assert (
        round_trip_reason("Microsoft has the exclusive right to sell OpenAI software via Azure.", english, "en") is None
    )
    assert "lost" in round_trip_reason("Microsoft lost its privilege of buying OpenAI's code.", english, "en")
    assert "negations" in round_trip_reason("Microsoft doesn't have the right to sell it.", english, "en")


def test_a_translated_bullet_must_end_as_a_sentence():
    assert is_whole_sentence("OpenAI wants to go public.") and is_whole_sentence('He said "no."')
    assert not is_whole_sentence("The partnership between the two companies is")


def test_summary_is_cached_per_language_in_memory_and_on_disk(fake_core, fake_generator, tmp_path):
    fake_generator.enqueue("")  # nothing translated
    first = fake_core.summary("id")
    assert fake_core.summary("id") == first
    fake_core.summary("en")
    assert len(fake_generator.history) == 1 and "English" in fake_generator.history[0][0].user
    restarted = _summariser(fake_core, fake_generator, tmp_path)  # a new process: nothing in memory
    assert restarted.summary("en") == fake_core.summary("en")  # from disk, no model call, flags and all
    assert len(fake_generator.history) == 1
    assert fake_core.summary("en").bullets and all(b.untranslated for b in restarted.summary("en").bullets)


def _summariser(core, generator, tmp_path) -> Summariser:
    vectors = np.eye(len(core.article.sentences), dtype=np.float32)
    return Summariser(core.article, vectors, generator, core.prompt, cache_dir=tmp_path / "summaries")


def test_a_summary_cache_of_another_format_is_regenerated(fake_core, fake_generator, tmp_path, caplog):
    fake_generator.enqueue("", "")
    fake_core.summary("en")
    (cached,) = (tmp_path / "summaries").iterdir()
    data = json.loads(cached.read_text(encoding="utf-8"))
    assert data["format"] == CACHE_FORMAT
    cached.write_text(json.dumps({**data, "format": "kutip-summary v5"}), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="bot.core.summary"):
        _summariser(fake_core, fake_generator, tmp_path).summary("en")
    assert len(fake_generator.history) == 2  # made again, not misread
    assert "regenerating summary" in caplog.text


def test_a_v7_cache_with_its_mark_in_the_text_is_made_again_not_read_as_the_flag(fake_core, fake_generator, tmp_path):
    fake_generator.enqueue("", "")  # nothing translated, twice: every bullet is left untranslated
    made = _summariser(fake_core, fake_generator, tmp_path).summary("en")
    (cached,) = (tmp_path / "summaries").iterdir()
    data = json.loads(cached.read_text(encoding="utf-8"))
    assert data["format"] == "kutip-summary v8" and all(b["untranslated"] is True for b in data["bullets"])
    # The file as v7 wrote it: the mark in the text, no flag. Read as v8 it would be a translated bullet
    # reading "(untranslated) ...", marked a second time by the adapter.
    old = {
        **data,
        "format": "kutip-summary v7",
        "bullets": [{"text": f"(untranslated) {b['text']}", "citations": b["citations"]} for b in data["bullets"]],
    }
    cached.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    again = _summariser(fake_core, fake_generator, tmp_path).summary("en")
    assert len(fake_generator.history) == 2  # made again
    assert again == made and not any("(untranslated)" in b.text for b in again.bullets)
    assert json.loads(cached.read_text(encoding="utf-8"))["format"] == "kutip-summary v8"  # and saved anew
    # A file that names the new format but lacks the flag is not guessed at either.
    cached.write_text(json.dumps({**data, "bullets": old["bullets"], "format": CACHE_FORMAT}), encoding="utf-8")
    fake_generator.enqueue("")
    assert _summariser(fake_core, fake_generator, tmp_path).summary("en") == made
    assert len(fake_generator.history) == 3


def test_a_summary_reply_cut_by_the_token_limit_keeps_its_finished_lines():
    cut = "1. Kemitraan di ambang titik kritis.\n2. OpenAI ingin IPO dan"
    assert parse_lines(cut) == {1: "Kemitraan di ambang titik kritis.", 2: "OpenAI ingin IPO dan"}
    assert not is_whole_sentence(parse_lines(cut)[2])  # so the check leaves it out
    assert parse_lines("garbage") == {}


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_summary_of_an_article_with_no_prose_is_empty_not_an_error(language):
    article = make_article((("(res)",), ("HASIL: 2 - 0",)))
    generator = FakeGenerator(["", ""])
    vectors = np.eye(len(article.sentences), dtype=np.float32)
    summary = Summariser(article, vectors, generator, ArticlePrompt(system="s", inlined=True)).summary(language)
    assert summary.bullets == ()


def test_an_amount_at_another_scale_is_not_the_sentences():
    assert scaled_amounts("investasi $1 miliar dan Rp 4,55 triliun") == {("1", 9), ("455", 12)}
    assert scaled_amounts("$1 billion") <= scaled_amounts("$1 miliar")
    assert not scaled_amounts("$1 million") <= scaled_amounts("$1 miliar")


def test_a_translation_that_swaps_who_does_what_or_scales_a_number_is_not_shown(fake_core, fake_generator):
    clauses, count, order, ids = _chosen(fake_core)  # 1.1, 3.1, 8.1, ...
    swapped = "Microsoft, the startup behind ChatGPT, wants to loosen OpenAI's control over its AI products."
    swapped_back = "Microsoft, perusahaan rintisan di balik ChatGPT, ingin melonggarkan kendali OpenAI atas produk AI."
    million = "Microsoft and OpenAI began in 2019, when Microsoft invested $1 million in the startup."
    texts = {i: f"The article says something {WORDS[n]}." for n, i in enumerate(ids)}
    texts[ids[1]], texts[ids[2]] = swapped, million
    fake_generator.enqueue(
        lines(texts[i] for i in ids),
        # $1 million never goes round; the swap comes back with its verb, but its names turned round.
        _back([clauses[order[0]], swapped_back, *(clauses[i] for i in order[3:])]),
    )
    fake_generator.default_yes = 0.9  # the model agrees with both, as the real one does
    summary = fake_core.summary("en")
    shown = [b.text for b in summary.bullets]
    assert swapped not in shown and million not in shown and len(shown) == count
    assert not any(swapped in prompt.user or million in prompt.user for prompt, _ in fake_generator.asked)
    assert "names in another order" in round_trip_reason(swapped_back, clauses[order[1]], "id")


def test_a_translation_that_names_another_rank_or_place_is_not_the_sentences(fake_core):
    # Both seen in English summaries of the key-fact set: every name and verb in place, the ranks turned.
    practice = _sentence(
        "Marc Marquez (Repsol Honda) dan Johann Zarco (Yamaha Tech3) menyelesaikan sesi dengan berada di "
        "urutan kedua dan ketiga tercepat."
    )
    champion = _sentence(
        "Pemain yang menjadi unggulan ketiga ini naik ke podium kampiun setelah mengalahkan Lee Chong Wei "
        "(Malaysia) melalui rubber game."
    )
    check = fake_core.summariser.text_reason
    assert "ordinals" in check(
        "Marc Marquez (Repsol Honda) and Johann Zarco (Yamaha Tech3) finished first and second in the session.",
        practice,
    )
    assert (
        check("Marc Marquez (Repsol Honda) and Johann Zarco (Yamaha Tech3) were second and third fastest.", practice)
        is None
    )
    assert "ordinals" in check(
        "The third player to reach the podium after defeating Lee Chong Wei (Malaysia) is now in third place.", champion
    )
    assert (
        check("The third seed reached the top of the podium after beating Lee Chong Wei (Malaysia).", champion) is None
    )
    assert ordinals("ke-3, 21st, kedua dan Kedua") == {3: 1, 21: 1, 2: 2}
