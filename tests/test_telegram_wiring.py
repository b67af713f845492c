"""The bot's wiring over the real Library (fake models): /reload reads KUTIP_ARTICLE again, with the settings
read again, and makes it the default that chats which never chose an article ask about."""

from __future__ import annotations

from pathlib import Path

from bot.wiring.factory import build_library
from bot.wiring.settings import Settings
from tests.fakes import FakeEmbedder, FakeGenerator

OTHER = (
    "Bendungan Katulampa di Bogor dibangun pada tahun 1911 oleh pemerintah kolonial Belanda. "
    "Bendungan itu mengatur aliran Sungai Ciliwung menuju Jakarta. "
    "Petugas mencatat tinggi muka air setiap jam ketika hujan deras turun di hulu. "
    "Kabar dari Katulampa menjadi peringatan dini banjir bagi warga ibu kota."
)


def test_reload_default_reads_the_article_again_and_replaces_the_default(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    current = [settings]
    generator = FakeGenerator()
    library = build_library(settings, embedder=FakeEmbedder(), generator=generator, reread=lambda: current[0])
    first = library.default
    assert library.current(5) == first and first.is_default and generator.warmed == []

    article = tmp_path / "katulampa.txt"
    article.write_text(OTHER, encoding="utf-8")
    current[0] = settings.model_copy(update={"article": str(article)})  # an edited .env
    fresh = library.reload_default()
    assert fresh.title.startswith("Bendungan Katulampa") and fresh.id != first.id
    assert library.default.id == fresh.id and library.current(5).id == fresh.id
    assert library.core(fresh.id).article.text.startswith("Bendungan Katulampa")
    assert generator.warmed == [library.core(fresh.id).system], "the new default's core was not warmed"


def test_the_models_are_loaded_by_the_calls_that_need_them_once(tmp_path: Path, monkeypatch) -> None:
    """Listing articles, or the default with its index saved, loads no model; the first core loads each once."""
    loads: list[str] = []
    embedder, generator = FakeEmbedder(name="embedded:fake"), FakeGenerator()

    def load(name, model):
        def loader(settings, *_, **__):
            loads.append(name)
            return model

        return loader

    monkeypatch.setattr("bot.wiring.factory.load_embedder", load("embedder", embedder))
    monkeypatch.setattr("bot.wiring.factory.load_generator", load("generator", generator))
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", embedding_model="embedded:fake")
    first = build_library(settings).default  # the default is indexed when its core is first built, not listed
    assert first.is_default and loads == []

    loads.clear()
    library = build_library(settings)  # a restart
    assert library.default.is_default and library.articles() and loads == []
    core = library.core(library.default.id)
    assert library.core(library.default.id) is core and sorted(loads) == ["embedder", "generator"]
