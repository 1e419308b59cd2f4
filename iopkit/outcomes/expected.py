"""Expected recovery curves: is a patient on the expected path for someone who started where
they did?

Measurement-feedback systems compare each patient's score with the trajectory expected for
patients of the same intake severity and flag those outside a tolerance band early (Finch,
Lambert & Schaalje 2001, *Clin Psychol Psychother* 8:231, doi:10.1002/cpp.286; Lambert et al.
2001, *Psychother Res* 11:49; feedback on such "not on track" signals reduced deterioration,
Lambert et al. 2003, *Clin Psychol Sci Pract* 10:288).

Model (one per scale, fitted on the program's own *completed* episodes):

    Q_τ(score | baseline b, weeks t) = β₀ + β₁·b + β₂·L + β₃·b·L,   L = ln(1 + t)

— linear quantile regression (Koenker & Bassett 1978, *Econometrica* 46:33; statsmodels
``QuantReg``) of every post-baseline score on the baseline score and log time, for
τ = (1 − coverage)/2, 0.5 and (1 + coverage)/2: the median is the expected curve, the outer
quantiles the tolerance band (default coverage 80 %: the 10th–90th percentiles of completed
episodes with the same baseline at that week). Log time gives the negatively accelerated
course of change seen in psychotherapy (Howard et al. 1986, *Am Psychol* 41:159). The three
quantiles are sorted at every point, so they never cross (Chernozhukov, Fernández-Val &
Galichon 2010, *Econometrica* 78:1093).

``not_on_track`` (``method="expected_curve"``): the score is outside the band on the worse
side at the patient's week (above the upper quantile when lower is better). The earlier fixed
rule stays available as ``method="fixed_rule"`` ([D]: at week ≥ 4 the reduction from baseline
is < 20 %). Every result row states the method, the model, its training window and n.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.regression.quantile_regression import QuantReg

from iopkit.errors import InputError, UnknownIdError
from iopkit.outcomes._common import direction_of, iso_dates, require_columns

__all__ = [
    "ON_TRACK_METHODS",
    "ExpectedCurves",
    "expected_recovery",
    "fixed_rule",
    "recovery_status",
]

ON_TRACK_METHODS = ("expected_curve", "fixed_rule")
_TERMS = ("Intercept", "baseline", "log1p_weeks", "baseline:log1p_weeks")


def fixed_rule(
    baseline: Sequence[float] | np.ndarray,
    score: Sequence[float] | np.ndarray,
    weeks: Sequence[float] | np.ndarray,
    *,
    lower_is_better: bool = True,
    week: float = 4,
    min_reduction: float = 0.20,
) -> tuple[pd.arrays.BooleanArray, np.ndarray, np.ndarray]:
    """The fixed early non-response rule [D] (iopkit design decision, docs/outcomes.md): not
    on track when, at ``weeks`` ≥ ``week``, the reduction from baseline is < ``min_reduction``.

    Returns ``(not_on_track, due, reduction)`` per element: not_on_track is <NA> when not
    yet due or the baseline is 0 (reduction undefined). The one copy of this rule: the MBC
    flags and :func:`recovery_status` both call it.
    """
    base = np.asarray(baseline, dtype=float)
    d = direction_of(lower_is_better)
    with np.errstate(divide="ignore", invalid="ignore"):
        reduction = d * (np.asarray(score, dtype=float) - base) / base
    due = np.asarray(weeks, dtype=float) >= week
    flag = pd.array(reduction < min_reduction, dtype="boolean")
    flag[~due | (base == 0)] = pd.NA
    return flag, due, reduction


def _design(baseline: np.ndarray, weeks: np.ndarray) -> np.ndarray:
    lt = np.log1p(np.maximum(weeks, 0.0))
    return np.column_stack([np.ones_like(lt), baseline, lt, baseline * lt])


def _baselines(long: pd.DataFrame, id_col: str, window: tuple[float, float]) -> pd.DataFrame:
    """First score dated within ``window`` days of admission, per episode."""
    lo, hi = window
    b = long[(long["days"] >= lo) & (long["days"] <= hi)].sort_values([id_col, "date"])
    first = b.groupby(id_col, sort=False)[["date", "score"]].first()
    return first.rename(columns={"date": "baseline_date", "score": "baseline"})


def _post_baseline(long: pd.DataFrame, id_col: str, window: tuple[float, float]) -> pd.DataFrame:
    require_columns(long, [id_col, "date", "score", "days", "weeks"], table="scores")
    d = long.copy()
    d["date"] = iso_dates(d, "date", "scores")
    base = _baselines(d, id_col, window)
    d = d.merge(base.reset_index(), on=id_col, how="inner")
    return d[d["date"] > d["baseline_date"]].sort_values([id_col, "date"], kind="stable")


@dataclass(frozen=True)
class ExpectedCurves:
    """A fitted expected-recovery model for one scale (see the module docstring).

    ``table``: tidy curve per baseline band and week — ``band, band_min, band_max,
    baseline_ref`` (median training baseline in the band, the value the curve is drawn for),
    ``week, expected, lower, upper, n_episodes`` (training episodes in the band).
    ``coefficients``: ``quantile, term, estimate``. The remaining fields state the model.
    """

    table: pd.DataFrame
    coefficients: pd.DataFrame
    quantiles: tuple[float, float, float]
    coverage: float
    lower_is_better: bool
    model: str
    training_window: str
    n_episodes: int
    n_scores: int
    baseline_range: tuple[float, float]
    scale: str | None = None

    @cached_property
    def _coef(self) -> np.ndarray:
        """The coefficients as a terms × quantiles matrix (read once per model)."""
        coef = self.coefficients.pivot(index="term", columns="quantile", values="estimate")
        return coef.loc[list(_TERMS), list(self.quantiles)].to_numpy()

    def expected(self, baseline: Sequence[float], weeks: Sequence[float]) -> pd.DataFrame:
        """``expected, lower, upper`` for each (baseline, weeks) pair (quantiles sorted)."""
        b = np.asarray(baseline, dtype=float)
        t = np.asarray(weeks, dtype=float)
        x = _design(b, t)
        pred = np.sort(x @ self._coef, axis=1)  # rearrangement: quantiles never cross
        return pd.DataFrame({"expected": pred[:, 1], "lower": pred[:, 0], "upper": pred[:, 2]})

    def path(
        self, baseline: float, admit_date: str | pd.Timestamp, until: str | pd.Timestamp
    ) -> pd.DataFrame:
        """The expected path of one patient, by date: ``date, weeks, expected, lower, upper``
        from admission to ``until`` (daily points), for the patient's own ``baseline``.

        What the patient report draws behind the patient's scores.
        """
        start, end = pd.Timestamp(admit_date), pd.Timestamp(until)
        if end < start:
            raise InputError(f"the path ends ({end:%Y-%m-%d}) before admission", rule="dates")
        dates = pd.date_range(start, end, freq="D")
        weeks = ((dates - start).days / 7.0).to_numpy(dtype=float)
        e = self.expected(np.full(weeks.size, float(baseline)), weeks)
        return pd.concat([pd.DataFrame({"date": dates, "weeks": weeks}), e], axis=1)


def expected_recovery(
    scores: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    scale: str | None = None,
    coverage: float = 0.80,
    lower_is_better: bool = True,
    bands: Sequence[tuple[str, float, float]] | None = None,
    completed: Sequence[str] = ("completed",),
    min_episodes: int = 30,
    baseline_window: tuple[float, float] = (-7, 7),
    admitted_between: tuple[str, str] | None = None,
    max_week: int | None = None,
    id_col: str = "episode_id",
) -> ExpectedCurves:
    """Fit expected recovery curves on completed episodes (module docstring).

    ``scores`` is long, one scale, as :func:`iopkit.outcomes.with_weeks` returns it
    (``episode_id, date, score, days, weeks``); ``episodes`` needs ``episode_id,
    discharge_type, admit_date``. Training episodes: ``discharge_type`` in ``completed``,
    admitted within ``admitted_between`` (ISO dates, inclusive) when given, with a baseline
    (first score within ``baseline_window`` days of admission) and ≥ 1 later score. ``bands``
    are ``(label, min, max)`` baseline-severity bands for the curve table (default: the scale
    registry's severity bands of ``scale``; else quartiles of the training baselines).
    Fewer than ``min_episodes`` training episodes is an :class:`InputError` — use
    ``recovery_status(..., method="fixed_rule")`` then.
    """
    if not 0 < coverage < 1:
        raise InputError(f"coverage must be in (0, 1), got {coverage!r}", rule="coverage")
    require_columns(episodes, [id_col, "discharge_type", "admit_date"], table="episodes")
    ep = episodes[episodes["discharge_type"].isin(list(completed))]
    if admitted_between is not None:
        admit = iso_dates(ep, "admit_date", "episodes")
        lo, hi = (pd.Timestamp(v) for v in admitted_between)
        ep = ep[(admit >= lo).to_numpy() & (admit <= hi).to_numpy()]
    d = _post_baseline(scores[scores[id_col].isin(ep[id_col])], id_col, baseline_window)
    n_ep = int(d[id_col].nunique())
    if n_ep < min_episodes:
        raise InputError(
            f"expected recovery curves need at least {min_episodes} completed episodes with a "
            f"baseline and a later score, got {n_ep}; use the fixed rule "
            "(recovery_status(method='fixed_rule'))",
            rule=f"≥ {min_episodes} training episodes",
        )
    q = ((1 - coverage) / 2, 0.5, (1 + coverage) / 2)
    x = _design(d["baseline"].to_numpy(float), d["weeks"].to_numpy(float))
    y = d["score"].to_numpy(float)
    rows = []
    for tau in q:
        fit = QuantReg(y, x).fit(q=tau, max_iter=5000)
        rows += [(tau, term, float(b)) for term, b in zip(_TERMS, fit.params, strict=True)]
    coefficients = pd.DataFrame(rows, columns=["quantile", "term", "estimate"])
    base = d.groupby(id_col)["baseline"].first()
    admit = iso_dates(ep[ep[id_col].isin(base.index)], "admit_date", "episodes")
    window = f"admitted {admit.min():%Y-%m-%d} to {admit.max():%Y-%m-%d}"
    model = (
        f"quantile regression (Koenker & Bassett 1978) score ~ baseline·ln(1 + weeks), "
        f"τ = {q[0]:.3g}/0.5/{q[2]:.3g} ({coverage:.0%} band); {n_ep} completed episodes, "
        f"{len(d)} scores"
    )
    curves = ExpectedCurves(
        table=pd.DataFrame(),
        coefficients=coefficients,
        quantiles=q,
        coverage=coverage,
        lower_is_better=lower_is_better,
        model=model,
        training_window=window,
        n_episodes=n_ep,
        n_scores=len(d),
        baseline_range=(float(base.min()), float(base.max())),
        scale=scale,
    )
    band_list = _bands(bands, scale, base)
    top = int(max_week if max_week is not None else np.ceil(np.quantile(d["weeks"], 0.95)))
    weeks = np.arange(0, top + 1)
    parts = []
    for label, lo_b, hi_b in band_list:
        inband = base[(base >= lo_b) & (base <= hi_b)]
        if inband.empty:
            continue
        ref = float(inband.median())
        e = curves.expected(np.full(weeks.size, ref), weeks)
        parts.append(
            e.assign(
                band=label,
                band_min=lo_b,
                band_max=hi_b,
                baseline_ref=ref,
                week=weeks,
                n_episodes=int(inband.size),
            )
        )
    cols = ["band", "band_min", "band_max", "baseline_ref", "week", "expected", "lower", "upper"]
    table = pd.concat(parts, ignore_index=True)[[*cols, "n_episodes"]]
    table.attrs.update(model=model, training_window=window, n_episodes=n_ep)
    return dataclasses.replace(curves, table=table)


def _bands(
    bands: Sequence[tuple[str, float, float]] | None, scale: str | None, base: pd.Series
) -> list[tuple[str, float, float]]:
    if bands is not None:
        return [(str(lab), float(lo), float(hi)) for lab, lo, hi in bands]
    if scale is not None:
        from iopkit.scales import get_scale  # as _common: the registry loads on first use

        try:
            sc = get_scale(scale)
        except UnknownIdError:  # a scale outside the registry: quartile bands below
            sc = None
        if sc is not None and sc.bands is not None:
            return [(b.label, float(b.min), float(b.max)) for b in sc.bands.levels]
    edges = np.unique(np.quantile(base, [0, 0.25, 0.5, 0.75, 1]))
    return [
        (f"baseline {lo:g}–{hi:g}", float(lo), float(hi))
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]


def recovery_status(
    scores: pd.DataFrame,
    curves: ExpectedCurves | None = None,
    *,
    method: Literal["expected_curve", "fixed_rule"] = "expected_curve",
    lower_is_better: bool | None = None,
    baseline_window: tuple[float, float] = (-7, 7),
    fixed_week: float = 4,
    min_reduction: float = 0.20,
    id_col: str = "episode_id",
) -> pd.DataFrame:
    """On-track status of every post-baseline score (long ``scores`` as for
    :func:`expected_recovery`, e.g. the active episodes).

    Returns one row per score after the baseline: ``episode_id, date, weeks, score, baseline,
    expected, lower, upper, position`` ("worse than expected", "as expected", "better than
    expected"), ``not_on_track`` (nullable boolean; <NA> when the rule cannot be applied,
    with ``reason``), ``is_latest``, ``method``, ``rule``, ``model``, ``training_window``,
    ``n_training_episodes``. With ``method="fixed_rule"`` not on track ⇔ weeks ≥
    ``fixed_week`` and the reduction from baseline < ``min_reduction``; the curve columns are
    filled when ``curves`` is given.
    """
    if method not in ON_TRACK_METHODS:
        raise InputError(
            f"unknown on-track method {method!r}; choose one of {', '.join(ON_TRACK_METHODS)}",
            rule="on-track method",
        )
    if method == "expected_curve" and curves is None:
        raise InputError(
            "method 'expected_curve' needs fitted curves (expected_recovery)",
            rule="expected curves",
        )
    lib = (
        lower_is_better
        if lower_is_better is not None
        else (curves.lower_is_better if curves is not None else True)
    )
    d = direction_of(lib)
    s = _post_baseline(scores, id_col, baseline_window).reset_index(drop=True)
    out = s[[id_col, "date", "weeks", "score", "baseline"]].copy()
    if curves is not None:
        e = curves.expected(out["baseline"].to_numpy(float), out["weeks"].to_numpy(float))
        out[["expected", "lower", "upper"]] = e.to_numpy()
        worse = d * out["score"] < d * np.where(lib, out["upper"], out["lower"])
        better = d * out["score"] > d * np.where(lib, out["lower"], out["upper"])
        out["position"] = np.select(
            [worse, better], ["worse than expected", "better than expected"], "as expected"
        )
    else:
        out[["expected", "lower", "upper"]] = np.nan
        out["position"] = None
    if method == "expected_curve":
        assert curves is not None
        flag = pd.array(out["position"] == "worse than expected", dtype="boolean")
        lo_b, hi_b = curves.baseline_range
        outside = (out["baseline"] < lo_b) | (out["baseline"] > hi_b)
        out["reason"] = np.where(
            outside,
            f"baseline outside the training range {lo_b:g}–{hi_b:g} (extrapolated)",
            "evaluated",
        )
        rule = (
            f"score {'above' if lib else 'below'} the {curves.quantiles[2 if lib else 0]:.0%} "
            f"quantile of completed episodes with the same baseline at that week"
        )
        model, window, n = curves.model, curves.training_window, curves.n_episodes
    else:
        base = out["baseline"].to_numpy(float)
        flag, due, _ = fixed_rule(
            base, out["score"], out["weeks"], lower_is_better=lib, week=fixed_week,
            min_reduction=min_reduction,
        )  # fmt: skip
        out["reason"] = np.select(
            [~due, base == 0],
            [f"not yet due (week < {fixed_week:g})", "baseline 0: reduction undefined"],
            "evaluated",
        )
        rule = f"[D] at week ≥ {fixed_week:g}, reduction from baseline < {min_reduction:.0%}"
        model, window, n = "fixed rule (no model)", "", 0
    out["not_on_track"] = flag
    out["is_latest"] = ~out[id_col].duplicated(keep="last")
    out["method"] = method
    out["rule"] = rule
    out["model"] = model
    out["training_window"] = window
    out["n_training_episodes"] = n
    out.attrs["variant"] = f"not on track by {method}: {rule}"
    return out
