"""Key figures a report records for its JSON sidecar.

Inside a notebook, ``iopkit.reports.record("n_admissions", 42)`` emits a display output with
the private MIME type :data:`MIMETYPE` (the scrapbook ``glue`` idea without the unmaintained
dependency — nteract/scrapbook has had no commit since 2022). The runner collects these from the
executed notebook (:func:`read_figures`), writes them to ``figures.json`` beside the HTML and
removes them from the HTML export. Values must be JSON scalars or short lists/dicts of them:
they are aggregate figures, never patient rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nbformat is imported by the runner only: ``record`` runs in every report
    import nbformat  # kernel, and importing nbformat there costs ~1 s (jsonschema formats)

MIMETYPE = "application/vnd.iopkit.figures+json"
#: Figure keys of a report's notes: sections that could not be computed, one line each
#: (``iopkit.reports.views.display.section``); a report with notes is "published with N notes".
NOTES_KEY, N_NOTES_KEY = "notes", "n_notes"
_MAX_ITEMS = 200


def _jsonable(key: str, value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()  # numpy / pandas scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf: recorded as null (documented in docs/reports.md)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        if len(value) > _MAX_ITEMS:
            raise ValueError(f"figure {key!r}: {len(value)} items; key figures are small")
        return [_jsonable(key, v) for v in value]
    if isinstance(value, dict):
        if len(value) > _MAX_ITEMS:
            raise ValueError(f"figure {key!r}: {len(value)} items; key figures are small")
        return {str(k): _jsonable(key, v) for k, v in value.items()}
    raise TypeError(
        f"figure {key!r} is a {type(value).__name__}; record numbers, strings or short "
        "lists/dicts (aggregates, never tables of patients)"
    )


def record(key: str, value: Any) -> None:
    """Record one key figure of the running report (call it inside a notebook)."""
    record_all({key: value})


def record_all(figures: Mapping[str, Any]) -> None:
    """Record several key figures of the running report in one output (in order; as
    :func:`record` of each, a later key wins): a report's key-figure table is one kernel
    message, not one per figure (each ~1.7 ms, docs/performance.md)."""
    payload = {}
    for key, value in figures.items():
        if not isinstance(key, str) or not key:
            raise ValueError("figure key must be a non-empty string")
        payload[key] = _jsonable(key, value)
    if not payload:
        return
    json.dumps(payload)  # fail here, not in the runner
    from IPython.display import display

    display({MIMETYPE: payload}, raw=True)


def read_figures(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """All figures recorded in an executed notebook, in order (a later record of a key wins)."""
    figures: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if MIMETYPE in data:
                figures.update(data[MIMETYPE])
    return figures


def strip_figures(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without the figure outputs (they are not meant for readers)."""
    import nbformat

    copy = nbformat.from_dict(nb)
    for cell in copy.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if MIMETYPE not in o.get("data", {})]
    return copy


def report_notes(figures: Mapping[str, Any]) -> list[str]:
    """The notes a report recorded (empty when it published without any)."""
    notes = figures.get(NOTES_KEY) or []
    return [str(n) for n in notes] if isinstance(notes, list) else [str(notes)]


def published_text(figures: Mapping[str, Any]) -> str:
    """"published" or "published with N note(s)"."""
    n = len(report_notes(figures))
    return "published" if n == 0 else f"published with {n} note{'s' if n != 1 else ''}"
