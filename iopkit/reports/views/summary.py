"""Key figures and program tables (issue 12 §5, §6): each headline figure read from one place.

:func:`key_figures` is the summary a cohort or program report opens with: admissions,
completion, attendance, paired-score rate, PHQ-9/GAD-7 change, response, NHS Talking Therapies
reliable improvement, recovery, reliable recovery and deterioration, and safety events — each
with its count, its denominator and its definition. Means and rates are read from
:func:`iopkit.outcomes.cohort_summary` (:func:`iopkit.reports.views.tables.headline`), the NHS
Talking Therapies measures from :func:`iopkit.outcomes.talking_therapies`, completion from
:func:`iopkit.outcomes.completion_rate`: the same computations the report's tables and
benchmark rows use, so a figure reads the same everywhere.

Program tables: :func:`monthly_flow` (real admissions — admitted in the month — and
discharges, with a totals row), :func:`subgroup_table` (episodes by primary concern or
referral source and how they ended). Suppression: :mod:`iopkit.outcomes.suppression`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from iopkit.errors import InputError
from iopkit.reports.views.source import ReportData
from iopkit.reports.views.tables import headline, reset_index
from iopkit.vocab import DISCHARGE_TYPES

#: NHS Talking Therapies definitions (NHS England, *NHS Talking Therapies for anxiety and
#: depression Manual*, v7 2024, https://www.england.nhs.uk/publication/the-nhs-talking-
#: therapies-manual/ ; NHS Digital, *NHS Talking Therapies annual report 2023-24*, "Key
#: measures" and appendices; OHID Fingertips glossary "Caseness", "Recovery", "Reliable
#: improvement"). Thresholds from the scale registry: PHQ-9 caseness ≥ 10, reliable change
#: ≥ 6 points; GAD-7 caseness ≥ 8, reliable change ≥ 4 points.
NHS_TT_DEFINITIONS = {
    "reliable_improvement": "PHQ-9 fell by ≥ 6 or GAD-7 by ≥ 4 points (more than measurement "
    "error) and neither rose by that much; of discharged episodes with both scales at "
    "admission and at the end (NHS Talking Therapies Manual)",
    "recovery": "at caseness at admission (PHQ-9 ≥ 10 or GAD-7 ≥ 8) and below caseness on both "
    "at the end; of discharged episodes at caseness with both scales paired (NHS Talking "
    "Therapies Manual)",
    "reliable_recovery": "recovered and reliably improved; same denominator as recovery "
    "(NHS Talking Therapies Manual)",
    "reliable_deterioration": "PHQ-9 rose by ≥ 6 or GAD-7 by ≥ 4 points and neither fell by "
    "that much; of discharged episodes with both scales paired (NHS Talking Therapies Manual)",
}

KEY_FIGURE_COLUMNS = ["figure", "value", "unit", "count", "of", "definition"]


def _in_period(dates: pd.Series, start_date: str, end_date: str) -> pd.Series:
    keep = dates.notna()
    if start_date:
        keep &= dates >= pd.Timestamp(start_date)
    if end_date:
        keep &= dates <= pd.Timestamp(end_date)
    return keep


def key_figures(
    period: ReportData,
    *,
    outcomes_by_scale: Mapping[str, pd.DataFrame],
    summaries: Mapping[str, pd.DataFrame],
    n_safety_events: int,
    n_follow_up_missing: int,
    start_date: str = "",
    end_date: str = "",
    k: int = 1,
) -> pd.DataFrame:
    """The key-figure summary of a period (one row per figure, :data:`KEY_FIGURE_COLUMNS`;
    index = the figure's key, also its ``figures.json`` name).

    ``period``: :func:`iopkit.reports.views.tables.select_period` output;
    ``outcomes_by_scale``: :func:`iopkit.outcomes.episode_outcomes` for ``phq9`` (and
    ``gad7`` when present); ``summaries``: their ``cohort_summary(by=None)``. ``value`` is
    a % for rates, points for mean changes, a count otherwise. With ``k`` > 1, rates whose
    count or complement is 1 … k−1 and means over fewer than ``k`` episodes are hidden
    (:func:`iopkit.outcomes.suppress_rates`, :func:`iopkit.outcomes.hide_small_groups`).
    Safety events are never hidden (issue 12 §2).
    """
    from iopkit.outcomes import (
        attendance_summary,
        completion_rate,
        hide_small_groups,
        suppress_rates,
        talking_therapies,
    )

    if "phq9" not in outcomes_by_scale:
        raise InputError("key figures need PHQ-9 outcomes", rule="key figures")
    eps = period["episodes"]
    rows: dict[str, list] = {}

    def add(key: str, figure: str, value: float, unit: str, count: float, of: float,
            definition: str) -> None:
        rows[key] = [figure, value, unit, count, of, definition]

    def rate(key: str, figure: str, hits: int, n: int, definition: str) -> None:
        add(key, figure, round(100 * hits / n, 1) if n else np.nan, "%", hits, n, definition)

    admitted = int(_in_period(eps["admit_date"], start_date, end_date).sum())
    add("n_admissions", "admissions", admitted, "episodes", admitted, len(eps),
        "episodes admitted in the period (of the episodes in care at any time in the period)")
    comp = completion_rate(eps)
    rate("completion_pct", "completed the program", int(comp["n_completed"].iloc[0]),
         int(comp["n_discharged"].iloc[0]),
         "discharge type 'completed', of episodes discharged (active ones excluded)")
    att = attendance_summary(period["attendance"], eps) if "attendance" in period.tables else None
    if att is not None and len(att):
        rate("attendance_pct", "attendance", int(att["n_attended"].sum()),
             int(att["n_scheduled"].sum()),
             "scheduled program days attended (present or late), of scheduled days")
    o9 = outcomes_by_scale["phq9"]
    done_ids = set(eps.loc[eps["discharge_date"].notna(), "episode_id"])
    finished = o9[o9["episode_id"].isin(done_ids)]
    n_paired = int(finished.dropna(subset=["baseline", "endpoint"]).shape[0])
    rate("paired_score_pct", "paired PHQ-9 scores", n_paired, len(finished),
         "discharged episodes with a PHQ-9 at admission and a later one, of discharged "
         "episodes (NHS Talking Therapies 'paired scores')")
    for sc, label in (("phq9", "PHQ-9"), ("gad7", "GAD-7")):
        if sc not in summaries:
            continue
        change, n = headline(summaries[sc], "paired", "change_mean")
        add(f"{sc}_mean_change", f"{label} mean change", round(change, 1) if n else np.nan,
            "points", np.nan, n,
            f"mean of last {label} − admission {label}, episodes with both (negative = "
            "fewer symptoms)")
    p, n = headline(summaries["phq9"], "paired", "response_rate")
    rate("phq9_response_pct", "PHQ-9 response", round(p * n) if n else 0, n,
         "last PHQ-9 at least 50 % below admission, of episodes with both scores")
    if "gad7" in outcomes_by_scale:
        tt = talking_therapies(o9, outcomes_by_scale["gad7"])
        tt = tt[tt["episode_id"].isin(done_ids)]
        for key, figure in (("reliable_improvement", "reliable improvement"),
                            ("recovery", "recovery"),
                            ("reliable_recovery", "reliable recovery"),
                            ("reliable_deterioration", "deterioration")):
            v = tt[key].dropna().astype(bool)
            rate(f"nhs_tt_{key}_pct", f"{figure} (NHS Talking Therapies)", int(v.sum()), len(v),
                 NHS_TT_DEFINITIONS[key])
    add("n_safety_events", "positive safety answers", n_safety_events, "answers",
        n_safety_events, np.nan,
        "PHQ-9 item 9 ≥ 1 or positive ASQ at any assessment in the period; never hidden "
        f"(follow-up not recorded for {n_follow_up_missing})")
    out = pd.DataFrame.from_dict(rows, orient="index", columns=KEY_FIGURE_COLUMNS)
    out["count"] = pd.array(pd.to_numeric(out["count"]).round(), dtype="Int64")
    out["of"] = pd.array(pd.to_numeric(out["of"]).round(), dtype="Int64")
    out["value"] = pd.to_numeric(out["value"]).astype(float)
    if k > 1:
        safety = out.loc[["n_safety_events"]]
        rest = out.drop(index="n_safety_events")
        is_rate = rest["unit"] == "%"
        rates = suppress_rates(rest[is_rate], n_col="of", count_col="count", rate_col="value",
                               k=k)
        counted = rest[~is_rate]
        counted = hide_small_groups(counted, n_col="of", stat_cols=["value", "count"], k=k)
        sup = [rates.attrs["suppression"], counted.attrs["suppression"]]
        out = pd.concat([rates, counted, safety]).reindex(out.index)
        cells = [c for s in sup for c in s["hidden_cells"]]
        admitted_shown = out.loc["n_admissions", "count"]
        small_admissions = bool(pd.notna(admitted_shown) and 0 < int(admitted_shown) < k)
        primary = [c for s in sup for c in s["primary_cells"]]
        if small_admissions:
            out.loc["n_admissions", ["value", "count"]] = np.nan
            cells += [("n_admissions", "value"), ("n_admissions", "count")]
            primary += [("n_admissions", "count")]
        out.attrs["suppression"] = {"k": k, "hidden_cells": cells, "primary_cells": primary,
                                    "rule": sup[0]["rule"]}
    return out


def key_figure_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`key_figures` as the report prints it: the value as text in its unit (a count
    as an integer, a % or points with one decimal), hidden cells kept hidden."""
    out = table.copy()
    out["value"] = [
        None if pd.isna(v) else (f"{v:.1f}" if unit in ("%", "points") else f"{int(v):,}")
        for v, unit in zip(table["value"], table["unit"], strict=True)
    ]
    out.attrs = dict(table.attrs)
    return reset_index(out).drop(columns="index")


def key_figure_values(table: pd.DataFrame) -> dict[str, float | None]:
    """``{key: value}`` of :func:`key_figures` for ``figures.json`` (hidden = None)."""
    return {str(key): (None if pd.isna(v) else float(v)) for key, v in table["value"].items()}


def monthly_flow(
    episodes: pd.DataFrame, *, start_date: str = "", end_date: str = "", k: int = 1
) -> pd.DataFrame:
    """Admissions (admitted in the month) and discharges (discharged in the month) by
    calendar month of the period, with a ``total`` row; episodes in care but admitted
    before the period are not admissions. Each column is suppressed with its total
    (:func:`iopkit.outcomes.suppress`) when ``k`` > 1."""
    from iopkit.outcomes import suppress

    adm = episodes.loc[_in_period(episodes["admit_date"], start_date, end_date), "admit_date"]
    dis = episodes.loc[
        _in_period(episodes["discharge_date"], start_date, end_date), "discharge_date"
    ]
    a = adm.dt.to_period("M").value_counts()
    d = dis.dt.to_period("M").value_counts()
    months = sorted(set(a.index) | set(d.index))
    out = pd.DataFrame({
        "month": [str(m) for m in months] + ["total"],
        "admissions": [int(a.get(m, 0)) for m in months] + [int(a.sum())],
        "discharges": [int(d.get(m, 0)) for m in months] + [int(d.sum())],
    }).set_index("month", drop=False)
    out.index.name = None
    if k > 1 and months:
        out = suppress(out, ["admissions"], total_row="total", k=k)
        out = suppress(out, ["discharges"], total_row="total", k=k)
    return reset_index(out).drop(columns="index")


def subgroup_table(
    period: ReportData, by: str, *, end_date: str = "", k: int = 1
) -> pd.DataFrame:
    """Episodes by a patient attribute (``primary_concern`` or ``referral_source`` of the
    patients table) and how they ended: one column per discharge type, ``active``, the row
    total ``episodes`` and a ``total`` row; suppressed (:func:`iopkit.outcomes.suppress`,
    primary and complementary cells) when ``k`` > 1."""
    from iopkit.outcomes import suppress

    patients = period["patients"]
    if by not in patients.columns:
        raise InputError(f"the patients table has no {by} column", column=by,
                         rule="subgroup column")
    eps = period["episodes"].merge(patients[["patient_id", by]], on="patient_id", how="left")
    end = pd.Timestamp(end_date) if end_date else None
    gone = eps["discharge_date"].notna()
    if end is not None:
        gone &= eps["discharge_date"] <= end
    status = eps["discharge_type"].where(gone, "active").fillna("unknown")
    group = eps[by].fillna("not recorded").astype(str).str.replace("_", " ")
    wide = pd.crosstab(group, status)
    cols = [c for c in [*DISCHARGE_TYPES, "unknown", "active"] if c in wide.columns]
    wide = wide.reindex(columns=cols, fill_value=0)
    wide.columns = [c.replace("_", " ") for c in wide.columns]
    parts = list(wide.columns)
    wide["episodes"] = wide[parts].sum(axis=1)
    wide.loc["total"] = wide.sum(axis=0)
    wide = wide.astype(int)
    wide.index.name = by.replace("_", " ")
    if k > 1:
        wide = suppress(wide, parts, total_col="episodes", total_row="total", k=k)
    return reset_index(wide)
