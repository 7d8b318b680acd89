"""Each measured figure has one home, docs/benchmarks.md: other pages quote its rows or link to it.

A figure is a number with a unit of time or rate, or a ratio (``6.8x``), in the prose or
tables of README.md and docs/*.md (code blocks are samples, not results). Every figure
on a page other than benchmarks.md must appear there too, and such a page must link to
it, so two pages can never show two values for one measurement.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "docs" / "benchmarks.md"
FIGURE = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?(µs|ms|req/s|predictions/s|calls/s|q/s|x)(?![\w/])")
#: Figures that are settings or facts, not measurements (say why beside each).
NOT_MEASURED = {
    "docs/vector.md": {"1.5x"},  # a target, quoted with the measured ratios beside it
    "docs/ml.md": {"50x", "2x", "5x"},  # targets, each with its measured value in the same sentence
    "docs/server.md": {"1 µs"},  # an order of magnitude for one head scan (not a benchmark row)
}


def _prose(text: str) -> str:
    return re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.S | re.M)


#: ``2.37 / 6.19 ms`` (a p50 / p99 cell): both numbers carry the unit.
PAIR = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?) / (\d[\d,]*(?:\.\d+)?)\s?(µs|ms)(?![\w/])")


NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w.])")
HEADER_UNIT = re.compile(r"\b(µs|ms|req/s|q/s|calls/s|predictions/s)\b[^|]*$|\((µs|ms)\)")


def _table_figures(prose: str) -> set[str]:
    """Numbers in a table column whose header names the unit (``| p50 / p99 ms |``)."""
    found: set[str] = set()
    lines = prose.splitlines()
    for i in range(len(lines) - 1):
        if not (lines[i].startswith("|") and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip())):
            continue
        units = []
        for cell in lines[i].strip().strip("|").split("|"):
            match = HEADER_UNIT.search(cell.strip())
            units.append((match.group(1) or match.group(2)) if match else None)
        for row in lines[i + 2:]:
            if not row.startswith("|"):
                break
            for unit, cell in zip(units, row.strip().strip("|").split("|")):
                if unit:
                    found |= {f"{number} {unit}" for number in NUMBER.findall(cell.replace("**", ""))}
    return found


def _figures(text: str) -> set[str]:
    prose = _prose(text)
    found = {f"{number} {unit}" if unit != "x" else f"{number}x" for number, unit in FIGURE.findall(prose)}
    for first, second, unit in PAIR.findall(prose):
        found |= {f"{first} {unit}", f"{second} {unit}"}
    return found | _table_figures(prose)


def _normalise(figure: str) -> str:
    return figure.replace(" ", "")


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", [p for p in PAGES if p != HOME], ids=lambda p: str(p.relative_to(ROOT)))
def test_figures_on_a_page_are_the_rows_of_benchmarks_md(page):
    home = {_normalise(f) for f in _figures(HOME.read_text())}
    rel = str(page.relative_to(ROOT))
    text = page.read_text()
    figures = _figures(text) - NOT_MEASURED.get(rel, set())
    foreign = sorted(f for f in figures if _normalise(f) not in home)
    assert not foreign, f"{rel} states figures that docs/benchmarks.md does not have: {foreign}"
    if figures:
        assert "benchmarks.md" in text, f"{rel} states measured figures without linking docs/benchmarks.md"
