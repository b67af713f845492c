"""The README stays a front door, and every relative link in the Markdown docs reaches a file and a heading."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "bench" / "README.md", ROOT / "deploy" / "README.md"]
    + list((ROOT / "docs").glob("*.md"))
)
README_MAX_LINES = 200

_LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _prose(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for line in _prose(path.read_text(encoding="utf-8")):
        if match := _HEADING.match(line):
            base = slug(match["title"])
            count = seen.get(base, 0)
            seen[base] = count + 1
            result.add(base if count == 0 else f"{base}-{count}")
    return result


def test_slug_follows_githubs_rule():
    assert slug("BM25's weight beside e5") == "bm25s-weight-beside-e5"
    assert slug("The model behind a server (`KUTIP_LLM_URL`)") == "the-model-behind-a-server-kutip_llm_url"
    assert slug("7. Webhook behind a reverse proxy") == "7-webhook-behind-a-reverse-proxy"


def test_readme_is_a_front_door_not_a_notebook():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; details belong in docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_heading(page):
    broken = []
    for line in _prose(page.read_text(encoding="utf-8")):
        for match in _LINK.finditer(line):
            target = match["target"]
            if re.match(r"[a-z]+:", target):
                continue  # an absolute URL: not checked offline
            path_part, _, anchor = target.partition("#")
            path = (page.parent / path_part).resolve() if path_part else page
            if not path.exists():
                broken.append(f"{target}: no such file")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


_HISTORY = re.compile(
    r"\b\d{1,2}:\d{2}\s*[–-]\s*\d{1,2}:\d{2}\b|\bissue \d+|\b(this|last) (stop|release)\b", re.IGNORECASE
)


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "CHANGELOG.md"], ids=lambda p: str(p.relative_to(ROOT)))
def test_history_stays_in_the_changelog(page):
    found = [line.strip() for line in _prose(page.read_text(encoding="utf-8")) if _HISTORY.search(line)]
    assert not found, f"{page.relative_to(ROOT)}: clock times or release history belong in CHANGELOG.md: {found[:3]}"
