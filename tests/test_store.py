import hashlib
import json
import logging

import pytest

from base.errors import IndexStale
from base.words import TOKENIZER_VERSION
from index.build import build_index, ensure_index
from index.ingest import parse_article
from index.store import FILES, FORMAT, MANIFEST, article_sha256, load, save
from tests.fakes import FakeEmbedder


def test_manifest_round_trip(seed_article, tmp_path):
    embedder = FakeEmbedder()
    stored = build_index(seed_article, embedder)
    save(stored, tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest == {
        "format": FORMAT,
        "tokenizer": TOKENIZER_VERSION,
        "files": {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in FILES},
        "embedding_model": "fake-embedder",
        "dimension": 256,
        "article_sha256": article_sha256(seed_article),
        "sentence_count": len(seed_article.sentences),
        "paragraph_count": seed_article.paragraph_count,
    }
    loaded = load(tmp_path, embedding_model="fake-embedder", article_sha=article_sha256(seed_article))
    assert loaded.article.sentences == seed_article.sentences
    assert loaded.article.source_url == seed_article.source_url
    assert loaded.sentence_tokens == stored.sentence_tokens
    assert loaded.sentence_index.ntotal == len(seed_article.sentences)
    assert (loaded.sentence_index.reconstruct(3) == stored.sentence_index.reconstruct(3)).all()


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda d: (d / MANIFEST).unlink(), "no index"),
        (lambda d: (d / MANIFEST).write_text("{not json"), "unreadable manifest"),
        (lambda d: (d / MANIFEST).write_text(json.dumps({"format": "kutip-index v0"})), "format"),
        (lambda d: (d / "sentences.faiss").write_bytes(b"garbage"), "corrupt"),
        (lambda d: (d / "article.json").write_text("[]"), "corrupt"),
    ],
)
def test_damaged_index_is_stale_with_a_reason(seed_article, tmp_path, damage, reason):
    save(build_index(seed_article, FakeEmbedder()), tmp_path)
    damage(tmp_path)
    with pytest.raises(IndexStale, match=reason):
        load(tmp_path, embedding_model="fake-embedder")


def test_other_embedding_model_or_article_makes_it_stale(seed_article, tmp_path):
    save(build_index(seed_article, FakeEmbedder()), tmp_path)
    with pytest.raises(IndexStale, match="embedding model"):
        load(tmp_path, embedding_model="other")
    with pytest.raises(IndexStale, match="article changed"):
        load(tmp_path, embedding_model="fake-embedder", article_sha="0" * 64)


def test_ensure_index_reuses_then_rebuilds_when_stale(seed_article, tmp_path, caplog):
    embedder = FakeEmbedder()
    ensure_index(seed_article, embedder, tmp_path, progress=False)
    calls = len(embedder.calls)
    ensure_index(seed_article, embedder, tmp_path, progress=False)
    assert len(embedder.calls) == calls, "a fresh index must be reused, not re-embedded"

    changed = parse_article(seed_article.text + "\n\nSebuah paragraf baru ditambahkan.")
    with caplog.at_level(logging.INFO, logger="index.build"):
        rebuilt = ensure_index(changed, embedder, tmp_path, progress=False)
    assert "article changed" in caplog.text
    assert rebuilt.article.sentences[-1].text == "Sebuah paragraf baru ditambahkan."
    assert load(tmp_path, embedding_model="fake-embedder", article_sha=article_sha256(changed))

    (tmp_path / "lexical.json").write_text("{}")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="index.build"):
        ensure_index(changed, embedder, tmp_path, progress=False)
    assert "corrupt" in caplog.text


@pytest.mark.parametrize("name", FILES)
def test_garbage_in_the_middle_of_any_index_file_is_caught_by_its_checksum(seed_article, tmp_path, name):
    save(build_index(seed_article, FakeEmbedder()), tmp_path)
    path = tmp_path / name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(16)  # same size, same mtime class of damage: only the content says
    path.write_bytes(bytes(data))
    with pytest.raises(IndexStale, match=f"{name} does not match its checksum"):
        load(tmp_path, embedding_model="fake-embedder")


def test_an_index_from_another_tokenizer_version_is_stale(seed_article, tmp_path, monkeypatch):
    save(build_index(seed_article, FakeEmbedder()), tmp_path)
    monkeypatch.setattr("index.store.TOKENIZER_VERSION", TOKENIZER_VERSION + 1)
    with pytest.raises(IndexStale, match="tokenizer"):
        load(tmp_path, embedding_model="fake-embedder")


def test_garbage_inside_the_faiss_vectors_is_caught_and_the_index_rebuilt(seed_article, tmp_path, caplog):
    embedder = FakeEmbedder()
    built = ensure_index(seed_article, embedder, tmp_path, progress=False)
    path = tmp_path / "sentences.faiss"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64  # inside the vectors: the file still parses, the numbers are wrong
    path.write_bytes(bytes(data))
    calls = len(embedder.calls)
    with caplog.at_level(logging.INFO, logger="index.build"):
        rebuilt = ensure_index(seed_article, embedder, tmp_path, progress=False)
    assert "sentences.faiss does not match its checksum" in caplog.text
    assert len(embedder.calls) > calls  # embedded again, not loaded
    assert (rebuilt.sentence_index.reconstruct(3) == built.sentence_index.reconstruct(3)).all()
    assert load(tmp_path, embedding_model="fake-embedder", article_sha=article_sha256(seed_article))
