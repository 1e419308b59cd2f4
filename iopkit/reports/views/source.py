"""Report inputs: open a data source for a notebook, score it, look up scale facts.

Thin glue over the data, scales and outcomes areas so that report notebooks stay a few
lines per cell. ``source`` is what a report's ``data_source`` parameter holds: a bundle
folder, an ``.xlsx``/``.sqlite`` file or a SQLAlchemy URL (:func:`iopkit.data.load_bundle`),
or ``"synthetic:demo"`` — the deterministic synthetic demo bundle, so every notebook runs
from JupyterLab without any file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from iopkit.errors import InputError


@dataclass
class ReportData:
    """Validated tables of one source, with the scored assessments.

    ``tables``: accepted rows per table (typed; :class:`iopkit.data.ValidationResult`).
    ``scores``: every assessment with ``total``, ``band``, ``status`` and ``safety_flag``
    (:func:`iopkit.scales.engine.score_assessments`). ``counts``: rows in / accepted /
    rejected per table — reports show it, so nothing is dropped silently.
    """

    source: str
    tables: dict[str, pd.DataFrame]
    scores: pd.DataFrame
    counts: pd.DataFrame
    notes: list[str]

    def __getitem__(self, table: str) -> pd.DataFrame:
        """The accepted rows of ``table``; InputError when the source has no such table
        (optional tables such as goals or events may be absent)."""
        if table not in self.tables:
            raise InputError(
                f"the data source has no {table} table", rule="optional table absent"
            )
        return self.tables[table]

    @property
    def n_rejected(self) -> int:
        return int(self.counts["rejected"].sum()) if len(self.counts) else 0


def load_bundle_any(source: str) -> Any:
    """The raw bundle behind ``source``: anything :func:`iopkit.data.load_bundle` reads,
    ``"synthetic:demo"`` included."""
    if not source:
        raise InputError("data_source is empty; give a bundle path or 'synthetic:demo'")
    from iopkit.data import load_bundle

    return load_bundle(source)


def open_source(source: str) -> ReportData:
    """Load, validate and score ``source`` (see the module docstring)."""
    from iopkit.data import validate_bundle
    from iopkit.scales.engine import score_assessments

    result = validate_bundle(load_bundle_any(source))
    tables = {name: frame.reset_index(drop=True) for name, frame in result.tables.items()}
    assessments = tables.get("assessments")
    scores = (
        score_assessments(assessments)
        if assessments is not None and len(assessments)
        else pd.DataFrame(columns=["episode_id", "date", "scale", "total", "band", "status"])
    )
    return ReportData(source, tables, scores, result.counts, list(result.notes))


def severity_bands(scale_id: str) -> pd.DataFrame:
    """Severity bands of a scale as ``lower, upper, label`` (inclusive totals), with the source.

    From the scale registry (:func:`iopkit.scales.get_scale`); e.g. PHQ-9 0–4/5–9/10–14/
    15–19/20–27 (Kroenke 2001, via the registry's cited sources).
    """
    from iopkit.scales import get_scale

    scale = get_scale(scale_id)
    if scale.bands is None:
        return pd.DataFrame(columns=["lower", "upper", "label"])
    frame = pd.DataFrame(
        [(b.min, b.max, b.label) for b in scale.bands.levels], columns=["lower", "upper", "label"]
    )
    frame.attrs["source"] = scale.bands.source
    return frame


def scale_label(scale_id: str) -> str:
    """Short display name of a scale (``PHQ-9``)."""
    from iopkit.scales import get_scale

    return get_scale(scale_id).short_name


def episode_flags(data: ReportData, **options: Any) -> pd.DataFrame:
    """Measurement-based-care flags (:func:`iopkit.outcomes.mbc_flags`) with ``cohort_id``.

    Only raised flags (``raised`` true), safety first, then by episode.
    """
    from iopkit.outcomes import FLAG_KINDS, mbc_flags

    eps = data["episodes"]
    flags = mbc_flags(data.scores, eps, data.tables.get("attendance"), **options)
    raised = flags[flags["raised"].fillna(False).astype(bool)].copy()
    raised = raised.merge(eps[["episode_id", "cohort_id"]], on="episode_id", how="left")
    order = {k: i for i, k in enumerate(FLAG_KINDS)}
    raised["_o"] = raised["flag"].map(order).fillna(len(order))
    raised = raised.sort_values(["_o", "episode_id"], kind="stable").drop(columns="_o")
    return raised.reset_index(drop=True)

