"""The article library's speed (issue 10): link to "ready" and switching the model between articles.

- link to ready: a fresh library reads an article served on 127.0.0.1 (fetch, clean, index, warm the
  model's prefix), for the seed article and for a ~600-sentence article (facqa-id dev docs concatenated);
  each stage is timed from the progress callback;
- switch: with two articles already read, the time for the model to take the other article's prefix:
  restored from its saved KV state (what the library does), against evaluated again (its saved state deleted).

The library, its indexes and its saved KV states live in a temporary directory, so every first read
evaluates its prefix: nothing is reused from `make run`'s data. Run alone as
`python -m evaluation.library_bench` (writes bench/results/library-<time>.json), or as part of `make bench`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bot.wiring.settings import REPO_ROOT, Settings

logger = logging.getLogger(__name__)

LONG_BENCH = REPO_ROOT.parent / "shared" / "bench" / "facqa-id"
SWITCH_BENCH = REPO_ROOT.parent / "shared" / "bench" / "xquad-en"
RESULTS = REPO_ROOT / "bench" / "results"
LONG_SENTENCES = 600


@contextmanager
def serve(pages: dict[str, tuple[str, bytes]]) -> Iterator[str]:
    """Serve {path: (content type, body)} on 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            content_type, body = pages.get(self.path, ("text/plain", b""))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def dev_texts(bench: Path) -> list[str]:
    docs = bench / "docs.jsonl"
    rows = [json.loads(line) for line in docs.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["text"] for r in rows if r.get("split") == "dev"]


def long_text(bench: Path, sentences: int = LONG_SENTENCES) -> str:
    """Dev docs joined until the article has at least `sentences` sentences (as Kutip segments them)."""
    from index.ingest import parse_article

    parts: list[str] = []
    for text in dev_texts(bench):
        parts.append(text)
        if len(parse_article("\n\n".join(parts)).sentences) >= sentences:
            break
    return "\n\n".join(parts)


def timed_read(library, url: str) -> tuple[str, dict]:
    """Read `url` into `library`, timing each stage from the progress callback; (article id, timings)."""
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    entry = library.read(url, chat_id=1, progress=lambda stage: marks.append((stage, time.perf_counter())))
    total = time.perf_counter() - started
    stages, previous = {}, started
    for stage, at in marks:
        stages[f"until_{stage}_s"] = round(at - previous, 3)
        previous = at
    return entry.id, {"sentences": entry.sentences, "ready_s": round(total, 3), **stages}


def switch_times(cores: tuple, forget, repeats: int) -> dict:
    """Time the model taking each article's prefix: restored from disk, then evaluated (saved state deleted)."""
    a, b = cores
    a.warm()
    restore: list[float] = []
    for _ in range(repeats):
        for core in (b, a):
            started = time.perf_counter()
            core.warm()
            restore.append(time.perf_counter() - started)
    evaluate: list[float] = []
    for _ in range(repeats):
        for core in (b, a):
            forget(core.system)  # no saved state: the switch must evaluate the prefix again (and save it)
            started = time.perf_counter()
            core.warm()
            evaluate.append(time.perf_counter() - started)
    return {
        "restore_s": [round(x, 3) for x in restore],
        "evaluate_s": [round(x, 3) for x in evaluate],
        "restore_median_s": round(statistics.median(restore), 3),
        "evaluate_median_s": round(statistics.median(evaluate), 3),
    }


def library_speed(settings: Settings, embedder, repeats: int = 3) -> dict:
    """Link to ready (seed, long article) and switch times, in a fresh library with its own KV directory."""
    from bot.llm.llama import LlamaGenerator
    from bot.llm.source import resolve_model
    from bot.wiring.factory import build_library
    from index.ingest import load_article

    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="kutip-library-bench-") as tmp:
        root = Path(tmp)
        path, name = resolve_model(settings.llm_model, settings.data_dir / "models", settings.llm_sha256)
        # Its own state directory: every first read evaluates its prefix, as for an article never seen.
        generator = LlamaGenerator(
            path, name, n_ctx=settings.llm_context, n_threads=settings.llm_threads, state_dir=root / "kv"
        )
        local = settings.model_copy(update={"data_dir": root / "data", "allow_private_urls": True})
        library = build_library(local, embedder=embedder, generator=generator)
        seed = load_article(settings.article).text.encode()
        pages = {"/seed": ("text/plain; charset=utf-8", seed)}
        if (LONG_BENCH / "docs.jsonl").is_file():
            pages["/long"] = ("text/plain; charset=utf-8", long_text(LONG_BENCH).encode())
        texts = dev_texts(SWITCH_BENCH) if (SWITCH_BENCH / "docs.jsonl").is_file() else []
        if texts:
            pages["/other"] = ("text/plain; charset=utf-8", texts[0].encode())
        with serve(pages) as base:
            seed_id, out["seed_link_to_ready"] = timed_read(library, f"{base}/seed")
            if "/long" in pages:
                _, out["long_link_to_ready"] = timed_read(library, f"{base}/long")
            if "/other" in pages:
                other = library.read(f"{base}/other", chat_id=2)
                cores = (library.core(seed_id), library.core(other.id))
                out["switch"] = switch_times(cores, generator.forget, repeats)
                out["switch"]["prefix_tokens"] = [generator.count_tokens(c.system) for c in cores]
    return out


def lines(r: dict) -> list[tuple[str, str]]:
    """Rows for the bench table."""
    rows = []
    for key, label in (("seed_link_to_ready", "seed"), ("long_link_to_ready", "long article")):
        if key in r:
            x = r[key]
            rows.append(
                (
                    f"link to ready, {label} on 127.0.0.1 (s)",
                    # Each stage is reported as it starts: the time until the next one is the stage's own.
                    f"{x['ready_s']:.2f} ({x['sentences']} sentences: fetch {x.get('until_cleaning_s', 0):.2f}, "
                    f"clean {x.get('until_indexing_s', 0):.2f}, index and warm {x.get('until_ready_s', 0):.2f})",
                )
            )
    if "switch" in r:
        s = r["switch"]
        rows.append(
            (
                "switch between two read articles (s)",
                f"restore {s['restore_median_s']:.2f} vs evaluate again {s['evaluate_median_s']:.2f} (median; "
                f"prefixes {'/'.join(map(str, s['prefix_tokens']))} tokens)",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    from bot.wiring.factory import load_embedder

    parser = argparse.ArgumentParser(prog="python -m evaluation.library_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="switches timed each way (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    settings = Settings()
    settings.apply_offline()
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "threads": settings.llm_threads,
        "library": library_speed(settings, load_embedder(settings), args.repeats),
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    print("Kutip library bench")
    rows = [
        *lines(result["library"]),
        ("load average start / end", f"{result['load_average_start']} / {result['load_average_end']}"),
    ]
    width = max(len(n) for n, _ in rows)
    print("\n".join(f"  {n:<{width}}  {v}" for n, v in rows))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"library-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
