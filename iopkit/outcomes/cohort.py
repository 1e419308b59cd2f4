"""Cohort summaries: ITT vs completer counts, means, effect sizes, rates with Wilson intervals,
category counts, weekly trajectories and an LOCF sensitivity analysis.

Analysis sets (named in every output row, ``analysis_set`` column):

* ``itt`` — intent-to-treat: every episode with a baseline score;
* ``paired`` — episodes with baseline and endpoint (any discharge type; the endpoint is the
  last observation, see :func:`iopkit.outcomes.episode_scores`);
* ``completers`` — paired episodes whose discharge type is in ``completed_values``.

Rates use Wilson score intervals (``statsmodels.stats.proportion.proportion_confint``,
``method="wilson"``). Means use t intervals. Effect sizes: :func:`paired_effect_sizes`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from iopkit.errors import InputError
from iopkit.outcomes._common import iso_dates, numeric_scores, require_columns
from iopkit.outcomes.change import category_counts
from iopkit.outcomes.effect_sizes import paired_effect_sizes

__all__ = [
    "wilson_rate",
    "mean_ci",
    "cohort_summary",
    "weekly_trajectory",
    "locf_sensitivity",
    "with_weeks",
]

_RATES = (
    ("response", None),
    ("remission", None),
    ("mcid_reached", None),
    ("reliable_improvement", None),
    ("reliable_deterioration", None),
    ("recovered", "baseline_case"),
)


def wilson_rate(
    successes: int | np.ndarray, n: int | np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proportion and Wilson score interval (statsmodels ``proportion_confint(method="wilson")``).

    n = 0 gives NaN for all three.
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(k > m):
        raise InputError("successes must lie between 0 and n", rule="0 ≤ successes ≤ n")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(m > 0, k / np.where(m > 0, m, 1), np.nan)
        lo, hi = proportion_confint(k, np.where(m > 0, m, 1), alpha=1 - confidence, method="wilson")
    lo = np.where(m > 0, lo, np.nan)
    hi = np.where(m > 0, hi, np.nan)
    return p, lo, hi


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, float, int]:
    """Mean, SD (n − 1), t-interval low/high and n of the non-missing values."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = v.size
    if n == 0:
        return (np.nan, np.nan, np.nan, np.nan, 0)
    m = float(v.mean())
    if n == 1:
        return (m, np.nan, np.nan, np.nan, 1)
    sd = float(v.std(ddof=1))
    h = stats.t.ppf(1 - (1 - confidence) / 2, n - 1) * sd / np.sqrt(n)
    return (m, sd, m - h, m + h, n)


def _sets(
    o: pd.DataFrame, completed_col: str | None, completed_values: Sequence[str]
) -> dict[str, np.ndarray]:
    base = o["baseline"].notna().to_numpy()
    paired = base & o["endpoint"].notna().to_numpy()
    sets = {"itt": base, "paired": paired}
    if completed_col is not None and completed_col in o.columns:
        sets["completers"] = paired & o[completed_col].isin(list(completed_values)).to_numpy()
    return sets


def cohort_summary(
    outcomes: pd.DataFrame,
    *,
    by: str | list[str] | None = "cohort_id",
    completed_col: str | None = "discharge_type",
    completed_values: Sequence[str] = ("completed",),
    confidence: float = 0.95,
    effect_sizes: bool = True,
) -> pd.DataFrame:
    """Long table of cohort statistics from :func:`iopkit.outcomes.episode_outcomes` rows.

    Columns: ``[by…], analysis_set, statistic, variant, estimate, ci_low, ci_high, n,
    ci_method``. Statistics: ``n`` per set; ``baseline_mean``/``baseline_sd`` (ITT) and
    ``endpoint_mean``/``endpoint_sd``/``change_mean`` (paired, completers); effect sizes
    (d_z, d_av, d_av_rms, d_rm, d_pre, g_av) with CIs; rates (response, remission, MCID,
    reliable improvement/deterioration, recovered among cases at baseline) with Wilson CIs;
    ``category_n`` counts (variant = "<baseline stratum>: <category>").
    Groups with fewer than 3 pairs get no effect-size rows (named in ``attrs["skipped"]``).
    """
    require_columns(outcomes, ["baseline", "endpoint", "change"], table="outcomes")
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    require_columns(outcomes, keys, table="outcomes")
    rows: list[dict] = []
    skipped: list[str] = []
    groups = [((), outcomes)] if not keys else outcomes.groupby(keys, sort=True, dropna=False)
    for key, o in groups:
        key = key if isinstance(key, tuple) else (key,)
        kd = dict(zip(keys, key, strict=True))

        def add(aset, stat, variant, est, lo=np.nan, hi=np.nan, n=np.nan, method="", _kd=kd):
            rows.append(
                {
                    **_kd,
                    "analysis_set": aset,
                    "statistic": stat,
                    "variant": variant,
                    "estimate": est,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": n,
                    "ci_method": method,
                }
            )

        sets = _sets(o, completed_col, completed_values)
        add("all", "n", "episodes", len(o), n=len(o))
        labels = {
            "itt": "ITT: episodes with a baseline score",
            "paired": "episodes with baseline and endpoint (last observation)",
            "completers": f"completers: {completed_col} in {list(completed_values)}, paired",
        }
        for aset, mask in sets.items():
            add(aset, "n", labels[aset], int(mask.sum()), n=int(mask.sum()))
        m, sd, lo, hi, n = mean_ci(o["baseline"].to_numpy(float)[sets["itt"]], confidence)
        add("itt", "baseline_mean", "mean, t interval", m, lo, hi, n, "t")
        add("itt", "baseline_sd", "SD (n − 1)", sd, n=n)
        for aset in [s for s in ("paired", "completers") if s in sets]:
            mask = sets[aset]
            for col, stat in (
                ("baseline", "baseline"),
                ("endpoint", "endpoint"),
                ("change", "change"),
            ):
                m, sd, lo, hi, n = mean_ci(o[col].to_numpy(float)[mask], confidence)
                add(aset, f"{stat}_mean", "mean, t interval", m, lo, hi, n, "t")
                add(aset, f"{stat}_sd", "SD (n − 1)", sd, n=n)
            if effect_sizes:
                if mask.sum() >= 3 and np.nanstd(o["baseline"].to_numpy(float)[mask]) > 0:
                    es = paired_effect_sizes(
                        o["baseline"].to_numpy(float)[mask],
                        o["endpoint"].to_numpy(float)[mask],
                        confidence=confidence,
                    )
                    for r in es.itertuples(index=False):
                        add(
                            aset,
                            r.measure,
                            r.formula,
                            r.estimate,
                            r.ci_low,
                            r.ci_high,
                            r.n,
                            r.ci_method,
                        )
                else:
                    skipped.append(f"{kd or 'all'} {aset}: effect sizes need ≥ 3 pairs and SD > 0")
            for col, denom_col in _RATES:
                if col == "recovered":
                    if "category" not in o.columns:
                        continue
                    cat = o["category"].astype(object).to_numpy()
                    valid = mask & (o[denom_col].astype("boolean").fillna(False).to_numpy(bool))
                    valid &= pd.notna(cat)
                    k = int((cat[valid] == "recovered").sum())
                    variant = "recovered among cases at baseline (JT categories)"
                else:
                    if col not in o.columns:
                        continue
                    v = o[col].astype("boolean")
                    valid = mask & v.notna().to_numpy()
                    k = int(v.fillna(False).to_numpy(bool)[valid].sum())
                    known = outcomes.attrs.get("variants", {})
                    variant = known.get(col) or known.get("rci", col)
                nn = int(valid.sum())
                p, lo, hi = wilson_rate(k, nn, confidence)
                add(aset, f"{col}_rate", variant, float(p), float(lo), float(hi), nn, "Wilson")
            if "category" in o.columns:
                cc = category_counts(
                    o[mask], baseline_case="baseline_case" if "baseline_case" in o.columns else None
                )
                for r in cc.itertuples(index=False):
                    add(aset, "category_n", f"{r.baseline}: {r.category}", r.n, n=r.n)
    out = pd.DataFrame(rows)
    out.attrs.update(
        variants=outcomes.attrs.get("variants", {}), skipped=skipped, confidence=confidence
    )
    return out


def with_weeks(
    scores: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    scale: str | None = None,
    score_col: str = "total",
    id_col: str = "episode_id",
    date_col: str = "date",
    scale_col: str | None = "scale",
    admit_col: str = "admit_date",
    carry_cols: Sequence[str] = ("cohort_id",),
) -> pd.DataFrame:
    """Scores with ``days`` since admission, ``week`` = floor(days/7) (week 0 = days 0–6;
    pre-admission scores get negative weeks) and ``weeks`` = days/7 (continuous).
    Rows with a blank score are dropped and counted in ``attrs["n_missing_score"]``; a score
    that is not a number is an :class:`InputError` (as in :func:`episode_scores`);
    scores for episodes not in ``episodes`` are counted in ``attrs["n_unknown_episode"]``."""
    require_columns(scores, [id_col, date_col, score_col], table="scores")
    require_columns(episodes, [id_col, admit_col], table="episodes")
    s = scores if (scale is None or scale_col is None) else scores[scores[scale_col] == scale]
    carry = [c for c in carry_cols if c in episodes.columns and c != id_col]
    ep = episodes[[id_col, admit_col, *carry]].copy()
    ep[admit_col] = iso_dates(ep, admit_col, "episodes")
    out = pd.DataFrame(
        {
            id_col: s[id_col].to_numpy(),
            "date": iso_dates(s, date_col, "scores").to_numpy(),
            "score": numeric_scores(s, score_col, "scores").to_numpy(float),
        }
    )
    n_missing = int(np.isnan(out["score"].to_numpy()).sum())
    out = out[~np.isnan(out["score"].to_numpy())]
    known = out[id_col].isin(ep[id_col])
    n_unknown = int((~known).sum())
    out = out[known.to_numpy()].merge(ep, on=id_col, how="left")
    days = (out["date"] - out[admit_col]).dt.days.to_numpy()
    out["days"] = days
    out["week"] = np.floor_divide(days, 7)
    out["weeks"] = days / 7.0
    out = out.drop(columns=[admit_col])
    out.attrs.update(n_missing_score=n_missing, n_unknown_episode=n_unknown)
    return out


def weekly_trajectory(
    scores: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    scale: str | None = None,
    score_col: str = "total",
    by: str | None = None,
    confidence: float = 0.95,
    **columns: str,
) -> pd.DataFrame:
    """Mean score per week in treatment (week = floor(days since admission / 7)) with a
    t interval; one score per episode and week (the last in that week) so episodes are not
    double-counted. Columns ``[by], week, n, mean, sd, ci_low, ci_high``."""
    carry = (by,) if by else ()
    w = with_weeks(scores, episodes, scale=scale, score_col=score_col, carry_cols=carry, **columns)
    idc = columns.get("id_col", "episode_id")
    w = w.sort_values([idc, "date"]).groupby([idc, "week"], as_index=False).last()
    keys = ([by] if by else []) + ["week"]
    g = w.groupby(keys)["score"]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    h = (
        stats.t.ppf(1 - (1 - confidence) / 2, np.maximum(out["n"] - 1, 1))
        * out["sd"]
        / np.sqrt(out["n"])
    )
    out["ci_low"] = out["mean"] - h
    out["ci_high"] = out["mean"] + h
    out["ci_method"] = "t"
    out.attrs["variant"] = "weekly mean of the last score per episode and week, t interval"
    return out


def locf_sensitivity(
    scores: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    week: int,
    scale: str | None = None,
    score_col: str = "total",
    baseline_window: tuple[int, int] = (-7, 7),
    confidence: float = 0.95,
    **columns: str,
) -> pd.DataFrame:
    """**Sensitivity analysis only**: last observation carried forward to ``week``.

    Every episode with a baseline (first score within ``baseline_window`` days of admission)
    gets, as its week-``week`` value, its last score dated in week ≤ ``week`` (the baseline
    itself when nothing later exists). LOCF assumes scores stop changing after dropout and is
    biased even under MCAR; the National Research Council (2010) advises against it as a
    primary analysis. Returns :func:`paired_effect_sizes` rows plus mean change, labelled
    ``analysis = "LOCF sensitivity (single imputation, not primary)"``.
    """
    w = with_weeks(scores, episodes, scale=scale, score_col=score_col, carry_cols=(), **columns)
    idc = columns.get("id_col", "episode_id")
    w = w.sort_values([idc, "date"])
    lo, hi = baseline_window
    base = w[(w["days"] >= lo) & (w["days"] <= hi)].groupby(idc)[["date", "score"]].first()
    w = w.merge(
        base.rename(columns={"date": "bdate", "score": "baseline"}), left_on=idc, right_index=True
    )
    later = w[(w["date"] > w["bdate"]) & (w["week"] <= week)]
    last = later.groupby(idc)["score"].last()
    t = base.rename(columns={"score": "baseline"})[["baseline"]].join(last.rename("locf"))
    n_carried = int(t["locf"].isna().sum())
    t["locf"] = t["locf"].fillna(t["baseline"])
    es = paired_effect_sizes(t["baseline"], t["locf"], confidence=confidence)
    es.insert(0, "analysis", "LOCF sensitivity (single imputation, not primary)")
    es["week"] = week
    es["n_baseline_carried"] = n_carried
    es.attrs.update(
        variant=f"LOCF to week {week}; baseline carried for {n_carried} episodes",
        warning="LOCF is biased even under MCAR (NRC 2010); use the mixed model "
        "as the primary longitudinal analysis",
    )
    return es
