import json
import logging
import re

import numpy as np
import pytest

from bot.core.grammar import span_summary_grammar
from bot.core.prompts import ArticlePrompt
from bot.core.summary import (
    CACHE_FORMAT,
    MAX_BULLET_CHARS,
    Summariser,
    bullet_count,
    choose_sentences,
    copy_window,
    fallback_bullet,
    fit_bullet,
    parse_bullets,
    span_bound,
    tidy_bullet,
)
from tests.fakes import FakeGenerator, make_article


def bullets(pairs):
    return json.dumps([{"id": i, "text": t} for i, t in pairs], ensure_ascii=False)


# --- a matcher for the GBNF subset the summary grammar uses: literals, rule names, "|", "( ... )?" ---------


def _gbnf_regex(grammar: str) -> re.Pattern:
    """The grammar as one regular expression (it is finite: no rule refers back to itself)."""
    rules = {}
    for line in grammar.strip().splitlines():
        name, body = line.split(" ::= ", 1)
        assert re.fullmatch(r"[a-zA-Z0-9-]+", name), f"llama.cpp rejects the rule name {name!r}"
        rules[name] = body
    token = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([a-zA-Z0-9-]+)|(\()|(\)\?)|(\|))')

    def expand(name: str) -> str:
        out, pos, body = [], 0, rules[name]  # a KeyError here is a rule used but never defined
        while pos < len(body.rstrip()):
            m = token.match(body, pos)
            assert m, f"unparsed GBNF at {body[pos:]!r}"
            literal, ref, open_, close, bar = m.groups()
            if literal is not None:
                raw = re.sub(r"\\x([0-9a-f]{2})", lambda e: chr(int(e[1], 16)), literal)
                out.append(re.escape(re.sub(r"\\(.)", r"\1", raw)))
            elif ref:
                out.append(f"(?:{expand(ref)})")
            else:
                out.append("(?:" if open_ else ")?" if close else "|")
            pos = m.end()
        return "".join(out)

    return re.compile(expand("root"))


def _matches(grammar: str, bullet_texts: list[tuple[str, str]]) -> bool:
    return bool(_gbnf_regex(grammar).fullmatch(_reply(bullet_texts)))


def _reply(pairs: list[tuple[str, str]]) -> str:
    """The reply exactly as the grammar spells it: JSON with ", " between items and non-ASCII raw."""
    return "[" + ", ".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in pairs) + "]"


LONG = (
    "Jakarta, CNN Indonesia -- Pelatih fisik timnas Portugal, Joao Aroso yakin Cristiano Ronaldo tak akan "
    "mengalami masalah berarti untuk terus bermain hingga usia 41 tahun bila tak mengalami cedera serius."
)
QUOTED = '"Tim ahli dari Makassar tiga orang," kata Alpius di Wamena, Kamis.'


def test_a_copied_bullet_can_only_be_a_run_of_its_sentences_words_never_the_whole_sentence():
    bound_long, bound_quoted = span_bound(LONG), span_bound(QUOTED)
    grammar = span_summary_grammar([("1.1", LONG, 1, bound_long), ("2.3", QUOTED, 1, bound_quoted)])
    llama_cpp = pytest.importorskip("llama_cpp")
    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
    words, quoted = LONG.split(), QUOTED.split()
    tail = " ".join(quoted[1:])  # the whole quoted sentence but its first word: quotes and all
    assert _matches(grammar, [("1.1", " ".join(words[3:12])), ("2.3", tail)])
    assert _matches(grammar, [("1.1", " ".join(words[-bound_long:])), ("2.3", "Makassar")])
    assert not _matches(grammar, [("1.1", LONG), ("2.3", tail)])  # the whole sentence
    assert not _matches(grammar, [("1.1", " ".join(words[3:12])), ("2.3", QUOTED)])
    assert not _matches(grammar, [("1.1", "Pelatih fisik timnas Brasil"), ("2.3", tail)])  # a word changed
    assert not _matches(grammar, [("1.1", "Pelatih timnas Portugal"), ("2.3", tail)])  # a word skipped
    assert not _matches(grammar, [("1.1", "Pelat"), ("2.3", tail)])  # cut inside a word
    assert not _matches(grammar, [("2.3", tail), ("1.1", "Pelatih fisik")])  # another order
    assert not _matches(grammar, [("1.1", "Pelatih fisik")])  # a bullet left out


def test_a_copied_bullet_keeps_at_least_half_its_sentence_and_the_lede_loses_its_dateline():
    lede = make_article(((LONG,),)).sentences[0]
    body, least, most = copy_window(lede, lede=True)
    assert body == LONG.split(" -- ", 1)[1] and (least, most) == (13, 26)  # all 26 words after the dateline fit
    grammar = span_summary_grammar([("1.1", body, least, most)])
    words = body.split()
    assert _matches(grammar, [("1.1", body)]) and _matches(grammar, [("1.1", " ".join(words[5:18]))])
    assert not _matches(grammar, [("1.1", " ".join(words[5:17]))])  # 12 words: under half
    assert not _matches(grammar, [("1.1", "Jakarta, CNN Indonesia -- Pelatih fisik timnas Portugal, Joao Aroso")])
    assert copy_window(lede, lede=False) == (LONG, 15, 29)  # only the lede has a dateline
    assert fallback_bullet(lede, lede=True) == body


def test_the_span_bound_keeps_every_copied_run_within_200_characters_and_short_of_the_whole_sentence():
    assert len(LONG) > MAX_BULLET_CHARS
    for text in (LONG, QUOTED, "Dua kata.", " ".join(["kemitraan"] * 40)):
        words, bound = text.split(), span_bound(text)
        assert 0 < bound < len(words)
        assert all(len(" ".join(words[i : i + bound])) <= MAX_BULLET_CHARS for i in range(len(words)))
    assert span_bound(LONG) == len(LONG.split()) - 1  # longer than 200 characters, but each 29 words fit
    assert span_bound(" ".join(["kemitraan"] * 40)) == 20  # 20 * 9 + 19 spaces = 199; 21 words would not fit
    assert span_bound("Satu.") == 0 and span_bound("x" * 250 + " kata") == 0


def test_a_cut_leaves_no_stray_punctuation_at_a_bullets_edges():
    assert tidy_bullet("-- Pelatih fisik timnas Portugal,") == "Pelatih fisik timnas Portugal"
    assert tidy_bullet('"Tim ahli dari Makassar') == "Tim ahli dari Makassar"
    assert tidy_bullet('Makassar tiga orang," kata Alpius') == 'Makassar tiga orang," kata Alpius'
    assert tidy_bullet('Makassar tiga orang,"') == "Makassar tiga orang"
    assert tidy_bullet("(SKD) mulai Senin (2/10).") == "(SKD) mulai Senin (2/10)."
    assert tidy_bullet(" -- , ") == ""


def _is_run_of_words(bullet: str, sentence: str) -> bool:
    """Each word of the bullet is the sentence's word at the same place, its first and last perhaps with
    punctuation trimmed off: so no bullet ends (or starts) inside a word."""
    b, s = bullet.split(), sentence.split()
    for start in range(len(s) - len(b) + 1):
        w = s[start : start + len(b)]
        if len(b) == 1 and b[0] in w[0]:
            return True
        if len(b) > 1 and w[0].endswith(b[0]) and w[1:-1] == b[1:-1] and w[-1].startswith(b[-1]):
            return True
    return False


def _check_copied(summary, article, count):
    assert count <= len(summary.bullets) <= 5
    ids = [b.citations[0].id for b in summary.bullets]
    assert ids[0] == article.sentences[0].id and ids == sorted(ids, key=lambda i: tuple(map(int, i.split("."))))
    for b in summary.bullets:
        sentence = article.sentence(b.citations[0].id).text
        assert b.citations[0].text == sentence
        assert 0 < len(b.text) <= MAX_BULLET_CHARS
        assert _is_run_of_words(b.text, sentence), (b.text, sentence)
        assert b.text.strip(" .") != sentence.strip(" .")  # never the whole sentence
        assert b.text[0] not in ",;:-–—" and b.text[-1] not in ",;:-–—"


def _opening(sentence, lede: bool) -> str:
    """From the second word a bullet may copy: as few words as allowed, or up to a comma if one comes soon
    (kept, as the model would copy it: the cut leaves it)."""
    body, least, most = copy_window(sentence, lede)
    words = body.split()
    ends = [n for n in range(least, most) if n + 1 < len(words) and words[n].endswith(",")] or [least]
    return " ".join(words[1 : ends[0] + 1])


def test_copied_bullets_come_from_the_reply_in_article_order_with_no_yes_no_check(
    fake_core, fake_generator, seed_article
):
    count = bullet_count(len(seed_article.sentences))
    chosen = [seed_article.sentences[i] for i in choose_sentences(fake_core.summariser.vectors, count)]
    spans = [(s.id, _opening(s, s.id == "1.1")) for s in chosen]
    assert any(t.endswith(",") for _, t in spans)
    fake_generator.enqueue(_reply(spans))
    summary = fake_core.summary("id")
    _check_copied(summary, seed_article, count)
    assert [b.text for b in summary.bullets] == [t.rstrip(", ") for _, t in spans]
    assert not fake_generator.asked  # copied bullets are true by construction: no verification turns
    prompt, grammar, _ = fake_generator.history[0]
    assert f"in this order: {', '.join(s.id for s in chosen)}" in prompt.user
    assert _gbnf_regex(grammar).fullmatch(_reply(spans))


@pytest.mark.parametrize(
    "reply",
    ["", "garbage", "[]", '[{"id": "1.1", "text": "Menurut WSJ', '[{"id": "9.9", "text": "bukan dari artikel"}]'],
)
def test_a_cut_or_bad_reply_still_gives_three_whole_word_bullets(fake_core, fake_generator, seed_article, reply):
    fake_generator.enqueue(reply)
    summary = fake_core.summary("id")
    _check_copied(summary, seed_article, 3)


def test_a_sentence_too_short_to_cut_is_replaced_so_three_bullets_remain(tmp_path):
    article = make_article(
        (
            ("Jakarta, CNN Indonesia -- Banjir merendam ratusan rumah di Jakarta Timur pada Senin pagi.",),
            ("Astaga.", "Warga mengungsi ke masjid dan sekolah terdekat sejak Minggu malam."),
            ("Petugas membagikan makanan kepada para pengungsi.",),
        )
    )
    generator = FakeGenerator(["[]"])
    vectors = np.eye(len(article.sentences), dtype=np.float32)
    summary = Summariser(article, vectors, generator, ArticlePrompt(system="system", inlined=True)).summary("id")
    _check_copied(summary, article, 3)
    assert "2.1" not in [b.citations[0].id for b in summary.bullets]
    assert summary.bullets[0].text.startswith("Banjir merendam")  # the dateline left out


def test_a_copied_bullet_may_hold_the_sentences_quotes():
    reply = _reply([("2.3", QUOTED[:30]), ("3.1", "plain")])
    assert parse_bullets(reply) == {"2.3": QUOTED[:30], "3.1": "plain"}


def test_a_bullet_the_verifier_doubts_is_left_out(fake_core, fake_generator, seed_article):
    made_up = "The partnership between OpenAI and Microsoft has ended."
    chosen = [seed_article.sentences[i].id for i in choose_sentences(fake_core.summariser.vectors, 5)]
    good = [(i, f"A short point about sentence {i} of this article.") for i in chosen[1:]]
    fake_generator.enqueue(bullets([(chosen[0], made_up), *good])).enqueue_yes(0.1, *[0.9] * len(good))
    summary = fake_core.summary("en")
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
