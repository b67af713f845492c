"""`make bench`'s summary row: the seed's summary timed in its language and in English, with its model calls."""

from bot.wiring.factory import assemble_core, core_config
from bot.wiring.settings import Settings
from evaluation.bench import summary_lines, summary_speed
from evaluation.recording import RecordingGenerator
from index.build import build_index
from tests.fakes import FakeEmbedder, FakeGenerator


def test_the_summary_row_times_both_languages_and_counts_model_calls(seed_article):
    embedder, generator = FakeEmbedder(), FakeGenerator()
    recorder = RecordingGenerator(generator)
    core = assemble_core(build_index(seed_article, embedder), embedder, recorder, core_config(Settings(_env_file=None)))
    lede = core.summariser.clauses()[0]
    generator.enqueue(
        "1. The partnership is at a critical point.",  # the others not translated
        f"1. {lede}",  # the translation translated back: the round trip holds
    )
    speed = summary_speed(core, recorder)
    assert list(speed) == ["id", "en"]
    assert speed["id"]["llm_calls"] == 0 and speed["id"]["bullets"] == 4  # copied clauses need no model
    # There and back; no yes/no check (the round trip compared the verbs).
    # One translated; the three whose translations failed are shown in the article's words, flagged.
    assert speed["en"]["llm_calls"] == 2 and speed["en"]["bullets"] == 4
    assert len(speed["en"]["completion_s"]) == 2 and speed["en"]["check_s"] == []
    assert all(row["s"] >= 0 for row in speed.values())
    (name, value), (_, english) = summary_lines(speed)
    assert name == "summary, seed, id (s)" and value.endswith("(4 bullets, 0 LLM calls, warm prefix)")
    assert "completions" in english and "0 checks" in english
