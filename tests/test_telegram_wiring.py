"""The bot's wiring over the real Library (fake models): the default core is a library core, /reload
replaces the default."""

from __future__ import annotations

from pathlib import Path

from bot.wiring.factory import build_library
from bot.wiring.settings import Settings
from bot.wiring.telegram import default_core, default_reloader
from tests.fakes import FakeEmbedder, FakeGenerator

OTHER = (
    "Bendungan Katulampa di Bogor dibangun pada tahun 1911 oleh pemerintah kolonial Belanda. "
    "Bendungan itu mengatur aliran Sungai Ciliwung menuju Jakarta. "
    "Petugas mencatat tinggi muka air setiap jam ketika hujan deras turun di hulu. "
    "Kabar dari Katulampa menjadi peringatan dini banjir bagi warga ibu kota."
)


def test_the_default_core_is_the_librarys_and_reload_replaces_the_default(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    generator = FakeGenerator()
    library = build_library(settings, embedder=FakeEmbedder(), generator=generator)
    core = default_core(library)
    assert library.current(5).is_default and core.article.text == library.article(library.default.id).text
    assert generator.warmed, "the default core was not warmed"

    article = tmp_path / "katulampa.txt"
    article.write_text(OTHER, encoding="utf-8")
    reload = default_reloader(library, lambda: settings.model_copy(update={"article": str(article)}))
    fresh = reload()
    assert fresh.article.text.startswith("Bendungan Katulampa")
    assert library.default.title == fresh.article.title and library.current(5).id == library.default.id
