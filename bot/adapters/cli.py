"""The `kutip` command: a thin adapter over the article library. Domain errors become messages here.

It builds nothing: `main` is handed a `Wiring` (bot/wiring/cli.py, the `kutip` entry point) that builds the
library and starts the Telegram bot.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from base.errors import KutipError, UnknownArticle
from base.language import detect_language
from bot.adapters import terminal as render
from bot.adapters.messages import message_for
from bot.core.ports import AnswerCore
from bot.library.ports import ArticleLibrary
from bot.wiring.settings import Settings

if TYPE_CHECKING:
    from bot.library.library import Library, Prepared
    from bot.storage import ArticleEntry

logger = logging.getLogger(__name__)

EXIT_ERROR = 2
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _settings(args: argparse.Namespace) -> Settings:
    # Only `kutip run` takes --article as the bot's default article; elsewhere it names a library article.
    overrides = {"article": args.article} if args.command == "run" and getattr(args, "article", None) else {}
    return Settings(**overrides)


@dataclass(frozen=True)
class Wiring:
    """What the commands need built, handed in by the wiring layer."""

    library: Callable[[Settings], Library]  # the article library in the data directory; loads models on first use
    run_bot: Callable[[Settings, Callable[[], Settings]], None]  # serve Telegram; the callable re-reads settings


def _print_json(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False))


# A stage that takes seconds, said in words a newcomer reads at the first `make run`.
STAGE_TEXTS = {"evaluating": "reading the article into the model (once: it is saved for the next start)"}


def _stage(stage: str) -> None:
    # On a terminal only: piped or scripted, an error stays the one line on stderr.
    if sys.stderr.isatty():
        print(f"{STAGE_TEXTS.get(stage, stage)}…", file=sys.stderr, flush=True)


def resolve(library: ArticleLibrary, choice: str | None, progress=None) -> ArticleEntry:
    """The article `--article` names (an id or id prefix, a number from `kutip articles`, a URL or path read
    before), or else reads it as a new URL or path; it becomes the CLI's current article. Without
    `--article`: the CLI's current article (the default until one is read or chosen)."""
    if choice is None:
        return library.current(None)
    try:
        return library.use(None, choice)
    except UnknownArticle:
        return library.read(choice, chat_id=None, progress=progress)


def _describe(entry: ArticleEntry) -> str:
    default = ", default" if entry.is_default else ""
    return f"{entry.short_id}  {entry.title!r}: {entry.sentences} sentences ({entry.language}{default})"


def cmd_read(args: argparse.Namespace, settings: Settings, wiring: Wiring) -> None:
    started = time.perf_counter()
    library = wiring.library(settings)
    spec = getattr(args, "source", None) or args.article
    entry = library.read(spec, chat_id=None, progress=_stage) if spec else library.current(None)
    print(f"ready in {time.perf_counter() - started:.1f}s: {_describe(entry)}")
    print(f"source: {entry.origin}")


def _prepared_text(prepared: Prepared) -> str:
    """What `kutip index` did for one article, and what the next start finds."""
    if prepared.prefix_saved is None:
        return ("index built" if prepared.indexed else "index already saved") + " (a model server keeps its own cache)"
    if not prepared.prefix_saved:
        return "the model prefix could not be saved (see the warning above): `kutip run` will evaluate it again"
    if not (prepared.indexed or prepared.evaluated):
        return "index and model prefix already saved: nothing to do"
    steps = (("index built", prepared.indexed), ("model prefix evaluated and saved", prepared.evaluated))
    return " and ".join(what for what, did in steps if did) + ": `kutip run` restores them"


def cmd_index(args: argparse.Namespace, settings: Settings, wiring: Wiring) -> None:
    """Make an article quick to answer about from the next start (`make run` calls this before `kutip run`): its
    index built and the model's prefix for it evaluated and saved, each only when missing. Without --article,
    the articles `kutip run` opens: the current one (the local chat) and the default (the Telegram bot)."""
    started = time.perf_counter()
    library = wiring.library(settings)
    if args.article:
        entries = [resolve(library, args.article, progress=_stage)]
    else:
        current, default = library.current(None), library.default
        entries = [current] if current.id == default.id else [current, default]
    for entry in entries:
        prepared = library.prepare(entry.id, progress=_stage)
        print(f"ready in {time.perf_counter() - started:.1f}s: {_describe(entry)}")
        print(f"  {_prepared_text(prepared)}")


def cmd_articles(args: argparse.Namespace, settings: Settings, wiring: Wiring) -> None:
    library = wiring.library(settings)
    current = library.current(None)
    for number, entry in enumerate(library.recent(None, args.limit), 1):
        mark = "*" if entry.id == current.id else " "
        print(f"{mark} {number:>2}. {_describe(entry)}  {entry.origin}")


def cmd_use(args: argparse.Namespace, settings: Settings, wiring: Wiring) -> None:
    entry = wiring.library(settings).use(None, args.choice)
    print(f"now: {_describe(entry)}")


def _core(args: argparse.Namespace, settings: Settings, wiring: Wiring, quiet: bool = False) -> AnswerCore:
    library = wiring.library(settings)
    entry = resolve(library, getattr(args, "article", None), progress=None if quiet else _stage)
    return library.core(entry.id)


def cmd_ask(args: argparse.Namespace, settings: Settings, wiring: Wiring) -> None:
    from bot.core.questions import check_question

    # Refuse a bad question before spending seconds on loading models.
    question = check_question(" ".join(args.question), settings.max_question_chars)
    answer = _core(args, settings, wiring, quiet=args.json).ask(question)
    _print_json(answer.to_dict()) if args.json else print(render.answer_text(answer))


def cmd_summary(args: argparse.Namespace, settings: Settings, wiring: Wiring) -> None:
    core = _core(args, settings, wiring, quiet=args.json)
    summary = core.summary(args.lang or core.article.language)
    _print_json(summary.to_dict()) if args.json else print(render.summary_text(summary))


def cmd_source(args: argparse.Namespace, settings: Settings, wiring: Wiring) -> None:
    from bot.core.answer import find_source

    library = wiring.library(settings)
    entry = resolve(library, args.article, progress=_stage)
    # Looking up a sentence needs no model: the core's lookup works on the stored article alone.
    sentence, paragraph = find_source(library.article(entry.id), args.id)
    print(render.source_text(sentence, paragraph))


CHAT_COMMANDS = (
    ("/summary [id|en]", "summarise the article, each bullet with the sentence it cites"),
    ("/source ID", "show a sentence (e.g. 3.2) inside its paragraph"),
    ("/help", "this list"),
    ("/quit", "leave (also /exit, or Ctrl-D)"),
)
LIBRARY_COMMANDS = (
    ("/read URL_OR_PATH", "read another article; it becomes the current one"),
    ("/articles", "list this chat's articles; their numbers never change"),
    ("/use N", "go back to article N (a number from /articles, or an id)"),
)


def chat_help(library: ArticleLibrary | None) -> str:
    """Every command the local chat knows; anything else is a question about the current article."""
    commands = CHAT_COMMANDS[:2] + (LIBRARY_COMMANDS if library is not None else ()) + CHAT_COMMANDS[2:]
    width = max(len(c) for c, _ in commands)
    lines = [f"  {c:<{width}}  {what}" for c, what in commands]
    return "\n".join(["Type a question (Indonesian or English), or a command:", *lines])


def chat(core: AnswerCore, read=None, write=print, library: ArticleLibrary | None = None) -> None:
    """An interactive loop: each line is a question, or one of the commands `/help` lists (with a library,
    /read, /articles and /use switch articles). A line starting with an unknown /command gets the help, never
    the model. With several articles in the chat, an answer or summary first names its article."""
    read = read or input  # looked up at call time, so a test can stand in for the keyboard
    write(f"Kutip — {core.article.title}\n{chat_help(library)}")
    while True:
        try:
            line = read("? ").strip()
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if not line:
            continue
        command = line.split()[0]
        if command in ("/quit", "/exit"):
            return
        try:
            if command == "/help":
                write(chat_help(library))
            elif command == "/summary":
                lang = line.removeprefix("/summary").strip() or core.article.language
                write(_named(library, core) + render.summary_text(core.summary(lang)))
            elif command == "/source":
                write(render.source_text(*core.source(line.removeprefix("/source").strip())))
            elif library is not None and command in ("/read", "/use", "/articles"):
                core = _library_command(library, line, write) or core
            elif command.startswith("/"):
                write(f"Unknown command {command}.\n{chat_help(library)}")
            else:
                write(_named(library, core) + render.answer_text(core.ask(line)))
        except KutipError as error:
            write(message_for(error, detect_language(line)))


def _named(library: ArticleLibrary | None, core: AnswerCore) -> str:
    """ "[2] Title" and a line break when the chat has more than one article, so a reply says which it is about.
    The chat's core is always the library's current article's (/read and /use make theirs current)."""
    listed = library.recent(None, 100) if library is not None else []
    if len(listed) <= 1:
        return ""
    current = library.current(None)
    number = next((n for n, e in enumerate(listed, 1) if e.id == current.id), "?")
    return f"[{number}] {current.title or core.article.title}\n"


def _library_command(library: ArticleLibrary, line: str, write) -> AnswerCore | None:
    """/read, /use or /articles in the local chat; the new current article's core, if it changed."""
    command, _, rest = line.partition(" ")
    if command == "/articles":
        current = library.current(None)
        for number, entry in enumerate(library.recent(None, 100), 1):
            write(f"{'*' if entry.id == current.id else ' '} {number:>2}. {_describe(entry)}")
        return None
    if not rest.strip():
        write(f"{command} needs an argument: {'a URL or path' if command == '/read' else 'a number or id'}")
        return None
    if command == "/read":
        entry = library.read(rest.strip(), chat_id=None, progress=lambda stage: write(f"{stage}…"))
    else:
        entry = library.use(None, rest)
    write(f"now: {_describe(entry)}")
    return library.core(entry.id)


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


def cmd_chat(args: argparse.Namespace, settings: Settings, wiring: Wiring) -> None:
    print(f"Logs go to {log_to_file(settings)}.")
    # The very first start assembles the 1.1 GB model and reads the article into the model: say so.
    print("Getting ready: reading the article and loading the models (the first start takes a minute)…", flush=True)
    library = wiring.library(settings)
    core = library.core(resolve(library, args.article).id)
    core.warm()
    chat(core, library=library)


def cmd_run(args: argparse.Namespace, settings: Settings, wiring: Wiring) -> None:
    """Start the Telegram bot when a token is set, else the local chat."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        print("TELEGRAM_BOT_TOKEN is not set: starting the local chat instead of the Telegram bot.")
        args.article = None  # here it named the default article (KUTIP_ARTICLE), already in `settings`
        cmd_chat(args, settings, wiring)
        return
    # Settings are read again on /reload, so it picks up an edited .env or article file.
    wiring.run_bot(settings, lambda: _settings(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kutip", description="Answers about a news article, quoting its sentences.")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log debug messages (otherwise warnings only, unless KUTIP_LOG_LEVEL)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument(
            "--article",
            help="an article of the library (id, id prefix, number, or a URL or path read before), or a new URL "
            "or path to read (default: the current article)",
        )
        p.set_defaults(func=func)
        return p

    p = command("read", cmd_read, "read an article (URL or path) into the library; it becomes the current one")
    p.add_argument("source", nargs="?", help="an http(s) URL or a .txt/.html path")
    command(
        "index",
        cmd_index,
        "make an article quick to answer about: its index and the model's prefix saved (--article, else the "
        "current and the default one; what `make run` does before `kutip run`)",
    )
    p = sub.add_parser("articles", help="list the library's articles, the current one marked *")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_articles)
    p = sub.add_parser("use", help="make an article current: its number, id (prefix) or URL")
    p.add_argument("choice")
    p.set_defaults(func=cmd_use)
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


def log_level(args: argparse.Namespace, settings: Settings) -> int:
    """DEBUG with --verbose; KUTIP_LOG_LEVEL when it is set, and for the bot (`kutip run`), whose operator reads
    its log; otherwise WARNING: a command's output is its answer, not the models' start-up lines."""
    if args.verbose:
        return logging.DEBUG
    if "log_level" in settings.model_fields_set or args.command == "run":
        return getattr(logging, settings.log_level.upper(), logging.INFO)
    return logging.WARNING


def main(argv: list[str] | None, wiring: Wiring) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args)
    level = log_level(args, settings)
    if level > logging.INFO:
        # Loading the embedder draws a "Loading weights" bar: a second's work that needs no bar. Read when
        # transformers is imported, which happens later, and only if a model is loaded.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)
    try:
        args.func(args, settings, wiring)
    except KutipError as error:
        print(f"kutip: {message_for(error)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return 0
