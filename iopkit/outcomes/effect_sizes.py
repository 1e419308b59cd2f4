"""Pre–post and between-group standardized effect sizes, each named by its formula.

Sources: Lakens (2013), *Front Psychol* 4:863 (d_z, d_av, d_rm, g_av, d_s, g_s); Morris &
DeShon (2002) (d_rm); Becker (1988) (d_pre and its large-sample variance). Sign convention:
the mean difference is ``post − pre`` (or ``x1 − x2`` between groups), so a fall in a
lower-is-better score gives a negative d.

Confidence intervals (95 % by default):

* d_z and d_s: exact, by inverting the noncentral t distribution (Steiger & Fouladi 1997;
  Cumming & Finch 2001) — ``ci_method = "noncentral t"``;
* d_av, d_av_rms, d_rm, d_pre: normal approximation with Becker's (1988) variance
  ``2(1 − r)/n + d²/(2n)`` — ``ci_method = "normal, Becker 1988 variance"``;
* Hedges' g: the CI of the d it corrects, multiplied by the same factor J = 1 − 3/(4·df − 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from iopkit.errors import InputError
from iopkit.outcomes._common import as_float

__all__ = ["paired_effect_sizes", "independent_effect_sizes", "hedges_j", "nct_ci"]

_FORMULAS = {
    "d_z": "M_diff / SD_diff (Lakens 2013 eq. 6)",
    "d_av": "M_diff / ((SD_pre + SD_post)/2) (Lakens 2013 eq. 10, arithmetic-mean SD)",
    "d_av_rms": "M_diff / √((SD_pre² + SD_post²)/2) (root-mean-square SD; pingouin 'd_avg', "
    "effectsize rm_d 'd_av')",
    "d_rm": "M_diff / √(SD_pre² + SD_post² − 2r·SD_pre·SD_post) · √(2(1 − r)) "
    "(Morris & DeShon 2002; Lakens 2013 eq. 9)",
    "d_pre": "M_diff / SD_pre (Becker 1988; Glass-like, pre-treatment SD)",
    "g_av": "d_av · (1 − 3/(4(n − 1) − 1)) (Hedges' g on d_av, Lakens 2013)",
    "d_s": "(M1 − M2) / pooled SD (Lakens 2013 eq. 1)",
    "g_s": "d_s · (1 − 3/(4(n1 + n2 − 2) − 1)) (Hedges' g, Lakens 2013 eq. 4)",
}


def hedges_j(df: float) -> float:
    """Small-sample correction factor J = 1 − 3/(4·df − 1) (Hedges & Olkin 1985)."""
    return 1 - 3 / (4 * df - 1)


def nct_ci(t: float, df: float, scale: float, confidence: float = 0.95) -> tuple[float, float]:
    """CI for a standardized difference d = t·scale by inverting the noncentral t (exact)."""
    if not np.isfinite(t) or df <= 0:
        return (np.nan, np.nan)
    alpha = 1 - confidence

    def solve(target: float) -> float:
        def f(ncp: float) -> float:
            p = stats.nct.cdf(t, df, ncp)
            if np.isnan(p):  # far tails underflow: cdf is 1 for ncp << t and 0 for ncp >> t
                p = 1.0 if ncp < t else 0.0
            return p - target

        width = 5 + abs(t)
        lo, hi = t - width, t + width
        while f(lo) < 0:
            lo -= width
        while f(hi) > 0:
            hi += width
        return optimize.brentq(f, lo, hi, xtol=1e-10)

    return (solve(1 - alpha / 2) * scale, solve(alpha / 2) * scale)


def _normal_ci(d: float, r: float, n: int, confidence: float) -> tuple[float, float]:
    se = np.sqrt(2 * (1 - r) / n + d**2 / (2 * n))
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    return (d - z * se, d + z * se)


def paired_effect_sizes(
    pre: pd.Series | np.ndarray,
    post: pd.Series | np.ndarray,
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Pre–post effect sizes on complete pairs (rows missing either score are excluded and
    counted in ``n_excluded``).

    Returns one row per measure (d_z, d_av, d_av_rms, d_rm, d_pre, g_av) with ``estimate``,
    ``ci_low``, ``ci_high``, ``ci_method``, ``formula``, ``n`` (pairs), ``n_excluded``,
    ``m_diff``, ``sd_pre``, ``sd_post``, ``r``. Needs ≥ 3 complete pairs.
    """
    x1, x2 = as_float(pre), as_float(post)
    if x1.shape != x2.shape:
        raise InputError("pre and post have different lengths", rule="paired scores")
    ok = ~(np.isnan(x1) | np.isnan(x2))
    n = int(ok.sum())
    if n < 3:
        raise InputError(
            f"paired effect sizes need at least 3 complete pairs, got {n}", rule="n ≥ 3 pairs"
        )
    a, b = x1[ok], x2[ok]
    diff = b - a
    m = float(diff.mean())
    s1, s2, sd = float(a.std(ddof=1)), float(b.std(ddof=1)), float(diff.std(ddof=1))
    r = float(np.corrcoef(a, b)[0, 1]) if s1 > 0 and s2 > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        d_z = m / sd
        d_av = m / ((s1 + s2) / 2)
        d_av_rms = m / np.sqrt((s1**2 + s2**2) / 2)
        d_rm = m / np.sqrt(s1**2 + s2**2 - 2 * r * s1 * s2) * np.sqrt(2 * (1 - r))
        d_pre = m / s1
    j = hedges_j(n - 1)
    z_lo, z_hi = nct_ci(d_z * np.sqrt(n), n - 1, 1 / np.sqrt(n), confidence)
    rows = [("d_z", d_z, z_lo, z_hi, "noncentral t")]
    for name, d in (("d_av", d_av), ("d_av_rms", d_av_rms), ("d_rm", d_rm), ("d_pre", d_pre)):
        lo, hi = _normal_ci(d, r, n, confidence)
        rows.append((name, d, lo, hi, "normal, Becker 1988 variance"))
    av_lo, av_hi = _normal_ci(d_av, r, n, confidence)
    rows.append(("g_av", d_av * j, av_lo * j, av_hi * j, "d_av CI × J"))
    out = pd.DataFrame(rows, columns=["measure", "estimate", "ci_low", "ci_high", "ci_method"])
    out["formula"] = out["measure"].map(_FORMULAS)
    out["confidence"] = confidence
    out["n"] = n
    out["n_excluded"] = int((~ok).sum())
    out["m_diff"], out["sd_pre"], out["sd_post"], out["r"] = m, s1, s2, r
    out.attrs["variant"] = "paired (pre–post) effect sizes, mean difference = post − pre"
    return out


def independent_effect_sizes(
    x1: pd.Series | np.ndarray,
    x2: pd.Series | np.ndarray,
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Between-groups d_s (pooled SD) and Hedges' g_s for ``x1 − x2`` (Lakens 2013 eq. 1, 4),
    with noncentral-t CIs. Missing values are excluded and counted."""
    a, b = as_float(x1), as_float(x2)
    na, nb = int((~np.isnan(a)).sum()), int((~np.isnan(b)).sum())
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if na < 2 or nb < 2:
        raise InputError("each group needs at least 2 values", rule="n ≥ 2 per group")
    df = na + nb - 2
    sp = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / df)
    d = (a.mean() - b.mean()) / sp
    scale = np.sqrt(1 / na + 1 / nb)
    lo, hi = nct_ci(d / scale, df, scale, confidence)
    j = hedges_j(df)
    out = pd.DataFrame(
        [("d_s", d, lo, hi, "noncentral t"), ("g_s", d * j, lo * j, hi * j, "d_s CI × J")],
        columns=["measure", "estimate", "ci_low", "ci_high", "ci_method"],
    )
    out["formula"] = out["measure"].map(_FORMULAS)
    out["confidence"] = confidence
    out["n1"], out["n2"] = na, nb
    out.attrs["variant"] = "between-groups effect sizes, difference = x1 − x2"
    return out
