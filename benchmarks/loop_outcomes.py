"""The straightforward pandas implementation of :func:`iopkit.outcomes.cohort_summary`: one
Python loop over groups, calling the scalar statistics (``mean_ci``, ``paired_effect_sizes``,
``wilson_rate``, ``category_counts``) group by group — iopkit's cohort summary before it was
vectorised across groups (issue 17). The outcomes benchmark times it against the library on
the same data and checks both give the same table, so the ratio compares the same work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from iopkit.outcomes import category_counts, mean_ci, paired_effect_sizes, wilson_rate
from iopkit.outcomes._common import require_columns

_RATES = (
    ("response", None),
    ("remission", None),
    ("mcid_reached", None),
    ("reliable_improvement", None),
    ("reliable_deterioration", None),
    ("recovered", "baseline_case"),
)


def _sets(
    o: pd.DataFrame, completed_col: str | None, completed_values: Sequence[str]
) -> dict[str, np.ndarray]:
    base = o["baseline"].notna().to_numpy()
    paired = base & o["endpoint"].notna().to_numpy()
    sets = {"itt": base, "paired": paired}
    if completed_col is not None and completed_col in o.columns:
        sets["completers"] = paired & o[completed_col].isin(list(completed_values)).to_numpy()
    return sets


def loop_cohort_summary(
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
