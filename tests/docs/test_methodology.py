"""The method lives in the repository: every section of ``docs/methodology.md`` that the code,
the data dictionary or the README cites exists there, and no file of the repository points at
a file outside it (a user's clone has only the repository)."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METHODOLOGY = ROOT / "docs" / "methodology.md"

# In this repository a section sign always cites a section of docs/methodology.md
# ("methodology.md §4.6", "(§4.4)", "§2-§3", "§4.5, §4.8, §5").
CITATION = re.compile(r"§\s?(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)

# A path that leaves the repository: the team's shared folder beside the checkout, or the
# machine's absolute working folder. The character classes keep this file from matching itself;
# ``out/work/`` and ``<out>/work/`` (kume's own output folders) are not absolute paths.
OUTSIDE = re.compile(r"\.\.[/]shared|shared[/]docs|(?<![\w.>~/-])[/]work[/]")


@cache
def repository_texts() -> dict[str, str]:
    """Every text file of the repository, tracked or new (not ignored), by relative path."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    texts = {}
    for name in filter(None, listed.split("\0")):
        path = ROOT / name
        if not path.is_file():  # deleted in the working tree, not yet from the index
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


def sections() -> set[str]:
    return set(HEADING.findall(METHODOLOGY.read_text(encoding="utf-8")))


def citations() -> dict[str, list[str]]:
    """Section number -> the places (file:line) citing it."""
    cited: dict[str, list[str]] = {}
    for name, text in repository_texts().items():
        for number, line in enumerate(text.splitlines(), start=1):
            for section in CITATION.findall(line):
                cited.setdefault(section, []).append(f"{name}:{number}")
    return cited


def test_the_sections_of_the_programme_method_are_numbered_as_cited():
    assert {"1", "2", "3", "4", "5"} <= sections()
    assert {f"4.{n}" for n in range(1, 9)} <= sections()


def test_every_cited_section_exists_in_the_methodology():
    cited = citations()
    assert {"2", "3", "4.1", "4.4", "4.6", "4.8", "5"} <= set(cited), "the citations are no longer found"
    missing = {section: places for section, places in cited.items() if section not in sections()}
    assert not missing, f"sections cited but not in docs/methodology.md: {missing}"


def test_citations_are_found_in_every_form_they_take():
    text = "(methodology.md §2-§3): see §4.5, §4.8, §5 and § 1.4"
    assert CITATION.findall(text) == ["2", "3", "4.5", "4.8", "5", "1.4"]


def test_the_outside_reference_detector_knows_outside_from_inside():
    sep = "/"
    assert OUTSIDE.search(f"see `..{sep}shared{sep}docs{sep}methodology.md` §5")
    assert OUTSIDE.search(f"copied from ..{sep}shared{sep}reference")
    assert OUTSIDE.search(f"{sep}work{sep}main{sep}data")
    assert not OUTSIDE.search(f"Parquet files in `out{sep}work{sep}`, named by content")
    assert not OUTSIDE.search(f"staged tables: <out>{sep}work{sep}")
    assert not OUTSIDE.search("docs/methodology.md §5")


def test_no_file_refers_outside_the_repository():
    texts = repository_texts()
    assert "docs/methodology.md" in texts and "README.md" in texts
    outside = [
        f"{name}:{number}: {line.strip()}"
        for name, text in texts.items()
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert not outside, "references to files outside the repository:\n" + "\n".join(outside)
