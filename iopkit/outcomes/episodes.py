"""Episode outcomes per scale: baseline, endpoint, change, response, remission, MCID, RCI,
clinically significant change categories; NHS Talking Therapies paired-measure outcomes.

Input is tidy: one row per assessment with an episode id, a date and a total score (e.g. the
``{id}_total`` column appended by :func:`iopkit.score`), and the episodes table with admission
and discharge dates. Nothing is dropped: every episode appears once in the output, with
missing baseline or endpoint shown as missing and counted in ``attrs["counts"]``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from iopkit.errors import InputError
from iopkit.outcomes._common import (
    ScaleFacts,
    direction_of,
    iso_dates,
    numeric_scores,
    require_columns,
    scale_facts,
)
from iopkit.outcomes.change import categorize, cutoff_values, z_critical

__all__ = ["episode_scores", "episode_outcomes", "talking_therapies"]


def episode_scores(
    scores: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    scale: str | None = None,
    score_col: str = "total",
    id_col: str = "episode_id",
    date_col: str = "date",
    scale_col: str | None = "scale",
    admit_col: str = "admit_date",
    discharge_col: str = "discharge_date",
    baseline_window: tuple[int, int] = (-7, 7),
    endpoint: Literal["last", "discharge"] = "last",
    discharge_window: int = 7,
) -> pd.DataFrame:
    """Baseline and endpoint score per episode.

    * baseline: the first non-missing score dated within ``baseline_window`` days of admission
      (inclusive; default −7…+7);
    * endpoint ``"last"``: the last non-missing score dated after the baseline and no later than
      discharge + ``discharge_window`` days (active episodes: the latest score);
      ``"discharge"``: the last score within ± ``discharge_window`` days of the discharge date
      and after baseline (active episodes have no endpoint).
      ``endpoint_at_discharge`` says whether the endpoint lies in the discharge window.

    Returns one row per episode of ``episodes`` (episodes without scores included) with
    ``baseline_date, baseline, endpoint_date, endpoint, n_scores, days_observed``.
    """
    require_columns(
        scores, [id_col, date_col, score_col] + ([scale_col] if scale_col else []), table="scores"
    )
    require_columns(episodes, [id_col, admit_col], table="episodes")
    if episodes[id_col].duplicated().any():
        dup = episodes[id_col][episodes[id_col].duplicated()].iloc[0]
        raise InputError(
            f"episodes: episode_id {dup!r} appears more than once",
            column=id_col,
            rule="episode_id unique",
        )
    s = scores[list(dict.fromkeys([id_col, date_col, score_col]))]  # not every column
    if scale_col is not None and scale is not None:
        s = s[(scores[scale_col] == scale).to_numpy(dtype=bool, na_value=False)]
    value = numeric_scores(s, score_col, "scores").to_numpy(dtype=float)
    when = _instants(iso_dates(s, date_col, "scores"))
    ids = episodes[id_col].to_numpy()
    admit = _instants(iso_dates(episodes, admit_col, "episodes"))
    dis = (
        _instants(iso_dates(episodes, discharge_col, "episodes"))
        if discharge_col in episodes.columns
        else np.full(len(episodes), np.datetime64("NaT"), dtype=when.dtype)
    )
    # every step on arrays, per episode by position (one pass each, no merge or group-by):
    # the scores of known episodes, ordered by episode then date, ties in input order (a
    # blank date is never a baseline or an endpoint, so where it sorts changes nothing)
    pos = pd.Index(ids).get_indexer(s[id_col].to_numpy())
    scored = ~np.isnan(value)
    n_unknown = int((scored & (pos < 0)).sum())
    rows = np.flatnonzero(scored & (pos >= 0))
    p, d, v = pos[rows], when[rows], value[rows]
    order = np.lexsort((d, p))
    p, d, v = p[order], d[order], v[order]
    n_ep = len(ids)
    day = _days(d - admit[p])
    lo, hi = baseline_window
    base_row = _first_per(p, (day >= lo) & (day <= hi), n_ep)
    has_base = base_row >= 0
    base_date, base = _take(d, base_row, np.datetime64("NaT")), _take(v, base_row, np.nan)
    counted = has_base[p]  # scores of episodes without a baseline count for nothing
    after = counted & (d > base_date[p])
    ends = dis[p]
    has_dis = ~np.isnat(ends)
    if endpoint == "last":
        limit = ends + np.timedelta64(int(discharge_window), "D")
        keep = after & (~has_dis | (d <= limit))
    elif endpoint == "discharge":
        keep = after & has_dis & (np.abs(_days(d - ends)) <= discharge_window)
    else:
        raise InputError(
            f"endpoint must be 'last' or 'discharge', got {endpoint!r}", rule="endpoint"
        )
    end_row = _first_per(p, keep, n_ep, last=True)
    end_date = _take(d, end_row, np.datetime64("NaT"))
    out = pd.DataFrame(
        {
            "baseline_date": base_date,
            "baseline": base,
            "endpoint_date": end_date,
            "endpoint": _take(v, end_row, np.nan),
            "n_scores": np.bincount(p[counted], minlength=n_ep).astype(int),
        },
        index=pd.Index(ids, name=id_col),
    )
    discharge = pd.Series(dis, index=out.index)
    gap = (out["endpoint_date"] - discharge).dt.days.abs()
    out["endpoint_at_discharge"] = (gap <= discharge_window).where(out["endpoint"].notna())
    out["days_observed"] = (out["endpoint_date"] - out["baseline_date"]).dt.days
    out = out.reset_index()
    out.attrs.update(
        baseline_rule=f"first score {lo:+d}…{hi:+d} days from admission",
        endpoint_rule=(
            f"last score after baseline up to discharge + {discharge_window} d"
            if endpoint == "last"
            else f"last score within ±{discharge_window} d of discharge"
        ),
        n_scores_for_unknown_episodes=n_unknown,
    )
    return out


def _instants(dates: pd.Series) -> np.ndarray:
    """Datetimes as a numpy ``datetime64`` array; zone-aware ones as UTC instants (their
    differences and order are those of the instants, as pandas computes them)."""
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return dates.to_numpy()


def _days(delta: np.ndarray) -> np.ndarray:
    """Whole days of ``timedelta64`` values, floored as ``Timedelta.days`` is; NaN for NaT."""
    out = np.full(len(delta), np.nan)
    ok = ~np.isnat(delta)
    out[ok] = delta[ok] // np.timedelta64(1, "D")
    return out


def _take(values: np.ndarray, row: np.ndarray, fill: object) -> np.ndarray:
    """``values[row]`` where ``row`` ≥ 0, else ``fill`` (in ``values``' dtype)."""
    out = np.full(len(row), fill, dtype=values.dtype)
    ok = row >= 0
    out[ok] = values[row[ok]]
    return out


def _first_per(group: np.ndarray, where: np.ndarray, n: int, *, last: bool = False) -> np.ndarray:
    """Per group 0…n−1 (``group`` sorted), the first (``last``: the last) position where
    ``where`` holds; −1 where it never does."""
    at = np.flatnonzero(where)
    if last:
        at = at[::-1]
    out = np.full(n, -1, dtype=np.int64)
    keys, first = np.unique(group[at], return_index=True)
    out[keys] = at[first]
    return out


def episode_outcomes(
    scores: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    scale: str,
    score_col: str = "total",
    id_col: str = "episode_id",
    date_col: str = "date",
    scale_col: str | None = "scale",
    admit_col: str = "admit_date",
    discharge_col: str = "discharge_date",
    carry_cols: tuple[str, ...] = ("patient_id", "cohort_id", "discharge_type"),
    baseline_window: tuple[int, int] = (-7, 7),
    endpoint: Literal["last", "discharge"] = "last",
    discharge_window: int = 7,
    facts: ScaleFacts | None = None,
    reliability: float | None = None,
    sd_source: Literal["sample", "norms"] = "sample",
    sd_by: str | None = None,
    critical_value: float | None = None,
    confidence: float = 0.95,
    cutoff: Literal["a", "b", "c"] | float | None = "c",
    b_sd: Literal["functional", "clinical"] = "functional",
    m_functional: float | None = None,
    sd_functional: float | None = None,
    remission_below: float | None = None,
    response_reduction: float | None = None,
    mcid: float | None = None,
    lower_is_better: bool | None = None,
) -> pd.DataFrame:
    """Per-episode outcomes for one scale.

    Columns: ``baseline, endpoint`` (see :func:`episode_scores`), ``change`` (endpoint −
    baseline), ``pct_change`` (change/baseline; NaN when baseline is 0), ``response``
    (direction·pct_change ≥ ``response_reduction``, default 50 %, HEDIS/NCQA), ``remission``
    (endpoint < ``remission_below``), ``mcid_reached`` (improvement ≥ MCID points),
    ``rci`` (Jacobson–Truax), ``reliable_improvement``/``reliable_deterioration``
    (|RCI| > ``critical_value``, strict; default the exact two-sided normal quantile for
    ``confidence``, 1.959964 at 0.95 — :func:`iopkit.outcomes.z_critical`),
    ``clinical_pre``/``functional_post`` (strict
    boundaries), ``category`` (recovered/improved/unchanged/deteriorated/harmed) and
    ``baseline_case`` (clinical at baseline; report non-cases separately).

    Facts come from ``facts`` or ``iopkit.scales`` (registry), each overridable here.
    ``sd_source="sample"``: SD of complete-case baselines (n − 1), within ``sd_by`` groups when
    given (e.g. ``"cohort_id"``); ``"norms"``: the registry's clinical-norm SD.
    ``cutoff``: criterion a/b/c (clinical mean/SD = the same sample or norms as the RCI SD;
    functional norms from the registry or arguments), a number, or None (no categories).
    The variants used are listed in ``attrs["variants"]``.
    """
    given = dict(
        reliability=reliability,
        functional_mean=m_functional,
        functional_sd=sd_functional,
        remission_below=remission_below,
        response_reduction=response_reduction,
        mcid=mcid,
        lower_is_better=lower_is_better,
    )
    if facts is None:
        f = scale_facts(scale, **given)  # registry facts, non-None arguments override
    else:
        f = replace(facts, **{k: v for k, v in given.items() if v is not None})
    d = direction_of(f.lower_is_better)
    es = episode_scores(
        scores,
        episodes,
        scale=scale,
        score_col=score_col,
        id_col=id_col,
        date_col=date_col,
        scale_col=scale_col,
        admit_col=admit_col,
        discharge_col=discharge_col,
        baseline_window=baseline_window,
        endpoint=endpoint,
        discharge_window=discharge_window,
    )
    carry = [c for c in carry_cols if c in episodes.columns and c != id_col]
    if sd_by is not None and sd_by not in carry:
        require_columns(episodes, [sd_by], table="episodes")
        carry.append(sd_by)
    out = es.merge(episodes[[id_col, *carry]], on=id_col, how="left")
    out.insert(1, "scale", scale)
    x1 = out["baseline"].to_numpy(float)
    x2 = out["endpoint"].to_numpy(float)
    ok = ~(np.isnan(x1) | np.isnan(x2))
    change = x2 - x1
    out["change"] = change
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(x1 != 0, change / x1, np.nan)
    out["pct_change"] = pct
    variants: dict[str, str] = {}

    def boolcol(values: np.ndarray, valid: np.ndarray) -> pd.arrays.BooleanArray:
        arr = pd.array(values & valid, dtype="boolean")
        arr[~valid] = pd.NA
        return arr

    resp = f.response_reduction if f.response_reduction is not None else 0.5
    out["response"] = boolcol(d * pct >= resp, ok & ~np.isnan(pct))
    variants["response"] = (
        f"≥ {resp:.0%} improvement from baseline (HEDIS/NCQA; pct = change/baseline)"
    )
    if f.remission_below is not None:
        rem = (x2 < f.remission_below) if f.lower_is_better else (x2 > f.remission_below)
        out["remission"] = boolcol(rem, ok)
        variants["remission"] = (
            f"endpoint {'<' if f.lower_is_better else '>'} {f.remission_below:g}"
        )
    else:
        out["remission"] = pd.array([pd.NA] * len(out), dtype="boolean")
        variants["remission"] = "not computed: no remission threshold in registry or arguments"
    if f.mcid is not None:
        out["mcid_reached"] = boolcol(d * change >= f.mcid, ok)
        variants["mcid_reached"] = f"improvement ≥ {f.mcid:g} points"
    else:
        out["mcid_reached"] = pd.array([pd.NA] * len(out), dtype="boolean")
        variants["mcid_reached"] = "not computed: no MCID in registry or arguments"
    r = f.need("reliability")
    if not 0 < r < 1:
        raise InputError(f"reliability must be in (0, 1), got {r}", rule="reliability in (0, 1)")
    # SD (and clinical mean) for the RCI and cut-offs
    if sd_source == "norms":
        sd_row = np.full(len(out), float(f.need("clinical_sd")))
        m_row = np.full(len(out), float(f.need("clinical_mean")))
        sd_label = f"clinical norms SD {f.clinical_sd:g} ({f.norms_source or f.source})"
    elif sd_source == "sample":
        base_cc = pd.Series(np.where(ok, x1, np.nan), index=out.index)
        if sd_by is None:
            sd_row = np.full(len(out), base_cc.std(ddof=1))
            m_row = np.full(len(out), base_cc.mean())
            sd_label = "complete-case baseline SD (n − 1) of the analysed episodes"
        else:
            g = base_cc.groupby(out[sd_by].to_numpy())
            sd_row = g.transform("std").to_numpy(float)  # ddof = 1
            m_row = g.transform("mean").to_numpy(float)
            sd_label = f"complete-case baseline SD (n − 1) within each {sd_by}"
    else:
        raise InputError(
            f"sd_source must be 'sample' or 'norms', got {sd_source!r}", rule="sd_source"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        sdiff = np.sqrt(2.0) * sd_row * np.sqrt(1 - r)
        rci = change / sdiff
    out["rci"] = rci
    out["rci_sd"] = sd_row
    valid_rci = ok & np.isfinite(rci)
    if critical_value is None:
        critical_value = z_critical(confidence)
    out["reliable_improvement"] = boolcol(d * rci > critical_value, valid_rci)
    out["reliable_deterioration"] = boolcol(d * rci < -critical_value, valid_rci)
    variants["rci"] = (
        f"Jacobson & Truax 1991 RCI, r = {r:g} ({f.reliability_source or f.source}),"
        f" SD = {sd_label}; reliable if |RCI| > {critical_value:.6f} (strict)"
    )
    # clinically significant change
    if cutoff is None:
        cut_row = np.full(len(out), np.nan)
        variants["category"] = "not computed (cutoff=None)"
    elif isinstance(cutoff, int | float):
        cut_row = np.full(len(out), float(cutoff))
        variants["category"] = f"JT categories with fixed cut-off {cutoff:g}"
    else:
        mf, sf = f.functional_mean, f.functional_sd
        if cutoff in ("b", "c") and (mf is None or sf is None):
            raise InputError(
                f"cut-off {cutoff!r} needs functional norms: pass m_functional= and sd_functional= "
                "or use cutoff='a', a number, or None",
                rule="cut-off b/c need functional norms",
            )
        cut_row = np.full(len(out), np.nan)
        valid = ~(np.isnan(m_row) | np.isnan(sd_row))
        if valid.any():  # every row's own clinical mean and SD (one per sd_by group)
            cut_row[valid] = cutoff_values(m_row[valid], sd_row[valid], mf, sf,
                                           lower_is_better=f.lower_is_better,
                                           b_sd=b_sd)[cutoff]  # fmt: skip
        variants["category"] = (
            f"JT 1991 criterion {cutoff}"
            + (f" (b with SD_{b_sd})" if cutoff == "b" else "")
            + f"; clinical mean/SD = {sd_label}; functional norms M {mf}, SD {sf}; "
            "categories as clinicalsignificance calc_recovered, strict boundaries"
        )
    out["cutoff"] = cut_row
    has_cut = ~np.isnan(cut_row)
    cp = boolcol(d * x1 < d * cut_row, ~np.isnan(x1) & has_cut)
    fp = boolcol(d * x2 > d * cut_row, ~np.isnan(x2) & has_cut)
    out["clinical_pre"] = cp
    out["functional_post"] = fp
    out["baseline_case"] = cp
    out["category"] = categorize(
        cp, fp, out["reliable_improvement"].array, out["reliable_deterioration"].array
    )
    counts = {
        "episodes": len(out),
        "with_baseline": int((~np.isnan(x1)).sum()),
        "with_endpoint": int(out["endpoint"].notna().sum()),
        "paired": int(ok.sum()),
        "no_baseline": int(np.isnan(x1).sum()),
        "baseline_no_endpoint": int((~np.isnan(x1) & np.isnan(x2)).sum()),
    }
    out.attrs.update(es.attrs)
    out.attrs.update(
        variants=variants,
        counts=counts,
        scale=scale,
        facts_source=f.source,
        lower_is_better=f.lower_is_better,
    )
    return out


def talking_therapies(
    depression: pd.DataFrame,
    anxiety: pd.DataFrame,
    *,
    id_col: str = "episode_id",
    depression_caseness: float | None = None,
    anxiety_caseness: float | None = None,
    depression_reliable_change: float | None = None,
    anxiety_reliable_change: float | None = None,
    depression_scale: str = "phq9",
    anxiety_scale: str | None = None,
) -> pd.DataFrame:
    """NHS Talking Therapies (IAPT) paired-measure outcomes per episode.

    Inputs are two :func:`episode_outcomes` frames (PHQ-9 and the paired anxiety measure,
    e.g. GAD-7) with ``baseline`` and ``endpoint``. Thresholds come from the registry
    (``caseness``, ``reliable_change_points``) or the arguments; published values
    [V, NHS Digital via PMC8411661 Table 1]: PHQ-9 caseness ≥ 10, reliable change ≥ 6;
    GAD-7 caseness ≥ 8, reliable change ≥ 4.

    Combination rule — **[M]**, no primary source located (confirm in the current NHS
    Talking Therapies manual) — chosen here:

    * ``case_at_baseline``: at or above caseness on at least one measure;
    * ``reliable_improvement``: a drop ≥ the threshold on at least one measure and no rise ≥
      the threshold on the other; ``reliable_deterioration``: the mirror image;
    * ``recovery``: case at baseline and below caseness on both measures at the end
      (``<NA>`` for non-cases, who are not in the recovery denominator);
    * ``reliable_recovery``: recovery and reliable improvement.

    Only episodes with both measures at baseline and endpoint are classified (``paired``).
    """
    aname = anxiety_scale or (
        str(anxiety["scale"].iloc[0]) if "scale" in anxiety and len(anxiety) else "anxiety"
    )
    fd = scale_facts(
        depression_scale,
        caseness=depression_caseness,
        reliable_change_points=depression_reliable_change,
    )
    fa = scale_facts(
        aname, caseness=anxiety_caseness, reliable_change_points=anxiety_reliable_change
    )
    cd, ca = fd.need("caseness"), fa.need("caseness")
    rd, ra = fd.need("reliable_change_points"), fa.need("reliable_change_points")
    for frame, name in ((depression, "depression"), (anxiety, "anxiety")):
        require_columns(frame, [id_col, "baseline", "endpoint"], table=name)
    m = depression[[id_col, "baseline", "endpoint"]].merge(
        anxiety[[id_col, "baseline", "endpoint"]], on=id_col, how="outer", suffixes=("_dep", "_anx")
    )
    cols = ["baseline_dep", "endpoint_dep", "baseline_anx", "endpoint_anx"]
    v = {c: m[c].to_numpy(float) for c in cols}
    paired = ~np.isnan(np.column_stack([v[c] for c in cols])).any(axis=1)
    case = (v["baseline_dep"] >= cd) | (v["baseline_anx"] >= ca)
    drop_d = v["baseline_dep"] - v["endpoint_dep"]
    drop_a = v["baseline_anx"] - v["endpoint_anx"]
    imp_d, imp_a = drop_d >= rd, drop_a >= ra
    det_d, det_a = -drop_d >= rd, -drop_a >= ra
    ri = (imp_d | imp_a) & ~det_d & ~det_a
    rdet = (det_d | det_a) & ~imp_d & ~imp_a
    below = (v["endpoint_dep"] < cd) & (v["endpoint_anx"] < ca)

    def b(values: np.ndarray, valid: np.ndarray) -> pd.arrays.BooleanArray:
        arr = pd.array(values & valid, dtype="boolean")
        arr[~valid] = pd.NA
        return arr

    out = m[[id_col, *cols]].copy()
    out["paired"] = paired
    out["case_at_baseline"] = b(case, paired)
    out["reliable_improvement"] = b(ri, paired)
    out["reliable_deterioration"] = b(rdet, paired)
    out["recovery"] = b(case & below, paired & case)
    out["reliable_recovery"] = b(case & below & ri, paired & case)
    out.attrs["variant"] = (
        f"NHS Talking Therapies paired measures: {depression_scale} caseness ≥ {cd:g}, reliable "
        f"change ≥ {rd:g}; {aname} caseness ≥ {ca:g}, reliable change ≥ {ra:g}. Combination "
        "rule [M]: improvement on ≥ 1 measure without deterioration on the other; recovery = "
        "case at baseline and below caseness on both at the end."
    )
    return out
