"""Each layer imports only from the layers below it, and no module takes part in an import cycle.

The layers, lowest first (a module belongs to the longest prefix that names it):

1. `base`: errors, words, languages; imports nothing of Kutip.
2. `index`: an article becomes searchable sentences; owns the `Embedder` interface it consumes.
3. `bot.core`: the answer core, pure and synchronous; owns the interfaces it consumes (`Generator`,
   `Retriever`) and `AnswerCore`, what the adapters may ask of it.
4. `bot.llm` and `bot.storage`, side by side (neither imports the other): the models behind `Generator`,
   and the SQLite stores (with the library's row type, `ArticleEntry`).
5. `bot.library`: many articles, one model; owns `ArticleLibrary`, the one door the adapters use to a core.
6. `bot.wiring.settings`: the configuration every edge reads; it builds nothing.
7. `bot.adapters`: the CLI and Telegram edges; they receive what they use, never build it.
8. `bot.wiring`: builds the components from Settings and hands them to the adapters; may import everything
   of the product.
9. `evaluation`: measurements over the product; may import all of it, and nothing imports it.

Every import counts, also one made inside a function or under `TYPE_CHECKING`: an arrow drawn only for the
type checker is still an arrow a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("base", "index", "bot", "evaluation")

# Lowest first; entries of one tuple are one floor: they may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("base",),
    ("index",),
    ("bot.core",),
    ("bot.llm", "bot.storage"),
    ("bot.library",),
    ("bot.wiring.settings",),
    ("bot.adapters",),
    ("bot.wiring",),
    ("evaluation",),
)
# Package markers that only name their package (a docstring, re-exports of their own modules).
NEUTRAL = ("bot",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The Kutip modules `module` imports (`from a import b` counts as a.b when a.b is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path.name == "__init__.py", node)
            names = [f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target for alias in node.names]
        else:
            continue
        for name in names:
            # The deepest Kutip module the name points into (`import bot.core.answer` is bot.core.answer).
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def layer_of(module: str) -> int | None:
    best, best_len = None, -1
    for level, floor in enumerate(LAYERS):
        for prefix in floor:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = level, len(prefix)
    return best


def floor_of(module: str) -> str | None:
    """The prefix that places `module` (its side of a shared floor)."""
    level = layer_of(module)
    if level is None:
        return None
    return max((p for p in LAYERS[level] if module == p or module.startswith(p + ".")), key=len)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {module: imports_of(module, path, known) for module, path in known.items()}


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules() if layer_of(m) is None and m not in NEUTRAL] == []


def test_no_import_runs_up_or_sideways() -> None:
    wrong = []
    for module, targets in graph().items():
        if module in NEUTRAL:
            continue
        for target in sorted(targets):
            if target in NEUTRAL:
                continue
            mine, theirs = layer_of(module), layer_of(target)
            if theirs > mine or (theirs == mine and floor_of(module) != floor_of(target)):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    assert _cycles(graph()) == []


def test_the_checks_can_fail() -> None:
    """The rules catch an upward arrow and a circle when there is one."""
    assert layer_of("bot.wiring.settings") < layer_of("bot.adapters.cli") < layer_of("bot.wiring.factory")
    assert layer_of("index.retrieve") < layer_of("bot.core.ports")
    assert floor_of("bot.llm.llama") != floor_of("bot.storage.jobs")
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_imports_are_read_from_every_kind_of_statement(tmp_path: Path) -> None:
    known = {"index.retrieve": tmp_path, "bot.core.ports": tmp_path, "bot.core": tmp_path}
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.core.ports import Embedder\n"
        "def f():\n    import index.retrieve\n"
        "from bot.core import ports\n"
    )
    assert imports_of("index.build", source, known) == {"bot.core.ports", "index.retrieve"}


def test_the_product_wheel_leaves_the_evaluation_out() -> None:
    """evaluation/ is not the product: no package pattern or console script of the wheel takes it in."""
    import fnmatch
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(fnmatch.fnmatch("evaluation", pattern) for pattern in included)
    assert all(any(fnmatch.fnmatch(package, pattern) for pattern in included) for package in ("base", "bot", "index"))
    scripts = project["project"]["scripts"]
    assert not [name for name, target in scripts.items() if target.startswith("evaluation")]
