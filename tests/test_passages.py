"""A long article's question carries its best sentences inside their paragraphs; an inlined one is unchanged."""

import json
from dataclasses import replace

from bot.core.grammar import span_answer_grammar
from bot.core.passages import with_neighbours
from bot.core.prompts import ArticlePrompt
from bot.wiring.factory import assemble_core, core_config
from bot.wiring.settings import Settings
from index.build import build_index
from index.retrieve import Hit
from tests.fakes import FakeEmbedder, FakeGenerator, make_article

ARTICLE = make_article(
    (
        ("A1.", "A2.", "A3.", "A4.", "A5."),
        ("B1.", "B2."),
        ("C1.",),
    )
)


def ranked(*ids):
    """Hits in this order, then every other sentence in article order."""
    order = [*ids, *(s.id for s in ARTICLE.sentences if s.id not in ids)]
    return [Hit(ARTICLE.sentence(i), score=1.0 / n, dense=0.0) for n, i in enumerate(order, 1)]


def ids(hits):
    return [h.sentence.id for h in hits]


def test_the_best_hits_come_with_their_nearest_paragraph_mates_up_to_the_budget():
    hits = ranked("1.3", "3.1", "2.2")
    # No room: the bare candidates, the best last (nearest the reply, where the model looks).
    assert ids(with_neighbours(hits, 3, 3)) == ["2.2", "3.1", "1.3"]
    # Nearest first: 1.3's neighbours 1.2 and 1.4, and 2.2's 2.1, before 1.1 or 1.5 (two away).
    assert ids(with_neighbours(hits, 3, 6)) == ["2.1", "2.2", "3.1", "1.2", "1.3", "1.4"]
    # Paragraphs by their best hit, reversed; sentences in reading order; never past the budget.
    assert ids(with_neighbours(hits, 3, 20)) == ["2.1", "2.2", "3.1", "1.1", "1.2", "1.3", "1.4", "1.5"]
    assert ids(with_neighbours(hits, 1, 2)) == ["1.2", "1.3"]


def test_two_hits_in_one_paragraph_share_their_mates():
    chosen = with_neighbours(ranked("1.1", "1.5"), 2, 4)
    assert ids(chosen) == ["1.1", "1.2", "1.4", "1.5"]


def test_passages_are_set_apart_by_a_blank_line_and_inlined_prompts_carry_none():
    sentences = [ARTICLE.sentence(i) for i in ("1.2", "1.3", "3.1")]
    text = ArticlePrompt("system", inlined=False).excerpt(sentences)
    assert text == "Article excerpt:\n[1.2] A2.\n[1.3] A3.\n\n[3.1] C1."
    assert ArticlePrompt("system", inlined=True).excerpt(sentences) == ""


def _core(seed_article, generator, passage_sentences):
    embedder = FakeEmbedder()
    config = replace(core_config(Settings(_env_file=None)), passage_sentences=passage_sentences)
    return assemble_core(build_index(seed_article, embedder), embedder, generator, config)


def test_a_long_articles_question_shows_and_offers_the_paragraph_around_its_candidates(seed_article):
    generator = FakeGenerator([json.dumps({"answer": "2019"})], context_size=400)
    core = _core(seed_article, generator, passage_sentences=8)
    assert not core.prompt.inlined
    core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    prompt, grammar, _ = generator.history[0]
    shown = [line.split("]")[0][1:] for line in prompt.user.splitlines() if line.startswith("[")]
    assert "8.1" in shown and 3 < len(shown) <= 8
    # Every sentence of 8.1's paragraph is there, and the answer may be copied from every one shown,
    # offered to the grammar in ranking order.
    assert {s.id for s in seed_article.paragraph(8)} <= set(shown)
    ranked = [h.sentence.id for h in core.retriever.search("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?", 99)]
    assert grammar == span_answer_grammar([seed_article.sentence(i).text for i in ranked if i in shown])
    # The excerpt comes first and the question after it, as an inlined article precedes the question.
    assert prompt.user.startswith("Article excerpt:\n[")
    assert prompt.user.index("Question: Kapan Microsoft") > prompt.user.index("[8.1]")


def test_the_inlined_path_is_the_same_whatever_the_passage_budget(seed_article):
    prompts = []
    for budget in (3, 8):
        generator = FakeGenerator([json.dumps({"answer": "2019"})])
        core = _core(seed_article, generator, passage_sentences=budget)
        assert core.prompt.inlined
        core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
        prompts.append(generator.history[0])
    assert prompts[0] == prompts[1]


def test_the_verification_turn_of_a_long_article_reads_the_passages_the_answer_came_from(seed_article):
    generator = FakeGenerator([json.dumps({"answer": "2019"})], context_size=400)
    core = _core(seed_article, generator, passage_sentences=8)
    core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    ((verify, _),) = generator.asked
    # The verification turn starts with the very excerpt the question came with (its evaluated tokens are reused).
    excerpt = generator.history[0][0].user.split("\n\nQuestion: ")[0]
    assert excerpt.startswith("Article excerpt:\n[") and verify.user.startswith(excerpt + "\n\n")
    assert "Sentence [8.1]: " + seed_article.sentence("8.1").text in verify.user


def test_an_inlined_verification_turn_carries_no_excerpt(fake_core, fake_generator):
    fake_generator.enqueue(json.dumps({"answer": "2019"}))
    fake_core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    ((verify, _),) = fake_generator.asked
    assert "Article excerpt" not in verify.user and verify.user.startswith("Sentence [")


def test_a_long_articles_copied_words_are_quoted_from_the_best_ranked_sentence_holding_them(seed_article):
    # Shown passages are read best last, but the quote is chosen by rank, not by reading order.
    question = "Kapan Microsoft dan OpenAI memulai kolaborasi mereka?"
    # "Microsoft" only repeats the question: the second try (NONE) leaves it standing, and judged.
    generator = FakeGenerator([json.dumps({"answer": "Microsoft"}), json.dumps({"answer": "NONE"})], context_size=400)
    core = _core(seed_article, generator, passage_sentences=8)
    answer = core.ask(question)
    shown = [line.split("]")[0][1:] for line in generator.history[0][0].user.splitlines() if line.startswith("[")]
    ranked = [h.sentence.id for h in core.retriever.search(question, 99) if h.sentence.id in shown]
    holding = [i for i in ranked if "microsoft" in seed_article.sentence(i).text.lower()]
    first_read = next(i for i in shown if i in holding)
    assert first_read != holding[0]  # reading order alone would quote another sentence
    assert answer.support.sentence_id == holding[0]
