"""Showing tables and figures in report notebooks (readable in HTML and in print).

``show(frame, caption)`` renders a DataFrame without its index, floats rounded, missing
values as "–" and suppressed cells (``attrs["suppression"]["hidden_cells"]``) as
"hidden (<k)"; ``figure(fig)`` displays a Figure from
:mod:`iopkit.plots` once. Both are no-ops on data: they only format.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML, Markdown, display
from matplotlib.figure import Figure

#: Most rows a report table shows before it is cut (the count of the rest is stated).
MAX_ROWS = 60


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
