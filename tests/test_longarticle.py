"""`kutip-eval --long-article`: a split's articles concatenated into one, question ids remapped, scored alike."""

import json
from pathlib import Path

import pytest

from bot.wiring.factory import core_config
from bot.wiring.settings import Settings
from evaluation.cli import main as eval_main
from evaluation.dataset import Doc, Group, Question, article_of
from evaluation.longarticle import answered_in, concatenate, load_long_bench
from evaluation.metrics import answer_metrics, cites_gold, in_passage_metrics
from evaluation.runner import evaluate
from tests.fakes import FakeEmbedder, FakeGenerator

CONFIG = core_config(Settings(_env_file=None))

DOCS = [
    Doc("a", "A", "en", "Microsoft invested in OpenAI in 2019. Azure sells its models.\n\nThe deal was revised later."),
    Doc("b", "B", "en", "The bridge opened in 1932.\n\nIt took six years to build. Its designer was Bradfield."),
    Doc("c", "C", "en", "Cats sleep sixteen hours a day.\n\nThey hunt at dusk."),
]


def q(qid, doc, question, answers=(), **extra):
    return Question(qid, doc, question, tuple(answers), bool(answers), "en", extra)


def test_sentences_keep_their_text_under_ids_shifted_by_the_paragraphs_before_them():
    selected = [Group(DOCS[1], (q("b1", "b", "Who designed the bridge?", ["Bradfield"], gold_sentence="2.2"),))]
    long = concatenate(selected, DOCS, {})
    article = article_of(long.group.doc)
    assert long.docs == ("a", "b", "c") and long.paragraphs == 6 and long.sentences == 8
    (question,) = long.group.questions
    # Doc a has 2 paragraphs, so b's 2.2 is the long article's 4.2: the same sentence.
    assert question.extra["gold_sentence"] == "4.2" and question.extra["source_doc"] == "b"
    assert article.sentence("4.2").text == article_of(DOCS[1]).sentence("2.2").text == "Its designer was Bradfield."
    assert question.passage == (3, 4) and question.doc == long.group.doc.id
    for short_doc, offset in zip(DOCS, (0, 2, 4), strict=True):
        for s in article_of(short_doc).sentences:
            assert article.sentence(f"{s.paragraph + offset}.{s.sentence}").text == s.text


def test_an_article_answering_an_unanswerable_question_is_left_out_or_the_question_dropped():
    asked = "When did the bridge open?"
    answers = answered_in([Group(DOCS[1], (q("b0", "b", asked, ["1932"]),))])
    # Asked of doc a, it is unanswerable there; doc b, which answers it, must not be in the long article.
    long = concatenate([Group(DOCS[0], (q("a1", "a", asked),))], DOCS, answers)
    assert long.left_out == ("b",) and long.docs == ("a", "c") and not long.dropped
    assert "1932" not in long.group.doc.text
    # When b's own questions are asked too, b stays and the unanswerable question cannot be asked.
    both = [Group(DOCS[0], (q("a1", "a", asked),)), Group(DOCS[1], (q("b1", "b", "Who designed it?", ["Bradfield"]),))]
    long = concatenate(both, DOCS, answers)
    assert long.dropped == ("a1",) and not long.left_out and [x.id for x in long.group.questions] == ["b1"]


def test_a_gold_string_in_another_article_counts_as_usual_and_not_in_the_own_article_scores():
    # "2019" stands in doc a only; asked of doc c, a's sentence holds the gold string but is not c's.
    selected = [Group(DOCS[2], (q("c1", "c", "When did Microsoft invest in OpenAI?", ["2019"]),))]
    long = concatenate(selected, DOCS, {})
    run = evaluate([long.group], FakeEmbedder(), None, CONFIG, progress=False)
    (record,) = run.records
    assert record["retrieved"][0] == "1.1" and record["gold_paragraphs"] == [5, 6]
    # Scored the usual way (shared/bench/README.md): any sentence holding a gold string.
    assert record["gold_in_article"] and record["gold_rank"] == 1
    # ... and again counting the question's own article only.
    assert not record["gold_in_passage"] and record["gold_rank_in_passage"] is None
    quoted = {
        **record,
        "refused": False,
        "answer": "2019",
        "citations": [{"id": "1.1", "paragraph": 1, "text": "in 2019"}],
    }
    assert cites_gold(quoted) and answer_metrics([quoted])["citation_precision"] == 1.0
    assert not cites_gold(quoted, in_passage=True) and in_passage_metrics([quoted])["citation_precision"] == 0.0
    assert cites_gold({**quoted, "gold_paragraphs": [1, 2]}, in_passage=True)
    assert in_passage_metrics([quoted])["recall_at_1"] is None  # no gold in its own article to find


def test_the_long_article_takes_the_candidates_path_and_its_answers_are_scored_on_remapped_ids():
    selected = [Group(DOCS[1], (q("b1", "b", "Who was its designer?", ["Bradfield"]),))]
    long = concatenate(selected, DOCS, {})
    generator = FakeGenerator(context_size=160).enqueue(json.dumps({"answer": "Bradfield"}))
    run = evaluate([long.group], FakeEmbedder(), generator, CONFIG, progress=False)
    (record,) = run.records
    assert generator.history[0][0].user.startswith("Article excerpt:")  # not inlined
    assert record["citations"][0]["id"] == "4.2" and record["gold_rank"] == 1
    assert run.metrics["citation_precision"] == 1.0 and run.metrics["answer_accuracy"] == 1.0


@pytest.fixture
def bench(tmp_path) -> Path:
    docs = [{"id": d.id, "title": d.title, "lang": d.lang, "text": d.text, "split": "dev"} for d in DOCS]
    docs.append({"id": "t", "title": "T", "lang": "en", "text": "A test article.", "split": "test"})
    rows = [
        {"id": "b1", "doc": "b", "question": "Who designed the bridge?", "answers": ["Bradfield"], "answerable": True},
        {"id": "b2", "doc": "b", "question": "How long did it take?", "answers": ["six years"], "answerable": True},
        {"id": "c1", "doc": "c", "question": "When do cats hunt?", "answers": ["dusk"], "answerable": True},
        {"id": "a0", "doc": "a", "question": "When did Microsoft invest?", "answers": ["2019"], "answerable": True},
        {"id": "bn", "doc": "b", "question": "When did Microsoft invest?", "answers": [], "answerable": False},
    ]
    (tmp_path / "docs.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    (tmp_path / "qa.jsonl").write_text("\n".join(json.dumps({**r, "split": "dev"}) for r in rows) + "\n", "utf-8")
    return tmp_path


def test_load_long_bench_selects_like_load_bench_and_concatenates_the_split(bench):
    long = load_long_bench(bench, "dev", limit=4)
    # Questions in load_bench's order (b's, the unanswerable one included, then c's); the test doc is not in.
    assert [x.id for x in long.group.questions] == ["b1", "b2", "bn", "c1"]
    assert long.left_out == ("a",) and long.docs == ("b", "c")
    assert [x.passage for x in long.group.questions] == [(1, 2), (1, 2), (1, 2), (3, 4)]


def test_kutip_eval_long_article_writes_what_the_long_article_is(bench, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("index.embedder.SentenceTransformerEmbedder", lambda spec, **_: FakeEmbedder(name=spec))
    out = tmp_path / "long.json"
    args = [
        "--bench",
        str(bench),
        "--split",
        "dev",
        "--limit",
        "4",
        "--retrieval-only",
        "--long-article",
        "--json",
        str(out),
    ]
    assert eval_main(args) == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["long_article"]["docs"] == ["b", "c"] and saved["long_article"]["left_out"] == ["a"]
    assert {r["doc"] for r in saved["records"]} == {f"{bench.name}-dev-long"}
    assert saved["metrics"]["questions"] == 4
    assert saved["long_article"]["own_article_only"]["recall_at_1"] is not None
    printed = capsys.readouterr().out
    assert "left out" in printed and "own article only" in printed


def test_the_bench_times_the_long_article_against_the_inlined_seed_rows(bench):
    from evaluation.long_bench import lines, long_article_speed

    replies = [json.dumps({"answer": "NONE"})] * 2
    generator = FakeGenerator(replies, context_size=160)
    seed_rows = [{"ask_s": 1.0}, {"ask_s": 3.0}, {"ask_s": 9.0}]
    r = long_article_speed(FakeEmbedder(), generator, CONFIG, bench, seed_rows, questions=2)
    assert r["questions"] == 2 and r["seed_questions"] == 2 and r["seed_latency_p50_s"] == 2.0
    assert r["inlined"] is False and r["sentences"] == 8 and r["refused"] == 2
    assert r["latency_p50_s"] is not None and r["answer_prompt_tokens_median"] > 0
    assert "long article" in lines(r)[0][0] and lines({}) == []
    assert long_article_speed(FakeEmbedder(), generator, CONFIG, bench / "missing", seed_rows) == {}
