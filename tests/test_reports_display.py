"""Report tables as ``show`` writes them: the cells and classes pandas' Styler and the export's
table classing gave, in one pass (``iopkit.reports.views.display.table_html``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from iopkit.reports.engine.export import mark_tables
from iopkit.reports.engine.tablecells import MARKED_ATTR
from iopkit.reports.views.display import cell_text, table_html

STYLER_CLASSES = {"col_heading", "level0", "data", "blank", "index_name"}


def _styler_html(shown: pd.DataFrame, caption: str | None) -> str:
    """What ``show`` wrote before (Styler, then the export's classing)."""
    styler = shown.style.hide(axis="index").format(
        precision=2, na_rep="–", thousands=",", escape="html"
    )
    if caption:
        styler = styler.set_caption(caption)
    return mark_tables(styler.to_html())


def _cells(fragment: str) -> tuple[list[tuple[str, str, frozenset[str]]], frozenset[str], str]:
    soup = BeautifulSoup(fragment, "html.parser")
    table = soup.find("table")
    cells = []
    for cell in table.find_all(["th", "td"]):
        classes = {c for c in cell.get("class") or [] if c not in STYLER_CLASSES
                   and not c.startswith(("col", "row"))}
        dates = tuple(s.get_text() for s in cell.find_all("span", class_="iop-date"))
        cells.append((cell.name, " ".join(cell.get_text(" ", strip=True).split()),
                      frozenset(classes | {f"date:{d}" for d in dates})))
    caption = table.find("caption")
    return cells, frozenset(table.get("class") or []), caption.get_text() if caption else ""


def _same(shown: pd.DataFrame, caption: str | None = None) -> None:
    mine, theirs = table_html(shown, caption), _styler_html(shown, caption)
    assert _cells(mine) == _cells(theirs)
    assert mark_tables(mine) == mine  # classed as written: the export leaves it as it is


def test_cells_and_classes_equal_the_styler_and_the_export() -> None:
    shown = pd.DataFrame({
        "scale": ["PHQ-9", "GAD-7", "a longer text cell", None],
        "n": pd.array([12, 1234567, None, 3], dtype="Int64"),
        "mean": [12.345, np.nan, -0.5, 1e6],
        "when": ["2024-01-05", "seen 2024-02-01 and 2024-02-09", "–", "2024-03-01 10:30"],
        "rate": ["38.0%", "< 11", "hidden to protect a small cell", "60/158"],
        "flag": [True, False, True, None],
        "ci": ["12.3 (10.1–14.5)", "± 2.1", "n/a", ""],
        "x": [np.inf, -np.inf, 0.0, 2.0],
    })
    _same(shown, "Episodes & scores — all")  # Styler wrote a caption unescaped: no tags here
    _same(shown.iloc[:0])
    _same(pd.concat([shown] * 5, ignore_index=True))  # more than 15 rows: not iop-small


def test_every_header_cell_and_caption_is_escaped() -> None:
    out = table_html(pd.DataFrame({"<b>col</b>": ["<script>x</script>", "a & b"]}),
                     "<i>caption</i>")
    assert "<script>" not in out and "<b>" not in out and "<i>" not in out
    assert "&lt;script&gt;" in out and "a &amp; b" in out and MARKED_ATTR in out


def test_cell_text_matches_the_styler_format() -> None:
    assert cell_text(1234567) == "1,234,567" and cell_text(np.int64(-5)) == "-5"
    assert cell_text(0.125) == "0.12" and cell_text(1234.5) == "1,234.50"  # half to even
    assert cell_text(None) == cell_text(np.nan) == cell_text(pd.NA) == cell_text(pd.NaT) == "–"
    assert cell_text(True) == "True" and cell_text("x") == "x"


_text = st.sampled_from(["PHQ-9", "12", "3.5", "1,234", "< 11", "–", "", "2024-01-05",
                         "week 2024-01-05", "a b c", "hidden", "n/a", "38.0%", "x<y&z",
                         "12.3 (10.1–14.5)", "moderately severe"])
_cell = st.one_of(st.none(), st.integers(-10**7, 10**7),
                  st.floats(allow_nan=True, allow_infinity=True, width=32), _text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_cell, min_size=1, max_size=9), min_size=0, max_size=18),
       st.integers(1, 9))
def test_any_table_equals_the_styler_and_the_export(rows: list[list], width: int) -> None:
    """Property: any mix of numbers, blanks, words, dates and small-cell marks, in columns of
    any type, gives the cells and classes the Styler and the export gave."""
    body = [(r * width)[:width] for r in rows]
    frame = pd.DataFrame(body, columns=[f"c{j}" for j in range(width)])
    for j in range(width):  # a typed column where the values allow it, as reports have
        col = frame.iloc[:, j]
        if len(col) and col.map(lambda v: isinstance(v, int)).all():
            frame[f"c{j}"] = col.astype("Int64")
        elif len(col) and col.map(lambda v: isinstance(v, float) or v is None).all():
            frame[f"c{j}"] = col.astype(float)
    _same(frame, "caption")


@pytest.mark.parametrize("bad", [[1, "a"], [object(), None]])
def test_mixed_object_columns_are_written(bad: list) -> None:
    out = table_html(pd.DataFrame({"v": bad}))
    assert out.count("<td") == 2
