"""A fitted combination of the support signals: one logistic score in place of a threshold per signal.

The model's yes/no verdict alone separates right from wrong proposals only so well, and its scale is not
the same for every question: an English question's right answer about an Indonesian article gets a lower
P(yes) than an Indonesian one's. A logistic regression over every signal, with the question's language as
an input, is fitted on dev records by `python -m evaluation.verifier --fit --write PATH` as a small versioned JSON
file; `load` refuses a file of another format or inputs, or whose SHA-256 differs from the one given. On
the project's dev sets it did not beat the per-signal thresholds on held-out articles, so none ships.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from base.errors import ModelError

FORMAT = "kutip-support-model v1"
FEATURES = (
    "logit_verified",
    "logit_verified_cross_lingual",
    "cross_lingual",
    "answer_logprob",
    "coverage",
    "log_rank",
    "missing_specifics",
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
) -> list[float]:
    """The inputs, in FEATURES order. A question in another language has no word coverage: that absence is
    itself an input (`cross_lingual`), and it changes how much P(yes) says."""
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
    ]


@dataclass(frozen=True)
class SupportModel:
    weights: tuple[float, ...]
    bias: float
    threshold: float  # least score for an answer, chosen on dev with the one cost of evaluation.tune

    def score(self, inputs: list[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, inputs, strict=True))
        return 1 / (1 + math.exp(-z))

    def to_json(self, provenance: dict) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "features": list(FEATURES),
                "weights": list(self.weights),
                "bias": self.bias,
                "threshold": self.threshold,
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
    return SupportModel(tuple(float(w) for w in data["weights"]), float(data["bias"]), float(data["threshold"]))
