"""Reliable change (Jacobson & Truax 1991 and variants) and clinically significant change.

Conventions (Jacobson & Truax 1991, J Consult Clin Psychol 59:12; verified against the R package
``clinicalsignificance`` v3.0.0, ``R/calc_rci.R``, ``R/package-utils.R``, ``R/calc_cutoff.R``,
``R/calc_recovered.R``, ``R/calc_percentage.R``; Claus et al., J Stat Softw,
doi 10.18637/jss.v111.i01):

* complete cases only (both pre and post present); sample statistics use ``ddof=1`` (n − 1);
* ``change = post − pre``; ``direction = −1`` when lower scores are better;
* reliable improvement ⇔ ``direction·RCI > critical`` (strict), deterioration ⇔ ``< −critical``;
* critical value from the confidence level, exactly as R (``cs_distribution.R``: ``qnorm(1 −
  α/2)``, and ``qnorm(1 − α)`` for Hageman–Arrindell): :func:`z_critical` — 1.959964 two-sided
  and 1.644854 one-sided at 95 %, never the rounded 1.96/1.65.

Every result frame carries ``attrs["variant"]`` and a ``method`` column naming the formula.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from iopkit.errors import InputError
from iopkit.outcomes._common import as_float, direction_of, require_columns

__all__ = [
    "RCI_METHODS",
    "se_measurement",
    "s_diff",
    "se_prediction",
    "reliability_ha",
    "reliable_change",
    "cutoffs",
    "cutoff_values",
    "true_score_cutoffs",
    "percentage_change",
    "clinical_significance",
    "category_counts",
    "CATEGORIES",
    "z_critical",
]

RCI_METHODS = ("JT", "GLN", "HLL", "EN", "NK", "HA")
CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated", "harmed")

_METHOD_FORMULA = {
    "JT": "Jacobson & Truax 1991: (post − pre) / S_diff, S_diff = √2·SD_pre·√(1 − r)",
    "GLN": "Gulliksen–Lord–Novick: [(post − M_pre) − r(pre − M_pre)] / (SD_pre·√(1 − r²))",
    "HLL": "Hsu–Linn–Lord: [(post − M_post) − r(pre − M_pre)] / (SD_pre·√(1 − r²))",
    "EN": "Edwards–Nunnally (Speer): [post − (r(pre − M_pre) + M_pre)] / (SD_pre·√(1 − r))",
    "NK": "Nunnally–Kotsch: [post − (r(pre − M_pre) + M_pre)] / √(r²SD²(1 − r) + SD²(1 − r_post))",
    "HA": "Hageman & Arrindell 1999: [(post − pre)r_dd + (M_post − M_pre)(1 − r_dd)] / "
    "(√r_dd·√2·SE_m)",
}


def z_critical(confidence: float = 0.95, *, sided: Literal["two", "one"] = "two") -> float:
    """Standard-normal critical value for a confidence level (α = 1 − ``confidence``).

    Two-sided: Φ⁻¹(1 − α/2) (0.95 → 1.959964); one-sided: Φ⁻¹(1 − α) (0.95 → 1.644854);
    ``scipy.stats.norm.ppf``, the R ``stats::qnorm`` that ``clinicalsignificance``
    (``R/cs_distribution.R``, ``cs_statistical.R``, ``cs_combined.R``) uses.
    """
    if confidence is None or not np.isfinite(confidence) or not 0 < confidence < 1:
        raise InputError(
            f"confidence must be strictly between 0 and 1, got {confidence!r}",
            rule="confidence in (0, 1)",
        )
    if sided not in ("two", "one"):
        raise InputError(f"sided must be 'two' or 'one', got {sided!r}", rule="sided")
    alpha = 1 - float(confidence)
    return float(stats.norm.ppf(1 - alpha / 2 if sided == "two" else 1 - alpha))


def _check_reliability(r: float, name: str = "reliability") -> float:
    if r is None or not np.isfinite(r) or not 0 < r < 1:
        raise InputError(
            f"{name} must be strictly between 0 and 1, got {r!r}", rule=f"{name} in (0, 1)"
        )
    return float(r)


def se_measurement(sd: float, reliability: float) -> float:
    """Standard error of measurement SE_m = SD·√(1 − r) (Jacobson & Truax 1991), scale points."""
    return float(sd) * np.sqrt(1 - _check_reliability(reliability))


def s_diff(sd: float, reliability: float) -> float:
    """Standard error of the difference S_diff = √(2·SE_m²) (Jacobson & Truax 1991)."""
    return float(np.sqrt(2 * se_measurement(sd, reliability) ** 2))


def reliable_change_threshold(
    outcomes: pd.DataFrame,
    *,
    confidence: float = 0.95,
    critical_value: float | None = None,
    reliability: float | None = None,
) -> float:
    """Reliable-change threshold in scale points, ``z · S_diff`` (Jacobson & Truax 1991,
    doi 10.1037/0022-006X.59.1.12), for :func:`iopkit.outcomes.episode_outcomes` of one scale.

    S_diff uses the RCI SD the outcomes were computed with (their ``rci_sd`` column) and the
    scale's reliability from the registry (``reliability`` overrides it, as in
    ``episode_outcomes``); ``z`` is :func:`z_critical` at ``confidence`` unless
    ``critical_value`` is given. Outcomes with one SD per group (``sd_by``) have one
    threshold per group and are refused (InputError), as are outcomes without any RCI SD.
    """
    from iopkit.outcomes._common import scale_facts

    require_columns(outcomes, ["scale", "rci_sd"], table="outcomes")
    scales = outcomes["scale"].dropna().unique()
    sds = outcomes["rci_sd"].dropna().unique()
    if len(scales) != 1 or len(sds) == 0:
        raise InputError(
            "no episode with a reliable-change SD for one scale; cannot draw the RC band",
            rule="reliable-change threshold",
        )
    if len(sds) > 1:
        raise InputError(
            f"the outcomes carry {len(sds)} RCI SDs (one per sd_by group), so there is no "
            "single reliable-change threshold; compute the outcomes without sd_by",
            rule="reliable-change threshold",
        )
    r = scale_facts(str(scales[0]), reliability=reliability).need("reliability")
    z = z_critical(confidence) if critical_value is None else float(critical_value)
    return float(z * s_diff(float(sds[0]), r))


def se_prediction(sd: float, reliability: float) -> float:
    """Standard error of prediction SD·√(1 − r²) (used by GLN and HLL)."""
    return float(sd) * np.sqrt(1 - _check_reliability(reliability) ** 2)


def reliability_ha(sd: float, se: float) -> float:
    """Hageman & Arrindell reliability from an SD and an SE of measurement: (SD² − SE²)/SD²."""
    return (float(sd) ** 2 - float(se) ** 2) / float(sd) ** 2


def _complete(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    return ~(np.isnan(pre) | np.isnan(post))


def _where_complete(flags: np.ndarray, ok: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Nullable boolean: ``flags`` where the case is complete (``ok``), ``<NA>`` elsewhere."""
    out = pd.array(np.where(ok, flags, False), dtype="boolean")
    out[~ok] = pd.NA
    return out


def _sd(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    if x.size < 2:
        raise InputError(
            "need at least 2 complete cases to estimate an SD (n − 1)", rule="sample SD needs n ≥ 2"
        )
    return float(np.std(x, ddof=1))


def reliable_change(
    pre: pd.Series | np.ndarray,
    post: pd.Series | np.ndarray,
    *,
    reliability: float,
    method: Literal["JT", "GLN", "HLL", "EN", "NK", "HA"] = "JT",
    lower_is_better: bool = True,
    sd_pre: float | None = None,
    m_pre: float | None = None,
    m_post: float | None = None,
    sd_post: float | None = None,
    reliability_post: float | None = None,
    critical_value: float | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Reliable change index per case.

    Reliable improvement ⇔ direction·RCI > ``critical_value``; by default the critical value is
    :func:`z_critical` of ``confidence`` — two-sided, one-sided for HA, as R
    ``clinicalsignificance`` (``significance_level = 1 − confidence``).

    ``sd_pre``/``m_pre``/``m_post``/``sd_post`` default to the complete-case sample values
    (ddof = 1), as in ``clinicalsignificance``; pass norm values to use a reference population.
    The HA variant also needs the complete-case pre–post correlation, always from the data.
    Rows missing pre or post get ``rci`` NaN and ``<NA>`` categories; they are kept, not dropped.

    Returns columns ``pre, post, change, rci, improved, deteriorated, unchanged, method``;
    ``attrs`` holds the variant, critical value and the statistics used.
    """
    method = method.upper()  # type: ignore[assignment]
    if method not in RCI_METHODS:
        raise InputError(
            f"unknown RCI method {method!r}; choose one of {', '.join(RCI_METHODS)}",
            rule="RCI method",
        )
    index = pre.index if isinstance(pre, pd.Series) else None
    x1 = as_float(pre)
    x2 = as_float(post)
    if x1.shape != x2.shape:
        raise InputError("pre and post have different lengths", rule="paired scores")
    r = _check_reliability(reliability)
    ok = _complete(x1, x2)
    d = direction_of(lower_is_better)
    sd_source = "given" if sd_pre is not None else "complete-case sample SD of pre (n − 1)"
    sd1 = float(sd_pre) if sd_pre is not None else _sd(x1[ok])
    mean1 = float(m_pre) if m_pre is not None else float(np.mean(x1[ok]))
    mean2 = float(m_post) if m_post is not None else float(np.mean(x2[ok]))
    if critical_value is not None:
        crit = float(critical_value)
        crit_source = "given"
    else:
        sided: Literal["two", "one"] = "one" if method == "HA" else "two"
        crit = z_critical(confidence, sided=sided)
        crit_source = f"Φ⁻¹, {sided}-sided, confidence {confidence}"
    info: dict[str, float | str] = {"sd_pre": sd1, "sd_source": sd_source, "reliability": r}
    change = x2 - x1
    if method == "JT":
        den = s_diff(sd1, r)
        rci = change / den
        info["s_diff"] = den
    elif method in ("GLN", "HLL"):
        den = se_prediction(sd1, r)
        centre_post = mean1 if method == "GLN" else mean2
        rci = ((x2 - centre_post) - r * (x1 - mean1)) / den
        info.update(se_prediction=den, m_pre=mean1)
        if method == "HLL":
            info["m_post"] = mean2
    elif method == "EN":
        den = se_measurement(sd1, r)
        rci = (x2 - (r * (x1 - mean1) + mean1)) / den
        info.update(se_measurement=den, m_pre=mean1)
    elif method == "NK":
        if reliability_post is None:
            raise InputError("the NK method needs reliability_post", rule="NK reliability_post")
        r2 = _check_reliability(reliability_post, "reliability_post")
        den = float(np.sqrt(r**2 * sd1**2 * (1 - r) + sd1**2 * (1 - r2)))
        rci = (x2 - (r * (x1 - mean1) + mean1)) / den
        info.update(denominator=den, m_pre=mean1, reliability_post=r2)
    else:  # HA
        sd2 = float(sd_post) if sd_post is not None else _sd(x2[ok])
        se = se_measurement(sd1, r)
        rxx1 = reliability_ha(sd1, se)
        rxx2 = reliability_ha(sd2, se)
        cor = float(np.corrcoef(x1[ok], x2[ok])[0, 1])
        num = sd1**2 * rxx1 + sd2**2 * rxx2 - 2 * sd1 * sd2 * cor
        den_dd = sd1**2 + sd2**2 - 2 * sd1 * sd2 * cor
        r_dd = num / den_dd
        rci = (change * r_dd + (mean2 - mean1) * (1 - r_dd)) / (np.sqrt(r_dd) * np.sqrt(2 * se**2))
        info.update(
            se_measurement=se,
            r_xx_pre=rxx1,
            r_xx_post=rxx2,
            cor_pre_post=cor,
            r_dd=r_dd,
            m_pre=mean1,
            m_post=mean2,
            sd_post=sd2,
        )
    improved = _where_complete(d * rci > crit, ok)
    deteriorated = _where_complete(d * rci < -crit, ok)
    out = pd.DataFrame(
        {
            "pre": x1,
            "post": x2,
            "change": change,
            "rci": rci,
            "improved": improved,
            "deteriorated": deteriorated,
            "unchanged": ~improved & ~deteriorated,
            "method": method,
        },
        index=index,
    )
    out.attrs.update(
        variant=f"RCI {method}",
        formula=_METHOD_FORMULA[method],
        critical_value=crit,
        critical_value_source=crit_source,
        rule=f"reliable improvement if direction·RCI > {crit:.6f}; deterioration if "
        f"< −{crit:.6f} (strict)",
        lower_is_better=lower_is_better,
        n_complete=int(ok.sum()),
        n_total=int(ok.size),
        **info,
    )
    return out


def cutoff_values(
    m_clinical: float | np.ndarray,
    sd_clinical: float | np.ndarray,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    *,
    lower_is_better: bool = True,
    b_sd: Literal["functional", "clinical"] = "functional",
) -> dict[str, np.ndarray]:
    """The Jacobson & Truax (1991) cut-offs a, b and c of :func:`cutoffs` as arrays, for one
    clinical mean and SD or one per element (e.g. per cohort): ``{"a": …, "b": …, "c": …}``
    (b and c NaN without functional norms). The formulas live here only."""
    m = np.asarray(m_clinical, dtype=float)
    sd = np.asarray(sd_clinical, dtype=float)
    d = direction_of(lower_is_better)
    out = {"a": m + d * 2 * sd}
    if m_functional is None or sd_functional is None:
        nan = np.full(np.broadcast(m, sd).shape, np.nan)
        return {**out, "b": nan, "c": nan.copy()}
    if b_sd not in ("functional", "clinical"):
        raise InputError(f"b_sd must be 'functional' or 'clinical', got {b_sd!r}", rule="b_sd")
    sd_b = sd_functional if b_sd == "functional" else sd
    shape = np.broadcast(m, sd).shape
    out["b"] = np.broadcast_to(m_functional - d * 2 * np.asarray(sd_b, dtype=float), shape).copy()
    out["c"] = (sd * m_functional + sd_functional * m) / (sd + sd_functional)
    return out


def cutoffs(
    m_clinical: float,
    sd_clinical: float,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    *,
    lower_is_better: bool = True,
    b_sd: Literal["functional", "clinical"] = "functional",
) -> pd.DataFrame:
    """Jacobson & Truax (1991) clinical-significance cut-offs a, b and c.

    * a = M_clin − direction·… : 2 SD_clin beyond the clinical mean toward functioning;
    * b = 2 SD from the functional mean toward dysfunction, using **SD_functional** as in
      JT 1991 (``b_sd="functional"``, default) or SD_clinical as the R package
      ``clinicalsignificance`` does (``b_sd="clinical"``, to match its output);
    * c = (SD_clin·M_func + SD_func·M_clin) / (SD_clin + SD_func).

    b and c are NaN when no functional norms are given. Returns one row per criterion with
    ``value``, ``formula`` and ``source``.
    """
    v = cutoff_values(m_clinical, sd_clinical, m_functional, sd_functional,
                      lower_is_better=lower_is_better, b_sd=b_sd)  # fmt: skip
    rows = [("a", float(v["a"]), "M_clin + direction·2·SD_clin", "Jacobson & Truax 1991")]
    if m_functional is not None and sd_functional is not None:
        b, c = float(v["b"]), float(v["c"])
        rows.append(
            (
                "b",
                b,
                f"M_func − direction·2·SD_{b_sd}",
                "Jacobson & Truax 1991"
                if b_sd == "functional"
                else "clinicalsignificance R package (.calc_cutoff_jt)",
            )
        )
        rows.append(
            (
                "c",
                c,
                "(SD_clin·M_func + SD_func·M_clin)/(SD_clin + SD_func)",
                "Jacobson & Truax 1991",
            )
        )
    else:
        rows += [
            ("b", np.nan, "needs functional norms", ""),
            ("c", np.nan, "needs functional norms", ""),
        ]
    out = pd.DataFrame(rows, columns=["criterion", "value", "formula", "source"])
    out.attrs["variant"] = f"JT cut-offs, b with SD_{b_sd}"
    return out


def true_score_cutoffs(
    m_clinical: float,
    sd_clinical: float,
    reliability_clinical: float,
    m_functional: float,
    sd_functional: float,
    reliability_functional: float,
    *,
    lower_is_better: bool = True,
    b_sd: Literal["functional", "clinical"] = "clinical",
) -> pd.DataFrame:
    """Hageman & Arrindell true-score cut-offs (Bauer et al. 2004 example in
    ``clinicalsignificance`` ``tests/testthat/test-calc_cutoff.R``).

    a_true = M_clin + direction·2·SD_clin·√r_clin;
    b_true = M_func − direction·2·SD_b·√r_b (package: clinical SD and reliability, the default
    here so results match; ``b_sd="functional"`` uses SD_func·√r_func as in JT's criterion b);
    c_true = (SD_func·√r_func·M_clin + SD_clin·√r_clin·M_func)/(SD_func·√r_func + SD_clin·√r_clin).
    """
    d = direction_of(lower_is_better)
    sc = sd_clinical * np.sqrt(_check_reliability(reliability_clinical, "reliability_clinical"))
    sf = sd_functional * np.sqrt(
        _check_reliability(reliability_functional, "reliability_functional")
    )
    a = m_clinical + d * 2 * sc
    b = m_functional - d * 2 * (sc if b_sd == "clinical" else sf)
    c = (sf * m_clinical + sc * m_functional) / (sf + sc)
    out = pd.DataFrame(
        [("a_true", a), ("b_true", b), ("c_true", c)], columns=["criterion", "value"]
    )
    out["source"] = "Hageman & Arrindell 1999; Bauer et al. 2004"
    out.attrs["variant"] = f"HA true-score cut-offs, b with SD_{b_sd}"
    return out


def percentage_change(
    pre: pd.Series | np.ndarray,
    post: pd.Series | np.ndarray,
    *,
    improvement: float = 0.5,
    deterioration: float | None = None,
    lower_is_better: bool = True,
) -> pd.DataFrame:
    """Percentage change per case, as ``clinicalsignificance::calc_percentage``.

    ``pct_change = (post − pre)/pre``; improved ⇔ direction·pct ≥ ``improvement`` (inclusive);
    deteriorated ⇔ direction·pct ≤ −``deterioration`` (defaults to ``improvement``);
    pre = post ⇒ unchanged. Missing pre or post ⇒ ``<NA>``.

    pre = 0 and post ≠ 0 gives pct = ±inf, classified by the direction: a rise from 0 is an
    improvement when higher is better and a deterioration when lower is better. (The R
    package codes "pre = 0 and post > 0 ⇒ improved" regardless of direction, which for a
    lower-is-better symptom scale would call a patient both improved and deteriorated; we
    deviate there on purpose — iopkit design decision [D], docs/outcomes.md.)
    """
    index = pre.index if isinstance(pre, pd.Series) else None
    x1, x2 = as_float(pre), as_float(post)
    det = improvement if deterioration is None else deterioration
    for name, v in (("improvement", improvement), ("deterioration", det)):
        if not 0 <= v <= 1:
            raise InputError(
                f"{name} threshold must be a proportion in [0, 1], got {v}",
                rule="percentage threshold",
            )
    d = direction_of(lower_is_better)
    ok = _complete(x1, x2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (x2 - x1) / x1
        imp = d * pct >= improvement  # ±inf when pre = 0 falls on the side of the direction
        dete = d * pct <= -det
    same = x1 == x2
    imp = _where_complete(np.where(same, False, imp), ok)
    dete = _where_complete(np.where(same, False, dete), ok)
    out = pd.DataFrame(
        {
            "pre": x1,
            "post": x2,
            "pct_change": pct,
            "improved": imp,
            "deteriorated": dete,
            "unchanged": ~imp & ~dete,
        },
        index=index,
    )
    out.attrs.update(
        variant=f"percentage change, improvement ≥ {improvement:.0%}, deterioration ≥ {det:.0%}",
        source="clinicalsignificance calc_percentage",
    )
    return out


def clinical_significance(
    data: pd.DataFrame,
    pre: str,
    post: str,
    *,
    reliability: float,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    m_clinical: float | None = None,
    sd_clinical: float | None = None,
    cutoff: Literal["a", "b", "c"] | float = "c",
    b_sd: Literal["functional", "clinical"] = "functional",
    method: Literal["JT", "GLN", "HLL", "EN", "NK", "HA"] = "JT",
    lower_is_better: bool = True,
    sd_pre: float | None = None,
    reliability_post: float | None = None,
    critical_value: float | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Combined reliable + clinically significant change (Jacobson & Truax 1991) per row.

    ``m_clinical``/``sd_clinical`` default to the complete-case pre mean and SD (n − 1), as in
    ``clinicalsignificance``. ``cutoff`` is a criterion name or a number. Boundaries are strict:
    with lower is better, clinical at pre ⇔ pre > cut-off, functional at post ⇔ post < cut-off.

    Categories (``clinicalsignificance`` ``calc_recovered``): recovered = clinical pre ∧
    functional post ∧ reliably improved; improved = reliably improved, not recovered;
    unchanged; harmed = ¬clinical pre ∧ ¬functional post ∧ reliably deteriorated;
    deteriorated = reliably deteriorated, not harmed. ``baseline_case`` marks cases clinical at
    baseline; "recovered" is only possible for them — report the others separately
    (:func:`category_counts`). Rows without both scores are kept with ``category`` missing.
    With ``method="HA"`` the HA RCI is combined with these JT cut-off categories; the R
    package's HA combined method (true-score cut-off and ``cs_indiv``) is not reproduced.
    """
    require_columns(data, [pre, post], table="data")
    x1, x2 = as_float(data[pre]), as_float(data[post])
    ok = _complete(x1, x2)
    rc = reliable_change(
        pd.Series(x1, index=data.index),
        pd.Series(x2, index=data.index),
        reliability=reliability,
        method=method,
        lower_is_better=lower_is_better,
        sd_pre=sd_pre,
        reliability_post=reliability_post,
        critical_value=critical_value,
        confidence=confidence,
    )
    mc = float(np.mean(x1[ok])) if m_clinical is None else float(m_clinical)
    sc = _sd(x1[ok]) if sd_clinical is None else float(sd_clinical)
    if isinstance(cutoff, str):
        table = cutoffs(
            mc, sc, m_functional, sd_functional, lower_is_better=lower_is_better, b_sd=b_sd
        )
        value = float(table.set_index("criterion").loc[cutoff, "value"])
        if np.isnan(value):
            raise InputError(
                f"cut-off {cutoff!r} needs functional norms (m_functional, sd_functional)",
                rule="cut-off b/c need functional norms",
            )
        cut_name = cutoff + (f" (b with SD_{b_sd})" if cutoff == "b" else "")
    else:
        value, cut_name = float(cutoff), "given"
    d = direction_of(lower_is_better)
    clinical_pre = pd.array(d * x1 < d * value, dtype="boolean")
    functional_post = pd.array(d * x2 > d * value, dtype="boolean")
    clinical_pre[np.isnan(x1)] = pd.NA
    functional_post[np.isnan(x2)] = pd.NA
    out = rc.copy()
    out["clinical_pre"] = clinical_pre
    out["functional_post"] = functional_post
    out["category"] = categorize(
        clinical_pre, functional_post, rc["improved"].array, rc["deteriorated"].array
    )
    out["baseline_case"] = clinical_pre
    out.attrs.update(rc.attrs)
    out.attrs.update(
        variant=f"JT combined ({rc.attrs['variant']}, cut-off {cut_name} = {value:.6g})",
        cutoff=value,
        cutoff_criterion=cut_name,
        m_clinical=mc,
        sd_clinical=sc,
        m_functional=m_functional,
        sd_functional=sd_functional,
    )
    return out


def categorize(clinical_pre, functional_post, improved, deteriorated) -> pd.Categorical:
    """Category per case from four boolean arrays (``<NA>`` where any input is missing)."""
    cp = pd.array(clinical_pre, dtype="boolean")
    fp = pd.array(functional_post, dtype="boolean")
    im = pd.array(improved, dtype="boolean")
    de = pd.array(deteriorated, dtype="boolean")
    missing = cp.isna() | fp.isna() | im.isna() | de.isna()
    cpv, fpv = cp.fillna(False).to_numpy(bool), fp.fillna(False).to_numpy(bool)
    imv, dev = im.fillna(False).to_numpy(bool), de.fillna(False).to_numpy(bool)
    recovered = cpv & fpv & imv
    harmed = ~cpv & ~fpv & dev
    cat = np.select(
        [recovered, imv, harmed, dev],
        ["recovered", "improved", "harmed", "deteriorated"],
        default="unchanged",
    ).astype(object)
    cat[np.asarray(missing)] = None
    return pd.Categorical(cat, categories=list(CATEGORIES))


def category_counts(
    frame: pd.DataFrame,
    *,
    category: str = "category",
    baseline_case: str | None = "baseline_case",
    by: str | list[str] | None = None,
) -> pd.DataFrame:
    """Counts per category; with ``baseline_case`` the non-case-at-baseline rows are reported
    in their own ``baseline`` stratum ("non-case at baseline"), never mixed into "recovered".

    Returns long rows ``[by…, baseline, category, n]`` with every category listed (zeros shown)
    and a ``missing`` row for cases without a category; counts reconcile with ``len(frame)``.
    """
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    f = frame.copy()
    cat = f[category].astype(object).where(f[category].notna(), "missing")
    f["_cat"] = pd.Categorical(cat, categories=[*CATEGORIES, "missing"])
    if baseline_case is not None:
        bc = f[baseline_case].astype("boolean")
        f["baseline"] = np.where(
            bc.isna(),
            "baseline missing",
            np.where(bc.fillna(False), "case at baseline", "non-case at baseline"),
        )
    else:
        f["baseline"] = "all"
    g = f.groupby([*keys, "baseline", "_cat"], observed=False, dropna=False).size()
    out = g.rename("n").reset_index().rename(columns={"_cat": "category"})
    if baseline_case is not None:
        present = set(f["baseline"])
        out = out[out["baseline"].isin(present)]
    out = out[~((out["category"] == "missing") & (out["n"] == 0))].reset_index(drop=True)
    out["category"] = out["category"].astype(str)
    return out
