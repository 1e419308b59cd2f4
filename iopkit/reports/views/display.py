"""Showing tables and figures in report notebooks (readable in HTML and in print).

``show(frame, caption)`` renders a DataFrame without its index, floats rounded, missing
values as "–", booleans as yes/no, whole numbers as integers, and suppressed cells
(``attrs["suppression"]``) as "< k" (a small count) or "hidden to protect a small cell"
(a complementary cell); ``figure(fig)`` displays a Figure from
:mod:`iopkit.plots` once. Both are no-ops on data: they only format.

``with section("Reliable change"):`` runs one report section on its own: when the section
cannot be computed from this data (an :class:`iopkit.errors.InputError` — too few people, an
optional table absent, a model that cannot fit), it prints one line saying why and records a
note (``figures.json`` ``notes``, shown on the run's index as "published with N notes"), and
the report goes on. Any other exception is a bug and fails the report. The safety section is
never run inside ``section``: if it cannot be computed, the report fails.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display
from matplotlib.figure import Figure

from iopkit.errors import InputError
from iopkit.plots import render
from iopkit.reports.engine.figures import N_NOTES_KEY, NOTES_KEY, record
from iopkit.reports.engine.tablecells import (
    MARKED_ATTR,
    cell_classes,
    cell_html,
    numeric_column,
    table_classes,
)

#: Most rows a report table shows before it is cut (the count of the rest is stated).
MAX_ROWS = 60

#: Notes of the running report (one kernel runs one report), in order.
NOTES: list[str] = []


def note(text: str) -> None:
    """Display a line of Markdown."""
    display(Markdown(text))


#: What a suppressed cell reads (issue 12 §3): a count of 1 … k−1 people, and a cell hidden so
#: that such a count cannot be worked out from totals or differences.
PRIMARY_TEXT = "< {k}"
COMPLEMENTARY_TEXT = "hidden to protect a small cell"


def _plain(shown: pd.DataFrame) -> pd.DataFrame:
    """Dates as YYYY-MM-DD, booleans as yes/no, whole-number floats as integers, floats
    rounded to one decimal with one decimal."""
    for col in shown.columns:
        s = shown[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            has_time = (s.dropna().dt.normalize() != s.dropna()).any()
            fmt = "%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d"
            shown[col] = s.dt.strftime(fmt).astype(object).where(s.notna())
        elif pd.api.types.is_bool_dtype(s) or (
            s.dtype == object and len(s.dropna()) and s.dropna().map(type).eq(bool).all()
        ):
            shown[col] = s.map({True: "yes", False: "no"}).astype(object).where(s.notna())
        elif pd.api.types.is_float_dtype(s):
            v = s.dropna()
            if len(v) and (v == v.round()).all() and (v.abs() < 1e15).all():
                shown[col] = s.round().astype("Int64")
            elif len(v) and ((v * 10).round(9) == (v * 10).round()).all():
                # a column rounded to one decimal prints with one (38.0, not 38.00)
                shown[col] = s.map(lambda x: f"{x:,.1f}").astype(object).where(s.notna())
    return shown


#: The look of a report table in a notebook (the exported page adds ``report.css``): caption
#: on top, left-aligned headers and text, numbers right-aligned (``iop-num``).
_TABLE_CSS = (
    "#{id} caption {{caption-side: top; font-weight: bold; text-align: left; padding: 4px 0;}}"
    " #{id} th {{text-align: left; background: #f4f4f4; padding: 3px 8px;}}"
    " #{id} td {{text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee;}}"
    " #{id} .iop-num {{text-align: right; font-variant-numeric: tabular-nums;}}"
)
_TABLES = itertools.count(1)


def cell_text(value: Any) -> str:
    """One table cell as report tables print it (unescaped): what pandas' Styler shows with
    ``format(precision=2, na_rep="–", thousands=",")`` — missing "–", floats with two
    decimals and thousands separators, integers with separators, anything else ``str``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, float | np.floating):
        return "–" if math.isnan(value) else f"{value:,.2f}"
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    if isinstance(value, complex | np.complexfloating):
        return f"{value:,.2f}"
    try:
        if pd.isna(value) is True:
            return "–"
    except (TypeError, ValueError):
        pass
    return str(value)


def table_html(shown: pd.DataFrame, caption: str | None = None) -> str:
    """``shown`` (already cut and formatted by :func:`show`) as an HTML table without its
    index, its cells classed for screen and print by the rules of
    :mod:`iopkit.reports.engine.tablecells` and the table marked as classed, so the export
    does not parse it again. Written here rather than by pandas' Styler: the Styler's import
    and templates, and the export's second parse of its HTML, were about 0.2 s of a cohort
    report (docs/performance.md). Every header, cell and the caption is HTML-escaped."""
    if isinstance(shown.columns, pd.MultiIndex):  # several header rows: pandas lays them out
        return shown.style.hide(axis="index").format(
            precision=2, na_rep="–", thousands=",", escape="html"
        ).set_caption(html.escape(caption or "")).to_html()
    heads = [cell_text(c) for c in shown.columns]
    columns = [[cell_text(v) for v in shown.iloc[:, j].tolist()] for j in range(shown.shape[1])]
    numeric = [numeric_column(col) for col in columns]
    table_id = f"iop-table-{next(_TABLES)}"
    parts = [f"<style>{_TABLE_CSS.format(id=table_id)}</style>"]
    classes = " ".join(table_classes(len(heads), len(shown)))
    parts.append(f'<table id="{table_id}" {MARKED_ATTR}=""'
                 + (f' class="{classes}"' if classes else "") + ">")
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    parts.append("<thead><tr>")
    for h, num in zip(heads, numeric, strict=True):
        text = " ".join(h.split())
        parts.append(cell_html("th", text, cell_classes(text, numeric=num, body=False,
                                                        header=True)))
    parts.append("</tr></thead><tbody>")
    for i in range(len(shown)):
        parts.append("<tr>")
        for col, num in zip(columns, numeric, strict=True):
            text = " ".join(col[i].split())
            parts.append(cell_html("td", text, cell_classes(text, numeric=num, body=True,
                                                            header=False)))
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def show(frame: pd.DataFrame, caption: str | None = None, *, max_rows: int = MAX_ROWS) -> None:
    """Display ``frame`` as an HTML table (no index, 2 decimals, whole numbers as integers,
    booleans as yes/no), stating rows left out. Cells small-cell suppression hid
    (``attrs["suppression"]``) read "< k" (a count of 1 … k−1, its ``primary_cells``) or
    "hidden to protect a small cell" (every other hidden cell); other blanks read "–"."""
    sup = frame.attrs.get("suppression", {}) if isinstance(frame.attrs, dict) else {}
    k = sup.get("k")
    shown = _plain(frame.head(max_rows).copy())
    cells = sup.get("hidden_cells")
    if k and k > 1 and cells:
        # label exactly the cells suppression hid; other blanks (not applicable) stay "–"
        hidden = {tuple(c) for c in cells}
        primary = {tuple(c) for c in sup.get("primary_cells", [])}
        shown = shown.astype(object)
        for j, col in enumerate(shown.columns):
            for i, lab in enumerate(shown.index):
                if (lab, col) in hidden:
                    shown.iat[i, j] = (
                        PRIMARY_TEXT.format(k=k) if (lab, col) in primary else COMPLEMENTARY_TEXT
                    )
    display(HTML(table_html(shown, caption)))
    if len(frame) > max_rows:
        note(f"*… {len(frame) - max_rows} more rows not shown (see the executed notebook).*")


def figure(fig: Figure) -> None:
    """Display a matplotlib Figure once, drawn as :func:`iopkit.plots.render` draws report
    figures (format and settings chosen in that one place), with its alternative text."""
    data, metadata = render(fig)
    display(data, metadata=metadata, raw=True)


def add_note(text: str) -> None:
    """Record one note of the running report (``figures.json``: ``notes``, ``n_notes``)."""
    NOTES.append(text)
    record(NOTES_KEY, list(NOTES))
    record(N_NOTES_KEY, len(NOTES))


@contextmanager
def section(title: str) -> Iterator[None]:
    """Run one report section; an :class:`~iopkit.errors.InputError` (and its subclasses)
    becomes one displayed line and a recorded note, so the report still publishes."""
    try:
        yield
    except InputError as exc:
        text = f"{title}: not shown — {exc}"
        note(f"*{text}*")
        add_note(text)


def show_safety(frame: pd.DataFrame, caption: str = "Positive safety answers") -> None:
    """Display the safety table of :func:`iopkit.reports.views.tables.safety_table` in full
    (never cut, never suppressed), or one line when the period has no positive answer."""
    n = int(frame.attrs.get("n_screened", 0))
    if frame.empty:
        note(f"No positive safety answer in the period ({n} assessments screened).")
        return
    missing = int(frame.attrs.get("n_follow_up_missing", 0))
    days = frame.attrs.get("review_within_days")
    follow = (
        f"a safety review is recorded within {days} day(s) for every one"
        if missing == 0
        else f"**no safety review recorded within {days} day(s) for {missing}**"
    )
    note(
        f"**{len(frame)} positive or unanswered safety answer(s)** in {n} assessments screened; "
        f"{follow}."
    )
    show(frame, caption, max_rows=max(len(frame), 1))


#: The banner of a report on synthetic data (``data_source`` ``synthetic:*``).
SYNTHETIC_BANNER = "Synthetic data — no real patient"


def source_banner(source: str) -> None:
    """Display a banner on a report whose data source is synthetic (``synthetic:*``), so fake
    data is never taken for a real patient; nothing for a real source."""
    if str(source).strip().lower().startswith("synthetic:"):
        display(HTML(
            "<div class='iopkit-synthetic' style='border:2px solid #b2182b;color:#b2182b;"
            "font-weight:bold;padding:6px 10px;margin:6px 0;'>"
            f"{SYNTHETIC_BANNER} ({html.escape(str(source))})</div>"
        ))
