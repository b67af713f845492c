"""`make bench`: start-up, indexing speed, answer latency, summary time, overhead over bare llama.cpp, memory,
the article library (link to ready, switching articles; evaluation/library_bench.py), and answer speed per
stage on new articles beside the seed (evaluation/articles_bench.py).

Run as `python -m evaluation.bench`. Measures with the default models on the seed article, prints a
table and writes bench/results/bench-<time>.json and bench/results/latest.json. The machine is
shared: the load average at the start and the end goes into the JSON so a noisy run can be told apart.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

from base.measure import percentile
from bot.wiring.settings import REPO_ROOT, Settings
from evaluation.articles_bench import NEW_ARTICLE_QUESTIONS, articles_speed
from evaluation.articles_bench import lines as articles_lines
from evaluation.barecall import BareLlama
from evaluation.coldstart import cold_start, kutip_index
from evaluation.dataset import load_bench
from evaluation.library_bench import library_speed
from evaluation.library_bench import lines as library_lines
from evaluation.long_bench import lines as long_lines
from evaluation.long_bench import long_article_speed
from evaluation.recording import RecordingGenerator
from evaluation.server_bench import lines as server_lines
from evaluation.slots_bench import CHATS, PER_CHAT
from evaluation.slots_bench import lines as slots_lines

logger = logging.getLogger(__name__)

SEED_BENCH = REPO_ROOT / "bench" / "seed"
LARGE_BENCH = REPO_ROOT.parent / "shared" / "bench" / "xquad-en"
LONG_BENCH = REPO_ROOT.parent / "shared" / "bench" / "facqa-id"  # its dev articles as one, for the long-article pass
RESULTS = REPO_ROOT / "bench" / "results"


def _rss_mb(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # Linux reports KiB


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def index_speed(embedder, settings: Settings, large_bench: Path) -> dict:
    """build_index on the seed, and on a long article made of every xquad-en dev doc for a stable rate."""
    from bot.wiring.factory import fetch_policy
    from index.build import build_index
    from index.ingest import load_article, parse_article

    out: dict = {}
    seed, parse_s = _timed(load_article, settings.article, fetch_policy(settings))
    _, build_s = _timed(build_index, seed, embedder)
    out["seed"] = {"sentences": len(seed.sentences), "parse_s": round(parse_s, 3), "build_s": round(build_s, 3)}
    docs = large_bench / "docs.jsonl"
    if not docs.is_file():
        logger.warning("no %s: skipping the large-article index benchmark", docs)
        return out
    texts = [json.loads(line)["text"] for line in docs.read_text(encoding="utf-8").splitlines() if line.strip()]
    dev_texts = [
        t
        for t, line in zip(texts, docs.read_text(encoding="utf-8").splitlines(), strict=True)
        if json.loads(line).get("split") == "dev"
    ]
    large, parse_s = _timed(parse_article, "\n\n".join(dev_texts), "xquad-en dev, concatenated")
    _, build_s = _timed(build_index, large, embedder)
    out["large"] = {
        "sentences": len(large.sentences),
        "paragraphs": large.paragraph_count,
        "parse_s": round(parse_s, 3),
        "build_s": round(build_s, 3),
        "sentences_per_s": round(len(large.sentences) / (parse_s + build_s), 1),
    }
    return out


def answer_speed(core, recorder: RecordingGenerator, bare: BareLlama, questions) -> dict:
    """Per question: ask() through the core, then bare calls on what the core sent, each from the warm prefix.

    One ask() may make several completions (e.g. translating the question first); the bare side
    replays all of them, so the ratio isolates what Kutip adds around the model.
    """
    rows = []
    for q in questions:
        bare.rewind_to_prefix(core.prompt.system)
        before = len(recorder.calls)
        answer, ask_s = _timed(core.ask, q.question)
        calls = recorder.calls[before:]
        row = {"id": q.id, "ask_s": round(ask_s, 4), "refused": answer.refused, "llm_calls": len(calls)}
        if calls:
            bare_s, same = 0.0, True
            for call in calls:
                bare.rewind_to_prefix(core.prompt.system)
                text, seconds = bare.complete(call)
                bare_s += seconds
                same = same and text == call.reply.text
            row.update(
                bare_s=round(bare_s, 4), prompt_tokens=[len(bare.tokens(c.prompt)) for c in calls], same_reply=same
            )
        rows.append(row)
    asked = [r["ask_s"] for r in rows]
    paired = [r for r in rows if r["llm_calls"]]
    ratios = [r["ask_s"] / r["bare_s"] for r in paired if r["bare_s"] > 0]
    return {
        "questions": len(rows),
        "latency_p50_s": round(percentile(asked, 50), 3),
        "latency_p95_s": round(percentile(asked, 95), 3),
        "questions_with_llm": len(paired),
        "llm_calls": sum(r["llm_calls"] for r in rows),
        "ask_s_total_with_llm": round(sum(r["ask_s"] for r in paired), 3),
        "bare_s_total": round(sum(r["bare_s"] for r in paired), 3),
        "ratio_total": round(sum(r["ask_s"] for r in paired) / sum(r["bare_s"] for r in paired), 3) if paired else None,
        "ratio_median": round(statistics.median(ratios), 3) if ratios else None,
        "overhead_ms_median": round(statistics.median(1000 * (r["ask_s"] - r["bare_s"]) for r in paired), 1)
        if paired
        else None,
        "identical_replies": sum(r["same_reply"] for r in paired),
        "rows": rows,
    }


def summary_speed(core, recorder: RecordingGenerator) -> dict:
    """The seed's summary in its own language, then in English, each made afresh from the warm prefix (the
    bench's core keeps summaries in memory only), with the model calls each made and their seconds:
    completions (translations there and back) and yes/no checks apart."""
    out = {}
    for language in (core.article.language, "en"):
        calls, choices = len(recorder.calls), len(recorder.choices)
        summary, seconds = _timed(core.summary, language)
        completions = recorder.calls[calls:]
        checks = recorder.choice_seconds[choices:]
        out[language] = {
            "s": round(seconds, 3),
            "bullets": len(summary.bullets),
            "llm_calls": len(completions) + len(checks),  # completions and yes/no checks
            "completion_s": [round(c.seconds, 3) for c in completions],
            "check_s": [round(c, 3) for c in checks],
        }
    return out


def summary_run() -> dict:
    """`--summary-only`: the summary rows alone, on the seed's saved index, with the prefix warm."""
    from bot.wiring.factory import assemble_core, core_config, load_generator, load_index

    settings = Settings()
    settings.apply_offline()
    start = [round(x, 2) for x in os.getloadavg()]
    stored, embedder = load_index(settings, False)
    recorder = RecordingGenerator(load_generator(settings))
    core = assemble_core(stored, embedder, recorder, core_config(settings))
    core.warm()
    summary = summary_speed(core, recorder)
    return {"summary": summary, "load": f"{start} / {[round(x, 2) for x in os.getloadavg()]}"}


def run(cold_runs: int, large_bench: Path, server: bool = True, new_questions: int = NEW_ARTICLE_QUESTIONS) -> dict:
    from bot.wiring.factory import assemble_core, core_config, load_generator, load_index

    settings = Settings()
    settings.apply_offline()
    result: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "embedding_model": settings.embedding_model,
        "llm_model": settings.llm_model,
        "threads": settings.llm_threads,
    }
    (stored, embedder), result["index_load_s"] = _timed(load_index, settings, False)
    # As `make run`: `kutip index` first (quick when it finds the default article's index and model prefix
    # saved), so the cold starts time `kutip run`'s start rather than a first build or evaluation.
    result["kutip_index"] = kutip_index(REPO_ROOT)
    result["cold_start"] = [cold_start(REPO_ROOT) for _ in range(cold_runs)]
    result["index_build"] = index_speed(embedder, settings, large_bench)

    generator, load_s = _timed(load_generator, settings)
    result["llm_load_s"] = round(load_s, 3)
    recorder = RecordingGenerator(generator)
    core = assemble_core(stored, embedder, recorder, core_config(settings))
    _, warm_s = _timed(core.warm)
    bare = BareLlama(generator)
    result["warm"] = {"s": round(warm_s, 3), "prefix_tokens": generator.count_tokens(core.prompt.system)}
    questions = [q for g in load_bench(SEED_BENCH, "dev") for q in g.questions]
    result["answers"] = answer_speed(core, recorder, bare, questions)
    result["summary"] = summary_speed(core, recorder)
    # Before the RSS reading: reading new articles and answering about them is what the bot does most.
    result["articles"] = articles_speed(embedder, generator, core_config(settings), new_questions)
    result["peak_rss_mb"] = {
        "bench": _rss_mb(resource.RUSAGE_SELF),
        "cold_start_child": _rss_mb(resource.RUSAGE_CHILDREN),
    }
    # After the RSS reading: the library bench loads a second model context of its own.
    result["library"] = library_speed(settings, embedder)
    # After the RSS reading, which stays the seed's: the long article's index is the bench's own.
    result["long_article"] = long_article_speed(
        embedder, generator, core_config(settings), LONG_BENCH, result["answers"]["rows"]
    )
    if server:
        # After the RSS reading: the server and no-model processes are children too, and would count.
        from evaluation.server_bench import server_speed

        # "verify": llama-cpp-python's server spends seconds per answer on answer-token scores (docs/server.md,
        # "Measured"); `python -m evaluation.server_bench --logprobs all` measures that.
        served = settings.model_copy(update={"llm_server_logprobs": "verify"})
        result["server"] = server_speed(stored, embedder, served, questions, result["answers"]["rows"])
        # 20 questions from 5 chats at once through the desk, 1 and 2 server slots (evaluation/slots_bench.py).
        # llama-server scores tokens cheaply, so it runs with every log-probability, as the bot does by default.
        from evaluation.llama_server import LLAMA_SERVER_BINARY
        from evaluation.slots_bench import slots_speed

        asked = [q.question for q in questions][: CHATS * PER_CHAT]
        slotted = settings if LLAMA_SERVER_BINARY.is_file() else served
        result["slots"] = slots_speed(stored, embedder, slotted, asked)
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def table(r: dict) -> str:
    colds = r["cold_start"]
    a, ib = r["answers"], r["index_build"]
    rows = [
        ("`kutip index` before them (s)", f"{r['kutip_index']['s']:.2f}"),
        ("cold start to ready (s)", ", ".join(f"{c['ready_s']:.2f}" for c in colds)),
        (
            "  of which imports / build / warm (s)",
            ", ".join(f"{c['imports_s']:.2f}/{c['build_s']:.2f}/{c['warm_s']:.2f}" for c in colds),
        ),
        ("index load from disk (s)", f"{r['index_load_s']:.2f}"),
        ("index build, seed (s)", f"{ib['seed']['build_s']:.2f} ({ib['seed']['sentences']} sentences)"),
    ]
    if "large" in ib:
        lg = ib["large"]
        rows.append(
            (
                "index build, xquad-en dev concatenated (s)",
                f"parse {lg['parse_s']:.1f} + embed {lg['build_s']:.1f} ({lg['sentences']} sentences, "
                f"{lg['paragraphs']} paragraphs, {lg['sentences_per_s']:.0f} sentences/s)",
            )
        )
    rows += [
        ("LLM load (s)", f"{r['llm_load_s']:.2f}"),
        ("article prefix warm-up (s)", f"{r['warm']['s']:.2f} ({r['warm']['prefix_tokens']} tokens)"),
        (
            "answer latency p50 / p95 (s)",
            f"{a['latency_p50_s']:.2f} / {a['latency_p95_s']:.2f} over {a['questions']} questions",
        ),
        (
            "Kutip ask / bare llama-cpp-python call (grammar=)",
            f"{a['ratio_total']}x total, {a['ratio_median']}x median "
            f"({a['questions_with_llm']} questions, {a['llm_calls']} LLM calls, "
            f"median overhead {a['overhead_ms_median']} ms)",
        ),
        ("identical replies (ask vs bare)", f"{a['identical_replies']} / {a['questions_with_llm']} questions"),
        *summary_lines(r.get("summary", {})),
        *(articles_lines(r["articles"]) if "articles" in r else []),
        (
            "peak RSS bench / cold-start child (MB)",
            f"{r['peak_rss_mb']['bench']:.0f} / {r['peak_rss_mb']['cold_start_child']:.0f}",
        ),
        *(library_lines(r["library"]) if "library" in r else []),
        *long_lines(r.get("long_article", {})),
        *(server_lines(r["server"]) if "server" in r else []),
        *(slots_lines(r["slots"]) if "slots" in r else []),
        ("models", f"{r['embedding_model']}, {r['llm_model']}, {r['threads']} threads"),
        ("load average start / end", f"{r['load_average_start']} / {r['load_average_end']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def summary_lines(summary: dict) -> list[tuple[str, str]]:
    lines = []
    for language, row in summary.items():
        value = f"{row['s']:.2f} ({row['bullets']} bullets, {row['llm_calls']} LLM calls, warm prefix)"
        if row.get("completion_s") or row.get("check_s"):
            completions, checks = row.get("completion_s", []), row.get("check_s", [])
            value += (
                f"; completions {' + '.join(f'{c:.1f}' for c in completions) or '0'} s,"
                f" {len(checks)} checks {sum(checks):.1f} s"
            )
        lines.append((f"summary, seed, {language} (s)", value))
    return lines


def save(result: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=1) + "\n"
    path = directory / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(text, encoding="utf-8")
    (directory / "latest.json").write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=2, help="cold-start children to time (default 2)")
    parser.add_argument(
        "--large-bench", type=Path, default=LARGE_BENCH, help="benchmark whose dev docs make the long article"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--no-server", action="store_true", help="skip the pass through llama-cpp-python's server")
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="only the seed's summary rows (both languages, each model call timed); writes no results file",
    )
    parser.add_argument(
        "--new-questions",
        type=int,
        default=NEW_ARTICLE_QUESTIONS,
        help=f"idkmrc-id dev questions for the new-article rows (default {NEW_ARTICLE_QUESTIONS})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.summary_only:
        result = summary_run()
        print("Kutip bench, the seed's summary")
        for name, value in [*summary_lines(result["summary"]), ("load average start / end", result["load"])]:
            print(f"  {name}  {value}")
        return 0
    result = run(args.cold_runs, args.large_bench, server=not args.no_server, new_questions=args.new_questions)
    print("Kutip bench (seed article)")
    print(table(result))
    print(f"wrote {save(result, args.out)} and latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
