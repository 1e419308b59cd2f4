"""Mixed-effects model of score over time in treatment (statsmodels ``MixedLM``).

Primary longitudinal analysis (likelihood-based, valid under MAR; National Research Council
2010): ``score ~ weeks [+ covariates]`` with a random intercept and a random slope for time
per episode. When the slope model does not converge (statsmodels reports non-convergence, a
``ConvergenceWarning``, or a singular random-effects covariance) the function refits with a
random intercept only and says so in the ``model`` column — the fitted model is always named.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from iopkit.errors import InputError
from iopkit.outcomes._common import require_columns

__all__ = ["mixed_model"]


def _fit(formula: str, data: pd.DataFrame, group: str, re_formula: str, reml: bool):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = smf.mixedlm(formula, data, groups=data[group], re_formula=re_formula)
        try:
            res = model.fit(reml=reml, method=["lbfgs", "powell"])
        except (np.linalg.LinAlgError, ValueError) as exc:
            return None, f"fit failed: {exc}"
    problems = [
        str(w.message).splitlines()[0] for w in caught if issubclass(w.category, ConvergenceWarning)
    ]
    if not res.converged:
        problems.append("optimizer did not converge")
    cov = np.atleast_2d(np.asarray(res.cov_re, dtype=float))
    if cov.size and (not np.all(np.isfinite(cov)) or np.linalg.eigvalsh(cov).min() <= 1e-8):
        problems.append("random-effects covariance is singular")
    return res, "; ".join(problems)


def mixed_model(
    data: pd.DataFrame,
    *,
    outcome: str = "score",
    time: str = "weeks",
    group: str = "episode_id",
    covariates: Sequence[str] = (),
    random_slope: bool = True,
    fallback: bool = True,
    reml: bool = True,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Fit ``outcome ~ time + covariates`` with random effects per ``group``.

    ``data`` is long (one row per assessment), e.g. from :func:`iopkit.outcomes.with_weeks`
    (``score``, ``weeks`` = days since admission / 7, ``episode_id``). ``covariates`` are
    formula terms (e.g. ``"C(cohort_id)"``). Rows missing outcome, time or group are excluded
    and counted (``n_excluded``).

    Returns the fixed effects: ``term, estimate, se, ci_low, ci_high, p`` (Wald, normal),
    with ``model`` (``"random intercept + slope"`` or ``"random intercept only"`` + reason),
    ``reml``, ``n_obs``, ``n_groups``, ``n_excluded``; ``attrs`` holds the random-effects
    covariance, residual variance, log-likelihood and (ML only) AIC.
    """
    require_columns(data, [outcome, time, group], table="data")
    cols = [outcome, time, group]
    d = data.copy()
    for c in (outcome, time):
        d[c] = pd.to_numeric(d[c], errors="coerce")
    keep = d[cols].notna().all(axis=1)
    n_excluded = int((~keep).sum())
    d = d[keep.to_numpy()]
    if d[group].nunique() < 3:
        raise InputError(
            "the mixed model needs at least 3 groups (episodes) with data",
            column=group,
            rule="≥ 3 groups",
        )
    rhs = " + ".join([f"Q('{time}')" if not time.isidentifier() else time, *covariates])
    lhs = f"Q('{outcome}')" if not outcome.isidentifier() else outcome
    formula = f"{lhs} ~ {rhs}"
    tterm = f"Q('{time}')" if not time.isidentifier() else time
    res, problem, label = None, "", ""
    if random_slope:
        res, problem = _fit(formula, d, group, f"~{tterm}", reml)
        label = "random intercept + slope"
        if problem and fallback:
            res2, problem2 = _fit(formula, d, group, "~1", reml)
            if res2 is not None:
                res, label = res2, f"random intercept only (slope model: {problem})"
                problem = problem2
    if res is None or not random_slope:
        res, problem = _fit(formula, d, group, "~1", reml)
        label = "random intercept only"
        if res is None:
            raise InputError(f"mixed model could not be fitted: {problem}", rule="MixedLM fit")
    fe = res.fe_params
    bse = res.bse_fe
    ci = res.conf_int(alpha=1 - confidence).loc[fe.index]
    out = pd.DataFrame(
        {
            "term": [t.replace(f"Q('{time}')", time) for t in fe.index],
            "estimate": fe.to_numpy(),
            "se": bse.to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
            "p": res.pvalues.loc[fe.index].to_numpy(),
        }
    )
    out["model"] = label + (f" [warning: {problem}]" if problem else "")
    out["reml"] = reml
    out["n_obs"] = int(res.nobs)
    out["n_groups"] = int(d[group].nunique())
    out["n_excluded"] = n_excluded
    out["ci_method"] = "Wald (normal)"
    out.attrs.update(
        variant=f"statsmodels MixedLM {formula}, {label}, {'REML' if reml else 'ML'}",
        cov_re=pd.DataFrame(res.cov_re),
        residual_variance=float(res.scale),
        llf=float(res.llf),
        aic=float(res.aic) if not reml else np.nan,
        formula=formula,
    )
    return out
