"""Rendering answers as Telegram HTML, splitting under 4096, and the small parts around it."""

from __future__ import annotations

import re

import pytest

from base.measure import percentile
from bot.adapters.telegram import render, texts
from bot.adapters.telegram.app import file_url, webhook_path
from bot.adapters.telegram.ratelimit import SlidingWindow
from bot.core.results import Answer, Bullet, Citation, ReplyKind, Summary
from tests.fake_bot_api import telegram_html_text, utf16_len
from tests.telegram_helpers import FakeCore, make_article

NASTY = "<b>&\"'"


def _answer(text: str, citations: tuple[Citation, ...] = (), refused: bool = False, language: str = "id") -> Answer:
    kind = ReplyKind.NOT_IN_ARTICLE if refused else ReplyKind.ANSWER
    return Answer("q", text, kind, language, citations=() if refused else citations)


def _words(text: str) -> list[str]:
    return text.split()


def test_answer_first_then_each_citation_in_a_blockquote_with_its_position() -> None:
    article = make_article()
    citations = (Citation.of(article.sentence("1.1")), Citation.of(article.sentence("2.2")))
    [message] = render.to_messages(render.answer_blocks(_answer("OpenAI ingin IPO.", citations)))
    assert message.startswith("OpenAI ingin IPO.\n\n<blockquote>")
    assert message.count("<blockquote>") == 2
    assert "¶1 · kalimat 1 [1.1]" in message and "¶2 · kalimat 2 [2.2]" in message
    shown = telegram_html_text(message)  # what Telegram would display; raises if it would refuse it
    assert article.sentence("2.2").text in shown


def test_position_labels_follow_the_answer_language() -> None:
    citation = Citation.of(make_article().sentence("2.1"))
    [message] = render.to_messages(render.answer_blocks(_answer("Talks are hard.", (citation,), language="en")))
    assert "¶2 · sentence 1 [2.1]" in message


def test_everything_is_escaped_in_answer_and_citation() -> None:
    citation = Citation("1.1", 1, 1, f"Harga {NASTY} naik.")
    [message] = render.to_messages(render.answer_blocks(_answer(f"Kata {NASTY}", (citation,))))
    assert "<b>&" not in message.replace("<blockquote>", "")
    assert "&lt;b&gt;&amp;&quot;&#x27;" in message
    shown = telegram_html_text(message)
    assert f"Kata {NASTY}" in shown and f"Harga {NASTY} naik." in shown


def test_a_refusal_is_its_text_alone() -> None:
    citation = Citation.of(make_article().sentence("1.1"))
    messages = render.to_messages(
        render.answer_blocks(_answer("Artikel ini tidak membahas itu.", (citation,), refused=True))
    )
    assert messages == ["Artikel ini tidak membahas itu."]


def test_long_text_splits_on_sentence_boundaries_under_the_limit() -> None:
    sentence = "Kalimat nomor {} membahas kemitraan OpenAI & Microsoft <secara> rinci."
    text = " ".join(sentence.format(i) for i in range(120))  # ~8,500 characters
    citation = Citation("1.1", 1, 1, "Satu kalimat sumber.")
    messages = render.to_messages(render.answer_blocks(_answer(text, (citation,))))
    assert len(messages) >= 3
    for message in messages:
        assert utf16_len(message) <= render.MESSAGE_LIMIT
        telegram_html_text(message)  # balanced tags, escaped entities
    shown = [telegram_html_text(m) for m in messages]
    assert _words(" ".join(shown[:-1]) + " " + shown[-1].split("\n\n")[0]) == _words(text)
    # Every break falls after a full sentence.
    assert all(s.rstrip().endswith("rinci.") for s in shown[:-1])
    assert "Satu kalimat sumber." in shown[-1]


def test_paragraph_breaks_are_preferred_and_kept() -> None:
    text = "Paragraf satu.\n\nParagraf dua."
    [message] = render.to_messages(render.answer_blocks(_answer(text)))
    assert message == "Paragraf satu.\n\nParagraf dua."


def test_a_huge_quote_is_split_into_several_closed_blockquotes() -> None:
    citation = Citation("1.1", 1, 1, "kata&kata " * 900)  # one 9,000-char "sentence"
    messages = render.to_messages(render.answer_blocks(_answer("Jawaban.", (citation,))))
    assert len(messages) >= 3
    for message in messages:
        assert utf16_len(message) <= render.MESSAGE_LIMIT
        telegram_html_text(message)
    assert "".join(messages).count("kata&amp;kata") == 900


def test_a_single_giant_word_is_cut_between_characters_never_inside_an_entity() -> None:
    word = "&" * 5000  # escapes to 25,000 characters of "&amp;"
    messages = render.to_messages(render.answer_blocks(_answer(word)))
    assert all(utf16_len(m) <= render.MESSAGE_LIMIT for m in messages)
    assert "".join(telegram_html_text(m) for m in messages) == word


def test_utf16_length_counts_emoji_as_two_units() -> None:
    text = "😀" * 3000  # 3,000 characters but 6,000 UTF-16 units
    messages = render.to_messages(render.answer_blocks(_answer(text)))
    assert len(messages) == 2
    assert all(utf16_len(m) <= render.MESSAGE_LIMIT for m in messages)


def test_plain_fallback_strips_our_tags_and_unescapes() -> None:
    [message] = render.to_messages(render.answer_blocks(_answer(f"x {NASTY}", (Citation("1.1", 1, 1, NASTY),))))
    plain = render.plain(message)
    assert "<blockquote>" not in plain
    assert plain.startswith(f"x {NASTY}\n\n{NASTY}\n— ¶1")


def test_summary_has_bullets_and_collapsed_quotes() -> None:
    article = make_article()
    summary = Summary("en", (Bullet("OpenAI wants out.", (Citation.of(article.sentence("1.1")),)),))
    [message] = render.to_messages(render.summary_blocks(summary))
    assert message.startswith("<b>Summary</b>\n\n• OpenAI wants out.")
    assert "<blockquote expandable>" in message and message.endswith("</blockquote>")
    telegram_html_text(message)


def test_a_bullet_that_is_its_sentence_shows_where_it_stands_not_the_same_words_twice() -> None:
    sentence = make_article().sentence("2.1")
    summary = Summary("id", (Bullet(sentence.text, (Citation.of(sentence),)),))
    [message] = render.to_messages(render.summary_blocks(summary, label="Artikel 2"))
    shown = telegram_html_text(message)
    assert shown.count(sentence.text) == 1 and "<blockquote" not in message
    assert "— Artikel 2 · ¶2 · kalimat 1 [2.1]" in shown


@pytest.mark.parametrize(
    ("language", "mark", "where"),
    [("en", "(untranslated)", "sentence 1"), ("id", "(tidak diterjemahkan)", "kalimat 1")],
)
def test_an_untranslated_bullet_shows_its_mark_and_where_it_stands_not_the_same_words_twice(
    language, mark, where
) -> None:
    sentence, other = make_article().sentence("2.1"), make_article().sentence("1.1")
    bullets = (
        Bullet(other.text, (Citation.of(other),)),
        Bullet(sentence.text, (Citation.of(sentence),), untranslated=True),
    )
    [message] = render.to_messages(render.summary_blocks(Summary(language, bullets)))
    shown = telegram_html_text(message)
    # The core flags it; the mark is the adapter's, in the summary's language, before the article's words.
    assert f"• {mark} {sentence.text}" in shown and shown.count(mark) == 1
    assert shown.count(sentence.text) == 1 and "<blockquote" not in message
    assert f"{where} [2.1]" in shown and f"• {other.text}" in shown


def _long_summary(sentence_chars: int, bullets: int = 5) -> Summary:
    return Summary(
        "en",
        tuple(
            Bullet(
                f"Point {n} & <its> gist.",
                (Citation(f"{n}.1", n, 1, f"Kalimat {n} " + "panjang sekali " * (sentence_chars // 15)),),
            )
            for n in range(1, bullets + 1)
        ),
    )


def test_a_long_summary_is_split_between_bullets_each_with_its_expandable_quote() -> None:
    summary = _long_summary(1500)
    messages = render.to_messages(render.summary_blocks(summary, label="Article 1"))
    assert len(messages) > 1 and all(utf16_len(m) <= render.MESSAGE_LIMIT for m in messages)
    for message in messages:
        telegram_html_text(message)  # balanced tags Telegram accepts
        assert message.count("<blockquote expandable>") == message.count("</blockquote>")
    for bullet in summary.bullets:  # a bullet and its quote are in the same message
        (home,) = [m for m in messages if telegram_html_text(m).count(bullet.text) == 1]
        shown = telegram_html_text(home)
        assert bullet.citations[0].text in shown and "— Article 1 · ¶" in shown


def test_a_quote_longer_than_a_message_still_splits_within_the_limit() -> None:
    summary = _long_summary(9000, bullets=1)
    messages = render.to_messages(render.summary_blocks(summary))
    assert len(messages) >= 3 and all(utf16_len(m) <= render.MESSAGE_LIMIT for m in messages)
    assert "Point 1 &amp; &lt;its&gt; gist." in messages[0] or "Point 1 &amp; &lt;its&gt; gist." in messages[1]
    for message in messages:
        telegram_html_text(message)


def test_source_shows_the_paragraph_verbatim_with_the_sentence_in_bold() -> None:
    article = make_article()
    target = article.sentence("2.2")
    [message] = render.to_messages(render.source_blocks(article, target, article.paragraph(2), "id"))
    paragraph_text = article.text[article.paragraph(2)[0].start : article.paragraph(2)[-1].end]
    assert telegram_html_text(message).startswith(paragraph_text)
    assert f"<b>{target.text}</b>" in message
    assert "¶2 · kalimat 2 [2.2]" in message


def test_language_of_telegram_language_codes() -> None:
    assert texts.language_of("id") == "id"
    assert texts.language_of("id-ID") == "id"
    assert texts.language_of("en-GB") == "en"
    assert texts.language_of("ms") == "en"
    assert texts.language_of(None) == "en"


def test_every_text_exists_in_both_languages_and_escapes_values() -> None:
    for key, table in texts._TEXTS.items():
        assert set(table) == {"id", "en"}, key
    assert texts.t("unknown_sentence", "en", id=NASTY).count("&lt;b&gt;") == 1
    assert {name for name, _ in texts.COMMANDS["id"]} == {name for name, _ in texts.COMMANDS["en"]}


def test_sliding_window_allows_n_per_period_per_user() -> None:
    now = [0.0]
    window = SlidingWindow(limit=2, period_s=60, clock=lambda: now[0])
    assert window.allow(1) and window.allow(1)
    assert not window.allow(1)
    assert window.allow(2)  # other users are not affected
    now[0] = 59.9
    assert not window.allow(1)
    now[0] = 60.0  # the first two have left the window
    assert window.allow(1) and window.allow(1) and not window.allow(1)
    assert SlidingWindow(limit=0).allow(1)  # 0 disables the limit


def test_percentiles_interpolate() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5  # interpolated, as numpy and the eval report it
    assert percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)


def test_urls_never_contain_the_token() -> None:
    token = "123456:SECRET-token"
    path = webhook_path(token)
    assert token not in path and "SECRET" not in path and re.fullmatch(r"kutip-[0-9a-f]{32}", path)
    assert webhook_path(token) == path  # stable across restarts
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url("https://api.example/bot{token}") == "https://api.example/file/bot{token}"


def test_fake_core_has_the_core_shape() -> None:
    core = FakeCore()
    answer = core.ask("Apa tujuan OpenAI?")
    assert answer.citations[0].id == "1.1" and answer.language == "id"
    assert core.source("2.1")[0].text == core.article.sentence("2.1").text


def test_webhook_options_mirror_the_public_path_and_keep_the_secret() -> None:
    from bot.adapters.telegram.app import webhook_options
    from bot.wiring.settings import Settings

    settings = Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN="123:SECRET",
        webhook_url="https://bot.example.org/tg/",
        webhook_port=9000,
        webhook_secret="s3cret",
    )
    options = webhook_options(settings)
    path = webhook_path("123:SECRET")
    assert options == {
        "listen": "127.0.0.1",
        "port": 9000,
        "url_path": f"tg/{path}",
        "webhook_url": f"https://bot.example.org/tg/{path}",
        "secret_token": "s3cret",
    }
    bare = webhook_options(
        settings.model_copy(update={"webhook_url": "https://bot.example.org", "webhook_secret": None})
    )
    assert bare["url_path"] == path and bare["webhook_url"] == f"https://bot.example.org/{path}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,256}", bare["secret_token"])  # generated, in Telegram's alphabet


def test_trusted_html_too_long_for_one_message_is_split_as_plain_text() -> None:
    raw = "<b>Judul</b> " + "kata &amp; kata. " * 400
    messages = render.to_messages([render.Block(raw=raw)])
    assert len(messages) == 2 and all(utf16_len(m) <= render.MESSAGE_LIMIT for m in messages)
    assert " ".join(telegram_html_text(m) for m in messages).split() == render.plain(raw).split()
