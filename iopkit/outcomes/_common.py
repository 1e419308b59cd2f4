"""Shared helpers for :mod:`iopkit.outcomes`: column checks, direction, scale facts.

Scale facts (reliability, norms, thresholds) come from the scale registry
(:func:`iopkit.scales.get_scale`) when it is importable and knows the scale; every fact can be
overridden by an explicit argument, and a fact that is neither in the registry nor given raises
a :class:`~iopkit.errors.InputError` naming the missing fact (nothing is silently assumed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from iopkit.errors import InputError, UnknownIdError

__all__ = [
    "ScaleFacts",
    "check_vocab",
    "direction_of",
    "iso_dates",
    "require_columns",
    "scale_facts",
]


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, table: str) -> None:
    """Raise :class:`InputError` naming the first required column missing from ``frame``."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"{table} must be a pandas DataFrame, got {type(frame).__name__}",
            rule="DataFrame input",
        )
    for col in columns:
        if col not in frame.columns:
            present = ", ".join(map(str, frame.columns))
            raise InputError(
                f"{table} has no column {col!r} (columns present: {present})",
                column=col,
                rule="required column",
            )


def iso_dates(frame: pd.DataFrame, col: str, table: str) -> pd.Series:
    """Column ``col`` of ``frame`` as datetimes (ISO 8601); blank/missing stays NaT.

    Text that is not a date raises :class:`InputError` naming the table, row (header = 1)
    and column; nothing is coerced to NaT silently.
    """
    s = frame[col]
    if pd.api.types.is_datetime64_any_dtype(s):  # validated tables: dates already
        return s
    out = pd.to_datetime(s, errors="coerce", format="ISO8601")
    bad = out.isna() & s.notna() & (s.astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{table}: value {s.iloc[i]!r} is not a date",
            row=i + 2,
            column=col,
            rule="ISO date (YYYY-MM-DD)",
        )
    return out


def numeric_scores(frame: pd.DataFrame, col: str, table: str) -> pd.Series:
    """``frame[col]`` as float; blank stays missing, text that is not a number is an error.

    Raises :class:`InputError` naming the row's index label and the value; never coerces.
    (The label is the source line for tables from :func:`iopkit.data.validate_bundle`.)
    """
    sc = pd.to_numeric(frame[col], errors="coerce")
    bad = sc.isna() & frame[col].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{table}: {frame[col].iloc[i]!r} (index {frame.index[i]!r}) is not a number",
            column=col,
            rule="scores must be numeric",
        )
    return sc.astype(float)


def check_vocab(frame: pd.DataFrame, col: str, allowed: Sequence[str], table: str) -> None:
    """Raise :class:`InputError` at the first value of ``col`` not in ``allowed`` (row named)."""
    bad = ~frame[col].isin(list(allowed))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{table}: {col} {frame[col].iloc[i]!r} is not one of {', '.join(allowed)}",
            row=i + 2,
            column=col,
            rule=f"{col} vocabulary",
        )


def direction_of(lower_is_better: bool) -> int:
    """+1 when higher scores are better, -1 when lower scores are better (R `direction`)."""
    return -1 if lower_is_better else 1


def as_float(values: Any) -> np.ndarray:
    """Float array (NaN for missing) from a Series/sequence, refusing non-numeric text."""
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    out = pd.to_numeric(s, errors="coerce")
    bad = out.isna() & s.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"non-numeric score {s.iloc[i]!r}",
            row=None,
            column=str(s.name) if s.name is not None else None,
            rule="scores must be numeric",
        )
    return out.to_numpy(dtype=float)


@dataclass(frozen=True)
class ScaleFacts:
    """Scale facts used by outcome analytics. Units are scale points unless stated.

    ``remission_below``: remission when endpoint < this value (PHQ-9: 5, HEDIS).
    ``caseness``: a case when score >= this value (NHS Talking Therapies PHQ-9 10, GAD-7 8).
    ``reliable_change_points``: service threshold in points (NHS TT PHQ-9 6, GAD-7 4).
    ``response_reduction``: proportion reduction counted as response (0.5 = 50 %).
    """

    scale_id: str
    lower_is_better: bool = True
    reliability: float | None = None
    reliability_source: str | None = None
    clinical_mean: float | None = None
    clinical_sd: float | None = None
    functional_mean: float | None = None
    functional_sd: float | None = None
    norms_source: str | None = None
    remission_below: float | None = None
    response_reduction: float | None = 0.5
    mcid: float | None = None
    reliable_change_points: float | None = None
    caseness: float | None = None
    source: str = "explicit arguments"

    def need(self, name: str) -> Any:
        """Value of fact ``name``; InputError if it is unknown."""
        value = getattr(self, name)
        if value is None:
            raise InputError(
                f"scale {self.scale_id!r}: {name} is not in the registry and was not given; "
                f"pass {name}=... explicitly",
                rule=f"scale fact {name} required",
            )
        return value


def _pick(thresholds: Any, kind: str, prefer: str | None = None) -> Any:
    """First threshold of ``kind`` (preferring one whose label contains ``prefer``)."""
    items = [t for t in (thresholds or []) if getattr(t, "kind", None) == kind]
    if prefer:
        for t in items:
            if prefer.lower() in (getattr(t, "label", "") or "").lower():
                return t
    return items[0] if items else None


def _from_registry(scale_id: str) -> ScaleFacts | None:
    """Facts from :func:`iopkit.scales.get_scale` (None for a scale id outside the registry).

    Choices (each reported in ``ScaleFacts.source``): reliability = the first test–retest entry,
    else the first entry of any type (``Scale.reliability``); norms = the first clinical and the
    first functional norm with an SD (``Scale.norm``); reliable change = the NHS Talking
    Therapies threshold when listed, else the first; response = first percent-reduction rule;
    remission = first end-point score rule; caseness = first score threshold.
    """
    from iopkit.scales import get_scale

    try:
        scale = get_scale(scale_id)
    except UnknownIdError:  # a scale outside the registry: the caller passes its facts
        return None
    rel = scale.reliability("test_retest")
    clin, func = scale.norm("clinical"), scale.norm("functional")
    resp = _pick(scale.response, "percent_reduction")
    rem = _pick(scale.remission, "score")
    mcid = _pick(scale.mcid, "points")
    rc = _pick(scale.reliable_change, "points", prefer="NHS")
    case = _pick(scale.caseness, "score")
    rem_value = None
    if rem is not None:
        # store as a strict "below" threshold: "< v" stays v; "<= v" on integer totals is "< v + 1"
        rem_value = float(rem.value) if rem.op == "<" else float(rem.value) + 1.0
    return ScaleFacts(
        scale_id=scale.id,
        lower_is_better=bool(scale.lower_is_better),
        reliability=None if rel is None else float(rel.value),
        reliability_source=None if rel is None else f"{rel.type}, {rel.population}; {rel.source}",
        clinical_mean=None if clin is None else float(clin.mean),
        clinical_sd=None if clin is None else float(clin.sd),
        functional_mean=None if func is None else float(func.mean),
        functional_sd=None if func is None else float(func.sd),
        norms_source=None if func is None else f"{func.population}; {func.source}",
        remission_below=rem_value,
        response_reduction=0.5 if resp is None else float(resp.value) / 100.0,
        mcid=None if mcid is None else float(mcid.value),
        reliable_change_points=None if rc is None else float(rc.value),
        caseness=None if case is None else float(case.value),
        source=f"iopkit.scales registry ({scale.id})",
    )


def scale_facts(scale_id: str, **overrides: Any) -> ScaleFacts:
    """Facts for ``scale_id``: registry values (when available) replaced by non-None overrides.

    Unknown override names raise ``TypeError``; ``None`` overrides are ignored.
    """
    known = {f.name for f in fields(ScaleFacts)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown scale fact(s): {', '.join(sorted(unknown))}")
    base = _from_registry(scale_id) or ScaleFacts(scale_id=scale_id)
    given = {k: v for k, v in overrides.items() if v is not None}
    if given and base.source != "explicit arguments":
        given.setdefault(
            "source", f"{base.source} with explicit overrides: {', '.join(sorted(given))}"
        )
    return replace(base, **given)
