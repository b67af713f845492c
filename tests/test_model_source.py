import hashlib
import json
import os
from pathlib import Path

import pytest

from base.errors import ChecksumMismatch, ModelError
from bot.llm.packs import PACKS
from bot.llm.source import assemble, fingerprint, resolve_model, sha256_file
from bot.wiring.settings import Settings


def _parts(tmp_path: Path) -> tuple[list[Path], str]:
    parts = []
    for i, data in enumerate([b"GGUF-part-one-", b"part-two-", b"part-three"]):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(data)
        parts.append(p)
    return parts, hashlib.sha256(b"GGUF-part-one-part-two-part-three").hexdigest()


def test_parts_are_concatenated_in_order_and_verified(tmp_path):
    parts, sha = _parts(tmp_path)
    target = assemble(parts, sha, tmp_path / "cache" / "m.gguf")
    assert target.read_bytes() == b"GGUF-part-one-part-two-part-three"
    # A second call trusts the verified marker instead of re-reading the parts.
    parts[0].unlink()
    assert assemble(parts, sha, target) == target


def test_checksum_mismatch_is_refused_and_leaves_nothing_behind(tmp_path):
    parts, _ = _parts(tmp_path)
    with pytest.raises(ChecksumMismatch, match="expected"):
        assemble(parts, "0" * 64, tmp_path / "cache" / "m.gguf")
    assert not list((tmp_path / "cache").iterdir())


def test_a_modified_cached_file_is_reassembled(tmp_path):
    parts, sha = _parts(tmp_path)
    target = assemble(parts, sha, tmp_path / "m.gguf")
    target.write_bytes(b"tampered")
    assert assemble(parts, sha, target).read_bytes() == b"GGUF-part-one-part-two-part-three"


def test_local_path_with_wrong_checksum_is_refused(tmp_path):
    model = tmp_path / "local.gguf"
    model.write_bytes(b"weights")
    assert resolve_model(str(model), tmp_path)[0] == model
    assert resolve_model(str(model), tmp_path, hashlib.sha256(b"weights").hexdigest())[0] == model
    with pytest.raises(ChecksumMismatch):
        resolve_model(str(model), tmp_path, "ab" * 32)


def test_missing_local_model_and_unknown_pack_are_domain_errors(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        resolve_model(str(tmp_path / "none.gguf"), tmp_path)
    with pytest.raises(ModelError, match="unknown model pack"):
        resolve_model("pack:nope", tmp_path)


def test_hub_model_is_read_from_the_local_hub_cache(tmp_path, monkeypatch):
    # The layout huggingface_hub itself writes; offline mode must resolve it without a network.
    snapshot = tmp_path / "hub" / "models--acme--tiny" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "tiny.gguf").write_bytes(b"hub-weights")
    (tmp_path / "hub" / "models--acme--tiny" / "refs").mkdir()
    (tmp_path / "hub" / "models--acme--tiny" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    path, name = resolve_model("hf:acme/tiny:tiny.gguf", tmp_path)
    assert path.read_bytes() == b"hub-weights"
    assert name == "acme/tiny/tiny.gguf"
    with pytest.raises(ModelError, match="cannot get"):
        resolve_model("hf:acme/tiny:other.gguf", tmp_path)


def test_the_default_pack_and_the_small_one_are_pinned():
    assert Settings(_env_file=None).llm_model == "pack:qwen2.5-coder-1.5b"
    default, small = PACKS["qwen2.5-coder-1.5b"], PACKS["qwen2.5-coder-0.5b"]
    assert default.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert len(default.distributions) == 22
    assert small.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert len(small.distributions) == 6


# --- content checks (issue 12): a corrupted file with its mtime kept -------------------------------


def _big_parts(tmp_path: Path, size: int = 3 * 1024 * 1024) -> tuple[list[Path], bytes, str]:
    data = bytes(range(256)) * (size // 256)
    half = len(data) // 2
    parts = [tmp_path / "p1.bin", tmp_path / "p2.bin"]
    parts[0].write_bytes(data[:half])
    parts[1].write_bytes(data[half:])
    return parts, data, hashlib.sha256(data).hexdigest()


def _corrupt_keeping_mtime(path: Path, offset: int, garbage: bytes = b"\xde\xad\xbe\xef" * 16) -> None:
    stat = path.stat()
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(garbage)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns


@pytest.mark.parametrize("where", ["head", "middle", "tail"])
def test_a_corrupted_pack_file_with_its_mtime_kept_is_reassembled(tmp_path, where):
    parts, data, sha = _big_parts(tmp_path)
    target = assemble(parts, sha, tmp_path / "cache" / "m.gguf")
    offset = {"head": 8, "middle": len(data) // 2, "tail": len(data) - 100}[where]
    _corrupt_keeping_mtime(target, offset)
    assert assemble(parts, sha, target).read_bytes() == data


def test_a_corrupted_pinned_local_file_is_refused_at_the_next_start(tmp_path):
    _, data, sha = _big_parts(tmp_path)
    model = tmp_path / "local.gguf"
    model.write_bytes(data)
    assert resolve_model(str(model), tmp_path / "cache", sha)[0] == model
    _corrupt_keeping_mtime(model, len(data) // 2)
    with pytest.raises(ChecksumMismatch):
        resolve_model(str(model), tmp_path / "cache", sha)


def test_an_unchanged_file_is_checked_without_hashing_it_whole(tmp_path, monkeypatch):
    parts, data, sha = _big_parts(tmp_path)
    target = assemble(parts, sha, tmp_path / "cache" / "m.gguf")
    monkeypatch.setattr("bot.llm.source.sha256_file", lambda path: pytest.fail("hashed the whole file"))
    assert assemble(parts, sha, target) == target


def test_an_unloadable_model_file_is_one_model_error(tmp_path):
    from bot.llm.llama import LlamaGenerator

    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(range(256)) * 64)
    with pytest.raises(ModelError, match="garbage.gguf"):
        LlamaGenerator(garbage, "garbage", n_ctx=256, n_threads=1)


# --- a full SHA-256 per file identity (issue 22, defect 5) -----------------------------------------

# The start-up fingerprint samples the head, the tail and 65 evenly spaced blocks of 64 KiB. A fake GGUF of
# 256 MiB (sparse: it costs no disk) leaves about 3.9 MiB between two sampled blocks, room for 3 MiB of garbage.
_FAKE_GGUF_SIZE = 256 * 1024 * 1024
_GARBAGE = 3 * 1024 * 1024


def _fake_gguf(path: Path) -> str:
    """A sparse file with a GGUF header; returns its SHA-256."""
    with path.open("wb") as f:
        f.write(b"GGUF\x03\x00\x00\x00")
        f.truncate(_FAKE_GGUF_SIZE)
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _garbage_between_sampled_blocks(path: Path) -> None:
    """Write `_GARBAGE` random bytes in the middle of the gap between sampled blocks 31 and 32, mtime kept."""
    block, stride = 64 * 1024, (_FAKE_GGUF_SIZE - 64 * 1024) // 64
    gap_start, gap_end = 31 * stride + block, 32 * stride
    assert gap_end - gap_start > _GARBAGE
    before = fingerprint(path)
    _corrupt_keeping_mtime(path, gap_start + (gap_end - gap_start - _GARBAGE) // 2, os.urandom(_GARBAGE))
    assert fingerprint(path) == before, "the garbage must lie between the sampled blocks"


def test_garbage_between_the_sampled_blocks_of_a_pinned_local_file_is_caught(tmp_path):
    model = tmp_path / "fake.gguf"
    sha = _fake_gguf(model)
    assert resolve_model(str(model), tmp_path / "cache", sha)[0] == model
    _garbage_between_sampled_blocks(model)
    with pytest.raises(ChecksumMismatch):
        resolve_model(str(model), tmp_path / "cache", sha)


def test_garbage_between_the_sampled_blocks_of_an_assembled_pack_is_caught(tmp_path):
    source = tmp_path / "whole.gguf"
    sha = _fake_gguf(source)
    target = assemble([source], sha, tmp_path / "cache" / "m.gguf")
    _garbage_between_sampled_blocks(target)
    assert sha256_file(assemble([source], sha, target)) == sha  # assembled again


def test_the_whole_file_is_hashed_again_when_its_identity_changes(tmp_path, monkeypatch):
    model = tmp_path / "fake.gguf"
    sha = _fake_gguf(model)
    resolve_model(str(model), tmp_path / "cache", sha)
    hashed: list[Path] = []
    real = sha256_file

    def counting(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr("bot.llm.source.sha256_file", counting)
    resolve_model(str(model), tmp_path / "cache", sha)
    assert hashed == [], "an unchanged file is not hashed whole at every start"
    os.chmod(model, 0o600)  # new ctime, same content: hashed once more, then trusted again
    resolve_model(str(model), tmp_path / "cache", sha)
    resolve_model(str(model), tmp_path / "cache", sha)
    assert hashed == [model]


def test_a_verification_record_of_another_format_is_not_trusted(tmp_path, monkeypatch):
    model = tmp_path / "fake.gguf"
    sha = _fake_gguf(model)
    cache = tmp_path / "cache"
    resolve_model(str(model), cache, sha)
    [record] = [p for p in cache.iterdir() if p.suffix == ".json"]
    data = json.loads(record.read_text())
    record.write_text(json.dumps({**data, "version": data["version"] + 1}))
    hashed: list[Path] = []
    monkeypatch.setattr("bot.llm.source.sha256_file", lambda path: hashed.append(path) or sha)
    resolve_model(str(model), cache, sha)
    assert hashed == [model]
