"""Pre–post and between-group standardized effect sizes, each named by its formula and CI.

Sign convention: the mean difference is ``post − pre`` (or ``x1 − x2`` between groups), so a
fall in a lower-is-better score gives a negative d. In R ``effectsize`` terms (v1.0.3,
``R/repeated_measures_d.R``, ``R/cohens_d.R``) ``paired_effect_sizes(pre, post)`` is
``rm_d(post, pre, adjust = FALSE)`` — effectsize's ``x − y`` with ``y`` the reference.

Estimates (Lakens 2013, *Front Psychol* 4:863, doi:10.3389/fpsyg.2013.00863) and their
confidence intervals — each row's ``ci_method`` names the formula used:

=========  ===================================  ==============================================
measure    standardiser                         CI (z = Φ⁻¹(1 − α/2), ``scipy.stats.norm.ppf``)
=========  ===================================  ==============================================
d_z        SD_diff                              exact noncentral t (Steiger & Fouladi 1997) —
                                                ``effectsize::cohens_d(post - pre)``; or
                                                normal, SE² = 1/n + d²/(2n) (Hedges & Olkin
                                                1985 p. 86 eq. 14) — ``rm_d(method = "z")``
d_rm       SD_diff / √(2(1 − r))                normal, SE² = (1/n + d²/(2n))·2(1 − r)
                                                (Cooper, Hedges & Valentine 2009 eq. 12.21) —
                                                ``rm_d(method = "rm")``
d_av_rms   √((SD_pre² + SD_post²)/2)            normal, SE = SD_diff/(√n·s) (Algina &
                                                Keselman 2003 eq. 4) — ``rm_d(method = "av")``
d_av       (SD_pre + SD_post)/2 (Lakens eq. 10) normal, SE = SD_diff/(√n·s): the Algina &
                                                Keselman form with this standardiser (no R
                                                function computes Lakens' arithmetic-mean d_av)
d_pre      SD_pre                               normal, SE² = 2(1 − r)/n + d²/(2n) (Becker
                                                1988 eq. 6) — ``rm_d(method = "b")``
g_av       d_av × J(n − 1)                      d_av's CI × J
d_s        pooled SD                            exact noncentral t — ``cohens_d(x1, x2)``
g_s        d_s × J(n1 + n2 − 2)                 d_s's CI × J — ``hedges_g(x1, x2)``
=========  ===================================  ==============================================

Hedges' correction J is exact by default, J(df) = Γ(df/2) / (√(df/2)·Γ((df − 1)/2))
(Hedges 1981, *J Educ Stat* 6:107, eq. 6e; effectsize ``.J``); ``hedges="approximate"`` uses
J ≈ 1 − 3/(4·df − 1) (Hedges & Olkin 1985 p. 81). All SDs use n − 1; r is Pearson's.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from iopkit.errors import InputError
from iopkit.outcomes._common import as_float

__all__ = [
    "FORMULAS",
    "HEDGES_J_METHODS",
    "hedges_j",
    "hedges_j_array",
    "independent_effect_sizes",
    "nct_ci",
    "nct_ci_array",
    "paired_effect_sizes_from_moments",
    "normal_ci",
    "paired_effect_sizes",
]

HEDGES_J_METHODS = ("exact", "approximate")

#: each measure's formula and source, as shown in output rows
FORMULAS = {
    "d_z": "M_diff / SD_diff (Lakens 2013 eq. 6)",
    "d_av": "M_diff / ((SD_pre + SD_post)/2) (Lakens 2013 eq. 10, arithmetic-mean SD)",
    "d_av_rms": "M_diff / √((SD_pre² + SD_post²)/2) (root-mean-square SD; pingouin 'd_avg', "
    "effectsize rm_d 'd_av')",
    "d_rm": "M_diff / √(SD_pre² + SD_post² − 2r·SD_pre·SD_post) · √(2(1 − r)) "
    "(Morris & DeShon 2002; Lakens 2013 eq. 9)",
    "d_pre": "M_diff / SD_pre (Becker 1988; effectsize rm_d 'b', pre-treatment SD)",
    "g_av": "d_av · J(n − 1) (Hedges' g on d_av, Lakens 2013)",
    "d_s": "(M1 − M2) / pooled SD (Lakens 2013 eq. 1)",
    "g_s": "d_s · J(n1 + n2 − 2) (Hedges' g, Lakens 2013 eq. 4)",
}

_CI_METHOD = {
    "d_z": "noncentral t",
    "d_z normal": "normal, SE² = 1/n + d²/(2n) (Hedges & Olkin 1985 p. 86 eq. 14)",
    "d_rm": "normal, SE² = (1/n + d²/(2n))·2(1 − r) (Cooper et al. 2009 eq. 12.21)",
    "d_av_rms": "normal, SE = SD_diff/(√n·SD_rms) (Algina & Keselman 2003 eq. 4)",
    "d_av": "normal, SE = SD_diff/(√n·SD_av) (Algina & Keselman 2003 eq. 4 form)",
    "d_pre": "normal, SE² = 2(1 − r)/n + d²/(2n) (Becker 1988 eq. 6)",
    "d_s": "noncentral t",
}


def hedges_j(df: float, method: Literal["exact", "approximate"] = "exact") -> float:
    """Hedges' small-sample correction factor J for a d with ``df`` degrees of freedom.

    ``"exact"``: J = Γ(df/2) / (√(df/2)·Γ((df − 1)/2)) (Hedges 1981 eq. 6e; R effectsize
    ``.J``), computed on the log scale (``scipy.special.gammaln``) so large df do not overflow.
    ``"approximate"``: J = 1 − 3/(4·df − 1) (Hedges & Olkin 1985 p. 81). Needs df > 1.
    """
    df = float(df)
    if not df > 1:
        raise InputError(f"Hedges' J needs df > 1, got {df}", rule="df > 1")
    return float(hedges_j_array(np.array([df]), method)[0])


def hedges_j_array(df: np.ndarray, method: Literal["exact", "approximate"] = "exact") -> np.ndarray:
    """:func:`hedges_j` element-wise (NaN where df ≤ 1)."""
    if method not in HEDGES_J_METHODS:
        raise InputError(
            f"unknown Hedges J method {method!r}; choose one of {', '.join(HEDGES_J_METHODS)}",
            rule="Hedges J method",
        )
    df = np.where(np.asarray(df, dtype=float) > 1, df, np.nan)
    if method == "approximate":
        return 1 - 3 / (4 * df - 1)
    log_j = special.gammaln(df / 2) - 0.5 * np.log(df / 2) - special.gammaln((df - 1) / 2)
    return np.exp(log_j)


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise InputError(
            f"confidence must be strictly between 0 and 1, got {confidence!r}",
            rule="confidence in (0, 1)",
        )
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def normal_ci(estimate: float, se: float, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided normal interval ``estimate ± Φ⁻¹(1 − α/2)·se`` (R ``qnorm``, not 1.96)."""
    z = _z(confidence)
    return (estimate - z * se, estimate + z * se)


def nct_ci(t: float, df: float, scale: float, confidence: float = 0.95) -> tuple[float, float]:
    """CI for a standardized difference d = t·scale by inverting the noncentral t (exact).

    The bounds are the noncentrality parameters λ with P(T ≤ t | λ) = 1 − α/2 and α/2
    (Steiger & Fouladi 1997), times ``scale`` (e.g. 1/√n for d_z, √(1/n1 + 1/n2) for d_s),
    as effectsize ``.get_ncp_t``.
    """
    lo, hi = nct_ci_array(np.array([t]), np.array([df]), np.array([scale]), confidence)
    return (float(lo[0]), float(hi[0]))


def nct_ci_array(
    t: np.ndarray, df: np.ndarray, scale: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nct_ci` element-wise: one root search for all elements at once (NaN where t is
    not finite or df ≤ 0).

    The root of the decreasing F(λ) = P(T ≤ t | λ) − target is bracketed from
    [t − w, t + w], w = 5 + |t|, widened by w until it changes sign, then found by the
    Illinois variant of regula falsi (Dowell & Jarratt 1971, *BIT* 11:168,
    doi:10.1007/BF01934364) to a bracket narrower than 1e-12 — the tolerance of the
    ``scipy.optimize.brentq`` search this replaces, so every group of a cohort summary is
    solved in one vectorised pass instead of one Python loop per group.
    """
    _z(confidence)
    t, df, scale = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(t, df, scale))
    alpha = 1 - confidence
    ok = np.isfinite(t) & (df > 0)
    lo_out = np.full(t.shape, np.nan)
    hi_out = np.full(t.shape, np.nan)
    if ok.any():
        tt, dd = t[ok], df[ok]
        lo_out[ok] = _nct_root(tt, dd, 1 - alpha / 2) * scale[ok]
        hi_out[ok] = _nct_root(tt, dd, alpha / 2) * scale[ok]
    return lo_out, hi_out


def _nct_root(t: np.ndarray, df: np.ndarray, target: float) -> np.ndarray:
    def f(ncp: np.ndarray, idx: np.ndarray) -> np.ndarray:
        # the noncentral t CDF as scipy.stats.nct.cdf computes it (its ``_cdf`` is this
        # ufunc), without the per-call argument checks of the distribution object
        p = special.nctdtr(df[idx], ncp, t[idx])
        # far tails underflow: the cdf is 1 for ncp << t and 0 for ncp >> t
        p = np.where(np.isnan(p), np.where(ncp < t[idx], 1.0, 0.0), p)
        return p - target

    every = np.arange(t.size)
    width = 5 + np.abs(t)
    lo, hi = t - width, t + width
    f_lo, f_hi = f(lo, every), f(hi, every)
    for _ in range(200):  # widen until the bracket holds the root (F decreases in λ)
        low = f_lo < 0
        high = f_hi > 0
        if not (low.any() or high.any()):
            break
        lo[low] -= width[low]
        hi[high] += width[high]
        if low.any():
            f_lo[low] = f(lo[low], every[low])
        if high.any():
            f_hi[high] = f(hi[high], every[high])
    x = (lo + hi) / 2
    side = np.zeros(t.size, dtype=np.int8)  # which end moved last (Illinois halving)
    active = (hi - lo) > 1e-12
    for _ in range(200):
        if not active.any():
            break
        i = every[active]
        a, b, fa, fb = lo[i], hi[i], f_lo[i], f_hi[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = b - fb * (b - a) / (fb - fa)
        bad = ~np.isfinite(xi) | (xi <= a) | (xi >= b)
        xi = np.where(bad, (a + b) / 2, xi)
        fx = f(xi, i)
        x[i] = xi
        root = fx == 0
        to_lo = (fx > 0) & ~root  # F(x) > target: the root lies right of x
        to_hi = (fx < 0) & ~root
        # Illinois: when the same end is kept twice, halve its function value
        keep_hi = to_lo & (side[i] == 1)
        keep_lo = to_hi & (side[i] == -1)
        lo[i[to_lo]], f_lo[i[to_lo]] = xi[to_lo], fx[to_lo]
        hi[i[to_hi]], f_hi[i[to_hi]] = xi[to_hi], fx[to_hi]
        f_hi[i[keep_hi]] /= 2
        f_lo[i[keep_lo]] /= 2
        side[i] = np.where(to_lo, 1, np.where(to_hi, -1, 0))
        lo[i[root]] = hi[i[root]] = xi[root]
        active[i] = (hi[i] - lo[i]) > 1e-12 * np.maximum(1, np.abs(xi))
    return np.where(lo == hi, lo, x)


def paired_effect_sizes(
    pre: pd.Series | np.ndarray,
    post: pd.Series | np.ndarray,
    *,
    confidence: float = 0.95,
    hedges: Literal["exact", "approximate"] = "exact",
    d_z_ci: Literal["noncentral t", "normal"] = "noncentral t",
) -> pd.DataFrame:
    """Pre–post effect sizes on complete pairs (rows missing either score are excluded and
    counted in ``n_excluded``); formulas and CI methods in the module docstring.

    Returns one row per measure (d_z, d_av, d_av_rms, d_rm, d_pre, g_av) with ``estimate``,
    ``ci_low``, ``ci_high``, ``ci_method`` (the interval's formula and source), ``formula``,
    ``confidence``, ``n`` (pairs), ``n_excluded``, ``m_diff``, ``sd_pre``, ``sd_post``, ``r``.
    ``hedges`` picks the J of g_av; ``d_z_ci="normal"`` gives effectsize ``rm_d(method="z")``'s
    interval instead of the exact one. Needs ≥ 3 complete pairs.
    """
    if d_z_ci not in ("noncentral t", "normal"):
        raise InputError(
            f"d_z_ci must be 'noncentral t' or 'normal', got {d_z_ci!r}", rule="d_z CI method"
        )
    x1, x2 = as_float(pre), as_float(post)
    if x1.shape != x2.shape:
        raise InputError("pre and post have different lengths", rule="paired scores")
    ok = ~(np.isnan(x1) | np.isnan(x2))
    n = int(ok.sum())
    if n < 3:
        raise InputError(
            f"paired effect sizes need at least 3 complete pairs, got {n}", rule="n ≥ 3 pairs"
        )
    j = hedges_j(n - 1, hedges)
    a, b = x1[ok], x2[ok]
    diff = b - a
    m = float(diff.mean())
    s1, s2, sd = float(a.std(ddof=1)), float(b.std(ddof=1)), float(diff.std(ddof=1))
    r = float(np.corrcoef(a, b)[0, 1]) if s1 > 0 and s2 > 0 else np.nan
    est = paired_effect_sizes_from_moments(
        *(np.array([v], dtype=float) for v in (n, m, s1, s2, sd, r)),
        confidence=confidence,
        hedges=hedges,
        d_z_ci=d_z_ci,
    )
    rows = [
        (k, float(e[0]), float(lo[0]), float(hi[0]), meth) for k, (e, lo, hi, meth) in est.items()
    ]
    out = pd.DataFrame(rows, columns=["measure", "estimate", "ci_low", "ci_high", "ci_method"])
    out["formula"] = out["measure"].map(FORMULAS)
    out["confidence"] = confidence
    out["n"] = n
    out["n_excluded"] = int((~ok).sum())
    out["m_diff"], out["sd_pre"], out["sd_post"], out["r"] = m, s1, s2, r
    out.attrs["variant"] = "paired (pre–post) effect sizes, mean difference = post − pre"
    out.attrs["hedges_j"] = j
    return out


def paired_effect_sizes_from_moments(
    n: np.ndarray,
    m_diff: np.ndarray,
    sd_pre: np.ndarray,
    sd_post: np.ndarray,
    sd_diff: np.ndarray,
    r: np.ndarray,
    *,
    confidence: float = 0.95,
    hedges: Literal["exact", "approximate"] = "exact",
    d_z_ci: Literal["noncentral t", "normal"] = "noncentral t",
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """The formulas of :func:`paired_effect_sizes` on arrays of moments (one element per
    group: pairs, mean difference post − pre, SDs with n − 1, Pearson r), so a cohort summary
    computes every group at once. Returns ``measure → (estimate, ci_low, ci_high,
    ci_method)`` in the order d_z, d_av, d_av_rms, d_rm, d_pre, g_av."""
    n, m, s1, s2, sd, r = (
        np.asarray(v, dtype=float) for v in (n, m_diff, sd_pre, sd_post, sd_diff, r)
    )
    z = _z(confidence)
    j = hedges_j_array(n - 1, hedges)
    f = 2 * (1 - r)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_av, s_rms = (s1 + s2) / 2, np.sqrt((s1**2 + s2**2) / 2)
        d = {
            "d_z": m / sd,
            "d_av": m / s_av,
            "d_av_rms": m / s_rms,
            "d_rm": m / np.sqrt(s1**2 + s2**2 - 2 * r * s1 * s2) * np.sqrt(f),
            "d_pre": m / s1,
        }
        se = {
            "d_rm": np.sqrt((1 / n + d["d_rm"] ** 2 / (2 * n)) * f),
            "d_av_rms": sd / np.sqrt(n) / s_rms,
            "d_av": sd / np.sqrt(n) / s_av,
            "d_pre": np.sqrt(f / n + d["d_pre"] ** 2 / (2 * n)),
        }
        if d_z_ci == "noncentral t":
            z_lo, z_hi = nct_ci_array(d["d_z"] * np.sqrt(n), n - 1, 1 / np.sqrt(n), confidence)
            z_method = _CI_METHOD["d_z"]
        else:
            z_se = np.sqrt(1 / n + d["d_z"] ** 2 / (2 * n))
            z_lo, z_hi = d["d_z"] - z * z_se, d["d_z"] + z * z_se
            z_method = _CI_METHOD["d_z normal"]
    out = {"d_z": (d["d_z"], z_lo, z_hi, z_method)}
    for name in ("d_av", "d_av_rms", "d_rm", "d_pre"):
        out[name] = (d[name], d[name] - z * se[name], d[name] + z * se[name], _CI_METHOD[name])
    av, av_lo, av_hi, _ = out["d_av"]
    out["g_av"] = (av * j, av_lo * j, av_hi * j, f"d_av CI × J ({hedges})")
    return out


def independent_effect_sizes(
    x1: pd.Series | np.ndarray,
    x2: pd.Series | np.ndarray,
    *,
    confidence: float = 0.95,
    hedges: Literal["exact", "approximate"] = "exact",
) -> pd.DataFrame:
    """Between-groups d_s (pooled SD) and Hedges' g_s for ``x1 − x2`` (Lakens 2013 eq. 1, 4)
    with noncentral-t CIs — R ``effectsize::cohens_d(x1, x2)`` and ``hedges_g(x1, x2)``
    (g's CI = d's CI × J). Missing values are excluded and counted."""
    a, b = as_float(x1), as_float(x2)
    na, nb = int((~np.isnan(a)).sum()), int((~np.isnan(b)).sum())
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if na < 2 or nb < 2:
        raise InputError("each group needs at least 2 values", rule="n ≥ 2 per group")
    df = na + nb - 2
    j = hedges_j(df, hedges)
    sp = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / df)
    d = (a.mean() - b.mean()) / sp
    scale = np.sqrt(1 / na + 1 / nb)
    lo, hi = nct_ci(d / scale, df, scale, confidence)
    out = pd.DataFrame(
        [
            ("d_s", d, lo, hi, _CI_METHOD["d_s"]),
            ("g_s", d * j, lo * j, hi * j, f"d_s CI × J ({hedges})"),
        ],
        columns=["measure", "estimate", "ci_low", "ci_high", "ci_method"],
    )
    out["formula"] = out["measure"].map(FORMULAS)
    out["confidence"] = confidence
    out["n1"], out["n2"] = na, nb
    out.attrs["variant"] = "between-groups effect sizes, difference = x1 − x2"
    out.attrs["hedges_j"] = j
    return out
