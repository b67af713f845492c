"""The seed questions through an OpenAI-compatible server, beside the in-process model, in the same run.

`make bench` calls `server_speed()` after its in-process pass. Run alone, `python -m evaluation.server_bench`
does both passes (without the cold starts and index builds) and writes bench/results/server-<time>.json.
The server is llama-cpp-python's own (the one installed with Kutip), started here on 127.0.0.1 with the
same GGUF and thread count. llama.cpp's llama-server (`make llama-server`) is measured with several slots by
evaluation/slots_bench.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from base.measure import percentile
from bot.wiring.settings import REPO_ROOT, Settings
from evaluation.dataset import load_bench
from evaluation.llama_server import llama_cpp_server

logger = logging.getLogger(__name__)

SEED_BENCH = REPO_ROOT / "bench" / "seed"
RESULTS = REPO_ROOT / "bench" / "results"

# A serving process with KUTIP_LLM_URL set: builds the core (no GGUF), warms it, answers once, reports its peak
# RSS as VmHWM, since ru_maxrss survives exec on Linux and would report the parent's peak at the fork.
_NO_MODEL_CHILD = """
import json, time
t0 = time.perf_counter()
from bot.wiring.factory import build_core
from bot.wiring.settings import Settings
core = build_core(Settings(), progress=False)
core.warm()
ready = time.perf_counter() - t0
answer = core.ask("Kapan Microsoft dan OpenAI mulai bekerja sama?")
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"ready_s": round(ready, 3), "refused": answer.refused,
                  "peak_rss_mb": round(int(hwm.split()[1]) / 1024, 1)}))
"""


def _timed(fn, *args):
    started = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - started


def ask_all(core, questions) -> list[dict]:
    rows = []
    for q in questions:
        answer, seconds = _timed(core.ask, q.question)
        rows.append({"id": q.id, "ask_s": round(seconds, 4), "refused": answer.refused})
    return rows


def no_model_process(url: str, logprobs: str, timeout_s: float = 300.0) -> dict:
    env = {**os.environ, "KUTIP_LLM_URL": url, "KUTIP_LLM_SERVER_LOGPROBS": logprobs}
    done = subprocess.run(
        [sys.executable, "-c", _NO_MODEL_CHILD],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the no-model child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def server_speed(stored, embedder, settings: Settings, questions, in_process_rows: list[dict] | None) -> dict:
    """Seed questions through llama-cpp-python's server: prefix reuse, p50/p95, ratio to in-process, memory."""
    from bot.llm.source import resolve_model
    from bot.wiring.factory import assemble_core, core_config, load_generator

    model, _ = resolve_model(settings.llm_model, settings.data_dir / "models", settings.llm_sha256)
    out: dict = {"server": "llama-cpp-python (python -m llama_cpp.server)", "load_average_start": os.getloadavg()}
    logits_all = settings.llm_server_logprobs != "none"  # without it llama-cpp-python returns no logprobs
    out["logits_all"] = logits_all
    with llama_cpp_server(model, settings.llm_threads, settings.llm_context, logits_all) as server:
        served = settings.model_copy(update={"llm_url": server.url, "llm_timeout_s": 300.0})
        generator = load_generator(served)
        core = assemble_core(stored, embedder, generator, core_config(served))
        system = core.prompt.system
        # Prefix reuse: the same article prompt, first on a fresh server, then again.
        _, first_warm = _timed(core.warm)
        _, second_warm = _timed(core.warm)
        first = questions[0].question
        _, first_ask = _timed(core.ask, first)
        rows = ask_all(core, questions)
        out["prefix"] = {
            "prefix_tokens": generator.count_tokens(system),
            "warm_first_s": round(first_warm, 3),
            "warm_again_s": round(second_warm, 3),
            "first_question_after_warm_s": round(first_ask, 3),
        }
        out["no_model_process"] = no_model_process(server.url, settings.llm_server_logprobs)
        out["server_peak_rss_mb"] = server.peak_rss_mb()
    asked = [r["ask_s"] for r in rows]
    out.update(
        questions=len(rows),
        refused=sum(r["refused"] for r in rows),
        latency_p50_s=round(percentile(asked, 50), 3),
        latency_p95_s=round(percentile(asked, 95), 3),
        rows=rows,
    )
    if in_process_rows:
        local = {r["id"]: r for r in in_process_rows}
        pairs = [(r, local[r["id"]]) for r in rows if r["id"] in local]
        out["vs_in_process"] = {
            "in_process_p50_s": round(percentile([b["ask_s"] for _, b in pairs], 50), 3),
            "in_process_p95_s": round(percentile([b["ask_s"] for _, b in pairs], 95), 3),
            "ratio_total": round(sum(a["ask_s"] for a, _ in pairs) / sum(b["ask_s"] for _, b in pairs), 3),
            "ratio_median": round(statistics.median(a["ask_s"] / b["ask_s"] for a, b in pairs), 3),
            "same_refusals": sum(a["refused"] == b["refused"] for a, b in pairs),
        }
    out["load_average_end"] = os.getloadavg()
    return out


def lines(s: dict) -> list[tuple[str, str]]:
    """Rows for make bench's table."""
    p = s["prefix"]
    rows = [
        ("server: article prefix, first request / again", f"{p['warm_first_s']} s / {p['warm_again_s']} s"),
        ("server: answer latency p50 / p95", f"{s['latency_p50_s']} s / {s['latency_p95_s']} s"),
    ]
    if "vs_in_process" in s:
        v = s["vs_in_process"]
        rows.append(("server ÷ in-process, total / median per question", f"{v['ratio_total']} / {v['ratio_median']}"))
        rows.append(("same refusal decision as in-process", f"{v['same_refusals']} of {s['questions']}"))
    rows.append(
        (
            "peak RSS: bot with no model / server",
            f"{s['no_model_process']['peak_rss_mb']} / {s['server_peak_rss_mb']} MB",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.server_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N seed dev questions")
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process pass (no ratio)")
    parser.add_argument(
        "--logprobs", choices=("all", "verify", "none"), default="all", help="KUTIP_LLM_SERVER_LOGPROBS for the run"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from bot.wiring.factory import assemble_core, core_config, load_generator, load_index

    settings = Settings(llm_server_logprobs=args.logprobs)
    settings.apply_offline()
    stored, embedder = load_index(settings, progress=False)
    questions = [q for g in load_bench(SEED_BENCH, "dev") for q in g.questions]
    questions = questions[: args.limit] if args.limit else questions
    result: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "threads": settings.llm_threads,
        "logprobs": settings.llm_server_logprobs,
    }
    in_process_rows = None
    if not args.no_in_process:
        generator = load_generator(settings)
        core = assemble_core(stored, embedder, generator, core_config(settings))
        core.warm()
        in_process_rows = ask_all(core, questions)
        result["in_process_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        del core, generator
    result["server"] = server_speed(stored, embedder, settings, questions, in_process_rows)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"server-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    for name, value in lines(result["server"]):
        print(f"{name:55} {value}")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
