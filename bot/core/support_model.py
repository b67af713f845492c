"""A fitted combination of the support signals: one logistic score in place of a threshold per signal.

The model's yes/no verdict alone separates right from wrong proposals only so well, and its scale is not
the same for every question: an English question's right answer about an Indonesian article gets a lower
P(yes) than an Indonesian one's. A logistic regression over every signal, with the question's language as
an input, and optionally over the model's own hidden state at the verification turn (a linear probe: the
state holds more than the one "yes" token the verdict reads), is fitted on eval records by
`python -m evaluation.verifier --fit --write PATH` as a small versioned JSON file. `load` refuses a file of
another format or inputs, or whose SHA-256 differs from the one given; a probe also names the LLM whose
states it reads (by the GGUF's SHA-256), and the wiring refuses it for another model.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from base.errors import ModelError

FORMAT = "kutip-support-model v3"
FEATURES = (
    "logit_verified",
    "logit_verified_cross_lingual",
    "cross_lingual",
    "answer_logprob",
    "coverage",
    "log_rank",
    "missing_specifics",
    "first_logprob",
)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def features(
    verified: float,
    answer_logprob: float | None,
    coverage: float | None,
    rank: int,
    missing_specifics: int,
    first_logprob: float | None = None,
) -> list[float]:
    """The inputs, in FEATURES order. A question in another language has no word coverage: that absence is
    itself an input (`cross_lingual`), and it changes how much P(yes) says. A log-probability the generator
    did not give (a model server without scores) counts as a low one."""
    cross = float(coverage is None)
    logit = _logit(verified)
    return [
        logit,
        logit * cross,
        cross,
        -5.0 if answer_logprob is None else max(answer_logprob, -5.0),
        0.0 if coverage is None else coverage,
        math.log(rank),
        float(missing_specifics),
        -8.0 if first_logprob is None else max(first_logprob, -8.0),
    ]


@dataclass(frozen=True)
class SupportModel:
    weights: tuple[float, ...]  # over FEATURES
    bias: float
    threshold: float  # least score for an answer, chosen on dev with the one cost of evaluation.tune
    # Over the LLM's hidden state at the verification turn (bot/core/ports.Choice), its standardisation folded
    # in; empty for a model of the signals alone.
    state_weights: tuple[float, ...] = field(default=(), repr=False)
    llm_sha256: str = ""  # the GGUF whose hidden states `state_weights` read

    @property
    def reads_state(self) -> bool:
        return bool(self.state_weights)

    def score(self, inputs: list[float], state: tuple[float, ...] = ()) -> float | None:
        """P(right), or None when the model reads a hidden state and none of its size came with the proposal
        (a model server exposes none): then the per-signal thresholds decide."""
        if self.reads_state and len(state) != len(self.state_weights):
            return None
        z = self.bias + sum(w * x for w, x in zip(self.weights, inputs, strict=True))
        if self.reads_state:
            z += float(np.dot(np.asarray(self.state_weights), np.asarray(state)))
        return 1 / (1 + math.exp(-max(min(z, 500.0), -500.0)))

    def to_json(self, provenance: dict) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "features": list(FEATURES),
                "weights": list(self.weights),
                "bias": self.bias,
                "threshold": self.threshold,
                "state_weights": list(self.state_weights),
                "llm_sha256": self.llm_sha256,
                **provenance,
            },
            indent=1,
        )


def load(path: Path, sha256: str = "") -> SupportModel:
    """The model in `path`, refused unless its SHA-256 is `sha256` (when given) and its format and inputs
    are this version's."""
    raw = path.read_bytes()
    if sha256 and hashlib.sha256(raw).hexdigest() != sha256:
        raise ModelError(
            f"{path}: SHA-256 differs from the pinned one; refit with `python -m evaluation.verifier --fit`"
        )
    data = json.loads(raw)
    if data.get("format") != FORMAT or tuple(data.get("features", ())) != FEATURES:
        raise ModelError(f"{path}: not a {FORMAT} file with inputs {FEATURES}")
    return SupportModel(
        tuple(float(w) for w in data["weights"]),
        float(data["bias"]),
        float(data["threshold"]),
        tuple(float(w) for w in data.get("state_weights", ())),
        str(data.get("llm_sha256", "")),
    )
