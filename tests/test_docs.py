"""The documents exist: every relative link of README.md and docs/*.md reaches a file (and its
heading), every document a .py file cites is there, nothing cites the workplace folder beside the
checkout (../shared: a clone has none), and the README's commands are real ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from ocppscope.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCE_DIRS = ("ocppscope", "proxy", "addons", "csms", "simulator", "scenarios", "dashboards")

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
CITED = re.compile(r"\b(README\.md|DESIGN\.md|docs/[\w./-]+?\.md)\b")
OUTSIDE = re.compile(r"\.\./shared|shared/spec")
"""A citation of the workplace folder beside the checkout, which a user's clone lacks."""
COMMAND = re.compile(r"`ocppscope ([a-z][a-z-]*(?: [a-z][a-z-]*)?)")


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces become dashes."""
    text = re.sub(r"[`*_]|\[|\]\([^)]*\)", "", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    return {anchor(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def links(page: Path) -> list[str]:
    return LINK.findall(CODE.sub("", page.read_text()))


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target}: no heading #{fragment} in {file.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_heading(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_links_into_every_docs_page() -> None:
    linked = {(ROOT / link.partition("#")[0]).resolve() for link in links(ROOT / "README.md")}
    assert [p.name for p in PAGES[1:] if p.resolve() not in linked] == []


def test_every_document_cited_in_the_code_exists() -> None:
    missing = []
    for directory in (*SOURCE_DIRS, "tests"):
        for source in sorted((ROOT / directory).rglob("*.py")):
            if source == Path(__file__).resolve():
                continue  # its own examples cite what must not exist
            for number, line in enumerate(source.read_text().splitlines(), 1):
                for cited in CITED.findall(line):
                    if not (ROOT / cited).is_file():
                        missing.append(f"{source.relative_to(ROOT)}:{number}: {cited}")
    assert missing == []


def project_sources() -> list[Path]:
    """Every .py file of the project outside tests/ (which may read ../shared as an optional
    fixture), and README.md and docs/*.md."""
    tops = [p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")]
    sources = [
        *ROOT.glob("*.py"),
        *(s for top in tops if top.name != "tests" for s in top.rglob("*.py")),
    ]
    return sorted(sources) + PAGES


def outside_citations(source: Path) -> list[str]:
    lines = source.read_text().splitlines()
    return [f"{source.name}:{n}" for n, line in enumerate(lines, 1) if OUTSIDE.search(line)]


def test_nothing_cites_the_workplace_folder_beside_the_checkout() -> None:
    sources = project_sources()
    assert ROOT / "proxy" / "ocppj" / "rules.py" in sources and ROOT / "README.md" in sources
    assert not any(ROOT / "tests" in s.parents for s in sources)
    assert [c for source in sources for c in outside_citations(source)] == []


def commands_in_the_readme_table() -> set[str]:
    section = (ROOT / "README.md").read_text().split("## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ", 1)[0] for line in section.splitlines() if line.startswith("| `")]
    return {command for row in rows for command in COMMAND.findall(row)}


def real_commands() -> tuple[set[str], set[str]]:
    """Every command and group of the CLI; the groups."""
    found, groups = set(), set()

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.add(" ".join(path))
        if hasattr(command, "commands"):
            groups.add(" ".join(path))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found, groups


def unknown_commands(shown: set[str]) -> list[str]:
    """Each shown command must be a command or group of the CLI, or a command and its argument
    (`check capture`), never a group and a word that is none of its commands (`db nosuch`)."""
    real, groups = real_commands()
    return sorted(
        c
        for c in shown
        if c not in real and (c.rsplit(" ", 1)[0] not in real or c.rsplit(" ", 1)[0] in groups)
    )


def test_every_command_in_the_readme_table_is_real() -> None:
    shown = commands_in_the_readme_table()
    assert len(shown) > 20
    assert unknown_commands(shown) == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """Each check above finds what it is there to find."""
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Title\n\n## A `code` heading, with commas\n\n"
        "[ok](#a-code-heading-with-commas) [gone](missing.md) [bad](page.md#nowhere)\n"
        "`[not a link](missing.md)`\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "page.md#nowhere: no heading #nowhere in page.md",
    ]
    assert CITED.findall('"""See docs/nothing.md and DESIGN.md."""') == [
        "docs/nothing.md",
        "DESIGN.md",
    ]
    assert not (ROOT / "DESIGN.md").exists()
    source = tmp_path / "module.py"
    source.write_text(
        '"""Ids follow ../shared/spec/RULES.md."""\n# fine\n# see shared/spec/x.txt\n'
    )
    assert outside_citations(source) == ["module.py:1", "module.py:3"]
    shown = {"proxy", "fault add", "check capture", "db nosuch", "nosuch"}
    assert unknown_commands(shown) == ["db nosuch", "nosuch"]
