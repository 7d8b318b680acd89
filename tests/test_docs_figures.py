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


def _figures(text: str) -> set[str]:
    prose = _prose(text)
    found = {f"{number} {unit}" if unit != "x" else f"{number}x" for number, unit in FIGURE.findall(prose)}
    for first, second, unit in PAIR.findall(prose):
        found |= {f"{first} {unit}", f"{second} {unit}"}
    return found


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
