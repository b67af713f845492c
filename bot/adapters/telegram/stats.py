"""Counters and latency percentiles for /stats."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from base.measure import percentile


@dataclass
class Stats:
    questions: int = 0
    refusals: int = 0
    errors: int = 0
    summaries: int = 0
    busy: int = 0
    rate_limited: int = 0
    # Recent jobs only, so the percentiles follow the current load.
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    model_s: deque[float] = field(default_factory=lambda: deque(maxlen=1000))

    def record(self, kind: str, waited_s: float, model_s: float, refused: bool = False) -> None:
        """Count one finished job; latencies are kept for questions only.

        `waited_s` runs from enqueue to result, `model_s` is the time inside the core.
        """
        if kind == "summary":
            self.summaries += 1
        if kind != "ask":
            return
        self.questions += 1
        self.refusals += int(refused)
        self.latencies_s.append(waited_s)
        self.model_s.append(model_s)

    def snapshot(self) -> dict[str, object]:
        def fmt(value: float | None) -> str:
            return "–" if value is None else f"{value:.2f}"

        total, model = list(self.latencies_s), list(self.model_s)
        return {
            "questions": self.questions,
            "refusals": self.refusals,
            "errors": self.errors,
            "summaries": self.summaries,
            "busy": self.busy,
            "rate_limited": self.rate_limited,
            "p50": fmt(percentile(total, 50)),
            "p95": fmt(percentile(total, 95)),
            "model_p50": fmt(percentile(model, 50)),
            "model_p95": fmt(percentile(model, 95)),
        }
