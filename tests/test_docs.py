"""The README, CONTRIBUTING.md and docs/ link to each other: every relative link resolves.

A link resolves when its file exists and, with ``#anchor``, when the target
has a heading whose GitHub anchor is that (lower case, punctuation dropped,
spaces to ``-``). Code blocks are skipped: a ``[x](y)`` there is not a link.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
README_MAX_LINES = 300


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation other than '-' dropped, spaces → '-'."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    return {anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def links(path: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(prose(path.read_text()))
            if not re.match(r"^[a-z]+:", m.group(1))]


def test_the_pages_exist():
    assert len(PAGES) >= 10, [p.name for p in PAGES]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        file, _, fragment = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved.relative_to(ROOT)}")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{fragment} in {resolved.name}")
    assert broken == []


def test_the_link_checker_finds_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Top\n\nSee [there](missing.md), [here](#top) and [nowhere](#gone).\n"
                    "```\n[in code](not-a-link.md)\n```\n")
    assert links(page) == ["missing.md", "#top", "#gone"]
    assert anchors(page) == {"top"}
    assert anchor("The API endpoint and the `certificate`") == "the-api-endpoint-and-the-certificate"


def test_the_readme_is_what_a_user_needs_first_and_every_page_is_reachable():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move details into docs/"
    linked = {Path(t.partition("#")[0]).name
              for top in ("README.md", "CONTRIBUTING.md") for t in links(ROOT / top)}
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert page.name in linked, f"neither README.md nor CONTRIBUTING.md links {page.relative_to(ROOT)}"
