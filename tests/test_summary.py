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
    parse_bullets,
    scaled_amounts,
    swapped_names,
)
from evaluation.keyfacts import Shown, cut_reason, lead3, load_keyfacts, recall
from tests.fakes import FakeGenerator, make_article


def bullets(pairs):
    return json.dumps([{"id": i, "text": t} for i, t in pairs], ensure_ascii=False)


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


WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _translating(fake_core, fake_generator, texts: dict[str, str], *yes: float):
    fake_generator.enqueue(bullets(list(texts.items()))).enqueue_yes(*yes)
    return fake_core.summary("en")


def test_in_another_language_each_chosen_clause_is_translated_and_checked(fake_core, fake_generator):
    clauses = fake_core.summariser.clauses()
    order = choose(clauses, fake_core.summariser.vectors, bullet_count(len(clauses)) + 2)
    ids = [fake_core.article.sentences[i].id for i in order]
    texts = {i: f"The article says something {WORDS[n]}." for n, i in enumerate(ids)}
    summary = _translating(fake_core, fake_generator, texts, *[0.9] * len(ids))
    prompt, grammar, _ = fake_generator.history[0]
    assert "English" in prompt.user
    assert all(f"[{fake_core.article.sentences[i].id}] {clauses[i]}" in prompt.user for i in order)
    kept = [b.citations[0].id for b in summary.bullets]
    assert len(kept) == bullet_count(len(clauses)) and set(kept) == set(ids[: len(kept)])  # the spares unused
    assert len(fake_generator.asked) == len(kept)  # each shown bullet was checked


def test_a_translation_that_fails_the_claim_check_is_replaced_by_a_spare_never_shown(fake_core, fake_generator):
    clauses = fake_core.summariser.clauses()
    count = bullet_count(len(clauses))
    order = choose(clauses, fake_core.summariser.vectors, count + 2)
    ids = [fake_core.article.sentences[i].id for i in order]
    reversed_ = "OpenAI wants to take control of Microsoft's AI and computing resources."
    made_up_number = "Microsoft invested $7 billion in OpenAI."
    cut = "The partnership between the two companies is"
    texts = {i: f"The article says something {WORDS[n]}." for n, i in enumerate(ids)}
    texts[ids[0]], texts[ids[1]], texts[ids[2]] = made_up_number, reversed_, cut
    # The reversed bullet is doubted (0.6 is below the answer's 0.65); the number and the cut never reach the model.
    summary = _translating(fake_core, fake_generator, texts, 0.6, *[0.9] * len(ids))
    shown = [b.text for b in summary.bullets]
    assert not {reversed_, made_up_number, cut} & set(shown)
    assert len(shown) == count - 1  # three failed, two spares: one short, never filled with a failed one
    check, _ = fake_generator.asked[0]
    assert f"Summary point: {reversed_}" in check.user


def test_a_translated_bullet_must_end_as_a_sentence():
    assert is_whole_sentence("OpenAI wants to go public.") and is_whole_sentence('He said "no."')
    assert not is_whole_sentence("The partnership between the two companies is")


def test_summary_is_cached_per_language_in_memory_and_on_disk(fake_core, fake_generator, tmp_path):
    fake_generator.enqueue("[]")
    first = fake_core.summary("id")
    assert fake_core.summary("id") == first
    fake_core.summary("en")
    assert len(fake_generator.history) == 1 and "English" in fake_generator.history[0][0].user
    restarted = _summariser(fake_core, fake_generator, tmp_path)  # a new process: nothing in memory
    assert restarted.summary("en") == fake_core.summary("en")  # from disk, no model call
    assert len(fake_generator.history) == 1


def _summariser(core, generator, tmp_path) -> Summariser:
    vectors = np.eye(len(core.article.sentences), dtype=np.float32)
    return Summariser(core.article, vectors, generator, core.prompt, cache_dir=tmp_path / "summaries")


def test_a_summary_cache_of_another_format_is_regenerated(fake_core, fake_generator, tmp_path, caplog):
    fake_generator.enqueue("[]", "[]")
    fake_core.summary("en")
    (cached,) = (tmp_path / "summaries").iterdir()
    data = json.loads(cached.read_text(encoding="utf-8"))
    assert data["format"] == CACHE_FORMAT
    cached.write_text(json.dumps({**data, "format": "kutip-summary v4"}), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="bot.core.summary"):
        _summariser(fake_core, fake_generator, tmp_path).summary("en")
    assert len(fake_generator.history) == 2  # made again, not misread
    assert "regenerating summary" in caplog.text


def test_a_summary_reply_cut_by_the_token_limit_keeps_its_finished_bullets():
    cut = '[{"id": "1.1", "text": "Kemitraan di ambang titik kritis."}, {"id": "3.2", "text": "OpenAI ingin IPO dan'
    assert parse_bullets(cut) == {"1.1": "Kemitraan di ambang titik kritis."}
    assert parse_bullets("garbage") == {}
    quoted = '"Tim ahli dari Makassar tiga orang," kata Alpius'
    assert parse_bullets(bullets([("2.3", quoted)])) == {"2.3": quoted}


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_summary_of_an_article_with_no_prose_is_empty_not_an_error(language):
    article = make_article((("(res)",), ("HASIL: 2 - 0",)))
    generator = FakeGenerator(["[]"])
    vectors = np.eye(len(article.sentences), dtype=np.float32)
    summary = Summariser(article, vectors, generator, ArticlePrompt(system="s", inlined=True)).summary(language)
    assert summary.bullets == ()


def test_an_amount_at_another_scale_is_not_the_sentences():
    assert scaled_amounts("investasi $1 miliar dan Rp 4,55 triliun") == {("1", 9), ("455", 12)}
    assert scaled_amounts("$1 billion") <= scaled_amounts("$1 miliar")
    assert not scaled_amounts("$1 million") <= scaled_amounts("$1 miliar")


def test_the_two_main_names_swap(seed_article):
    text = "OpenAI wants to take control of Microsoft's AI, says the WSJ."
    assert swapped_names(text, seed_article) == "Microsoft wants to take control of OpenAI's AI, says the WSJ."
    assert swapped_names("The startup wants to go public.", seed_article) is None


def test_a_translation_that_swaps_who_does_what_or_scales_a_number_is_not_shown(fake_core, fake_generator):
    clauses = fake_core.summariser.clauses()
    count = bullet_count(len(clauses))
    order = choose(clauses, fake_core.summariser.vectors, count + 2)
    ids = [fake_core.article.sentences[i].id for i in order]  # 1.1, 3.1, 8.1, ...
    reversed_ = "OpenAI wants to take control of Microsoft's AI and computing resources."
    million = "Microsoft and OpenAI began in 2019, when Microsoft invested $1 million in the startup."
    texts = {i: f"The article says something {WORDS[n]}." for n, i in enumerate(ids)}
    texts[ids[1]], texts[ids[2]] = reversed_, million
    # 1.1 passes (one verdict); the reversal: 0.9 as written, 0.95 with the names swapped; $1 million never asked.
    summary = _translating(fake_core, fake_generator, texts, 0.9, 0.9, 0.95, *[0.9] * len(ids))
    shown = [b.text for b in summary.bullets]
    assert reversed_ not in shown and million not in shown and len(shown) == count
    swapped, _ = fake_generator.asked[2]
    assert "Summary point: Microsoft wants to take control of OpenAI's AI" in swapped.user
