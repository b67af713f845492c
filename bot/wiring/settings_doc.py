"""docs/configuration.md, generated from `Settings`: each field's variable, default and description.

The page is a view of the code, not a copy kept by hand: `python -m bot.wiring.settings_doc` rewrites it, and
`tests/test_docs_config.py` fails when the checked-in page differs from what `render()` gives today. Sections
follow the `# --- name (note) ---` comments in the class body, so a new field lands under its neighbours.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import typing
from pathlib import Path

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from bot.wiring.settings import REPO_ROOT, Settings

PAGE = REPO_ROOT / "docs" / "configuration.md"
COMMAND = "python -m bot.wiring.settings_doc"

# Defaults computed from the machine at import time: the page shows what they mean, not this machine's value.
MACHINE_DEFAULTS = {"llm_threads": "the CPU count"}

_SECTION = re.compile(r"^\s*# --- (?P<title>.+?) ---\s*$")
_DOC_PATH = re.compile(r"docs/(?P<page>[\w-]+\.md)")
_FIELD = re.compile(r"^    (?P<name>[a-z_][a-z0-9_]*)\s*:")

_INTRO = """\
Kutip reads every setting from the environment or from a `.env` file in the repository root; the
environment wins. All are optional, and an empty value counts as unset (the default applies).
`.env.example` lists every variable with its default, ready to copy to `.env`. Lists are
comma-separated numeric ids."""


def env_name(name: str, field: FieldInfo, settings_cls: type[BaseSettings] = Settings) -> str:
    """The environment variable a field is read from: its first alias, else the class's prefix and its name."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        alias = next((choice for choice in alias.choices if isinstance(choice, str)), None)
    if isinstance(alias, str):
        return alias
    return f"{settings_cls.model_config.get('env_prefix', '')}{name}".upper()


def _repo_relative(value: str) -> str:
    path = Path(value)
    if path.is_absolute() and path.is_relative_to(REPO_ROOT):
        return path.relative_to(REPO_ROOT).as_posix()
    return value


def default_text(name: str, field: FieldInfo) -> str:
    """The default as a user would write it in `.env` (paths relative to the repository, booleans lower-case)."""
    if name in MACHINE_DEFAULTS:
        return MACHINE_DEFAULTS[name]
    value = field.default
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (set, frozenset, list, tuple)):
        return ",".join(str(item) for item in sorted(value)) if value else "(empty)"
    if isinstance(value, Path):
        return _repo_relative(str(value))
    if isinstance(value, str):
        return _repo_relative(value) if value else "(empty)"
    return str(value)


def _notes(field: FieldInfo) -> list[str]:
    """What the type adds to the description: the values a choice takes, a lower bound."""
    notes = []
    if typing.get_origin(field.annotation) is typing.Literal:
        notes.append("One of " + ", ".join(f"`{choice}`" for choice in typing.get_args(field.annotation)) + ".")
    for constraint in field.metadata:
        if getattr(constraint, "ge", None) is not None:
            notes.append(f"At least {constraint.ge}.")
    return notes


def sections(settings_cls: type[BaseSettings] = Settings) -> list[tuple[str, list[str]]]:
    """(section comment, field names) in the order the class declares them."""
    fields = settings_cls.model_fields
    result: list[tuple[str, list[str]]] = [("", [])]
    for line in inspect.getsource(settings_cls).splitlines():
        if match := _SECTION.match(line):
            result.append((match["title"], []))
        elif (match := _FIELD.match(line)) and match["name"] in fields:
            result[-1][1].append(match["name"])
    listed = {name for _, names in result for name in names}
    result.append(("other", [name for name in fields if name not in listed]))
    return [(title, names) for title, names in result if names]


def _cell(text: str) -> str:
    # A table cell: no pipes, no line breaks, and `<name>` shown as text rather than taken for an HTML tag.
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _default_cell(name: str, field: FieldInfo) -> str:
    text = default_text(name, field)
    if name in MACHINE_DEFAULTS or text in ("(unset)", "(empty)"):
        return text  # prose, not a value to type
    return "`" + text.replace("|", "\\|") + "`"


def _heading(title: str) -> tuple[str, str]:
    """A section comment as a heading and a note: 'trust: when … (note)' -> ('Trust: when …', 'Note.')."""
    head, _, note = title.partition(" (")
    note = note.removesuffix(")")
    head = head[:1].upper() + head[1:] if head else "Settings"
    if note:
        note = note[:1].upper() + note[1:] + ("" if note.endswith(".") else ".")
        note = _DOC_PATH.sub(r"[\g<page>](\g<page>)", note)  # the page sits in docs/ itself
    return head, note


def render(settings_cls: type[BaseSettings] = Settings) -> str:
    """The whole configuration page, as Markdown."""
    fields = settings_cls.model_fields
    lines = [
        "# Configuration",
        "",
        f"<!-- Generated from bot/wiring/settings.py by `{COMMAND}`: edit the descriptions there, not here. -->",
        "",
        _INTRO,
    ]
    for title, names in sections(settings_cls):
        head, note = _heading(title)
        lines += ["", f"## {head}", ""]
        if note:
            lines += [note, ""]
        lines += ["| variable | default | what it does |", "|---|---|---|"]
        for name in names:
            field = fields[name]
            description = " ".join([field.description or "", *_notes(field)]).strip()
            variable = env_name(name, field, settings_cls)
            lines.append(f"| `{variable}` | {_default_cell(name, field)} | {_cell(description)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Write docs/configuration.md from Settings.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page differs, without writing it")
    parser.add_argument("--output", type=Path, default=PAGE, help="the page to write or check (default: %(default)s)")
    args = parser.parse_args(argv)
    page = render()
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    if args.check:
        if current != page:
            print(f"{args.output} is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if current != page:
        args.output.write_text(page, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
