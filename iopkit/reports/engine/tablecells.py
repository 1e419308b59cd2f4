"""How report tables are classed for screen and print: the one copy of the cell rules.

CSS cannot tell a number or a date from text, so table cells carry classes (styled by
``templates/iopkit/report.css``): ``iop-num`` on the cells and header of a numeric column
(right-aligned, tabular digits), ``iop-date`` on a cell holding only an ISO date and on a
``<span>`` around a date inside text (never broken at its hyphens), ``iop-word`` on a body
cell of one short word such as PHQ-9 (never broken at its hyphen), ``iop-wide`` on a table
of more than :data:`WIDE_COLUMNS` columns (smaller type in print) and ``iop-small`` on one of
at most :data:`SMALL_ROWS` body rows (never split over two pages).

Writers apply these rules as they write a table and mark it :data:`MARKED_ATTR` — the
report tables of :func:`iopkit.reports.views.display.show` and the report header
(:func:`iopkit.reports.views.header.report_header`), each cell by :func:`cell_html` — and
:func:`iopkit.reports.engine.export.mark_tables` applies them to any other HTML table a
notebook shows.
Standard library only: every report kernel imports it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

#: A body cell of one word up to this long is never wrapped (class ``iop-word``): scale names
#: such as PHQ-9 otherwise break at the hyphen in a narrow column ("PHQ-" / "9").
SHORT_WORD = 12
#: A table with more columns than this prints in smaller type (class ``iop-wide``).
WIDE_COLUMNS = 7
#: A table with at most this many rows is never split over two pages (class ``iop-small``).
SMALL_ROWS = 15
#: Attribute of a ``<table>`` whose cells were classed as it was written (the export leaves
#: such a table as it is instead of parsing it again).
MARKED_ATTR = "data-iop-classed"

SHORT_WORD_RE = re.compile(rf"^\S{{1,{SHORT_WORD}}}$")
_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"
#: An ISO date (with an optional time) inside text.
DATE_RE = re.compile(rf"(?<![\w-])({_DATE})(?![\w-])")
#: A cell that is an ISO date and nothing else.
WHOLE_DATE_RE = re.compile(rf"^{_DATE}$")
# a number as reports print it: 12, -3.5, 1,234, 38.0%, 60/158, 12.3 (10.1–14.5), ± 2.1
_NUMBER_RE = re.compile(
    r"^[<>≤≥]?\s*[-+−±]?[\d.,]*\d[\d.,]*\s*%?(?:\s*[(/–-]\s*[-+−]?[\d.,\s%–-]*\)?)?$"
)
# what a numeric column may also hold: blanks and the small-cell marks of the reports
_PLACEHOLDER_RE = re.compile(r"^(?:|[–—-]|n/?a|hidden.*|<\s*\d+|suppressed.*)$", re.IGNORECASE)


def is_number(text: str) -> bool:
    """``text`` (a cell's visible text, whitespace collapsed) reads as a number."""
    return bool(text) and not WHOLE_DATE_RE.match(text) and bool(_NUMBER_RE.match(text))


def numeric_column(body_texts: Sequence[str]) -> bool:
    """A column is numeric when at least one body cell is a number and every other is a
    number or a blank/small-cell mark ("–", "< 11", "hidden …")."""
    return any(is_number(v) for v in body_texts) and all(
        is_number(v) or _PLACEHOLDER_RE.match(v) for v in body_texts
    )


def cell_classes(text: str, *, numeric: bool, body: bool, header: bool) -> list[str]:
    """The classes of one cell with visible ``text`` in a column that is ``numeric`` or not:
    ``body`` for a ``<td>``, ``header`` for a cell of the ``<thead>``."""
    classes = []
    if numeric and (body or header):
        classes.append("iop-num")
    if WHOLE_DATE_RE.match(text):
        classes.append("iop-date")
    elif body and not numeric and SHORT_WORD_RE.match(text):
        classes.append("iop-word")
    return classes


def table_classes(n_columns: int, n_body_rows: int) -> list[str]:
    """The classes of a table of ``n_columns`` columns and ``n_body_rows`` body rows."""
    return (["iop-wide"] if n_columns > WIDE_COLUMNS else []) + (
        ["iop-small"] if n_body_rows <= SMALL_ROWS else []
    )


def cell_html(tag: str, text: str, classes: Sequence[str], attrs: str = "") -> str:
    """One ``<td>`` or ``<th>`` holding ``text`` (HTML-escaped) with ``classes``, each ISO date
    inside text wrapped in an ``iop-date`` span (as :func:`~.export.mark_tables` does);
    ``attrs``: further attributes, written as given (e.g. ``" style='…'"``)."""
    body = html.escape(text)
    if "iop-date" not in classes:
        body = DATE_RE.sub(r'<span class="iop-date">\1</span>', body)
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f"<{tag}{cls}{attrs}>{body}</{tag}>"
