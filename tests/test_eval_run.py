"""The eval runner, the ablation and `kutip-eval`, on a tiny hand-made benchmark with fakes."""

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.adapters.cli import build_parser
from bot.core.results import Answer, ReplyKind
from bot.wiring.factory import core_config
from bot.wiring.settings import Settings
from evaluation.ablation import ablate, default_variants, rrf_ranker
from evaluation.cli import main as eval_main
from evaluation.cli import parse_retrieval_config
from evaluation.dataset import article_of, load_bench
from evaluation.metrics import METRIC_KEYS
from evaluation.runner import evaluate
from index.build import build_index
from index.retrieve import RetrievalConfig
from tests.fakes import FakeEmbedder, FakeGenerator, copied_reply

REPO = Path(__file__).resolve().parent.parent
ANSWER_KEYS = set(Answer(question="q", text="a", kind=ReplyKind.ANSWER, language="en").to_dict())

DOCS = [
    {
        "id": "d1",
        "title": "Deal",
        "lang": "en",
        "split": "dev",
        "text": "Microsoft invested in OpenAI in 2019.\n\nThe Stargate data centre project was announced in 2024. "
        "Azure sells OpenAI software.",
    },
    {"id": "d2", "title": "Other", "lang": "en", "split": "test", "text": "Cats sleep a lot."},
]
QUESTIONS = [
    {
        "id": "q1",
        "doc": "d1",
        "question": "When did Microsoft invest in OpenAI?",
        "answers": ["2019"],
        "answerable": True,
    },
    {
        "id": "q2",
        "doc": "d1",
        "question": "Which data centre project was announced in 2024?",
        "answers": ["Stargate"],
        "answerable": True,
        "kind": "fact",
    },
    {"id": "t1", "doc": "d2", "question": "Do cats sleep?", "answers": ["a lot"], "answerable": True, "split": "test"},
    {"id": "q3", "doc": "d1", "question": "What is the capital of France?", "answers": [], "answerable": False},
]


CONFIG = core_config(Settings(_env_file=None))


@pytest.fixture
def bench(tmp_path) -> Path:
    (tmp_path / "docs.jsonl").write_text("\n".join(json.dumps(d) for d in DOCS) + "\n", encoding="utf-8")
    rows = [{"split": "dev", **q} for q in QUESTIONS]
    (tmp_path / "qa.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return tmp_path


def test_questions_are_grouped_by_article_in_file_order_and_limited(bench):
    groups = load_bench(bench, "dev")
    assert [g.doc.id for g in groups] == ["d1"]
    assert [q.id for q in groups[0].questions] == ["q1", "q2", "q3"]
    assert groups[0].questions[1].extra == {"kind": "fact"}
    assert [q.id for g in load_bench(bench, "dev", limit=2) for q in g.questions] == ["q1", "q2"]
    # A later slice, for recording a large split in parts.
    assert [q.id for g in load_bench(bench, "dev", limit=1, skip=1) for q in g.questions] == ["q2"]
    assert [q.id for g in load_bench(bench, "dev", skip=2) for q in g.questions] == ["q3"]
    assert load_bench(bench, "dev", skip=3) == []
    assert [q.id for g in load_bench(bench, "test") for q in g.questions] == ["t1"]


def test_answers_go_through_the_core_and_are_scored(bench):
    generator = FakeGenerator().enqueue(copied_reply("In 2019."), copied_reply("Stargate"), copied_reply("NONE"))
    run = evaluate(load_bench(bench, "dev"), FakeEmbedder(), generator, CONFIG, threads=2, progress=False)
    assert tuple(run.metrics) == METRIC_KEYS
    m = run.metrics
    assert m["questions"] == 3 and m["llm_model"] == "fake-llm" and m["threads"] == 2
    assert m["answer_accuracy"] == 1.0 and m["citation_precision"] == 1.0
    assert m["refusal_rate"] == 1.0 and m["wrong_refusal_rate"] == 0.0
    assert m["recall_at_5"] == 1.0
    first = run.records[0]
    assert ANSWER_KEYS | {"id", "gold", "answerable", "gold_rank"} <= set(first)
    assert first["id"] == "q1" and first["gold"] == ["2019"] and first["citations"][0]["id"] == "1.1"
    # Kept so refusals can be explained: the raw reply and the verifier's verdict.
    assert [r["text"] for r in first["llm_replies"]] == [copied_reply("In 2019.")]
    assert first["llm_choices"] == [{"yes": 1.0, "no": 0.0}]
    assert run.records[1]["question_kind"] == "fact" and run.records[1]["kind"] == "answer"
    assert run.records[2]["refused"] and run.records[2]["gold_rank"] is None
    # One warm-up per article: the article prefix is paid once, not per question.
    assert len(generator.warmed) == 1


def test_retrieval_only_never_calls_the_generator_and_nulls_llm_metrics(bench):
    run = evaluate(load_bench(bench, "dev"), FakeEmbedder(), None, CONFIG, threads=2, progress=False)
    assert run.metrics["answer_accuracy"] is None and run.metrics["llm_model"] is None
    assert run.metrics["recall_at_1"] is not None
    assert set(run.records[0]) >= {"id", "question", "gold", "answerable", "gold_rank", "retrieved"}
    assert "answer" not in run.records[0]
    assert len(run.records[0]["retrieved"]) == 3  # depth max(5, candidates), capped by the article's 3 sentences


def test_ablation_scores_every_variant_over_the_same_questions(bench):
    rows = ablate(load_bench(bench, "dev"), FakeEmbedder(), default_variants(RetrievalConfig()), progress=False)
    assert [r.name for r in rows][:3] == ["dense only", "lexical (BM25) only", "RRF dense+BM25"]
    assert all(r.questions == 2 for r in rows)
    assert all(0 <= v <= 1 for r in rows for v in r.recall.values())


def test_rrf_ranks_every_sentence_once(bench):
    article = article_of(load_bench(bench, "dev")[0].doc)
    embedder = FakeEmbedder()
    ranked = rrf_ranker(build_index(article, embedder), embedder)("Stargate project 2024", 5)
    assert ranked[0].id == "2.1"
    assert sorted(s.id for s in ranked) == sorted(s.id for s in article.sentences)


def test_retrieval_config_override_parses_and_rejects_unknown_names():
    assert parse_retrieval_config("dense=0.5, neighbours=0.25") == RetrievalConfig(dense=0.5, neighbours=0.25)
    for bad in ("dense", "bogus=1", "dense=high"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_retrieval_config(bad)


def test_kutip_eval_command_writes_metrics_and_records(bench, tmp_path, monkeypatch, capsys):
    # The command loads the configured embedder by name: put the fake in its place, no model is read.
    monkeypatch.setattr("index.embedder.SentenceTransformerEmbedder", lambda spec, **_: FakeEmbedder(name=spec))
    out = tmp_path / "out" / "eval.json"
    assert "eval" not in build_parser().format_help()  # a development tool, not a product command
    code = eval_main(["--bench", str(bench), "--split", "dev", "--retrieval-only", "--json", str(out)])
    assert code == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert set(saved) == {"metrics", "records"}
    assert tuple(saved["metrics"]) == METRIC_KEYS
    assert [r["id"] for r in saved["records"]] == ["q1", "q2", "q3"]
    assert "R@1" in capsys.readouterr().out


def test_the_seed_dev_set_is_well_formed():
    groups = load_bench(REPO / "bench" / "seed", "dev")
    assert len(groups) == 1
    article = article_of(groups[0].doc)
    questions = groups[0].questions
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 30
    assert sum(q.extra.get("kind") == "unanswerable" for q in questions) >= 8
    assert sum(q.extra.get("kind") == "injection" and not q.answerable for q in questions) >= 4
    assert {q.lang for q in answerable} == {"id", "en"}
    assert len({q.id for q in questions}) == len(questions)
    for q in answerable:
        sentence = article.sentence(q.extra["gold_sentence"])
        assert sentence is not None, q.id
        # At least one gold string is verbatim in the gold sentence, so R@k can score it in any language.
        assert any(g.lower() in sentence.text.lower() for g in q.answers), q.id
    assert all(not q.answers for q in questions if not q.answerable)


def test_gold_rank_comes_from_the_cores_own_search(bench):
    from evaluation.recording import RecordingRetriever
    from evaluation.runner import _ranking
    from index.retrieve import HybridRetriever

    group = load_bench(bench, "dev")[0]
    embedder = FakeEmbedder()
    stored = build_index(article_of(group.doc), embedder)
    ours = HybridRetriever(stored, embedder)
    recorder = RecordingRetriever(HybridRetriever(stored, embedder))
    question = group.questions[0]
    # The core searched something else (say, a translation): its ranking is the one scored.
    recorder.search("Stargate data centre project", len(stored.article.sentences))
    hits = _ranking(question, stored.article, recorder, ours, depth=3)
    assert [h.sentence.id for h in hits] == [h.sentence.id for h in ours.search("Stargate data centre project", 3)]
    recorder.clear()
    assert _ranking(question, stored.article, recorder, ours, depth=3) == ours.search(question.question, 3)
    # Without the core's search, a question in another language is searched as the core would search it.
    indonesian = replace(question, question="Kapan proyek pusat data Stargate milik OpenAI dimulai?")
    assert stored.article.language == "en"
    expected = ours.search(indonesian.question, 3, same_language=False)
    assert _ranking(indonesian, stored.article, recorder, ours, depth=3) == expected
    assert expected != ours.search(indonesian.question, 3)


def test_recording_generator_keeps_what_the_core_sent(seed_article, fake_generator):
    from bot.wiring.factory import assemble_core
    from evaluation.recording import RecordingGenerator

    recorder = RecordingGenerator(fake_generator)
    embedder = FakeEmbedder()
    core = assemble_core(build_index(seed_article, embedder), embedder, recorder, CONFIG)
    fake_generator.enqueue(copied_reply("2019"))
    core.ask("Kapan Microsoft dan OpenAI memulai kolaborasi mereka?")
    assert len(recorder.calls) == 1
    call = recorder.calls[0]
    assert (call.prompt, call.grammar, call.max_tokens) == fake_generator.history[0]
    assert call.reply.text == copied_reply("2019")


def test_tuning_re_decides_recorded_signals_exactly_as_the_core_would(bench):
    """Recorded permissively, then re-decided by evaluation.tune, equals a run under the stricter thresholds."""
    from bot.core.grounding import GroundingThresholds
    from evaluation.cli import parse_thresholds
    from evaluation.tune import decided

    groups = load_bench(bench, "dev")

    def generator():
        # q1 right and verified; q2 right but doubted by the verifier; q3 a made-up answer, verified.
        fake = FakeGenerator([copied_reply("2019"), copied_reply("Stargate"), copied_reply("Azure")])
        return fake.enqueue_yes(0.9, 0.4, 0.7)

    recorded = evaluate(
        groups, FakeEmbedder(), generator(), CONFIG, progress=False, thresholds=parse_thresholds("permissive")
    )
    strict = GroundingThresholds(min_verified=0.8)
    direct = evaluate(groups, FakeEmbedder(), generator(), CONFIG, progress=False, thresholds=strict)
    re_decided = [decided(r, strict) for r in recorded.records]
    assert [r["refused"] for r in re_decided] == [r["refused"] for r in direct.records] == [False, True, True]
    assert [r["kind"] for r in re_decided] == [r["kind"] for r in direct.records]
    # The closest sentences a re-decided record would show are those the core showed.
    for again, shown in zip(re_decided, direct.records, strict=True):
        assert [c["id"] for c in again["citations"]] == [c["id"] for c in shown["citations"]]
    assert [r["answer"] for r in re_decided][0] == direct.records[0]["answer"] == "2019"
    assert all(r["support"]["verified"] is not None for r in recorded.records)


def test_the_follow_up_dev_set_is_well_formed_and_asked_with_its_history():
    groups = load_bench(REPO / "bench" / "followups", "dev")
    questions = [q for group in groups for q in group.questions]
    assert len(questions) >= 12 and any(not q.answerable for q in questions)
    for group in groups:
        article = article_of(group.doc)
        for q in group.questions:
            assert set(q.extra["history"]) == {"question", "answer"}
            if q.answerable:
                sentence = article.sentence(q.extra["gold_sentence"])
                assert sentence is not None, q.id
    translations = [json.dumps({"translation": "x"})] * len(questions)
    generator = FakeGenerator([copied_reply("NONE")] * len(questions) + translations)
    evaluate(groups, FakeEmbedder(), generator, CONFIG, progress=False)
    asked = [h[0].user for h in generator.history if "Earlier question:" in h[0].user]
    assert len(asked) == len(questions)  # every follow-up went to the model with its earlier turn


def test_a_probe_re_decides_recorded_states_exactly_as_the_core_would(bench, tmp_path, monkeypatch):
    """States recorded beside a permissive run, read back by evaluation.verifier and re-decided under a probe,
    give the replies the core gives with that probe."""
    from bot.core.grounding import GroundingThresholds
    from bot.core.support_model import FEATURES, SupportModel
    from evaluation.tune import decided
    from evaluation.verifier import load_runs

    # Trusts the first number of the state alone: q2 (P(yes) 0.4) is believed, q3 (P(yes) 0.95) is not.
    probe = SupportModel((0.0,) * len(FEATURES), 0.0, 0.5, state_weights=(4.0, 0.0))

    def generator():
        fake = FakeGenerator([copied_reply("2019"), copied_reply("Stargate"), copied_reply("Azure")])
        fake.states.extend([(1.0, 0.0), (1.0, 3.0), (-1.0, 0.0)])
        return fake.enqueue_yes(0.9, 0.4, 0.95)

    monkeypatch.setattr("bot.wiring.factory.load_embedder", lambda settings: FakeEmbedder())
    asked_for_states = []

    def load_generator(settings, keep_state=None):
        asked_for_states.append(keep_state)
        return generator()

    monkeypatch.setattr("bot.wiring.factory.load_generator", load_generator)
    out = tmp_path / "permissive.json"
    assert eval_main(["--bench", str(bench), "--thresholds", "permissive", "--json", str(out)]) == 0
    assert asked_for_states == [True]  # a recording run keeps the states though no probe decides
    assert out.with_suffix(".states.npy").exists()
    recorded = load_runs([out])["permissive"]
    assert [r["support"]["state"] for r in recorded] == [(1.0, 0.0), (1.0, 3.0), (-1.0, 0.0)]

    direct = evaluate(load_bench(bench, "dev"), FakeEmbedder(), generator(), CONFIG, progress=False, model=probe)
    re_decided = [decided(r, GroundingThresholds(), model=probe) for r in recorded]
    # q3, the capital of France, is "not in the article" whatever was proposed: the probe decides answers only.
    kinds = ["answer", "answer", "not_in_article"]
    assert [r["kind"] for r in re_decided] == [r["kind"] for r in direct.records] == kinds
    # Without the probe, P(yes) 0.4 leaves the right "Stargate" unconfirmed.
    assert [decided(r, GroundingThresholds())["kind"] for r in recorded] == ["answer", "closest", "not_in_article"]
