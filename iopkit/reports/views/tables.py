"""Report tabulations: small pure functions that shape outcomes for the report notebooks.

Statistics come from :mod:`iopkit.outcomes` and :mod:`iopkit.rotation`; this module only
selects, counts and arranges them into the tables and plot inputs the notebooks show, so
every notebook cell stays a call or two. DataFrame in, DataFrame out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from iopkit.errors import InputError
from iopkit.reports.views.source import ReportData
from iopkit.vocab import DISCHARGE_TYPES

#: Tables of a bundle keyed by episode and a date column (for period selection).
_DATED = {
    "attendance": "date",
    "assessments": "date",
    "goals": "set_date",
    "events": "date",
}


#: Baseline strata of :func:`iopkit.outcomes.category_counts`.
CASE_STRATA = ("case at baseline", "non-case at baseline")


def _ts(value: str | None) -> pd.Timestamp | None:
    return pd.Timestamp(value) if value else None


def select_period(
    data: ReportData,
    *,
    cohort_id: str | None = None,
    start_date: str = "",
    end_date: str = "",
) -> ReportData:
    """Restrict ``data`` to one cohort (optional) and a period (ISO dates, blank = open).

    Episodes are kept when their stay overlaps the period (admitted on or before the end and
    not discharged before the start); their dated rows (attendance, assessments, goals,
    events) are kept when dated inside the period. Sessions are filtered by cohort and date.
    The counts of rows kept are in ``notes``.
    """
    start, end = _ts(start_date), _ts(end_date)
    if start is not None and end is not None and start > end:
        raise InputError(f"start_date {start_date} is after end_date {end_date}", rule="period")
    t = dict(data.tables)
    eps = t["episodes"]
    keep = pd.Series(True, index=eps.index)
    if cohort_id:
        keep &= eps["cohort_id"].astype(str) == str(cohort_id)
    if end is not None:
        keep &= eps["admit_date"] <= end
    if start is not None:
        keep &= eps["discharge_date"].isna() | (eps["discharge_date"] >= start)
    eps = eps[keep].reset_index(drop=True)
    t["episodes"] = eps
    ids = set(eps["episode_id"])
    notes = list(data.notes)

    def dated(frame: pd.DataFrame, col: str) -> pd.DataFrame:
        m = frame["episode_id"].isin(ids)
        if start is not None:
            m &= frame[col] >= start
        if end is not None:
            m &= frame[col] <= end
        return frame[m].reset_index(drop=True)

    for name, col in _DATED.items():
        if name in t:
            t[name] = dated(t[name], col)
    scores = dated(data.scores, "date") if len(data.scores) else data.scores
    if "sessions" in t:
        s = t["sessions"]
        m = pd.Series(True, index=s.index)
        if cohort_id:
            m &= s["cohort_id"].astype(str) == str(cohort_id)
        if start is not None:
            m &= s["date"] >= start
        if end is not None:
            m &= s["date"] <= end
        t["sessions"] = s[m].reset_index(drop=True)
    if cohort_id and "cohorts" in t:
        t["cohorts"] = t["cohorts"][t["cohorts"]["cohort_id"].astype(str) == str(cohort_id)]
    notes.append(
        f"selection: cohort {cohort_id or 'all'}, period {start_date or 'start'} to "
        f"{end_date or 'latest'}: {len(eps)} episodes"
    )
    return ReportData(data.source, t, scores, data.counts, notes)


def census(episodes: pd.DataFrame, *, end_date: str = "") -> pd.DataFrame:
    """Episodes in care during the period (stays overlapping it), discharges by type and
    episodes still active (as of ``end_date``). Returns ``measure, n`` rows; discharge types
    follow the data contract's vocabulary.
    """
    end = _ts(end_date)
    disc = episodes["discharge_date"]
    discharged = disc.notna() if end is None else disc.notna() & (disc <= end)
    rows: list[tuple[str, int]] = [("episodes in care during the period", len(episodes))]
    types = episodes.loc[discharged, "discharge_type"].fillna("unknown").value_counts()
    order = list(DISCHARGE_TYPES)
    for kind in order + sorted(set(types.index) - set(order)):
        rows.append((f"discharged: {kind.replace('_', ' ')}", int(types.get(kind, 0))))
    rows.append(("active at the end of the period", int((~discharged).sum())))
    return pd.DataFrame(rows, columns=["measure", "n"])


def weekly_attendance(
    attendance: pd.DataFrame, episodes: pd.DataFrame, *, status_col: str = "status"
) -> pd.DataFrame:
    """Attendance rows counted by week of stay (week 1 = days 0–6 after admission) and status.

    Columns ``week, status, n, n_episodes``: ``n`` scheduled days with that status,
    ``n_episodes`` the episodes with any attendance row that week (the people behind the
    week's shares, for :func:`iopkit.outcomes.hide_small_groups`).
    """
    a = attendance.merge(episodes[["episode_id", "admit_date"]], on="episode_id", how="inner")
    week = ((a["date"] - a["admit_date"]).dt.days // 7 + 1).astype(int)
    out = (
        pd.DataFrame({"week": week, "status": a[status_col]})
        .value_counts()
        .rename("n")
        .reset_index()
    )
    people = pd.DataFrame({"week": week, "episode_id": a["episode_id"]}).groupby("week")[
        "episode_id"
    ].nunique().rename("n_episodes")
    out = out.merge(people, on="week", how="left").sort_values(["week", "status"])
    return out.reset_index(drop=True)


#: Plain column labels of :func:`rates_table` (issue 12 §7).
RATE, RATE_CI, RATE_COUNT, RATE_N = (
    "% of episodes", "95 % interval (%)", "episodes meeting it", "episodes assessed"
)


def rates_table(summary: pd.DataFrame, *, analysis_set: str = "paired") -> pd.DataFrame:
    """Response, remission, MCID and reliable-change rates (%, Wilson 95 % CI) from
    :func:`iopkit.outcomes.cohort_summary`, with the count behind each rate (exact: rate · n)
    for :func:`iopkit.outcomes.suppress_rates`. Columns ``outcome``, :data:`RATE_COUNT`,
    :data:`RATE`, :data:`RATE_CI`, :data:`RATE_N`, ``definition``."""
    s = summary[
        (summary["analysis_set"] == analysis_set) & summary["statistic"].str.endswith("_rate")
    ]
    out = pd.DataFrame(
        {
            "outcome": s["statistic"].str.removesuffix("_rate").map(
                lambda x: OUTCOME_LABELS.get(x, x.replace("_", " "))
            ),
            RATE_COUNT: pd.array((s["estimate"] * s["n"]).round(), dtype="Int64"),
            RATE: (s["estimate"] * 100).round(1),
            RATE_CI: [
                f"{lo * 100:.1f} to {hi * 100:.1f}" if np.isfinite(lo) else ""
                for lo, hi in zip(s["ci_low"], s["ci_high"], strict=True)
            ],
            RATE_N: s["n"].astype("Int64"),
            "definition": s["variant"],
        }
    )
    return out.reset_index(drop=True)


#: Plain names of the per-episode outcomes (``episode_outcomes`` columns).
OUTCOME_LABELS = {
    "response": "response",
    "remission": "remission",
    "mcid_reached": "minimal important change reached",
    "reliable_improvement": "reliable improvement",
    "reliable_deterioration": "reliable deterioration",
    "recovered": "recovered (reliable and clinically significant)",
}

#: Plain names of the effect sizes, and the glossary a report prints under them
#: (Lakens 2013, Front. Psychol. 4:863, doi:10.3389/fpsyg.2013.00863; Hedges 1981).
EFFECT_SIZE_LABELS = {
    "d_z": "mean change / SD of the change (d z)",
    "d_av": "mean change / average SD (d av)",
    "d_av_rms": "mean change / root-mean-square SD (d av, RMS)",
    "d_rm": "repeated-measures d (d rm)",
    "d_pre": "mean change / SD at admission (d pre)",
    "g_av": "d av with small-sample correction (Hedges g av)",
}

#: Plain names of the statistics of :func:`mean_table`.
STATISTIC_LABELS = {
    "baseline_mean": "mean at admission",
    "endpoint_mean": "mean at the last score",
    "change_mean": "mean change (last − admission; negative = fewer symptoms)",
}
ANALYSIS_SET_LABELS = {
    "itt": "everyone with an admission score",
    "paired": "admission and a later score",
    "completers": "completed the program, admission and a later score",
}

#: The glossary printed under a report's statistical tables.
GLOSSARY = {
    "95 % interval": "range that would contain the true value in 95 of 100 repetitions "
    "(Wilson interval for rates, t interval for means)",
    "effect size": "mean change in standard deviations; 0.2 small, 0.5 medium, 0.8 large "
    "(Cohen 1988)",
    "reliable change": "a change larger than the measurement error of the scale "
    "(Jacobson & Truax 1991, doi:10.1037/0022-006X.59.1.12)",
    "response": "score at the end at least 50 % lower than at admission",
    "remission": "score at the end below the scale's remission threshold (PHQ-9 < 5)",
    "fixed effect": "the average starting score (intercept) and weekly change (slope) of the "
    "mixed model",
    "random effect": "how much patients differ from the average start and slope",
}


def glossary(terms: Sequence[str] | None = None) -> pd.DataFrame:
    """The :data:`GLOSSARY` (or the given terms of it) as a two-column table."""
    keys = list(GLOSSARY) if terms is None else [t for t in terms if t in GLOSSARY]
    return pd.DataFrame({"term": keys, "meaning": [GLOSSARY[t] for t in keys]})


def effect_size_table(summary: pd.DataFrame, *, analysis_set: str = "paired") -> pd.DataFrame:
    """Pre–post effect sizes with 95 % CIs from ``cohort_summary``, in plain words
    (:data:`EFFECT_SIZE_LABELS`): ``effect size, estimate, 95 % interval from, to, n,
    formula``."""
    names = tuple(EFFECT_SIZE_LABELS)
    s = summary[(summary["analysis_set"] == analysis_set) & summary["statistic"].isin(names)]
    out = s[["statistic", "estimate", "ci_low", "ci_high", "n", "variant"]].copy()
    out[["estimate", "ci_low", "ci_high"]] = out[["estimate", "ci_low", "ci_high"]].round(2)
    out["statistic"] = out["statistic"].map(EFFECT_SIZE_LABELS)
    out["n"] = out["n"].astype("Int64")
    return out.rename(columns={
        "statistic": "effect size", "ci_low": "95 % interval from", "ci_high": "to",
        "n": "episodes", "variant": "formula",
    }).reset_index(drop=True)


def mean_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Means at admission, at the last score and of the change (95 % t interval) per
    analysis set, from ``cohort_summary``, in plain words (:data:`STATISTIC_LABELS`)."""
    stats = tuple(STATISTIC_LABELS)
    s = summary[summary["statistic"].isin(stats)]
    keys = [c for c in s.columns if c not in {"analysis_set", "statistic", "variant", "estimate",
                                              "ci_low", "ci_high", "n", "ci_method"}]
    out = s[[*keys, "analysis_set", "statistic", "estimate", "ci_low", "ci_high", "n"]].copy()
    out[["estimate", "ci_low", "ci_high"]] = out[["estimate", "ci_low", "ci_high"]].round(2)
    out["analysis_set"] = out["analysis_set"].map(ANALYSIS_SET_LABELS)
    out["statistic"] = out["statistic"].map(STATISTIC_LABELS)
    out["n"] = out["n"].astype("Int64")
    return out.rename(columns={
        "cohort_id": "cohort", "analysis_set": "episodes", "statistic": "statistic",
        "estimate": "points", "ci_low": "95 % interval from", "ci_high": "to",
        "n": "n",
    }).reset_index(drop=True)


def fixed_effects_table(model: pd.DataFrame, *, time: str = "weeks") -> pd.DataFrame:
    """The fixed effects of :func:`iopkit.outcomes.mixed_model` in plain words: the average
    score at admission and the average change per week, with 95 % intervals and whether the
    optimum was checked (yes/no)."""
    names = {"Intercept": "average score at admission",
             time: f"average change per {time.removesuffix('s')}"}
    out = pd.DataFrame({
        "term": model["term"].map(lambda t: names.get(t, t)),
        "points": model["estimate"].round(2),
        "standard error": model["se"].round(2) if "se" in model else np.nan,
        "95 % interval from": model["ci_low"].round(2) if "ci_low" in model else np.nan,
        "to": model["ci_high"].round(2) if "ci_high" in model else np.nan,
    })
    if "n_groups" in model:
        out["episodes"] = model["n_groups"].astype("Int64")
        out["scores"] = model["n_obs"].astype("Int64")
    if "converged" in model:
        out["model converged"] = model["converged"].astype(bool)
    return out.reset_index(drop=True)


def category_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Jacobson–Truax categories × baseline caseness (:func:`iopkit.outcomes.category_counts`),
    wide: one row per category, one count column per baseline stratum."""
    from iopkit.outcomes import category_counts

    long = category_counts(outcomes)
    wide = long.pivot_table(
        index="category", columns="baseline", values="n", aggfunc="sum", sort=False
    ).fillna(0).astype(int)
    wide.columns = [str(c) for c in wide.columns]
    for stratum in CASE_STRATA:  # both strata always shown (zeros included)
        if stratum not in wide.columns:
            wide[stratum] = 0
    return wide[[*CASE_STRATA, *[c for c in wide.columns if c not in CASE_STRATA]]].reset_index()


def reliable_change_points(
    outcomes: pd.DataFrame,
    *,
    critical_value: float | None = None,
    reliability: float | None = None,
) -> float:
    """The RC band's half-width in points: :func:`iopkit.outcomes.reliable_change_threshold`
    (exact critical value by default)."""
    from iopkit.outcomes import reliable_change_threshold

    return reliable_change_threshold(
        outcomes, critical_value=critical_value, reliability=reliability
    )


def goals_overview(goals: pd.DataFrame) -> pd.DataFrame:
    """Goals by horizon and status (counts: ``horizon, met, partial, not met, pending``)."""
    cols = ["met", "partial", "not_met", "pending"]
    if len(goals) == 0:
        return pd.DataFrame(columns=["horizon", *[c.replace("_", " ") for c in cols]])
    wide = goals.pivot_table(
        index="horizon", columns="status", values="goal_no", aggfunc="count", fill_value=0
    )
    for col in cols:
        if col not in wide.columns:
            wide[col] = 0
    out = wide[cols].astype(int).reset_index()
    out.columns.name = None
    return out.rename(columns={"not_met": "not met"})


def coordination_overview(coordination: pd.DataFrame) -> pd.DataFrame:
    """Episodes with each care-coordination event (``iopkit.outcomes.care_coordination``)."""
    rows = []
    for col in coordination.columns:
        if col.startswith("has_"):
            rows.append((col.removeprefix("has_").replace("_", " "), int(coordination[col].sum())))
    if "aftercare_before_discharge" in coordination:
        a = coordination["aftercare_before_discharge"].dropna()
        rows.append(("aftercare booked before discharge (discharged episodes)", int(a.sum())))
    out = pd.DataFrame(rows, columns=["event", "episodes"])
    out.attrs["n_episodes"] = len(coordination)
    return out


def modality_sessions(exposure: pd.DataFrame) -> pd.DataFrame:
    """Attended skill sessions per modality (from :func:`iopkit.outcomes.skill_exposure`).

    Columns ``modality, sessions, episodes`` (episodes that attended at least one session of
    the modality: the people behind the bar).
    """
    e = exposure.assign(_who=exposure["episode_id"].where(exposure["n_attended"] > 0))
    return (
        e.groupby("modality", as_index=False)
        .agg(sessions=("n_attended", "sum"), episodes=("_who", "nunique"))
        .sort_values("sessions", ascending=False)
        .reset_index(drop=True)
    )


def rotation_modalities(rotation: pd.DataFrame) -> pd.DataFrame:
    """Sessions per modality in one cycle of a planned rotation (``RotationPlan.rotation``)."""
    return (
        rotation.groupby("modality", as_index=False)
        .size()
        .rename(columns={"size": "sessions"})
        .sort_values("sessions", ascending=False)
        .reset_index(drop=True)
    )


def headline(summary: pd.DataFrame, analysis_set: str, statistic: str) -> tuple[float, int]:
    """(estimate, n) of one statistic of :func:`iopkit.outcomes.cohort_summary` (NaN, 0 when
    absent): the one place a report reads a mean or a rate from (issue 12 §4)."""
    row = summary[(summary["analysis_set"] == analysis_set) & (summary["statistic"] == statistic)]
    if row.empty:
        return float("nan"), 0
    n = row["n"].iloc[0]
    return float(row["estimate"].iloc[0]), int(n) if pd.notna(n) else 0


def program_figures(
    outcomes_by_scale: dict[str, pd.DataFrame],
    episodes: pd.DataFrame,
    attendance: pd.DataFrame,
    *,
    k: int = 0,
    summaries: Mapping[str, pd.DataFrame] | None = None,
    key_figures: Mapping[str, float | None] | None = None,
) -> dict[str, float]:
    """The program's figures in the units of ``data_files/benchmarks.yaml``.

    ``key_figures``: the report's key figures (:func:`iopkit.reports.views.summary.
    key_figure_values`); a figure the key-figure table hides (None: a small cell or its
    complement) is hidden here too, so no table of the report shows what another hides.

    ``outcomes_by_scale``: :func:`iopkit.outcomes.episode_outcomes` per scale id;
    ``summaries``: their :func:`iopkit.outcomes.cohort_summary` (``by=None``; computed when
    not given). Means and rates are *read* from the summary (:func:`headline`), never
    recounted, so they equal the report's tables: admission mean ITT (episodes with a
    baseline), discharge mean and mean reduction paired, response and remission over the
    paired episodes whose response/remission is defined (the rates table's denominator).
    Completion is over discharged episodes (:func:`iopkit.outcomes.completion_rate`);
    treatment days = mean program days attended by completers (the published PHP/IOP
    figures count treatment days); non-attendance is the share of scheduled days absent
    (excused or not).

    With ``k`` > 1 a rate whose numerator or complement is 1 … k−1, and a mean of fewer than
    ``k`` episodes, is NaN (the rule of :func:`iopkit.outcomes.suppress_rates` and
    :func:`iopkit.outcomes.hide_small_groups`, via :func:`iopkit.outcomes.small_cells`).
    """
    from iopkit.outcomes import attendance_summary, cohort_summary, completion_rate, small_cells

    def small(count: float) -> bool:
        return bool(small_cells(count, k))

    def mean(value: float, n: int) -> float:
        return float("nan") if n == 0 or small(n) else value

    def rate(hits: float, n: float) -> float:
        if n == 0 or small(hits) or small(n - hits):
            return float("nan")
        return float(hits / n * 100)

    def summary_rate(summary: pd.DataFrame, stat: str) -> float:
        p, n = headline(summary, "paired", stat)
        return rate(round(p * n), n) if n else float("nan")

    fig: dict[str, float] = {}
    for sc, o in outcomes_by_scale.items():
        summ = (summaries or {}).get(sc)
        if summ is None:
            summ = cohort_summary(o, by=None, effect_sizes=False)
        paired = o.dropna(subset=["baseline", "endpoint"])
        fig[f"{sc}_admission_mean"] = mean(*headline(summ, "itt", "baseline_mean"))
        fig[f"{sc}_discharge_mean"] = mean(*headline(summ, "paired", "endpoint_mean"))
        change, n_change = headline(summ, "paired", "change_mean")
        fig[f"{sc}_mean_reduction"] = mean(-change, n_change)
        fig[f"{sc}_response_pct"] = summary_rate(summ, "response_rate")
        fig[f"{sc}_remission_pct"] = summary_rate(summ, "remission_rate")
        fig[f"{sc}_improved_5_points_pct"] = rate(float((paired["change"] <= -5).sum()),
                                                  len(paired))
    comp = completion_rate(episodes)
    fig["completion_pct"] = rate(
        float(comp["n_completed"].iloc[0]), float(comp["n_discharged"].iloc[0])
    )
    done = episodes[episodes["discharge_type"] == "completed"]
    att = attendance_summary(attendance, episodes)
    attended = att.set_index("episode_id")["n_attended"].reindex(done["episode_id"]).dropna()
    fig["treatment_days_completers"] = mean(
        float(attended.mean()) if len(attended) else float("nan"), len(attended)
    )
    absent = float(att["n_absent_excused"].sum() + att["n_absent_unexcused"].sum())
    fig["nonattendance_day_pct"] = rate(absent, float(att["n_scheduled"].sum()))
    for name, value in (key_figures or {}).items():
        if value is None and name in fig:
            fig[name] = float("nan")
    return fig


#: Plain names of the benchmark measures (``data_files/benchmarks.yaml``).
MEASURE_LABELS = {
    "phq9_admission_mean": "PHQ-9 mean at admission (points)",
    "phq9_discharge_mean": "PHQ-9 mean at discharge (points)",
    "gad7_admission_mean": "GAD-7 mean at admission (points)",
    "gad7_discharge_mean": "GAD-7 mean at discharge (points)",
    "phq9_mean_reduction": "PHQ-9 mean drop, admission to discharge (points; below 0 "
    "means scores rose)",
    "phq9_response_pct": "PHQ-9 response (% of episodes)",
    "phq9_remission_pct": "PHQ-9 remission (% of episodes)",
    "phq9_improved_5_points_pct": "PHQ-9 improved by 5 points or more (% of episodes)",
    "completion_pct": "completed the program (% of discharged episodes)",
    "treatment_days_completers": "days attended by those who completed (mean)",
    "nonattendance_day_pct": "scheduled days missed (%)",
}


def benchmarks() -> pd.DataFrame:
    """Published figures (``iopkit/reports/data_files/benchmarks.yaml``, each with its source),
    read with the project's YAML loader (:func:`iopkit.yamlio.load_yaml_text`)."""
    from importlib.resources import files

    from iopkit.yamlio import load_yaml_text

    text = files("iopkit.reports").joinpath("data_files/benchmarks.yaml").read_text("utf-8")
    doc = load_yaml_text(text, file="iopkit/reports/data_files/benchmarks.yaml",
                         what="benchmarks", top=list)
    return pd.DataFrame(doc.data)


def benchmark_table(figures: dict[str, float]) -> pd.DataFrame:
    """The program's figures beside every published benchmark of the same measure."""
    bench = benchmarks()
    out = pd.DataFrame(
        {
            "measure": [MEASURE_LABELS.get(m, m.replace("_", " ")) for m in bench["measure"]],
            "this program": [round(figures.get(m, float("nan")), 1) for m in bench["measure"]],
            "published": [
                f"{c if isinstance(c, str) else ''}{v:g}"
                + (f" (SD {s:g})" if pd.notna(s) else "")
                for c, v, s in zip(
                    bench.get("comparison", pd.Series([None] * len(bench))),
                    bench["value"],
                    bench.get("sd", pd.Series([float("nan")] * len(bench))),
                    strict=True,
                )
            ],
            "setting": bench["setting"],
            "source": bench["source"] + " [" + bench["certainty"] + "]",
        }
    )
    return out


def census_by_cohort(episodes: pd.DataFrame, *, end_date: str = "", k: int = 1) -> pd.DataFrame:
    """:func:`census` per cohort, wide, with a ``total`` row: ``cohort, episodes in care,
    <discharge types…>, active``. "Episodes in care" counts every episode whose stay
    overlaps the period (not only those admitted in it: see
    :func:`iopkit.reports.views.summary.monthly_flow`). With ``k`` > 1 suppressed
    (:func:`iopkit.outcomes.suppress`, the totals included)."""
    from iopkit.outcomes import suppress

    frames = []
    for cid, group in episodes.groupby("cohort_id", sort=True):
        c = census(group, end_date=end_date).set_index("measure")["n"]
        frames.append(c.rename(str(cid)))
    if not frames:
        return pd.DataFrame(columns=["cohort", "episodes in care"])
    wide = pd.concat(frames, axis=1).T.fillna(0).astype(int)
    wide.columns = [c.replace("discharged: ", "").replace(" at the end of the period", "")
                    for c in wide.columns]
    wide = wide.rename(columns={"episodes in care during the period": "episodes in care"})
    wide.loc["total"] = wide.sum(axis=0)
    parts = [c for c in wide.columns if c != "episodes in care"]
    if k > 1:
        wide = suppress(wide, parts, total_col="episodes in care", total_row="total", k=k)
    return reset_index(wide.rename_axis("cohort"))


def reset_index(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.reset_index()`` (labels become the first column) keeping its suppression
    record (``attrs["suppression"]``), its hidden cells re-keyed by row position."""
    out = frame.reset_index()
    sup = frame.attrs.get("suppression")
    if sup:
        pos = {lab: i for i, lab in enumerate(frame.index)}
        out.attrs["suppression"] = {
            **sup,
            "hidden_cells": [(pos[r], c) for r, c in sup["hidden_cells"]],
            "primary_cells": [(pos[r], c) for r, c in sup.get("primary_cells", [])],
        }
    return out


def episode_summary(data: ReportData, episode_id: str) -> dict[str, Any]:
    """Header facts of one episode: cohort, program, dates and a status sentence."""
    ep = data["episodes"].set_index("episode_id").loc[episode_id]
    cohorts = data["cohorts"].set_index("cohort_id")
    disc = ep["discharge_date"]
    active = pd.isna(disc)
    return {
        "episode_id": episode_id,
        "cohort_id": str(ep["cohort_id"]),
        "program_id": str(cohorts.loc[ep["cohort_id"], "program_id"]),
        "admit_date": ep["admit_date"].date(),
        "discharge_date": None if active else disc.date(),
        "active": bool(active),
        "status": "active" if active else f"discharged {disc:%Y-%m-%d} ({ep['discharge_type']})",
        "planned_weeks": ep.get("planned_weeks"),
    }


def episode_change(
    data: ReportData, episode_id: str, scales: Sequence[str]
) -> pd.DataFrame:
    """Change since admission of one episode for each of ``scales`` it has scores on.

    Uses :func:`iopkit.outcomes.episode_outcomes` on the episode's cohort (RCI SD = the
    cohort's baseline SD), plus the latest severity band. One row per scale.
    """
    from iopkit.outcomes import episode_outcomes
    from iopkit.reports.views.source import scale_label

    info = episode_summary(data, episode_id)
    eps = data["episodes"]
    cohort_eps = eps[eps["cohort_id"].astype(str) == info["cohort_id"]]
    mine = data.scores[data.scores["episode_id"] == episode_id]
    rows = []
    for sc in dict.fromkeys(scales):
        if not (mine["scale"] == sc).any():
            continue
        o = episode_outcomes(data.scores, cohort_eps, scale=sc, sd_by="cohort_id")
        row = o[o["episode_id"] == episode_id].copy()
        latest = mine[(mine["scale"] == sc) & mine["total"].notna()].sort_values("date")
        row["scale_label"] = scale_label(sc)
        row["band"] = latest["band"].iloc[-1] if len(latest) else None
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["scale", "scale_label", "baseline", "endpoint", "band"])
    return pd.concat(rows, ignore_index=True)


#: Plain column labels of :func:`episode_change_view`.
EPISODE_CHANGE_LABELS = {
    "scale_label": "scale", "baseline": "at admission", "endpoint": "latest", "change": "change",
    "rci": "reliable change index", "reliable_improvement": "reliably improved",
    "reliable_deterioration": "reliably worse", "response": "response (≥ 50 % lower)",
    "remission": "remission", "category": "Jacobson–Truax category", "band": "latest severity",
}


def episode_change_view(change: pd.DataFrame) -> pd.DataFrame:
    """:func:`episode_change` in plain column labels (:data:`EPISODE_CHANGE_LABELS`)."""
    cols = [c for c in EPISODE_CHANGE_LABELS if c in change.columns]
    out = change[cols].rename(columns=EPISODE_CHANGE_LABELS)
    if "reliable change index" in out:
        out["reliable change index"] = out["reliable change index"].astype(float).round(2)
    return out.reset_index(drop=True)


def fixed_line(fixed_effects: pd.DataFrame, *, time: str = "weeks") -> tuple[float, float]:
    """(intercept, slope) from :func:`iopkit.outcomes.mixed_model` fixed effects."""
    fe = fixed_effects.set_index("term")["estimate"]
    if "Intercept" not in fe.index or time not in fe.index:
        raise InputError(f"fixed effects need terms 'Intercept' and {time!r}", rule="model terms")
    return float(fe["Intercept"]), float(fe[time])


#: Column labels of the safety table (plain words; the domain columns are
#: :data:`iopkit.outcomes.flags.SAFETY_EVENT_COLUMNS`).
SAFETY_LABELS = {
    "episode_id": "episode",
    "cohort_id": "cohort",
    "episode_status": "episode status",
    "date": "date",
    "scale": "scale",
    "answer": "answer",
    "status": "result",
    "escalation": "escalation",
    "follow_up": "follow-up",
}


def safety_table(
    data: ReportData,
    *,
    episode_id: str | None = None,
    cohort_id: str | None = None,
    start_date: str = "",
    end_date: str = "",
    review_within_days: int | None = None,
) -> pd.DataFrame:
    """Every positive safety answer of the report's episodes in the period, as a table.

    Rows from :func:`iopkit.outcomes.flags.safety_events` on the source's full assessments
    and events (so a review the day after the period still counts), restricted to one
    episode or one cohort when given — active and discharged episodes alike. Nothing is
    suppressed or aggregated: a report shows every row. ``attrs``: ``n_screened``,
    ``n_follow_up_missing``, ``review_within_days``.
    """
    from iopkit.outcomes.flags import REVIEW_WITHIN_DAYS, safety_events
    from iopkit.reports.views.source import scale_label

    eps = data["episodes"]
    if episode_id:
        eps = eps[eps["episode_id"].astype(str) == str(episode_id)]
    if cohort_id:
        eps = eps[eps["cohort_id"].astype(str) == str(cohort_id)]
    days = REVIEW_WITHIN_DAYS if review_within_days is None else review_within_days
    ev = safety_events(
        data["assessments"], eps, data.tables.get("events"),
        start=start_date or None, end=end_date or None, review_within_days=days,
    )
    out = ev[list(SAFETY_LABELS)].copy()
    out["scale"] = out["scale"].map(scale_label)
    out["escalation"] = ev["escalation"].map({True: "yes", False: "no"}).fillna("–")
    if episode_id:
        out = out.drop(columns=["episode_id", "cohort_id"])
    elif cohort_id:
        out = out.drop(columns=["cohort_id"])
    out = out.rename(columns=SAFETY_LABELS)
    out.attrs.update(
        n_screened=ev.attrs["n_screened"],
        n_follow_up_missing=int(ev["follow_up_missing"].sum()),
        review_within_days=days,
    )
    return out


def clinical_cutoff(outcomes: pd.DataFrame) -> float:
    """The clinical cut-off of the outcome scale (the ``cutoff`` column of
    :func:`iopkit.outcomes.episode_outcomes`); InputError when no episode carries one."""
    cut = outcomes["cutoff"].dropna() if "cutoff" in outcomes.columns else pd.Series([])
    if cut.empty:
        raise InputError("no episode with outcomes carries a clinical cut-off", rule="cut-off")
    return float(cut.iloc[0])


# --- expected recovery (iopkit.outcomes.expected) ---------------------------------------------
def expected_curves(data: ReportData, scale: str) -> Any:
    """Expected recovery curves of ``scale`` fitted on the source's own completed episodes
    (:func:`iopkit.outcomes.expected_recovery`), once per source
    (:meth:`ReportData.expected_curves`); InputError when too few completed."""
    return data.expected_curves(scale)


def expected_path(data: ReportData, curves: Any, episode_id: str, scale: str) -> pd.DataFrame:
    """One episode's expected band by date, for its own baseline (``ExpectedCurves.path``)."""
    from iopkit.outcomes import recovery_status, with_weeks

    long = with_weeks(data.scores, data["episodes"], scale=scale)
    mine = long[long["episode_id"] == episode_id]
    status = recovery_status(mine, curves)
    if not len(status):
        raise InputError(
            f"episode {episode_id} has no {scale} score after its baseline yet; the expected "
            "band needs a baseline and a later score",
            rule="expected band",
        )
    admit = data["episodes"].set_index("episode_id").loc[episode_id, "admit_date"]
    return curves.path(float(status["baseline"].iloc[0]), admit, mine["date"].max())


def not_on_track(data: ReportData, curves: Any, episodes: pd.DataFrame, scale: str) -> pd.DataFrame:
    """Active episodes whose latest score lies outside the expected band on the worse side
    (:func:`iopkit.outcomes.recovery_status`), with the expected range for their week."""
    from iopkit.outcomes import recovery_status, with_weeks

    active = episodes[episodes["discharge_date"].isna()]
    long = with_weeks(data.scores, active, scale=scale)
    status = recovery_status(long, curves)
    late = status[status["is_latest"] & status["not_on_track"].fillna(False).astype(bool)]
    out = late[["episode_id", "date", "weeks", "baseline", "score", "expected", "lower", "upper"]]
    out = out.rename(columns={"weeks": "weeks since admission", "score": "latest score"})
    out.attrs.update(n_active=int(len(active)), model=curves.model,
                     training=curves.training_window)  # fmt: skip
    numeric = ["weeks since admission", "baseline", "latest score", "expected", "lower", "upper"]
    return out.round(dict.fromkeys(numeric, 1)).reset_index(drop=True)


#: Plain labels of :func:`stay_view` columns (the raw names stay for the discharge draft).
STAY_VIEW_LABELS = {
    "skill_id": "skill", "core": "core skill", "taught_on": "taught on",
    "attended_on": "attended on", "make_up": "next taught (make-up)",
    "make_up_in_stay": "make-up within the stay", "title": "title",
}


def plain_labels(frame: pd.DataFrame, labels: Mapping[str, str] = STAY_VIEW_LABELS) -> pd.DataFrame:
    """``frame`` with its columns in plain words (``labels``, then ``_`` → space), for display."""
    out = frame.rename(columns=lambda c: labels.get(c, str(c).replace("_", " ")))
    out.attrs = dict(frame.attrs)
    return out


def stay_view(data: ReportData, curriculum: Any, episode: Mapping[str, Any]) -> pd.DataFrame:
    """Skills of one stay: :func:`iopkit.calendar.patient_view` over the cohort's delivered
    sessions, projected from the planned rotation for an active episode
    (:func:`iopkit.rotation.stay_sessions`). ``attrs["projected_after"]``: the last delivered
    date when later sessions are projected, else None. InputError without a sessions table."""
    from iopkit.calendar import patient_view
    from iopkit.rotation import stay_sessions

    program = curriculum.program(episode["program_id"])
    eid = episode["episode_id"]
    att = data["attendance"][data["attendance"]["episode_id"] == eid]
    sessions = stay_sessions(curriculum, data["sessions"], cohort_id=episode["cohort_id"],
                             program_id=program.id, admit_date=episode["admit_date"],
                             min_sessions=program.min_sessions)  # fmt: skip
    view = patient_view(
        sessions, admit_date=episode["admit_date"], core=curriculum.core_skills(program.id),
        min_sessions=program.min_sessions, attendance=att,
        discharge_date=episode["discharge_date"],
    )  # fmt: skip
    planned = sessions["planned"].to_numpy(bool)
    view.attrs["projected_after"] = (
        sessions.loc[~planned, "date"].max() if planned.any() else None
    )
    return view
