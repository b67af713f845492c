import json
from dataclasses import replace

import pytest

from base.errors import QuestionError, UnknownSentence
from bot.core.ports import Completion
from bot.core.query import Query
from bot.core.refusals import CLOSEST, REFUSAL
from bot.core.results import ReplyKind
from bot.core.turn import Turn
from tests.fakes import copied_reply


def free_reply(ids, answer):
    """A reply under the free-words grammar (KUTIP_COPY_ANSWERS=never, or a question in another language
    with same-language): the ids first."""
    return json.dumps({"ids": ids, "answer": answer})


def test_supported_answer_cites_the_stored_sentence(fake_core, fake_generator, seed_article):
    # Copied from "... pada tahun 2019, ketika ...": the comma it took along is dropped.
    fake_generator.enqueue(copied_reply("Pada tahun 2019,"))
    answer = fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert not answer.refused
    assert answer.text == "Pada tahun 2019"
    assert answer.language == "id"
    assert [c.id for c in answer.citations] == ["8.1"]
    assert answer.citations[0].text == seed_article.sentence("8.1").text
    assert answer.citations[0].text in seed_article.text
    assert set(answer.timings_ms) == {"retrieve", "generate", "verify", "total"}
    assert answer.support.supported and answer.support.verified == 1.0


def test_the_answers_log_probabilities_are_read_from_its_own_tokens(fake_core, fake_generator):
    # The JSON around the answer is the grammar's, not the model's choice: only the answer's tokens count, the
    # first of them on its own (where the model chose between answering and "NONE").
    tokens = (('{"', -0.6), ("answer", 0.0), ('":', 0.0), (' "', -0.1), ("pada", -2.5), (" tahun", -0.5))
    tokens += ((" 2019", -0.0), ('"}', -0.2))
    fake_generator.enqueue(Completion(copied_reply("pada tahun 2019"), tokens))
    support = fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?").support
    assert support.first_logprob == pytest.approx(-2.5)
    assert support.answer_logprob == pytest.approx(-1.0)
    assert support.to_dict()["first_logprob"] == pytest.approx(-2.5)


def test_a_copied_answer_may_come_from_the_best_ranked_sentences_only(fake_core, fake_generator, seed_article):
    from bot.core.answer import COPY_FROM
    from bot.core.grammar import span_answer_grammar

    question = "Kapan Microsoft dan OpenAI memulai kolaborasi mereka?"
    fake_generator.enqueue(copied_reply("pada tahun 2019,"))
    answer = fake_core.ask(question)
    prompt, grammar, _ = fake_generator.history[0]
    assert "[8.1] Microsoft dan OpenAI memulai kolaborasi" in prompt.system
    ranked = [h.sentence for h in fake_core.retriever.search(question, 99)]
    assert len(ranked) > COPY_FROM
    assert grammar == span_answer_grammar([s.text for s in ranked[:COPY_FROM]])
    # The quote is the sentence the words were copied from, found in code.
    assert answer.citations[0].id == "8.1" and answer.text == "pada tahun 2019"


def test_inlined_article_offers_every_sentence_through_the_grammar(make_fake_core, fake_generator, seed_article):
    fake_core = make_fake_core(copy_answers="never")
    fake_generator.enqueue(free_reply(["8.1"], "2019"))
    fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    prompt, grammar, _ = fake_generator.history[0]
    assert fake_core.prompt.inlined
    assert "[8.1] Microsoft dan OpenAI memulai kolaborasi" in prompt.system
    assert "Question: Kapan Microsoft dan OpenAI memulai kolaborasi mereka?" in prompt.user
    assert all(f'"\\"{s.id}\\""' in grammar for s in seed_article.sentences)
    assert '"\\"10.1\\""' not in grammar


def test_the_system_prefix_is_identical_across_questions(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("2019"), copied_reply("Azure"))
    fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    fake_core.ask("Layanan cloud apa yang dipakai Microsoft untuk menjual perangkat lunak OpenAI?")
    assert fake_generator.history[0][0].system == fake_generator.history[1][0].system


def test_citations_are_chosen_in_code_not_taken_on_the_models_word(fake_core, fake_generator):
    # The model names a sentence that does not hold the answer; the sentence that does is cited.
    fake_generator.enqueue(copied_reply("Pada tahun 2019."))
    answer = fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert not answer.refused
    assert [c.id for c in answer.citations] == ["8.1"]


def test_an_id_that_was_never_offered_is_ignored(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("Pada tahun 2019."))
    answer = fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert [c.id for c in answer.citations] == ["8.1"]


@pytest.mark.parametrize(
    "model_reply",
    [
        copied_reply("NONE"),
        copied_reply("NONE"),
        copied_reply("Sam Altman adalah CEO-nya."),  # a name the cited sentence never mentions
        copied_reply("Pada tahun 2015."),  # a number the cited sentence never mentions
        "{not json",
    ],
)
def test_unsupported_replies_assert_no_answer_and_show_the_closest_in_the_askers_language(
    fake_core, fake_generator, model_reply
):
    fake_generator.enqueue(model_reply)
    answer = fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert answer.kind is ReplyKind.CLOSEST  # the question is about the article, so "not in it" would be false
    assert answer.text == CLOSEST["id"]
    assert 1 <= len(answer.citations) <= 2
    assert all(c.text == fake_core.article.sentence(c.id).text for c in answer.citations)


def test_a_no_answer_reply_to_an_off_article_question_is_refused_without_a_verification_call(fake_core, fake_generator):
    fake_generator.enqueue(json.dumps({"translation": "Apa ibu kota Prancis?"}), copied_reply("NONE"))
    answer = fake_core.ask("What is the capital of France?")
    assert answer.refused and answer.text == REFUSAL["en"] and answer.language == "en"
    assert answer.support is None and not fake_generator.asked


def test_english_question_is_translated_for_retrieval_and_answered_in_english(make_fake_core, fake_generator):
    fake_core = make_fake_core(copy_answers="same-language")
    fake_generator.enqueue(
        json.dumps({"translation": "Kapan Microsoft dan OpenAI memulai kolaborasi mereka?"}),
        free_reply(["8.1"], "In 2019, when Microsoft invested $1 billion."),
    )
    answer = fake_core.ask("When did Microsoft and OpenAI start their collaboration?")
    assert not answer.refused and answer.language == "en"
    assert [c.id for c in answer.citations] == ["8.1"]
    translate_prompt, answer_prompt = (h[0] for h in fake_generator.history)
    assert "Translate this question into Indonesian" in translate_prompt.user
    assert translate_prompt.system == answer_prompt.system, "both calls must share the cached prefix"
    assert "Write the answer in English" in answer_prompt.user


def test_an_answer_the_verifier_doubts_is_refused(make_fake_core, fake_generator):
    fake_core = make_fake_core(copy_answers="same-language")
    fake_generator.enqueue(
        json.dumps({"translation": "Kapan Microsoft dan OpenAI memulai kolaborasi mereka?"}),
        free_reply(["8.1"], "A long time ago."),
    ).enqueue_yes(0.1)
    answer = fake_core.ask("When did Microsoft and OpenAI start their collaboration?")
    assert answer.refused and answer.support.verified == pytest.approx(0.1) and not answer.support.supported
    verify_prompt, options = fake_generator.asked[0]
    assert options == ("yes", "no")
    assert 'with "A long time ago."' in verify_prompt.user
    assert "Sentence: Microsoft dan OpenAI memulai kolaborasi" in verify_prompt.user


def test_a_copied_answer_is_verified_without_showing_it(fake_core, fake_generator):
    # Its words are the sentence's by construction; shown, they would only invite a "yes".
    fake_generator.enqueue(copied_reply("pada tahun 2019")).enqueue_yes(0.2)
    answer = fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert answer.refused and answer.support.verified == pytest.approx(0.2)
    verify_prompt, _ = fake_generator.asked[0]
    assert "Sentence [8.1]: Microsoft dan OpenAI memulai kolaborasi" in verify_prompt.user
    assert "Question: Kapan Microsoft dan OpenAI memulai kolaborasi mereka?" in verify_prompt.user
    assert '2019"' not in verify_prompt.user and "with" not in verify_prompt.user.split("Question:")[1]


def test_follow_up_carries_the_earlier_turn(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("$1 miliar."))
    earlier = Turn("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?", "Pada tahun 2019.")
    answer = fake_core.ask("Berapa yang diinvestasikan saat itu?", history=earlier)
    assert not answer.refused and answer.citations[0].id == "8.1"
    user = fake_generator.history[0][0].user
    assert "Earlier question: Kapan Microsoft" in user and "Earlier answer: Pada tahun 2019." in user


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_a_domain_error(fake_core, question):
    with pytest.raises(QuestionError, match="empty"):
        fake_core.ask(question)


def test_overlong_question_is_refused_with_a_clear_message(fake_core, fake_generator):
    with pytest.raises(QuestionError, match="2001 characters; the limit is 2000"):
        fake_core.ask("a" * 2001)
    assert fake_generator.history == []


def test_source_returns_the_sentence_in_its_paragraph(fake_core):
    sentence, paragraph = fake_core.source("3.2")
    assert sentence.text.startswith("Tujuan terbesarnya")
    assert [s.id for s in paragraph] == ["3.1", "3.2"]
    with pytest.raises(UnknownSentence, match="up to 9.1"):
        fake_core.source("42.1")


def test_long_articles_send_candidate_texts_with_the_question(seed_article, tmp_path):
    from bot.wiring.factory import assemble_core, core_config
    from bot.wiring.settings import Settings
    from index.build import build_index
    from tests.fakes import FakeEmbedder, FakeGenerator

    generator = FakeGenerator([copied_reply("2019")], context_size=400)
    embedder = FakeEmbedder()
    core = assemble_core(
        build_index(seed_article, embedder), embedder, generator, core_config(Settings(_env_file=None))
    )
    assert not core.prompt.inlined
    core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    prompt = generator.history[0][0]
    assert "[8.1] Microsoft dan OpenAI memulai kolaborasi" in prompt.user
    assert "[8.1]" not in prompt.system


def test_a_question_about_what_the_article_lacks_gets_no_answer_even_when_the_name_matches(fake_core, fake_generator):
    # The small models answer this with whichever company the sentence names.
    fake_generator.enqueue(copied_reply("Microsoft"))
    answer = fake_core.ask("Siapa CEO OpenAI?")
    assert answer.refused and answer.support.missing_specifics == ("ceo",)  # "CEO" is named nowhere
    # "CEO OpenAI" is one run of capitalised words, and the article has one of them: it is about OpenAI, so the
    # closest sentences are shown rather than "not in the article".
    assert answer.kind is ReplyKind.CLOSEST and answer.relevance.absent_things == ()


def test_a_follow_up_answered_with_the_earlier_answer_again_is_refused(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("Tahun 2019"))
    earlier = Turn("Kapan Microsoft dan OpenAI mulai bekerja sama?", "Tahun 2019")
    answer = fake_core.ask("Dan berapa nilainya?", history=earlier)
    assert answer.refused and answer.support.unsupported == "the answer repeats the earlier answer"
    assert not fake_generator.asked  # no verification call for an answer already ruled out


def test_a_question_in_a_third_language_is_answered_in_english(fake_core, fake_generator):
    fake_generator.enqueue(
        json.dumps({"translation": "Kapan Microsoft dan OpenAI memulai kolaborasi mereka?"}),
        copied_reply("In 2019."),
    )
    answer = fake_core.ask("Microsoft và OpenAI bắt đầu hợp tác khi nào?")
    assert not answer.refused and answer.language == "en" and answer.citations[0].id == "8.1"
    assert "Translate this question into Indonesian" in fake_generator.history[0][0].user


def test_with_a_multilingual_embedder_an_english_question_is_not_translated(seed_article, fake_generator):
    from bot.wiring.factory import assemble_core
    from index.build import build_index
    from tests.conftest import DEFAULT_CONFIG
    from tests.fakes import FakeEmbedder

    embedder = FakeEmbedder(multilingual=True)
    config = replace(DEFAULT_CONFIG, copy_answers="same-language")
    core = assemble_core(build_index(seed_article, embedder), embedder, fake_generator, config)
    fake_generator.enqueue(free_reply(["8.1"], "In 2019."))
    answer = core.ask("When did Microsoft and OpenAI start their collaboration?")
    assert answer.language == "en" and len(fake_generator.history) == 1  # the answer call only
    assert "Write the answer in English" in fake_generator.history[0][0].user


def test_a_copied_answer_to_an_english_question_is_asked_for_in_the_articles_words(seed_article, fake_generator):
    from bot.wiring.factory import assemble_core
    from index.build import build_index
    from tests.conftest import DEFAULT_CONFIG
    from tests.fakes import FakeEmbedder

    embedder = FakeEmbedder(multilingual=True)
    core = assemble_core(build_index(seed_article, embedder), embedder, fake_generator, DEFAULT_CONFIG)
    fake_generator.enqueue(copied_reply("pada tahun 2019,"))
    answer = core.ask("When did Microsoft and OpenAI start their collaboration?")
    assert not answer.refused and answer.text == "pada tahun 2019" and answer.citations[0].id == "8.1"
    assert "Write the answer in Indonesian" in fake_generator.history[0][0].user


def test_a_sentence_case_first_word_is_not_a_made_up_name():
    from bot.core.grounding import unsupported_reason
    from bot.core.query import specifics
    from index.article import Sentence

    sentence = Sentence(5, 2, "Situasi mencapai puncaknya dalam beberapa minggu terakhir.", 0, 10)
    assert unsupported_reason("Dalam beberapa minggu terakhir", [sentence], Query.read("Kapan?", "en", "id")) is None
    # A real name from nowhere:
    assert unsupported_reason("Sam Altman", [sentence], Query.read("Siapa?", "en", "id")) is not None
    assert specifics("Through which cloud service does Microsoft sell it?") == {"microsoft"}
    assert specifics("OpenAI ingin apa?") == {"openai"}  # a name inside is still a name


def test_a_one_word_name_the_cited_sentence_lacks_is_refused_in_the_article_language():
    from bot.core.grounding import unsupported_reason
    from index.article import Sentence

    said = Sentence(3, 1, '"Kejurnas juga menyebarluaskan olahraga sepak takraw," ujarnya.', 0, 10)
    named = Sentence(2, 1, "Ketua Umum PB Persetasi Syamsurizal membuka kejurnas itu.", 0, 10)
    question = Query.read("Siapa Ketua Umum PB Persetasi?", "id", "id")
    assert unsupported_reason("Syamsurizal", [said], question) is not None
    assert unsupported_reason("Syamsurizal", [named], question) is None
    # In another language the opening word may be a translated common word, not a name.
    assert unsupported_reason("Exclusive rights", [named], Query.read("What rights?", "en", "id")) is None


def test_the_quote_is_the_candidate_that_names_a_one_word_answer(fake_core):
    from index.retrieve import Hit

    article = fake_core.article
    said, named = article.sentence("1.1"), next(s for s in article.sentences if "Azure" in s.text)
    chosen, candidates = [Hit(said, 1.0, 1.0)], [Hit(said, 1.0, 1.0), Hit(named, 0.5, 0.5)]
    picked = fake_core.grounding.citation("Azure", chosen, candidates, same_language=True)
    assert picked is not None and picked.sentence == named


def test_a_follow_up_answered_from_its_earlier_question_is_not_an_echo(fake_core, fake_generator):
    fake_generator.enqueue(copied_reply("Microsoft dan OpenAI"))  # words of 8.1 alone
    earlier = Turn("Kapan Microsoft dan OpenAI mulai bekerja sama?", "Tahun 2019")
    answer = fake_core.ask("Siapa yang berinvestasi saat itu?", history=earlier)
    assert not answer.refused and answer.text == "Microsoft dan OpenAI"


def test_a_reply_is_never_cut_inside_a_word():
    from bot.core.answer import parse_reply
    from bot.core.grammar import ANSWER_WORDS

    cut = parse_reply('{"ids": ["8.1"], "answer": "Pada tahun 2019 ketika raksa')  # the token limit struck
    assert cut.ids == ("8.1",) and cut.answer == "Pada tahun 2019 ketika"
    words = " ".join(f"kata{n}" for n in range(ANSWER_WORDS - 1))
    capped = parse_reply('{"ids": [], "answer": "' + words + ' danmeningkatkanskala"}')
    assert capped.answer == words + " …"  # the glued last word is dropped
    assert parse_reply('{"ids": ["1.1"], "answer": "Tahun 2019"}').answer == "Tahun 2019"
    assert parse_reply("not json").answer == ""
