"""20 seed questions from 5 chats at once through the desk, with a 1-slot and a 2-slot model server.

Each chat asks 4 questions; all 20 are queued at once on the bot's own Desk (workers = the server's slots,
as the bot sets them from KUTIP_LLM_MAX_CONCURRENT). It checks that every chat's replies arrive in the order
asked and that they are the answers the same questions get one after another, and reports wall time and
p50/p95 from queueing to delivery. On 2 cores this shows correctness and ordering, not speed.

The server is llama.cpp's `llama-server` (`make llama-server`) started with `--parallel 1` and `--parallel 2`.
Without it, llama-cpp-python's server (one slot: it queues the second request) stands in for both runs.

`make bench` calls `slots_speed()`; alone: `python -m evaluation.slots_bench` writes bench/results/slots-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from base.errors import KutipError
from base.measure import percentile
from bot.adapters.telegram.chat_action import Typing
from bot.adapters.telegram.desk import Desk, Job
from bot.adapters.telegram.ratelimit import SlidingWindow
from bot.storage import JobKind, in_memory_stats
from bot.wiring.settings import REPO_ROOT, Settings
from evaluation.dataset import load_bench
from evaluation.llama_server import LLAMA_SERVER_BINARY, RunningServer, llama_cpp_llama_server, llama_cpp_server

logger = logging.getLogger(__name__)

SEED_BENCH = REPO_ROOT / "bench" / "seed"
RESULTS = REPO_ROOT / "bench" / "results"
CHATS = 5
PER_CHAT = 4


def signature(answer: Any) -> dict:
    """What must not change with the slot count: the reply, the refusal, the cited sentences."""
    if isinstance(answer, KutipError):
        return {"error": str(answer)}
    return {"text": answer.text, "refused": answer.refused, "cited": [c.id for c in answer.citations]}


def schedule(questions: list[str]) -> list[tuple[int, str]]:
    """(chat, question) in the order they are asked: round-robin, so every chat's questions interleave."""
    return [(1001 + i % CHATS, q) for i, q in enumerate(questions)]


async def _no_typing(chat_id: int, thread_id: int | None) -> None:
    return None


async def through_desk(core: Any, asked: list[tuple[int, str]], workers: int) -> dict:
    """Queue every question at once on a Desk with `workers` workers; what arrived where, in what order, when."""
    delivered: list[dict] = []
    failures: list[str] = []

    async def on_error(update: object, error: Exception) -> None:
        failures.append(f"{type(error).__name__}: {error}")

    desk = Desk(len(asked), Typing(_no_typing), on_error, SlidingWindow(0), in_memory_stats(), workers=workers)
    started = time.monotonic()
    for index, (chat, question) in enumerate(asked):

        async def deliver(result: Any, index: int = index, chat: int = chat) -> None:
            delivered.append({"index": index, "chat": chat, "at_s": time.monotonic() - started, **signature(result)})

        desk.submit(Job(JobKind.ASK, chat, None, lambda q=question: core.ask(q), deliver))
    await desk.join()
    wall = time.monotonic() - started
    await desk.stop()
    order_ok = {
        str(chat): [d["index"] for d in delivered if d["chat"] == chat]
        == [i for i, (c, _) in enumerate(asked) if c == chat]
        for chat in sorted({c for c, _ in asked})
    }
    waited = [d["at_s"] for d in delivered]
    return {
        "workers": workers,
        "wall_s": round(wall, 3),
        "delivered": len(delivered),
        "order_ok": order_ok,
        "all_in_order": all(order_ok.values()) and len(delivered) == len(asked),
        "p50_s": round(percentile(waited, 50), 3) if waited else None,
        "p95_s": round(percentile(waited, 95), 3) if waited else None,
        "failures": failures,
        "replies": sorted(delivered, key=lambda d: d["index"]),
    }


def prefix_reuse(url: str, system: str) -> list[dict]:
    """The article-only request the generator's warm() sends, twice: llama-server's `timings` say how many
    prompt tokens came from the slot's cache (`cache_n`) and how many were evaluated (`prompt_n`)."""
    import httpx

    from bot.llm.openai_server import plain

    body = {
        "messages": [{"role": "system", "content": plain(system)}, {"role": "user", "content": ""}],
        "max_tokens": 1,
        "temperature": 0.0,
        "cache_prompt": True,
    }
    seen = []
    for _ in range(2):
        started = time.monotonic()
        reply = httpx.post(f"{url}/chat/completions", json=body, timeout=600).json()
        timings = reply.get("timings") or {}
        seen.append(
            {
                "s": round(time.monotonic() - started, 3),
                **{k: timings.get(k) for k in ("cache_n", "prompt_n", "prompt_ms") if k in timings},
            }
        )
    return seen


def _slots_of(url: str) -> list[dict]:
    """llama-server's GET /slots: each slot's id and context (empty for servers without it)."""
    import httpx

    try:
        response = httpx.get(url.removesuffix("/v1") + "/slots", timeout=10)
        return [{"id": s.get("id"), "n_ctx": s.get("n_ctx")} for s in response.json()]
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        return []


def _servers(settings: Settings, model: Path, slots: int) -> AbstractContextManager[RunningServer]:
    if LLAMA_SERVER_BINARY.is_file():
        return llama_cpp_llama_server(LLAMA_SERVER_BINARY, model, slots, settings.llm_threads, settings.llm_context)
    return llama_cpp_server(model, settings.llm_threads, settings.llm_context, settings.llm_server_logprobs != "none")


def slots_speed(stored: Any, embedder: Any, settings: Settings, questions: list[str]) -> dict:
    """The desk with 1 and 2 server slots, each compared with the same questions asked one by one."""
    from bot.llm.source import resolve_model
    from bot.wiring.factory import assemble_core, core_config, load_generator

    model, _ = resolve_model(settings.llm_model, settings.data_dir / "models", settings.llm_sha256)
    built = LLAMA_SERVER_BINARY.is_file()
    out: dict = {
        "server": f"llama.cpp llama-server ({LLAMA_SERVER_BINARY.relative_to(REPO_ROOT)})"
        if built
        else "llama-cpp-python (one slot; no llama-server built)",
        "logprobs": settings.llm_server_logprobs,
        "chats": CHATS,
        "questions": len(questions),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "runs": [],
    }
    asked = schedule(questions)
    for slots in (1, 2):
        with _servers(settings, model, slots) as server:
            served = settings.model_copy(
                update={"llm_url": server.url, "llm_max_concurrent": slots, "llm_timeout_s": 600.0}
            )
            generator = load_generator(served)
            core = assemble_core(stored, embedder, generator, core_config(served))
            reuse = prefix_reuse(server.url, core.prompt.system) if built else []
            server_slots = _slots_of(server.url)
            core.warm()
            sequential_started = time.monotonic()
            one_by_one = [signature(_ask(core, q)) for q in questions]
            sequential_s = time.monotonic() - sequential_started
            run = asyncio.run(through_desk(core, asked, served.answer_slots))
            same = [
                {k: v for k, v in r.items() if k not in ("index", "chat", "at_s")} == one_by_one[r["index"]]
                for r in run["replies"]
            ]
            run.update(
                slots=slots,
                sequential_s=round(sequential_s, 3),
                same_as_sequential=sum(same),
                differing=[
                    {"question": asked[r["index"]][1], "desk": r, "sequential": one_by_one[r["index"]]}
                    for r, s in zip(run["replies"], same, strict=True)
                    if not s
                ],
                server_peak_rss_mb=server.peak_rss_mb(),
                server_slots=server_slots,
                prefix_reuse=reuse,
            )
            out["runs"].append(run)
            getattr(generator, "close", lambda: None)()
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def _ask(core: Any, question: str) -> Any:
    try:
        return core.ask(question)
    except KutipError as error:
        return error


def lines(s: dict) -> Iterator[tuple[str, str]]:
    """Rows for make bench's table."""
    yield ("desk: 20 questions, 5 chats at once, server", s["server"])
    for run in s["runs"]:
        in_order = sum(run["order_ok"].values())
        yield (
            f"desk with {run['slots']} slot(s): wall / one by one",
            f"{run['wall_s']} s / {run['sequential_s']} s; p50 / p95 {run['p50_s']} / {run['p95_s']} s",
        )
        yield (
            f"desk with {run['slots']} slot(s): chats in order, same answers",
            f"{in_order} of {len(run['order_ok'])}; {run['same_as_sequential']} of {s['questions']}",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.slots_bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--logprobs", choices=("all", "verify", "none"), default="all", help="KUTIP_LLM_SERVER_LOGPROBS for the run"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from bot.wiring.factory import load_index

    settings = Settings(llm_server_logprobs=args.logprobs)
    settings.apply_offline()
    stored, embedder = load_index(settings, progress=False)
    questions = [q.question for g in load_bench(SEED_BENCH, "dev") for q in g.questions][: CHATS * PER_CHAT]
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "threads": settings.llm_threads}
    result["slots"] = slots_speed(stored, embedder, settings, questions)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"slots-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for name, value in lines(result["slots"]):
        print(f"{name:58} {value}")
    print(f"load average start / end: {result['slots']['load_average_start']} / {result['slots']['load_average_end']}")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
