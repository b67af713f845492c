"""Three kinds of reply: an answer, the closest sentences (no answer asserted), or "not in the article"."""

from __future__ import annotations

import json

import pytest

from bot.adapters import terminal
from bot.adapters.telegram import render
from bot.core.grounding import GroundingThresholds, reply_kind
from bot.core.refusals import CLOSEST, REFUSAL
from bot.core.results import Answer, Citation, ReplyKind
from bot.core.signals import Relevance, Support
from bot.core.turn import Turn
from tests.fake_bot_api import telegram_html_text
from tests.fakes import copied_reply
from tests.telegram_helpers import make_article

RELATED = Relevance(missing_specifics=(), top_dense=0.9, top_coverage=0.6)
T = GroundingThresholds(min_related_dense=0.8, min_related_coverage=0.1, max_absent_coverage=0.3)


def support(verified: float, **fields) -> Support:
    return Support(answer="2019", sentence_id="8.1", rank=1, verified=verified, **fields)


@pytest.mark.parametrize(
    ("proposal", "relevance", "kind"),
    [
        (support(0.9), RELATED, ReplyKind.ANSWER),
        (support(0.3), RELATED, ReplyKind.CLOSEST),  # about the article, the answer not confirmed
        (None, RELATED, ReplyKind.CLOSEST),  # the model proposed nothing, but the question is about the article
        (support(0.3, unsupported="numbers not in the cited sentences"), RELATED, ReplyKind.CLOSEST),
        # A thing the question names is absent from the article: nothing to show, whatever was proposed.
        (
            support(0.9, missing_specifics=("france",)),
            Relevance(("france",), 0.9, 0.1, ("france",)),
            ReplyKind.NOT_IN_ARTICLE,
        ),
        # ... unless the rest of the question is well found there: it may restate a name the passage never gives.
        (None, Relevance(("hosni",), 0.85, 0.5, ("hosni mubarak",)), ReplyKind.CLOSEST),
        # One word of a name is missing, another is there (the article writes it another way): no answer is
        # asserted, but the question is about the article.
        (support(0.9, missing_specifics=("kiai",)), Relevance(("kiai",), 0.9, 0.6, ()), ReplyKind.CLOSEST),
        (None, Relevance((), 0.7, 0.0), ReplyKind.NOT_IN_ARTICLE),  # nothing near in meaning or in words
        (None, Relevance((), 0.7, None), ReplyKind.NOT_IN_ARTICLE),  # another language: meaning alone decides
        (None, Relevance((), 0.7, 0.5), ReplyKind.CLOSEST),  # far in meaning, but its words are there
        (None, Relevance((), 0.85, 0.0), ReplyKind.CLOSEST),  # near in meaning
    ],
)
def test_the_reply_kind_follows_the_measured_signals(proposal, relevance, kind):
    assert reply_kind(proposal, relevance, T) is kind


def test_an_unconfirmed_answer_to_a_question_about_the_article_shows_its_closest_sentences(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("pada tahun 2019")).enqueue_yes(0.2)
    answer = fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert answer.kind is ReplyKind.CLOSEST and answer.refused
    assert answer.text == CLOSEST["id"]
    ids = [c.id for c in answer.citations]
    # The judged proposal's sentence is among them, with at most one more, in ranking order.
    assert "8.1" in ids and 1 <= len(ids) <= 2
    article = fake_core.article
    assert all(c.text == article.sentence(c.id).text for c in answer.citations)
    assert answer.as_turn() == Turn(answer.question, "")  # no answer was asserted, so none is carried over


def test_a_no_answer_reply_to_a_question_about_the_article_still_shows_the_closest(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("NONE"))
    answer = fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert answer.kind is ReplyKind.CLOSEST and answer.support is None
    assert len(answer.citations) == 2 and not fake_generator.asked


def test_an_off_article_question_gets_the_flat_refusal(fake_core, fake_generator):
    fake_generator.enqueue(json.dumps({"translation": "Apa ibu kota Prancis?"}), copied_reply("Microsoft"))
    answer = fake_core.ask("What is the capital of France?")
    assert answer.kind is ReplyKind.NOT_IN_ARTICLE
    assert answer.text == REFUSAL["en"] and answer.citations == ()
    # "France" is a word, which an Indonesian article would translate, so across languages it is not looked for;
    # no sentence comes near the question in meaning, nor holds its (translated) words.
    assert answer.relevance.missing_specifics == ("france",) and answer.relevance.absent_things == ()
    assert answer.relevance.top_dense < 0.78 and answer.relevance.top_coverage < 0.1


def test_a_follow_up_to_an_unanswered_question_carries_the_question_only(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("$1 miliar"))
    fake_core.ask("Berapa yang diinvestasikan?", history=Turn("Kapan kolaborasi dimulai?", ""))
    user = fake_generator.history[0][0].user
    assert "Earlier question: Kapan kolaborasi dimulai?" in user and "Earlier answer" not in user


# --- as the user sees each kind, in Telegram and in the terminal, in both languages ---


def _reply(kind: ReplyKind, language: str) -> Answer:
    article = make_article()
    texts = {ReplyKind.ANSWER: "pada tahun 2019", ReplyKind.CLOSEST: CLOSEST[language]}
    text = texts.get(kind, REFUSAL[language])
    quoted = {ReplyKind.ANSWER: ("1.1",), ReplyKind.CLOSEST: ("1.1", "2.2")}.get(kind, ())
    citations = tuple(Citation.of(article.sentence(i)) for i in quoted)
    return Answer("q", text, kind, language, citations=citations)


@pytest.mark.parametrize("language", ["id", "en"])
def test_telegram_shows_the_closest_sentences_under_a_line_that_says_they_are_no_answer(language):
    reply = _reply(ReplyKind.CLOSEST, language)
    [message] = render.to_messages(render.answer_blocks(reply))
    shown = telegram_html_text(message)
    assert shown.startswith(CLOSEST[language])
    assert message.count("<blockquote>") == 2
    assert all(c.text in shown for c in reply.citations)


@pytest.mark.parametrize("language", ["id", "en"])
def test_telegram_shows_an_answer_with_its_quote_and_a_flat_refusal_alone(language):
    [answer] = render.to_messages(render.answer_blocks(_reply(ReplyKind.ANSWER, language)))
    assert answer.startswith("pada tahun 2019\n\n<blockquote>") and answer.count("<blockquote>") == 1
    [refusal] = render.to_messages(render.answer_blocks(_reply(ReplyKind.NOT_IN_ARTICLE, language)))
    assert telegram_html_text(refusal) == REFUSAL[language]


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("kind", list(ReplyKind))
def test_the_terminal_shows_each_kind_with_the_sentences_it_quotes(kind, language):
    reply = _reply(kind, language)
    text = terminal.answer_text(reply)
    assert text.splitlines()[0] == reply.text
    assert text.count("“") == len(reply.citations)
    for c in reply.citations:
        assert f"[{c.id}]" in text


def test_the_json_record_names_the_kind():
    record = _reply(ReplyKind.CLOSEST, "en").to_dict()
    assert record["kind"] == "closest" and record["refused"] is True and len(record["citations"]) == 2


def test_a_follow_ups_opening_word_is_not_taken_for_a_name():
    from bot.core.query import Query

    query = Query.read("Lalu siapa musuh mereka?", "id", "id", earlier_question="Apa itu Dewa dalam ajaran Hindu?")
    assert query.specifics == {"dewa", "hindu"}


def test_a_number_written_with_separators_is_found_however_the_article_writes_it():
    from bot.core.grounding import GroundingPolicy
    from bot.core.query import Query
    from index.build import build_index
    from index.ingest import parse_article
    from tests.fakes import FakeEmbedder

    article = parse_article("Populasi orangutan tinggal sekitar 7.000 hingga 7.500 ekor.\n\nPara peneliti khawatir.")
    policy = GroundingPolicy(build_index(article, FakeEmbedder()))
    assert policy.missing_specifics(Query.read("Who says about 7,000 to 7,500 are left?", "en", "id")) == ()
    assert policy.missing_specifics(Query.read("Are 8,000 left?", "en", "id")) == ("8000",)


def test_across_languages_only_names_that_are_not_words_are_looked_for():
    from bot.core.query import specific_phrases

    # "United States" is "Amerika Serikat" in an Indonesian article; "OpenAI", "CEO" and numbers stay as they are.
    assert specific_phrases("Who abolished slavery in the United States?", same_language=False) == set()
    assert specific_phrases("Who is the CEO of OpenAI in 2023?", same_language=False) == {
        ("ceo",),
        ("openai",),
        ("2023",),
    }
    assert specific_phrases("Siapa presiden Amerika Serikat?", same_language=True) == {("amerika", "serikat")}
