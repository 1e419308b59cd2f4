"""Skill exposure: which skills and modalities each episode actually attended
(attendance × delivered sessions), and its association with change.

The association is observational (dose–response, confounded by dropout and severity): the
model is reported as a description, not as a causal effect.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import statsmodels.formula.api as smf

from iopkit.errors import InputError
from iopkit.outcomes._common import check_vocab, iso_dates, require_columns
from iopkit.outcomes.cohort import mean_ci
from iopkit.vocab import ATTENDANCE_STATUS, ATTENDED

__all__ = ["skill_exposure", "exposure_by_episode", "exposure_descriptives", "exposure_association"]


def skill_exposure(
    attendance: pd.DataFrame,
    sessions: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    catalog: pd.DataFrame | None = None,
    attended: Sequence[str] = ATTENDED,
    id_col: str = "episode_id",
    cohort_col: str = "cohort_id",
    date_col: str = "date",
    status_col: str = "status",
    skill_col: str = "skill_id",
    modality_col: str = "modality",
    sep: str = ".",
) -> pd.DataFrame:
    """Long table ``episode_id, skill_id, modality, n_attended, first_date, last_date``.

    A session counts for an episode when the episode's attendance row for that date has a
    status in ``attended`` and its cohort delivered a session that day (``sessions``:
    cohort_id, date, skill_id). Modality comes from ``catalog`` (columns skill_id, modality)
    or else the skill id's prefix before ``sep`` (``cbt.cr.thought_record`` → ``cbt``).
    Attended days without a delivered session are counted in ``attrs["attended_no_session"]``.
    """
    require_columns(attendance, [id_col, date_col, status_col], table="attendance")
    require_columns(sessions, [cohort_col, date_col, skill_col], table="sessions")
    require_columns(episodes, [id_col, cohort_col], table="episodes")
    check_vocab(attendance, status_col, ATTENDANCE_STATUS, "attendance")
    at = attendance[attendance[status_col].isin(list(attended))]
    at = pd.DataFrame(
        {id_col: at[id_col].to_numpy(), "date": iso_dates(at, date_col, "attendance").to_numpy()}
    )
    at = at.merge(episodes[[id_col, cohort_col]], on=id_col, how="left")
    no_cohort = int(at[cohort_col].isna().sum())
    se = pd.DataFrame(
        {
            cohort_col: sessions[cohort_col].to_numpy(),
            "date": iso_dates(sessions, date_col, "sessions").to_numpy(),
            skill_col: sessions[skill_col].to_numpy(),
        }
    )
    m = at.merge(se, on=[cohort_col, "date"], how="left", indicator=True)
    no_session = int((m["_merge"] == "left_only").sum())
    m = m[m["_merge"] == "both"]
    if catalog is not None:
        require_columns(catalog, [skill_col, modality_col], table="catalog")
        cat = catalog.drop_duplicates(skill_col).set_index(skill_col)[modality_col]
        modality = m[skill_col].map(cat)
        unknown = modality.isna()
        if unknown.any():
            raise InputError(
                f"skill {m[skill_col][unknown].iloc[0]!r} is not in the catalog",
                column=skill_col,
                rule="every delivered skill in the catalog",
            )
    else:
        modality = m[skill_col].astype(str).str.split(sep, n=1).str[0]
    m = m.assign(modality=modality.to_numpy())
    out = (
        m.groupby([id_col, skill_col, "modality"], sort=True)
        .agg(n_attended=("date", "size"), first_date=("date", "min"), last_date=("date", "max"))
        .reset_index()
    )
    out.attrs.update(
        attended_no_session=no_session,
        attended_unknown_episode=no_cohort,
        variant=f"attended = status in {list(attended)} on a delivered session day",
    )
    return out


def exposure_by_episode(
    exposure: pd.DataFrame,
    episodes: pd.DataFrame | None = None,
    *,
    id_col: str = "episode_id",
    skill_col: str = "skill_id",
) -> pd.DataFrame:
    """Wide per-episode exposure: ``n_sessions_attended``, ``n_distinct_skills`` and
    ``n_<modality>`` (sessions per modality); episodes without exposure get zeros."""
    g = exposure.groupby(id_col)
    out = pd.DataFrame(
        {"n_sessions_attended": g["n_attended"].sum(), "n_distinct_skills": g[skill_col].nunique()}
    )
    mod = exposure.pivot_table(
        index=id_col, columns="modality", values="n_attended", aggfunc="sum", fill_value=0
    )
    mod.columns = [f"n_{c}" for c in mod.columns]
    out = out.join(mod).reset_index()
    if episodes is not None:
        out = episodes[[id_col]].merge(out, on=id_col, how="left")
        num = [c for c in out.columns if c != id_col]
        out[num] = out[num].fillna(0).astype(int)
    return out


def exposure_descriptives(
    wide: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    exposure: str = "n_distinct_skills",
    change_col: str = "change",
    bins: int = 3,
    id_col: str = "episode_id",
) -> pd.DataFrame:
    """Mean change (t interval) by exposure band (``bins`` quantile groups of ``exposure``)
    on episodes with a change score; also the Spearman correlation in ``attrs``."""
    d = outcomes[[id_col, change_col]].merge(wide[[id_col, exposure]], on=id_col, how="inner")
    d = d[d[change_col].notna()]
    if len(d) < bins:
        raise InputError(f"need at least {bins} episodes with a change score", rule="n ≥ bins")
    d["band"] = pd.qcut(d[exposure].rank(method="first"), bins, labels=False)
    rows = []
    for band, g in d.groupby("band"):
        m, sd, lo, hi, n = mean_ci(g[change_col].to_numpy(float))
        rows.append(
            {
                "band": int(band) + 1,
                "exposure_min": g[exposure].min(),
                "exposure_max": g[exposure].max(),
                "n": n,
                "mean_change": m,
                "sd": sd,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    out = pd.DataFrame(rows)
    rho = d[[exposure, change_col]].corr(method="spearman").iloc[0, 1]
    out.attrs.update(
        spearman_rho=float(rho),
        variant=f"mean {change_col} by {bins} quantile "
        f"bands of {exposure} (ties broken by order); t intervals",
    )
    return out


def exposure_association(
    wide: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    predictors: Sequence[str] = ("n_distinct_skills",),
    change_col: str = "change",
    baseline_col: str | None = "baseline",
    id_col: str = "episode_id",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """OLS (statsmodels) of change on exposure, adjusted for baseline score:
    ``change ~ baseline + predictors``. Returns ``term, estimate, se, ci_low, ci_high, p, n,
    r2`` with the formula in ``attrs["variant"]``. Episodes missing any variable are excluded
    and counted (``n_excluded``)."""
    cols = [change_col] + ([baseline_col] if baseline_col else [])
    require_columns(outcomes, [id_col, *cols], table="outcomes")
    require_columns(wide, [id_col, *predictors], table="exposure")
    d = outcomes[[id_col, *cols]].merge(wide[[id_col, *predictors]], on=id_col, how="inner")
    keep = d[[*cols, *predictors]].notna().all(axis=1)
    n_ex = int((~keep).sum())
    d = d[keep.to_numpy()]
    if len(d) < len(predictors) + 3:
        raise InputError("too few complete episodes for the exposure model", rule="n > p + 2")
    for p in predictors:
        if d[p].nunique() < 2:
            raise InputError(
                f"predictor {p!r} has the same value for every episode; the "
                "model cannot estimate its association",
                column=p,
                rule="predictor must vary",
            )
    rhs = " + ".join(([baseline_col] if baseline_col else []) + list(predictors))
    formula = f"{change_col} ~ {rhs}"
    fit = smf.ols(formula, data=d).fit()
    ci = fit.conf_int(alpha=1 - confidence)
    out = pd.DataFrame(
        {
            "term": fit.params.index,
            "estimate": fit.params.to_numpy(),
            "se": fit.bse.to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
            "p": fit.pvalues.to_numpy(),
        }
    )
    out["n"] = int(fit.nobs)
    out["n_excluded"] = n_ex
    out["r2"] = float(fit.rsquared)
    out.attrs["variant"] = f"OLS {formula} (observational association, not causal)"
    return out
