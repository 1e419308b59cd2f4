"""Mixed-effects model of score over time in treatment (statsmodels ``MixedLM``), fitted to
the optimum and checked there.

Primary longitudinal analysis (likelihood-based, valid under MAR; National Research Council
2010): ``score ~ weeks [+ covariates]`` with a random intercept and a random slope for time
per episode — in lme4 terms ``lmer(score ~ weeks + … + (weeks | episode_id), REML = …)``
(Bates, Mächler, Bolker & Walker 2015, *J Stat Softw* 67(1), doi:10.18637/jss.v067.i01).

How a fit is accepted (statsmodels' own "converged" flag is not trusted: on the HSAUR
Beat-the-Blues random-slope ML model its default L-BFGS stops at logLik −935.136 and says
"converged"; the optimum is −934.904, issue 14):

1. Fit with an optimiser (``optimizers``, default order lbfgs, bfgs, cg, powell, nm).
2. At the solution, on the profiled log-likelihood ℓ(θ) over the relative random-effects
   Cholesky factor θ (lme4's θ; fixed effects and σ² profiled out), take the analytic
   gradient g (``MixedLM.score``) and the Hessian H (central differences of g), and refine by
   Newton steps with backtracking while H is negative definite. The reported point must have
   a negative-definite H and a Newton gain ½·gᵀ(−H)⁻¹g below ``NEWTON_GAIN_TOL`` log-likelihood
   units (the Newton decrement, Boyd & Vandenberghe 2004 §9.5.1, estimates ℓ_max − ℓ).
3. When the optimiser's own result did not pass step 2 unrefined, the next optimisers are
   run too (all of them with ``compare_optimizers=True``) and the best log-likelihood is kept;
   ``optimizers_agree`` says whether their results were within ``AGREE_TOL`` of each other.
4. Boundary: a diagonal element of θ below 1e-4 is a singular fit (lme4 ``isSingular``
   tolerance). A slope model on the boundary or not at an optimum falls back (``fallback``)
   to a random intercept only, and says why in ``model``.

Standard errors of the fixed effects are lme4's: Var(β̂) = σ̂²·(Σᵢ Xᵢᵀ(ZᵢΛZᵢᵀ + I)⁻¹Xᵢ)⁻¹ at
the estimates (conditional on the variance parameters, lme4 ``vcov.merMod``), not the
inverse of statsmodels' joint observed Hessian, which is 0.1–2 % larger here. Intervals and
p-values are Wald (normal).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams
from statsmodels.tools.sm_exceptions import ConvergenceWarning, SingularMatrixWarning

from iopkit.errors import InputError
from iopkit.outcomes._common import require_columns

__all__ = [
    "AGREE_TOL",
    "MIXED_OPTIMIZERS",
    "NEWTON_GAIN_TOL",
    "SINGULAR_TOL",
    "mixed_model",
]

MIXED_OPTIMIZERS = ("lbfgs", "bfgs", "cg", "powell", "nm")
NEWTON_GAIN_TOL = 1e-6  # log-likelihood units
AGREE_TOL = 1e-3  # log-likelihood units between optimisers
SINGULAR_TOL = 1e-4  # lme4 isSingular(tol = 1e-4) on the relative Cholesky factor θ
_MAX_NEWTON = 25


@dataclass
class _Check:
    """The optimum checks at a point θ of the profiled log-likelihood."""

    theta: np.ndarray
    llf: float
    gradient: np.ndarray
    hessian: np.ndarray
    gain: float
    negative_definite: bool
    boundary: bool

    @property
    def ok(self) -> bool:
        """An interior maximum: negative-definite Hessian, Newton gain below tolerance."""
        return self.negative_definite and self.gain < NEWTON_GAIN_TOL and not self.boundary


@dataclass
class _Run:
    optimizer: str
    llf: float = np.nan
    raw: _Check | None = None
    refined: _Check | None = None
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.raw is None or self.refined is None:
            return f"{self.optimizer}: failed ({self.error})"
        text = f"{self.optimizer} logLik {self.llf:.6f}"
        if self.refined.boundary:
            text += f" (boundary; refined to {self.refined.llf:.6f})"
        elif not self.raw.ok:
            text += (
                f" (not at an optimum: Newton gain {self.raw.gain:.2g}"
                + ("" if self.raw.negative_definite else ", Hessian not negative definite")
                + f"; refined to {self.refined.llf:.6f})"
            )
        return text


def _gradient(model: MixedLM, theta: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # near a boundary statsmodels warns per evaluation; the boundary is reported instead
        warnings.simplefilter("ignore", SingularMatrixWarning)
        return np.asarray(model.score(theta), dtype=float)


def _check(model: MixedLM, theta: np.ndarray, hessian: np.ndarray | None = None) -> _Check:
    """Gradient (analytic ``MixedLM.score``), Hessian (forward differences of the gradient,
    unless given) and Newton gain ½·gᵀ(−H)⁻¹g of the profiled log-likelihood at θ."""
    g = _gradient(model, theta)
    if hessian is None:
        k = theta.size
        hessian = np.zeros((k, k))
        for j in range(k):
            step = np.zeros(k)
            step[j] = 1e-6 * max(1.0, abs(theta[j]))
            hessian[:, j] = (_gradient(model, theta + step) - g) / step[j]
        hessian = (hessian + hessian.T) / 2
    nd = bool(np.all(np.linalg.eigvalsh(hessian) < 0))
    gain = float(0.5 * g @ np.linalg.solve(-hessian, g)) if nd else np.inf
    lower = np.zeros((model.k_re, model.k_re))
    lower[np.tril_indices(model.k_re)] = theta[: model.k_re2]
    boundary = bool(np.abs(np.diag(lower)).min() < SINGULAR_TOL)
    return _Check(theta, float(model.loglike(theta)), g, hessian, gain, nd, boundary)


def _refine(model: MixedLM, check: _Check) -> _Check:
    """Newton steps with backtracking from ``check`` while the Hessian is negative definite
    (the Hessian of the starting point is kept: θ moves by less than its curvature scale)."""
    for _ in range(_MAX_NEWTON):
        if not check.negative_definite or check.gain < NEWTON_GAIN_TOL * 1e-6:
            break
        direction = np.linalg.solve(-check.hessian, check.gradient)
        a = 1.0
        while True:
            trial = model.loglike(check.theta + a * direction)
            if np.isfinite(trial) and trial >= check.llf:
                break
            a /= 2
            if a < 1e-6:
                return check
        check = _check(model, check.theta + a * direction, check.hessian)
    return check


def _run(model: MixedLM, reml: bool, optimizer: str) -> _Run:
    run = _Run(optimizer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit(reml=reml, method=[optimizer])
        except (np.linalg.LinAlgError, ValueError) as exc:
            run.error = str(exc).splitlines()[0]
            return run
    run.warnings = sorted(
        {
            str(w.message).splitlines()[0]
            for w in caught
            if issubclass(w.category, ConvergenceWarning)
        }
    )
    theta = res.params_object.get_packed(use_sqrt=True, has_fe=False)
    run.llf = float(res.llf)
    run.raw = _check(model, theta)
    run.refined = _refine(model, run.raw)
    return run


@dataclass
class _Fit:
    label: str
    model: MixedLM
    runs: list[_Run]
    best: _Check | None
    optimizer: str
    problem: str


def _fit(
    formula: str,
    data: pd.DataFrame,
    group: str,
    re_formula: str,
    reml: bool,
    optimizers: Sequence[str],
    compare: bool,
) -> _Fit:
    model = smf.mixedlm(formula, data, groups=data[group], re_formula=re_formula)
    runs: list[_Run] = []
    for opt in optimizers:
        run = _run(model, reml, opt)
        runs.append(run)
        if compare or run.refined is None:
            continue
        if run.raw is not None and run.raw.ok:
            break  # the optimiser's own result passed the checks
        reached = [r.refined.llf for r in runs if r.refined is not None]
        if len(reached) >= 2 and abs(reached[-1] - reached[-2]) <= AGREE_TOL:
            break  # two optimisers (refined) end at the same point: more will not help
    done = [r for r in runs if r.refined is not None]
    if not done:
        return _Fit("", model, runs, None, "", "; ".join(r.describe() for r in runs))
    ok = [r for r in done if r.refined.ok]  # type: ignore[union-attr]
    chosen = max(ok or done, key=lambda r: r.refined.llf)  # type: ignore[union-attr]
    best: _Check = chosen.refined  # type: ignore[assignment]
    problems = []
    if best.boundary:
        problems.append(
            "boundary fit: the random-effects covariance is singular (a variance at 0 or a "
            "correlation at ±1; lme4 isSingular), so it is not an interior optimum"
        )
    elif not best.ok:
        problems.append(
            f"no optimiser reached an optimum (best logLik {best.llf:.6f}, Newton gain "
            f"{best.gain:.2g}, Hessian {'' if best.negative_definite else 'not '}negative "
            "definite)"
        )
    model.reml = reml  # the profiled likelihood of the chosen fit
    return _Fit("", model, runs, best, chosen.optimizer, "; ".join(problems))


def _estimates(model: MixedLM, theta: np.ndarray) -> dict:
    """Fixed effects, variances and lme4-style covariance of β̂ at θ."""
    p = MixedLMParams.from_packed(theta, model.k_fe, model.k_re, use_sqrt=True, has_fe=False)
    fe, _ = model.get_fe_params(p.cov_re, p.vcomp)
    scale = float(model.get_scale(fe, p.cov_re, p.vcomp))
    xtvx = np.zeros((model.k_fe, model.k_fe))
    for x, z in zip(model.exog_li, model.exog_re_li, strict=True):
        v = z @ p.cov_re @ z.T + np.eye(len(x))
        xtvx += x.T @ np.linalg.solve(v, x)
    names = list(model.data.exog_re_names)
    return {
        "fe": pd.Series(fe, index=model.exog_names),
        "vcov": scale * np.linalg.inv(xtvx),
        "cov_re": pd.DataFrame(scale * p.cov_re, index=names, columns=names),
        "scale": scale,
    }


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
    optimizers: Sequence[str] = MIXED_OPTIMIZERS,
    compare_optimizers: bool = False,
) -> pd.DataFrame:
    """Fit ``outcome ~ time + covariates`` with random effects per ``group``, to the optimum.

    ``data`` is long (one row per assessment), e.g. from :func:`iopkit.outcomes.with_weeks`
    (``score``, ``weeks`` = days since admission / 7, ``episode_id``). ``covariates`` are
    formula terms (e.g. ``"C(cohort_id)"``). Rows missing outcome, time or group are excluded
    and counted (``n_excluded``). ``optimizers`` are statsmodels/scipy method names tried in
    order (see the module docstring); ``compare_optimizers=True`` runs all of them.

    Returns the fixed effects: ``term, estimate, se, ci_low, ci_high, p`` (Wald, normal; SE as
    lme4), with ``model`` (``"random intercept + slope"`` or ``"random intercept only"`` +
    reason), ``reml``, ``n_obs``, ``n_groups``, ``n_excluded``, ``ci_method``, ``se_method``,
    and the fit diagnostics ``loglik``, ``optimizer`` (the one kept), ``optimizers_tried``
    (each with its logLik and verdict), ``optimizers_agree`` (<NA> when only one ran),
    ``converged`` (True only at a checked optimum), ``newton_gain``, ``max_abs_gradient``,
    ``hessian_negative_definite``, ``boundary``. ``attrs`` holds the random-effects
    covariance ``cov_re``, ``residual_variance``, ``llf``, ``aic`` (ML only; NaN for REML),
    ``formula`` and ``optimizer_runs`` (a table of every run).
    """
    require_columns(data, [outcome, time, group], table="data")
    unknown = [o for o in optimizers if o not in MIXED_OPTIMIZERS]
    if unknown or not optimizers:
        raise InputError(
            f"unknown optimiser(s) {unknown or optimizers!r}; choose from "
            f"{', '.join(MIXED_OPTIMIZERS)}",
            rule="MixedLM optimiser",
        )
    if not 0 < confidence < 1:
        raise InputError(
            f"confidence must be strictly between 0 and 1, got {confidence!r}",
            rule="confidence in (0, 1)",
        )
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
    tterm = f"Q('{time}')" if not time.isidentifier() else time
    lhs = f"Q('{outcome}')" if not outcome.isidentifier() else outcome
    formula = f"{lhs} ~ {' + '.join([tterm, *covariates])}"
    fit = None
    if random_slope:
        fit = _fit(formula, d, group, f"~{tterm}", reml, optimizers, compare_optimizers)
        fit.label = "random intercept + slope"
        if fit.problem and fallback:
            alt = _fit(formula, d, group, "~1", reml, optimizers, compare_optimizers)
            if alt.best is not None:
                alt.label = f"random intercept only (slope model: {fit.problem})"
                fit = alt
    if fit is None or fit.best is None:
        fit = _fit(formula, d, group, "~1", reml, optimizers, compare_optimizers)
        fit.label = "random intercept only"
    if fit.best is None:
        raise InputError(f"mixed model could not be fitted: {fit.problem}", rule="MixedLM fit")
    best = fit.best
    est = _estimates(fit.model, best.theta)
    fe = est["fe"]
    se = np.sqrt(np.diag(est["vcov"]))
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    out = pd.DataFrame(
        {
            "term": [t.replace(f"Q('{time}')", time) for t in fe.index],
            "estimate": fe.to_numpy(),
            "se": se,
            "ci_low": fe.to_numpy() - z * se,
            "ci_high": fe.to_numpy() + z * se,
            "p": 2 * stats.norm.sf(np.abs(fe.to_numpy() / se)),
        }
    )
    done = [r for r in fit.runs if r.raw is not None]
    agree = (
        pd.NA
        if len(done) < 2
        else bool(max(r.llf for r in done) - min(r.llf for r in done) <= AGREE_TOL)
    )
    out["model"] = fit.label + (f" [warning: {fit.problem}]" if fit.problem else "")
    out["reml"] = reml
    out["n_obs"] = int(fit.model.nobs)
    out["n_groups"] = int(d[group].nunique())
    out["n_excluded"] = n_excluded
    out["ci_method"] = "Wald (normal)"
    out["se_method"] = "lme4 vcov: σ²(XᵀV⁻¹X)⁻¹ at the estimates"
    out["loglik"] = best.llf
    out["optimizer"] = fit.optimizer
    out["optimizers_tried"] = "; ".join(r.describe() for r in fit.runs)
    out["optimizers_agree"] = pd.array([agree] * len(out), dtype="boolean")
    out["converged"] = best.ok
    out["newton_gain"] = best.gain
    out["max_abs_gradient"] = float(np.abs(best.gradient).max())
    out["hessian_negative_definite"] = best.negative_definite
    out["boundary"] = best.boundary
    n_par = fit.model.k_fe + fit.model.k_re2 + 1
    runs = pd.DataFrame(
        [
            {
                "optimizer": r.optimizer,
                "loglik": r.llf,
                "newton_gain": r.raw.gain if r.raw else np.nan,
                "hessian_negative_definite": r.raw.negative_definite if r.raw else pd.NA,
                "refined_loglik": r.refined.llf if r.refined else np.nan,
                "error": r.error,
                "statsmodels_warnings": "; ".join(r.warnings),
            }
            for r in fit.runs
        ]
    )
    out.attrs.update(
        variant=f"statsmodels MixedLM {formula}, {fit.label}, {'REML' if reml else 'ML'}, "
        f"optimum checked (gradient, Hessian), optimiser {fit.optimizer}",
        cov_re=est["cov_re"],
        residual_variance=est["scale"],
        llf=best.llf,
        aic=float(-2 * best.llf + 2 * n_par) if not reml else np.nan,
        formula=formula,
        optimizer_runs=runs,
    )
    return out
