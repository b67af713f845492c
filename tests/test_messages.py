"""User-facing error lines: one language per message, never an Indonesian prefix on an English detail."""

import pytest

from base.errors import ArticleTooLarge, NoArticleText, QuestionEmpty, QuestionError, QuestionTooLong
from bot.adapters.messages import message_for
from bot.core.questions import check_question

ENGLISH_WORDS = ("the question", "characters", "limit", "empty", "article text", "sentences", "words")


def caught(call) -> Exception:
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize(
    "error",
    [
        QuestionTooLong(2400, 2000),
        QuestionEmpty(),
        NoArticleText("x.html", 1, 3, 3, 40),
        ArticleTooLarge("a.txt", 9, 5, "bytes"),
    ],
)
def test_user_errors_are_wholly_indonesian_for_an_indonesian_user(error):
    text = message_for(error, "id")
    assert not any(word in text.lower() for word in ENGLISH_WORDS), text
    assert message_for(error, "en") != text


def test_a_too_long_question_gives_the_numbers_in_each_language():
    error = QuestionTooLong(2400, 2000)
    assert message_for(error, "id") == "Pertanyaan terlalu panjang: 2400 karakter, batasnya 2000."
    assert message_for(error, "en") == "The question is too long: 2400 characters; the limit is 2000."


def test_other_errors_keep_the_prefix_and_detail():
    assert message_for(QuestionError("odd"), "en") == "Cannot take that question: odd"


def test_the_core_question_check_raises_the_structured_errors():
    assert isinstance(caught(lambda: check_question("x" * 51, 50)), QuestionTooLong)
    assert isinstance(caught(lambda: check_question("  ", 50)), QuestionEmpty)


def test_library_errors_are_one_line_in_each_language():
    from base.errors import ReadLimit, UnknownArticle

    assert message_for(ReadLimit(10), "id") == (
        "Sudah 10 artikel dibaca dalam satu jam terakhir di obrolan ini; coba lagi nanti."
    )
    assert "10 articles" in message_for(ReadLimit(10), "en")
    assert message_for(UnknownArticle("no article '7' in the library"), "id").startswith("Artikel tidak ditemukan: ")
