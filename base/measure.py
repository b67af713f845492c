"""The one percentile used by /stats, the eval and the bench, so their latency figures agree."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default); None when there is nothing to rank."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))
