"""Smoke test: a few seed dev questions through the real core's loaded models, scored like `kutip-eval --limit 5`."""

from pathlib import Path

import pytest

from bot.wiring.factory import core_config
from evaluation.dataset import load_bench
from evaluation.metrics import METRIC_KEYS
from evaluation.runner import evaluate

SEED_BENCH = Path(__file__).resolve().parent.parent / "bench" / "seed"


@pytest.mark.e2e
def test_seed_questions_through_the_real_core(real_core, real_settings, real_embedder, real_generator):
    groups = load_bench(SEED_BENCH, "dev", limit=5)
    # Reuse the session's embedder and LLM: loading a second model would double the test's memory.
    run = evaluate(
        groups,
        real_embedder,
        real_generator,
        core_config(real_settings),
        threads=real_settings.llm_threads,
        progress=False,
    )
    assert tuple(run.metrics) == METRIC_KEYS
    assert run.metrics["questions"] == 5
    assert run.metrics["llm_model"] == real_core.model_name
    for key in ("recall_at_5", "answer_accuracy", "answer_f1", "wrong_refusal_rate", "latency_p50_s"):
        assert run.metrics[key] is not None
    for record in run.records:
        assert {"id", "answer", "refused", "citations", "timings_ms", "gold", "gold_rank"} <= set(record)
        # Quotes are rendered from stored sentences, so they are verbatim article text.
        assert all(c["text"] in real_core.article.text for c in record["citations"])
