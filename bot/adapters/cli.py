"""The `kutip` command: a thin adapter over the answer core. Domain errors become messages here."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from base.errors import KutipError
from base.language import detect_language
from bot.adapters import terminal as render
from bot.adapters.messages import message_for
from bot.core.ports import AnswerCore
from bot.wiring.settings import Settings

logger = logging.getLogger(__name__)

EXIT_ERROR = 2
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"article": args.article} if getattr(args, "article", None) else {}
    return Settings(**overrides)


def _print_json(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def cmd_index(args: argparse.Namespace, settings: Settings) -> None:
    from bot.wiring.factory import load_index

    started = time.perf_counter()
    stored, _ = load_index(settings)
    a = stored.article
    print(
        f"indexed {a.title!r}: {len(a.sentences)} sentences in {a.paragraph_count} paragraphs "
        f"({a.language}) in {time.perf_counter() - started:.1f}s"
    )
    if a.source_url:
        print(f"source: {a.source_url}")


def cmd_ask(args: argparse.Namespace, settings: Settings) -> None:
    from bot.core.questions import check_question
    from bot.wiring.factory import build_core

    # Refuse a bad question before spending seconds on loading models.
    question = check_question(" ".join(args.question), settings.max_question_chars)
    core = build_core(settings, progress=not args.json)
    answer = core.ask(question)
    _print_json(answer.to_dict()) if args.json else print(render.answer_text(answer))


def cmd_summary(args: argparse.Namespace, settings: Settings) -> None:
    from bot.wiring.factory import build_core

    core = build_core(settings, progress=not args.json)
    summary = core.summary(args.lang or core.article.language)
    _print_json(summary.to_dict()) if args.json else print(render.summary_text(summary))


def cmd_source(args: argparse.Namespace, settings: Settings) -> None:
    from bot.core.answer import find_source
    from bot.wiring.factory import load_index

    stored, _ = load_index(settings, progress=False)
    # Looking up a sentence needs no model: the core's lookup works on the stored article alone.
    sentence, paragraph = find_source(stored.article, args.id)
    print(render.source_text(sentence, paragraph))


def chat(core: AnswerCore, read=None, write=print) -> None:
    """An interactive loop: each line is a question; /summary, /source ID and /quit are commands."""
    read = read or input  # looked up at call time, so a test can stand in for the keyboard
    write(f"Kutip — {core.article.title}\nAsk a question (Indonesian or English). /summary, /source ID, /quit.")
    while True:
        try:
            line = read("? ").strip()
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return
        try:
            if line.startswith("/summary"):
                lang = line.removeprefix("/summary").strip() or core.article.language
                write(render.summary_text(core.summary(lang)))
            elif line.startswith("/source"):
                write(render.source_text(*core.source(line.removeprefix("/source").strip())))
            else:
                write(render.answer_text(core.ask(line)))
        except KutipError as error:
            write(message_for(error, detect_language(line)))


def log_to_file(settings: Settings) -> Path:
    """In the local chat the screen is the conversation: log records go to a file in the data directory."""
    path = settings.data_dir / "kutip.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, settings.log_level.upper(), logging.INFO))
    logging.captureWarnings(True)
    return path


def cmd_chat(args: argparse.Namespace, settings: Settings) -> None:
    from bot.wiring.factory import build_core

    print(f"Logs go to {log_to_file(settings)}.")
    # The very first start assembles the 1.1 GB model and reads the article into the model: say so.
    print("Getting ready: reading the article and loading the models (the first start takes a minute)…", flush=True)
    core = build_core(settings)
    core.warm()
    chat(core)


def cmd_run(args: argparse.Namespace, settings: Settings) -> None:
    """Start the Telegram bot when a token is set, else the local chat."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        print("TELEGRAM_BOT_TOKEN is not set: starting the local chat instead of the Telegram bot.")
        cmd_chat(args, settings)
        return
    from bot.adapters.telegram.app import run
    from bot.wiring.factory import build_core

    def ready_core():
        # Settings are read again, so /reload picks up an edited .env or article file.
        core = build_core(_settings(args), progress=False)
        core.warm()
        return core

    run(settings, ready_core(), reload=ready_core)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kutip", description="Answers about a news article, quoting its sentences.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--article", help="a .txt or .html path, or an http(s) URL (default: KUTIP_ARTICLE)")
        p.set_defaults(func=func)
        return p

    command("index", cmd_index, "build or refresh the index of the article")
    p = command("ask", cmd_ask, "answer one question")
    p.add_argument("question", nargs="+")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = command("summary", cmd_summary, "summarise the article in 3-5 cited bullets")
    p.add_argument("--lang", choices=("id", "en"))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = command("source", cmd_source, "print a sentence inside its paragraph")
    p.add_argument("id", help="sentence id, e.g. 3.2")
    command("chat", cmd_chat, "ask questions interactively")
    command("run", cmd_run, "start the Telegram bot (or the local chat when no token is set)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else getattr(logging, settings.log_level.upper(), 20),
        format=LOG_FORMAT,
        stream=sys.stderr,
    )
    try:
        args.func(args, settings)
    except KutipError as error:
        print(f"kutip: {message_for(error)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
