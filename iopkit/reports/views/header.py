"""The header every report opens with (issue 12 §5): what, for whom, from which data, when.

:func:`report_header` displays and records (``figures.json`` key ``header``): title, program
and cohort, period, the data's as-of date (:func:`data_as_of`, the latest date in the
validated tables), generated-at (UTC), iopkit version, the data source's label
(:func:`source_label`: a URL's password never shown), a checksum of the data read
(:func:`data_checksum`) and the audience (:data:`iopkit.reports.views.checks.AUDIENCES`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML, display

from iopkit.privacy import redact_url
from iopkit.reports.engine.figures import record
from iopkit.reports.engine.tablecells import (
    MARKED_ATTR,
    cell_classes,
    cell_html,
    numeric_column,
    table_classes,
)
from iopkit.reports.views.source import ReportData

#: Inline styles of the header table's label and value cells.
_TH_STYLE = " style='text-align:left;padding:2px 10px 2px 0'"
_TD_STYLE = " style='text-align:left;padding:2px 0'"
#: The marking of each audience, shown under the title.
AUDIENCE_MARKS = {
    "care_team": "Confidential — care team. Pseudonymous episode IDs; small cells are not "
    "suppressed. Do not pass on outside the care team.",
    "aggregate": "Aggregate report (boards, payers, publication): counts of 1 to {km1} people "
    "read \u201c< {k}\u201d, cells that would let one be worked out read \u201chidden to protect "
    "a small cell\u201d, and no figure shows individual episodes.",
}


def source_label(source: str) -> str:
    """What a report shows of its data source: the source text with any URL password
    replaced by ``***`` (:func:`iopkit.privacy.redact_url`)."""
    return redact_url(str(source))


def data_as_of(data: ReportData) -> dt.date | None:
    """The latest date in the validated tables (every date column of every table, the
    scored assessments included); None when the data holds no date."""
    latest: pd.Timestamp | None = None
    for frame in [*data.tables.values(), data.scores]:
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]):
                top = frame[col].max()
                if pd.notna(top) and (latest is None or top > latest):
                    latest = top
    return None if latest is None else latest.date()


def _canonical(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | np.datetime64):
        ts = pd.Timestamp(value)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        return str(int(f)) if f.is_integer() else repr(f)
    return str(value)


def _canonical_column(s: pd.Series) -> np.ndarray:
    """:func:`_canonical` of every cell of ``s`` (object array), computed once per distinct
    value — except in an object column that mixes types, where ``1``, ``1.0`` and ``True``
    would count as one distinct value but print differently."""
    values = s.to_numpy(dtype=object) if s.dtype == object else s
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        return np.array([_canonical(v) for v in values], dtype=object)
    codes, uniques = pd.factorize(values)
    text = np.array([_canonical(u) for u in uniques] + [""], dtype=object)
    return text[codes]  # code -1 (missing) takes the last entry, ""


def data_checksum(data: ReportData) -> str:
    """SHA-256 (hex) of the validated tables in a canonical form, so two runs on the same
    data agree whatever the source kind or the row and column order.

    Canonical form: tables by name; in each, the columns by name and the rows sorted, one
    line per row, values tab-separated (blank for missing, dates ``YYYY-MM-DD``, whole
    floats as integers, booleans ``true``/``false``). Rejected rows are not part of it.
    """
    h = hashlib.sha256()
    for name in sorted(data.tables):
        frame = data.tables[name]
        cols = sorted(map(str, frame.columns))
        h.update(f"\x1e{name}\n{chr(9).join(cols)}\n".encode())
        if not len(frame):
            continue
        lines = _canonical_column(frame[cols[0]]) if cols else np.full(len(frame), "", object)
        for c in cols[1:]:
            lines = lines + "\t" + _canonical_column(frame[c])
        h.update("\n".join(sorted(lines.tolist())).encode())
    return h.hexdigest()


def program_names(data: ReportData, cohort_id: str | None = None) -> list[str]:
    """Names of the curriculum programs of the data's cohorts (one cohort when given)."""
    cohorts = data.tables.get("cohorts")
    if cohorts is None or "program_id" not in cohorts.columns:
        return []
    if cohort_id:
        cohorts = cohorts[cohorts["cohort_id"].astype(str) == str(cohort_id)]
    names = data.program_names
    if names is None:  # opened without them: read the curriculum (cached per process)
        from iopkit.data import catalog  # here: a snapshot's report needs no data layer

        names = catalog.program_names()
    ids = list(dict.fromkeys(map(str, cohorts["program_id"].dropna())))
    return [names.get(i, i) for i in ids]


def report_header(
    data: ReportData,
    *,
    title: str,
    audience: str,
    k: int,
    cohort: str = "",
    start_date: str = "",
    end_date: str = "",
    subject: Sequence[str] = (),
) -> dict[str, Any]:
    """Display the report's header and record it as ``figures.json`` ``header``.

    ``cohort``: the cohort's id (blank: every cohort); ``start_date``/``end_date``: the
    period parameters (blank: the first date / the as-of date of the data); ``subject``:
    extra lines (e.g. ``"Episode E00123"``). Returns the recorded dict.
    """
    from iopkit import __version__

    as_of = data_as_of(data)
    period = f"{start_date or 'first record'} to {end_date or (as_of or 'latest record')}"
    head = {
        "title": title,
        "program": ", ".join(program_names(data, cohort or None)) or "–",
        "cohort": cohort or "all cohorts",
        "period": period,
        "data_as_of": None if as_of is None else as_of.isoformat(),
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "iopkit_version": __version__,
        "data_source": source_label(data.source),
        "data_checksum_sha256": data.table_checksum,
        "audience": audience,
        "suppress_below": k if k > 1 else 0,
    }
    labels = {
        "program": "Program", "cohort": "Cohort", "period": "Period",
        "data_as_of": "Data as of (latest date in the data)", "generated_at": "Generated",
        "iopkit_version": "iopkit version", "data_source": "Data source",
        "data_checksum_sha256": "Data checksum (SHA-256 of the validated tables)",
        "audience": "Audience",
    }
    mark = AUDIENCE_MARKS[audience].format(k=k, km1=k - 1)
    # classed as it is written, by the rules the export would apply (``tablecells``), so the
    # export does not parse it again (docs/performance.md)
    values = [str(head[key] or "–") for key in labels]
    numeric = numeric_column([v.strip() for v in values])
    rows = ""
    for label, value in zip(labels.values(), values, strict=True):
        th = cell_classes(label, numeric=False, body=False, header=False)
        td = cell_classes(value.strip(), numeric=numeric, body=True, header=False)
        rows += (f"<tr>{cell_html('th', label, th, _TH_STYLE)}"
                 f"{cell_html('td', value, td, _TD_STYLE)}</tr>")
    table_cls = " ".join(["iopkit-header-table", *table_classes(2, len(values))])
    extra = "".join(f"<p style='margin:2px 0'><b>{html.escape(s)}</b></p>" for s in subject)
    display(HTML(
        f"<div class='iopkit-header'><p style='font-size:1.2em;margin:4px 0'><b>"
        f"{html.escape(title)}</b></p>{extra}"
        f"<p class='iopkit-audience iopkit-{audience}' style='border:1px solid #555;"
        f"padding:4px 8px;margin:6px 0'><b>{html.escape(mark)}</b></p>"
        f"<table class='{table_cls}' {MARKED_ATTR}=''>{rows}</table></div>"
    ))
    record("header", head)
    return head
