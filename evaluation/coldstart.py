"""Cold start: a fresh Python process that does what `kutip run` does before its first update (the article
library from settings, the default article's core built and warmed: bot/wiring/telegram.run_bot), timed from
outside. Run `kutip index` first to time the start `make run` gives (it runs `kutip index`, then `kutip run`)."""

from __future__ import annotations

import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)

READY = "ready"

# Runs in the child. Its own clock splits the total into phases; the parent's clock is the number
# that counts, since it includes interpreter start-up and every import.
_CHILD = f"""
import json, time
t0 = time.perf_counter()
from bot.wiring.factory import build_library
from bot.wiring.settings import Settings
t1 = time.perf_counter()
library = build_library(Settings())
core = library.core(library.default.id)
t2 = time.perf_counter()
core.warm()
t3 = time.perf_counter()
print({READY!r}, json.dumps({{"imports_s": t1 - t0, "build_s": t2 - t1, "warm_s": t3 - t2}}), flush=True)
"""


def kutip_index(cwd: Path, timeout_s: float = 600.0) -> dict:
    """`kutip index` in a fresh process, as `make run` runs it before `kutip run`: its seconds and what it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", "index"], cwd=cwd, capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        raise RuntimeError(f"kutip index failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return {"s": round(time.perf_counter() - started, 3), "printed": done.stdout.strip()}


def cold_start(cwd: Path, timeout_s: float = 300.0) -> dict:
    """Seconds from spawning the child to its 'ready' line, its own phase split, and the children's peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    ready_s, phases = None, {}
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith(READY):
            ready_s = time.perf_counter() - started
            phases = json.loads(line[len(READY) :])
            break
    try:
        _, err = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        _, err = child.communicate()
    if ready_s is None:
        raise RuntimeError(f"the cold-start child never became ready (exit {child.returncode}): {err[-2000:]}")
    # RUSAGE_CHILDREN holds the largest peak among waited-for children: here, the cold-start children.
    child_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "ready_s": round(ready_s, 3),
        **{k: round(v, 3) for k, v in phases.items()},
        "children_peak_rss_mb": round(child_rss_mb, 1),
    }
