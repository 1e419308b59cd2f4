"""Data-driven schedule grids: one report per cohort, active cohort, episode or flagged episode.

Each function here is a grid kind of the report engine (``for_each: {expand: NAME, source:
...}`` in a schedule; :data:`iopkit.reports.engine.schedule.EXPANDERS`), registered under its
name when this module is imported — the ``iopkit run``/``iopkit demo`` commands import it. A
new grid kind is one more registered function, here or in any other module.

Rows come straight from the data domains: the bundle from :func:`iopkit.data.load_bundle`,
measurement-based-care flags from :func:`iopkit.outcomes.mbc_flags` on the validated
(:func:`iopkit.data.validate_bundle`) and scored (:func:`iopkit.scales.engine.score_assessments`)
tables. What one schedule load reads is kept in the engine's per-load ``memo``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from iopkit.reports.engine.schedule import register_expander

__all__ = ["active_cohorts", "cohorts", "episodes", "flagged_episodes"]


def _bundle(source: str, memo: dict[str, Any]) -> Any:
    """The bundle at ``source``, read once per schedule load."""
    key = f"bundle:{source}"
    if key not in memo:
        from iopkit.data import load_bundle

        memo[key] = load_bundle(source)
    return memo[key]


def _raised_flags(source: str, memo: dict[str, Any]) -> pd.DataFrame:
    """Raised flags (:func:`iopkit.outcomes.mbc_flags`) of ``source`` with ``cohort_id``."""
    key = f"flags:{source}"
    if key not in memo:
        from iopkit.data import validate_bundle
        from iopkit.outcomes import mbc_flags
        from iopkit.scales.engine import score_assessments

        tables = validate_bundle(_bundle(source, memo)).tables
        eps = tables["episodes"]
        flags = mbc_flags(score_assessments(tables["assessments"]), eps, tables.get("attendance"))
        raised = flags[flags["raised"].fillna(False).astype(bool)]
        memo[key] = raised.merge(eps[["episode_id", "cohort_id"]], on="episode_id", how="left")
    return memo[key]


@register_expander("cohorts")
def cohorts(source: str, options: Mapping[str, Any], memo: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per cohort: ``cohort_id``, ``program_id``, ``start_date`` (from ``cohorts``)."""
    table = _bundle(source, memo)["cohorts"]
    cols = [c for c in ("cohort_id", "program_id", "start_date") if c in table.columns]
    rows = table[cols].astype(object).where(table[cols].notna(), None)
    return [
        {k: (str(v)[:10] if k == "start_date" and v is not None else v) for k, v in r.items()}
        for r in rows.to_dict("records")
    ]


@register_expander("active_cohorts")
def active_cohorts(
    source: str, options: Mapping[str, Any], memo: dict[str, Any]
) -> list[dict[str, Any]]:
    """Cohorts with an episode open on ``as_of`` (default: the latest date in the data).

    An episode is open when admitted on or before ``as_of`` and not discharged before it
    (blank ``discharge_date`` = still active, data contract in ``docs/data.md``). Option
    ``within_days`` (default 0) also keeps cohorts with a discharge in the preceding days,
    so the week's discharges get their report.
    """
    eps = _bundle(source, memo)["episodes"]
    admit = pd.to_datetime(eps["admit_date"], errors="coerce")
    disc = pd.to_datetime(eps["discharge_date"], errors="coerce")
    as_of = dt.date.fromisoformat(str(options["as_of"])) if options.get("as_of") else None
    ts = pd.Timestamp(as_of) if as_of else max(admit.max(), disc.max())
    within = pd.Timedelta(days=int(options.get("within_days", 0)))
    open_ = (admit <= ts) & (disc.isna() | (disc >= ts - within))
    active = set(eps.loc[open_, "cohort_id"].astype(str))
    return [r for r in cohorts(source, options, memo) if str(r["cohort_id"]) in active]


@register_expander("episodes")
def episodes(source: str, options: Mapping[str, Any], memo: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per episode: ``episode_id``, ``cohort_id`` (option ``cohort_id`` filters)."""
    eps = _bundle(source, memo)["episodes"]
    if options.get("cohort_id"):
        eps = eps[eps["cohort_id"].astype(str) == str(options["cohort_id"])]
    return [
        {"episode_id": str(e), "cohort_id": str(c)}
        for e, c in zip(eps["episode_id"], eps["cohort_id"], strict=True)
    ]


@register_expander("flagged_episodes")
def flagged_episodes(
    source: str, options: Mapping[str, Any], memo: dict[str, Any]
) -> list[dict[str, Any]]:
    """Episodes with at least one raised measurement-based-care flag.

    Options: ``kinds`` (list of flag kinds to keep), ``limit`` (first N by episode_id).
    Rows carry ``episode_id``, ``cohort_id`` and ``flags`` (the flag kinds, ``;``-joined).
    """
    flags = _raised_flags(source, memo)
    if options.get("kinds"):
        flags = flags[flags["flag"].isin(list(options["kinds"]))]
    kinds = (
        flags.groupby(["episode_id", "cohort_id"], sort=True)["flag"]
        .agg(lambda s: ";".join(sorted(set(map(str, s)))))
        .reset_index()
    )
    rows = [
        {"episode_id": str(r.episode_id), "cohort_id": str(r.cohort_id), "flags": r.flag}
        for r in kinds.itertuples()
    ]
    limit = options.get("limit")
    return rows[: int(limit)] if limit else rows
