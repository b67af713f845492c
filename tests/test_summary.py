import json
import logging

import numpy as np

from bot.core.summary import CACHE_FORMAT, Summariser, bullet_count, choose_sentences, fit_bullet


def bullets(pairs):
    return json.dumps([{"id": i, "text": t} for i, t in pairs])


def test_summary_has_cited_bullets_in_article_order(fake_core, fake_generator, seed_article):
    fake_generator.enqueue(
        bullets([("1.1", "Kemitraan OpenAI dan Microsoft di ambang titik kritis."), ("x", "ignored"), ("y", "ignored")])
    )
    summary = fake_core.summary("id")
    assert 3 <= len(summary.bullets) <= 5
    ids = [b.citations[0].id for b in summary.bullets]
    assert ids[0] == "1.1" and ids == sorted(ids, key=lambda i: tuple(map(int, i.split("."))))
    for b in summary.bullets:
        assert b.citations and b.citations[0].text == seed_article.sentence(b.citations[0].id).text
    assert summary.bullets[0].text == "Kemitraan OpenAI dan Microsoft di ambang titik kritis."
    prompt = fake_generator.history[0][0]
    assert f"in this order: {', '.join(ids)}" in prompt.user


def test_missing_bullets_fall_back_to_an_opening_clause_never_a_whole_sentence(fake_core, fake_generator):
    fake_generator.enqueue("[]")
    summary = fake_core.summary("id")
    assert 3 <= len(summary.bullets) <= 4
    for b in summary.bullets:
        sentence = b.citations[0].text
        assert sentence.startswith(b.text) and b.text != sentence
        assert len(b.text) <= 200 and len(b.text.split()) >= 5


def test_a_bullet_the_verifier_doubts_is_left_out(fake_core, fake_generator, seed_article):
    made_up = "Kemitraan OpenAI dan Microsoft sudah berakhir."
    chosen = [seed_article.sentences[i].id for i in choose_sentences(fake_core.summariser.vectors, 5)]
    good = [(i, f"Poin ringkas tentang kalimat {i} dari artikel ini.") for i in chosen[1:]]
    fake_generator.enqueue(bullets([(chosen[0], made_up), *good])).enqueue_yes(0.1, *[0.9] * len(good))
    summary = fake_core.summary("id")
    assert made_up not in [b.text for b in summary.bullets]
    check, _ = fake_generator.asked[0]
    sentence = seed_article.sentence(chosen[0]).text
    assert f"Summary point: {made_up}" in check.user and f"Sentence: {sentence}" in check.user


def test_no_bullet_is_longer_than_200_characters_or_ends_inside_a_word():
    text = " ".join(["kemitraan"] * 40)
    fitted = fit_bullet(text)
    assert len(fitted) <= 200 and fitted.endswith("kemitraan…")
    assert fit_bullet("  Pendek   saja. ") == "Pendek saja."


def test_in_another_language_an_unbacked_bullet_is_left_out_not_mixed(fake_core, fake_generator):
    fake_generator.enqueue(bullets([("1.1", "The partnership is at a critical point, says the WSJ.")]))
    summary = fake_core.summary("en")
    assert summary.bullets[0].text == "The partnership is at a critical point, says the WSJ."
    assert len(summary.bullets) == 1  # the rest had no English bullet and no extract in English


def test_summary_is_cached_per_language_in_memory_and_on_disk(fake_core, fake_generator, tmp_path):
    fake_generator.enqueue("[]", "[]")
    first = fake_core.summary("id")
    assert fake_core.summary("id") == first
    fake_core.summary("en")
    assert len(fake_generator.history) == 2
    assert "English" in fake_generator.history[1][0].user
    restarted = _summariser(fake_core, fake_generator, tmp_path)  # a new process: nothing in memory
    assert restarted.summary("id") == first  # from disk, no model call
    assert len(fake_generator.history) == 2


def _summariser(core, generator, tmp_path) -> Summariser:
    vectors = np.eye(len(core.article.sentences), dtype=np.float32)
    return Summariser(core.article, vectors, generator, core.prompt, cache_dir=tmp_path / "summaries")


def test_a_summary_cache_of_another_format_is_regenerated(fake_core, fake_generator, tmp_path, caplog):
    fake_generator.enqueue("[]", "[]")
    fake_core.summary("id")
    (cached,) = (tmp_path / "summaries").iterdir()
    data = json.loads(cached.read_text(encoding="utf-8"))
    assert data["format"] == CACHE_FORMAT
    cached.write_text(json.dumps({**data, "format": "kutip-summary v1"}), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="bot.core.summary"):
        _summariser(fake_core, fake_generator, tmp_path).summary("id")
    assert len(fake_generator.history) == 2  # made again, not misread
    assert "regenerating summary" in caplog.text


def test_sentence_choice_starts_with_the_lead_and_avoids_repeats():
    v = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0], [0.6, 0.8, 0], [0, 0, 1]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    chosen = choose_sentences(v, 3)
    assert chosen[0] == 0 and len(set(chosen)) == 3
    assert not {1, 2} <= set(chosen)
    assert [bullet_count(n) for n in (5, 17, 40)] == [3, 4, 5]


def test_a_summary_reply_cut_by_the_token_limit_keeps_its_finished_bullets():
    from bot.core.summary import parse_bullets

    cut = '[{"id": "1.1", "text": "Kemitraan di ambang titik kritis."}, {"id": "3.2", "text": "OpenAI ingin IPO dan'
    assert parse_bullets(cut) == {"1.1": "Kemitraan di ambang titik kritis."}
    assert parse_bullets("garbage") == {}
