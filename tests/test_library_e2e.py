"""The library on the real models: switching the one model between two articles restores each article's saved
prefix state (no re-evaluation), and each answer quotes its own article."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.wiring.factory import build_library

pytestmark = pytest.mark.e2e

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "xquad-en" / "docs.jsonl"


def first_dev_doc() -> dict:
    with BENCH.open(encoding="utf-8") as lines:
        return next(d for d in map(json.loads, lines) if d["split"] == "dev")


@pytest.mark.skipif(not BENCH.is_file(), reason="needs ../shared/bench")
def test_switching_articles_restores_each_saved_prefix(real_settings, real_embedder, real_generator, tmp_path, caplog):
    doc = first_dev_doc()
    path = tmp_path / "doc.txt"
    path.write_text(doc["text"], encoding="utf-8")
    settings = real_settings.model_copy(update={"data_dir": tmp_path / "data"})
    library = build_library(settings, embedder=real_embedder, generator=real_generator)
    default = library.core(library.default.id)
    default.warm()  # evaluated (or restored) and saved
    other_entry = library.read(str(path), chat_id=1)  # warms the new article: evaluated and saved
    other = library.core(other_entry.id)

    caplog.set_level(logging.INFO, logger="bot.llm.llama")
    caplog.clear()
    first = default.ask("Kapan Microsoft dan OpenAI mulai bekerja sama?")
    second = other.ask(f"What is {doc['title']}?")
    third = default.ask("Siapa yang menolak berkomentar?")
    restored = [r.getMessage() for r in caplog.records if "restored from" in r.getMessage()]
    assert len(restored) == 3, restored  # every switch restored the saved state; none re-evaluated
    for answer, core in ((first, default), (second, other), (third, default)):
        assert all(c.text in core.article.text for c in answer.citations)
