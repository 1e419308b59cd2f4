"""Showing tables and figures in report notebooks (readable in HTML and in print).

``show(frame, caption)`` renders a DataFrame without its index, floats rounded, missing
values as "–" and suppressed cells (``attrs["suppression"]["hidden_cells"]``) as
"hidden (<k)"; ``figure(fig)`` displays a Figure from
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
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from IPython.display import HTML, Markdown, display
from matplotlib.figure import Figure

from iopkit.errors import InputError
from iopkit.reports.engine.figures import N_NOTES_KEY, NOTES_KEY, record

#: Most rows a report table shows before it is cut (the count of the rest is stated).
MAX_ROWS = 60

#: Notes of the running report (one kernel runs one report), in order.
NOTES: list[str] = []


def note(text: str) -> None:
    """Display a line of Markdown."""
    display(Markdown(text))


def show(frame: pd.DataFrame, caption: str | None = None, *, max_rows: int = MAX_ROWS) -> None:
    """Display ``frame`` as an HTML table (no index, 2 decimals), stating rows left out."""
    k = frame.attrs.get("suppression", {}).get("k") if isinstance(frame.attrs, dict) else None
    shown = frame.head(max_rows).copy()
    for col in shown.columns:  # dates print as YYYY-MM-DD (times only when they carry one)
        if pd.api.types.is_datetime64_any_dtype(shown[col]):
            has_time = (shown[col].dropna().dt.normalize() != shown[col].dropna()).any()
            fmt = "%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d"
            shown[col] = shown[col].dt.strftime(fmt).astype(object).where(shown[col].notna())
    cells = frame.attrs.get("suppression", {}).get("hidden_cells")
    na_rep = f"hidden (<{k})" if k and k > 1 else "–"
    if k and k > 1 and cells is not None:
        # label exactly the cells suppression hid; other blanks (not applicable) stay "–"
        hidden = {(lab, col) for lab, col in cells}
        shown = shown.astype(object)
        for j, col in enumerate(shown.columns):
            for i, lab in enumerate(shown.index):
                if (lab, col) in hidden:
                    shown.iat[i, j] = na_rep
        na_rep = "–"
    styler = shown.style.hide(axis="index").format(
        precision=2, na_rep=na_rep, thousands=",", escape="html"
    )
    if caption:
        styler = styler.set_caption(caption)
    styler = styler.set_table_styles(
        [
            {"selector": "caption", "props": "caption-side: top; font-weight: bold; "
                                             "text-align: left; padding: 4px 0;"},
            {"selector": "th", "props": "text-align: left; background: #f4f4f4; padding: 3px 8px;"},
            {"selector": "td", "props": "padding: 3px 8px; border-bottom: 1px solid #eee;"},
        ]
    )
    display(HTML(styler.to_html()))
    if len(frame) > max_rows:
        note(f"*… {len(frame) - max_rows} more rows not shown (see the executed notebook).*")


def figure(fig: Figure) -> None:
    """Display a matplotlib Figure."""
    display(fig)


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
