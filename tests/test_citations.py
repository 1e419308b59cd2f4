"""Code, data and docs cite primary sources directly (issue 10, item 7).

A citation must name the paper, manual, DOI, URL or repository file itself, or — for
iopkit's own rules — the project's docs (``docs/curriculum.md``, ``docs/scales.md`` …).
Pointers to the private reference notes outside the repository (``../shared/reference/*.md``,
bare ``scales.md §1.1``, ``curriculum.md §3``) are not citations a reader can follow.
Reading reference *data* (``../shared/reference-data``) is allowed: that is input, not a
citation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("iopkit", "curriculum", "docs")
SUFFIXES = {".py", ".yaml", ".yml", ".md", ".ipynb", ".txt", ".toml", ".json"}

#: The reference notes live outside the repository; the data folder next to them is allowed.
NOTES_PATH = re.compile(r"shared/reference(?!-data)")
#: A bare note name with a section sign (``scales.md §1.1``); ``docs/curriculum.md §…`` is the
#: project's own page and allowed, so a preceding path segment exempts it.
BARE_SECTION = re.compile(r"(?<![\w/.-])(?:scales|curriculum|notebooks|validation-data)\.md\s*§")
#: Notes with no namesake in docs/ are never a valid citation, with or without a section.
NOTES_ONLY = re.compile(r"(?<![\w/.-])(?:notebooks|validation-data)\.md\b")


def offending(line: str) -> bool:
    """True when ``line`` cites the private reference notes instead of a primary source."""
    return any(p.search(line) for p in (NOTES_PATH, BARE_SECTION, NOTES_ONLY))


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ('source: "scales.md §1.10"', True),
        ("# facts from shared/reference/scales.md §1.9", True),
        ("see ../shared/reference/curriculum.md", True),
        ("(curriculum.md §3; Zimmerman 2021)", True),
        ("validation-data.md B7", True),
        ('DATA = ROOT.parent / "shared" / "reference-data"', False),
        ("read ../shared/reference-data/nhanes.csv", False),
        ('source: "iopkit design decision [D] (docs/curriculum.md §A skill)"', False),
        ("Guide: [docs/scales.md](docs/scales.md)", False),
        ('source: "Bjureberg et al. 2016, doi 10.1007/s10862-015-9514-x"', False),
    ],
)
def test_detector(line: str, bad: bool) -> None:
    assert offending(line) is bad


def test_no_citations_of_private_reference_notes() -> None:
    hits = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix not in SUFFIXES or "__pycache__" in path.parts:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if offending(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert hits == [], "cite the primary source, not the reference notes:\n" + "\n".join(hits)
