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
from iopkit.outcomes.change import CATEGORIES
from iopkit.outcomes.effect_sizes import (
    FORMULAS,
    paired_effect_sizes,
    paired_effect_sizes_from_moments,
)

__all__ = [
    "wilson_rate",
    "mean_ci",
    "cohort_summary",
    "weekly_means",
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

    Every statistic is computed for all groups at once (group sums with ``np.bincount``, the
    effect-size formulas of :func:`paired_effect_sizes_from_moments` on arrays, one
    vectorised noncentral-t search), so the cost grows with rows, not with the number of
    groups; the rows equal those of a loop calling :func:`mean_ci`,
    :func:`paired_effect_sizes`, :func:`wilson_rate` and :func:`category_counts` per group.
    """
    require_columns(outcomes, ["baseline", "endpoint", "change"], table="outcomes")
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    require_columns(outcomes, keys, table="outcomes")
    known = outcomes.attrs.get("variants", {})
    o = outcomes.copy(deep=False)
    o.attrs = {}  # pandas deep-copies attrs on every operation: keep them out of the hot path
    if keys:
        codes = o.groupby(keys, sort=True, dropna=False).ngroup().to_numpy()
        n_groups = int(codes.max()) + 1 if len(codes) else 0
        first = np.unique(codes, return_index=True)[1]
        key_values = o[keys].iloc[first].reset_index(drop=True)
    else:
        codes = np.zeros(len(o), dtype=np.int64)
        n_groups = 1
        key_values = pd.DataFrame(index=range(1))
    rows = _Rows(n_groups)
    sets = _sets(o, completed_col, completed_values)
    size = np.bincount(codes, minlength=n_groups).astype(float)
    rows.add("all", "n", "episodes", size, n=size)
    labels = {
        "itt": "ITT: episodes with a baseline score",
        "paired": "episodes with baseline and endpoint (last observation)",
        "completers": f"completers: {completed_col} in {list(completed_values)}, paired",
    }
    for aset, mask in sets.items():
        cnt = np.bincount(codes[mask], minlength=n_groups).astype(float)
        rows.add(aset, "n", labels[aset], cnt, n=cnt)
    values = {c: o[c].to_numpy(float) for c in ("baseline", "endpoint", "change")}
    m, sd, lo, hi, n = _group_mean_ci(values["baseline"], sets["itt"], codes, n_groups, confidence)
    rows.add("itt", "baseline_mean", "mean, t interval", m, lo, hi, n, "t")
    rows.add("itt", "baseline_sd", "SD (n − 1)", sd, n=n)
    skipped: list[tuple[int, int, str]] = []  # (group, set, text): named group by group
    category = o["category"].astype(object).to_numpy() if "category" in o.columns else None
    for aset in [s for s in ("paired", "completers") if s in sets]:
        mask = sets[aset]
        for col in ("baseline", "endpoint", "change"):
            m, sd, lo, hi, n = _group_mean_ci(values[col], mask, codes, n_groups, confidence)
            rows.add(aset, f"{col}_mean", "mean, t interval", m, lo, hi, n, "t")
            rows.add(aset, f"{col}_sd", "SD (n − 1)", sd, n=n)
        if effect_sizes:
            named = _effect_size_rows(rows, aset, values, mask, codes, key_values, confidence)
            skipped += [(g, len(skipped), text) for g, text in named]
        for col, denom_col in _RATES:
            if col == "recovered":
                if category is None:
                    continue
                valid = mask & o[denom_col].astype("boolean").fillna(False).to_numpy(bool)
                valid &= pd.notna(category)
                hit = valid & (category == "recovered")
                variant = "recovered among cases at baseline (JT categories)"
            else:
                if col not in o.columns:
                    continue
                v = o[col].astype("boolean")
                valid = mask & v.notna().to_numpy()
                hit = valid & v.fillna(False).to_numpy(bool)
                variant = known.get(col) or known.get("rci", col)
            nn = np.bincount(codes[valid], minlength=n_groups)
            k = np.bincount(codes[hit], minlength=n_groups)
            p, lo, hi = wilson_rate(k, nn, confidence)
            rows.add(aset, f"{col}_rate", variant, p, lo, hi, nn.astype(float), "Wilson")
        if category is not None:
            _category_rows(rows, aset, o, category, mask, codes, n_groups)
    out = rows.frame(keys, key_values)
    out.attrs.update(
        variants=known, skipped=[text for *_, text in sorted(skipped)], confidence=confidence
    )
    return out


class _Rows:
    """Output rows collected as columns over all groups, ordered group by group at the end
    (within a group, in the order they were added)."""

    _COLUMNS = (
        "analysis_set",
        "statistic",
        "variant",
        "estimate",
        "ci_low",
        "ci_high",
        "n",
        "ci_method",
    )

    def __init__(self, n_groups: int) -> None:
        self.n_groups = n_groups
        self.parts: list[dict[str, np.ndarray]] = []

    def add(
        self,
        aset: str,
        stat: str,
        variant: str | np.ndarray,
        est: np.ndarray,
        lo: np.ndarray | float = np.nan,
        hi: np.ndarray | float = np.nan,
        n: np.ndarray | float = np.nan,
        method: str = "",
        group: np.ndarray | None = None,
    ) -> None:
        g = np.arange(self.n_groups) if group is None else group
        size = g.size
        self.parts.append(
            {
                "_group": g,
                "_order": np.full(size, len(self.parts)),
                "analysis_set": np.full(size, aset, dtype=object),
                "statistic": np.full(size, stat, dtype=object),
                "variant": np.broadcast_to(np.asarray(variant, dtype=object), (size,)),
                "estimate": np.broadcast_to(np.asarray(est, dtype=float), (size,)),
                "ci_low": np.broadcast_to(np.asarray(lo, dtype=float), (size,)),
                "ci_high": np.broadcast_to(np.asarray(hi, dtype=float), (size,)),
                "n": np.broadcast_to(np.asarray(n, dtype=float), (size,)),
                "ci_method": np.full(size, method, dtype=object),
            }
        )

    def frame(self, keys: list[str], key_values: pd.DataFrame) -> pd.DataFrame:
        cols = {
            c: np.concatenate([p[c] for p in self.parts])
            for c in ("_group", "_order", *self._COLUMNS)
        }
        order = np.lexsort((np.arange(cols["_group"].size), cols["_order"], cols["_group"]))
        group = cols["_group"][order]
        out = key_values.iloc[group].reset_index(drop=True) if keys else pd.DataFrame()
        for c in self._COLUMNS:
            out[c] = cols[c][order]
        out["n"] = out["n"].astype(np.int64)  # every row states its n
        if not keys:
            out.index = pd.RangeIndex(len(group))
        return out


def _group_mean_ci(
    x: np.ndarray, mask: np.ndarray, codes: np.ndarray, n_groups: int, confidence: float
) -> tuple[np.ndarray, ...]:
    """:func:`mean_ci` per group: mean, SD (n − 1), t-interval low/high and n."""
    use = mask & ~np.isnan(x)
    g, v = codes[use], x[use]
    n = np.bincount(g, minlength=n_groups).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.bincount(g, v, minlength=n_groups) / n
        sd = np.sqrt(np.bincount(g, (v - m[g]) ** 2, minlength=n_groups) / (n - 1))
        sd = np.where(n >= 2, sd, np.nan)
        h = stats.t.ppf(1 - (1 - confidence) / 2, np.where(n >= 2, n - 1, np.nan)) * sd
        h /= np.sqrt(n)
    m = np.where(n > 0, m, np.nan)
    return m, sd, m - h, m + h, n


def _effect_size_rows(
    rows: _Rows,
    aset: str,
    values: dict[str, np.ndarray],
    mask: np.ndarray,
    codes: np.ndarray,
    key_values: pd.DataFrame,
    confidence: float,
) -> list[tuple[int, str]]:
    """Paired effect-size rows of every group with ≥ 3 pairs and a baseline SD > 0; the
    groups left out, named as the per-group loop names them."""
    n_groups = rows.n_groups
    a, b = values["baseline"], values["endpoint"]
    pair = mask & ~(np.isnan(a) | np.isnan(b))
    g, x1, x2 = codes[pair], a[pair], b[pair]
    n = np.bincount(g, minlength=n_groups).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        m1 = np.bincount(g, x1, minlength=n_groups) / n
        m2 = np.bincount(g, x2, minlength=n_groups) / n
        e1, e2 = x1 - m1[g], x2 - m2[g]
        ss1 = np.bincount(g, e1**2, minlength=n_groups)
        ss2 = np.bincount(g, e2**2, minlength=n_groups)
        d = x2 - x1
        md = np.bincount(g, d, minlength=n_groups) / n
        ssd = np.bincount(g, (d - md[g]) ** 2, minlength=n_groups)
        s1, s2, sd = np.sqrt(ss1 / (n - 1)), np.sqrt(ss2 / (n - 1)), np.sqrt(ssd / (n - 1))
        r = np.bincount(g, e1 * e2, minlength=n_groups) / np.sqrt(ss1 * ss2)
    r = np.where((s1 > 0) & (s2 > 0), r, np.nan)
    # the loop's test: ≥ 3 rows in the set and a population SD of the baseline > 0
    in_set = np.bincount(codes[mask], minlength=n_groups)
    use = (in_set >= 3) & (ss1 > 0)
    idx = np.flatnonzero(use)
    if idx.size:
        est = paired_effect_sizes_from_moments(
            n[idx], md[idx], s1[idx], s2[idx], sd[idx], r[idx], confidence=confidence
        )
        for measure, (e, lo, hi, method) in est.items():
            rows.add(aset, measure, FORMULAS[measure], e, lo, hi, n[idx], method, group=idx)
    skipped = []
    for i in np.flatnonzero(~use):
        kd = dict(zip(key_values.columns, key_values.iloc[i].tolist(), strict=True))
        skipped.append((int(i), f"{kd or 'all'} {aset}: effect sizes need ≥ 3 pairs and SD > 0"))
    return skipped


def _category_rows(
    rows: _Rows,
    aset: str,
    o: pd.DataFrame,
    category: np.ndarray,
    mask: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
) -> None:
    """:func:`category_counts` of each group's rows in the set: every category of every
    baseline stratum present in the group (zeros shown), "missing" only when it occurs."""
    cats = [*CATEGORIES, "missing"]
    cat = pd.Categorical(np.where(pd.notna(category), category, "missing"), categories=cats)
    if (cat.codes[mask] < 0).any():
        bad = sorted({str(v) for v in np.asarray(category)[mask][cat.codes[mask] < 0]})
        raise InputError(
            f"unknown outcome categories {bad}; expected one of {list(CATEGORIES)}",
            column="category",
            rule="categories of iopkit.outcomes.change",
        )
    if "baseline_case" in o.columns:
        bc = o["baseline_case"].astype("boolean")
        strata = np.array(["baseline missing", "case at baseline", "non-case at baseline"])
        s = np.where(bc.isna(), 0, np.where(bc.fillna(False), 1, 2))
    else:
        strata = np.array(["all"])
        s = np.zeros(len(o), dtype=np.int64)
    k, c = len(strata), len(cats)
    cell = (codes[mask] * k + s[mask]) * c + cat.codes[mask]
    counts = np.bincount(cell, minlength=n_groups * k * c).reshape(n_groups, k, c)
    present = counts.sum(axis=2) > 0
    keep = present[:, :, None] & ~((np.arange(c) == c - 1)[None, None, :] & (counts == 0))
    g, si, ci = np.nonzero(keep)
    variant = np.char.add(np.char.add(strata[si].astype(str), ": "), np.array(cats)[ci])
    n = counts[g, si, ci].astype(float)
    rows.add(aset, "category_n", variant.astype(object), n, n=n, group=g)


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
    s = scores[list(dict.fromkeys([id_col, date_col, score_col]))]  # not every column
    if scale is not None and scale_col is not None:
        s = s[(scores[scale_col] == scale).to_numpy(dtype=bool, na_value=False)]
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
    out = out[known.to_numpy()]
    if ep[id_col].is_unique:  # each score's episode by position: no merge
        at = pd.Index(ep[id_col]).get_indexer(out[id_col].to_numpy())
        out = out.reset_index(drop=True)
        for c in (admit_col, *carry):
            out[c] = ep[c].take(at).reset_index(drop=True)
        if ep[id_col].dtype == object:  # the key's dtype a merge with object keys gives
            out[id_col] = out[id_col].astype(object)
    else:  # an episode listed twice: its scores are repeated, as a merge does
        out = out.merge(ep, on=id_col, how="left")
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
    double-counted. Columns ``[by], week, n, mean, sd, ci_low, ci_high``: :func:`weekly_means`
    of :func:`with_weeks` (call those two when the weeks frame is needed as well)."""
    carry = (by,) if by else ()
    w = with_weeks(scores, episodes, scale=scale, score_col=score_col, carry_cols=carry, **columns)
    return weekly_means(w, by=by, confidence=confidence,
                        id_col=columns.get("id_col", "episode_id"))


def weekly_means(
    weeks: pd.DataFrame,
    *,
    by: str | None = None,
    confidence: float = 0.95,
    id_col: str = "episode_id",
) -> pd.DataFrame:
    """:func:`weekly_trajectory` of a :func:`with_weeks` frame (columns ``id_col``, ``date``,
    ``week``, ``score`` and ``by`` when given): the last score per episode and week, then the
    weekly mean, SD and t interval."""
    require_columns(weeks, [id_col, "date", "week", "score", *([by] if by else [])],
                    table="weeks")
    w = weeks.sort_values([id_col, "date"]).groupby([id_col, "week"], as_index=False).last()
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
