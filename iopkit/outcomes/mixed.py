"""Mixed-effects model of score over time in treatment, fitted to the optimum and checked
there.

Primary longitudinal analysis (likelihood-based, valid under MAR; National Research Council
2010): ``score ~ weeks [+ covariates]`` with a random intercept and a random slope for time
per episode — in lme4 terms ``lmer(score ~ weeks + … + (weeks | episode_id), REML = …)``
(Bates, Mächler, Bolker & Walker 2015, *J Stat Softw* 67(1), doi:10.18637/jss.v067.i01).
statsmodels builds the design (formula terms, ``C()``, ``Q()``); the likelihood is lme4's
profiled deviance over the relative covariance factor θ, evaluated for all episodes at once
(:mod:`iopkit.outcomes._lmm`, which says why it is hand-written: 1,000 episodes fit in
well under a second instead of 10 s).

How a fit is accepted (no optimiser's own "converged" is trusted: statsmodels' L-BFGS stops
on the HSAUR Beat-the-Blues random-slope ML model at logLik −935.136 and says "converged";
the optimum is −934.904, issue 14):

1. Maximise the profiled log-likelihood ℓ(θ) from lme4's start (Λ = I) with an optimiser
   (``optimizers``, default order lbfgs, bfgs, cg, powell, nm: scipy's L-BFGS-B with lme4's
   bounds θ_diag ≥ 0, BFGS, CG, Powell, Nelder–Mead).
2. At the solution take the gradient g and Hessian H of ℓ (central differences) and refine by
   Newton steps with backtracking while H is negative definite. The reported point must have
   a negative-definite H and a Newton gain ½·gᵀ(−H)⁻¹g below ``NEWTON_GAIN_TOL``
   log-likelihood units (the Newton decrement, Boyd & Vandenberghe 2004 §9.5.1, estimates
   ℓ_max − ℓ).
3. When the optimiser's own result did not pass step 2 unrefined, the next optimisers are
   run too (all of them with ``compare_optimizers=True``) and the best log-likelihood is kept;
   ``optimizers_agree`` says whether their results were within ``AGREE_TOL`` of each other.
4. Boundary: a diagonal element of θ below 1e-4 is a singular fit (lme4 ``isSingular``
   tolerance). A slope model on the boundary or not at an optimum falls back (``fallback``)
   to a random intercept only, and says why in ``model``.

Standard errors of the fixed effects are lme4's: Var(β̂) = σ̂²·(XᵀV⁻¹X)⁻¹ at the estimates
(conditional on the variance parameters, lme4 ``vcov.merMod``). Intervals and p-values are
Wald (normal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import optimize, stats

from iopkit.errors import InputError
from iopkit.outcomes._common import require_columns
from iopkit.outcomes._lmm import GroupedLMM

__all__ = [
    "AGREE_TOL",
    "MIXED_OPTIMIZERS",
    "NEWTON_GAIN_TOL",
    "SINGULAR_TOL",
    "mixed_model",
]

MIXED_OPTIMIZERS = ("lbfgs", "bfgs", "cg", "powell", "nm")
_SCIPY = {"lbfgs": "L-BFGS-B", "bfgs": "BFGS", "cg": "CG", "powell": "Powell",
          "nm": "Nelder-Mead"}
_GRADIENT_BASED = {"lbfgs", "bfgs", "cg"}
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


def _check(model: GroupedLMM, theta: np.ndarray, hessian: np.ndarray | None = None) -> _Check:
    """Gradient and Hessian (central differences, unless the Hessian is given) and Newton
    gain ½·gᵀ(−H)⁻¹g of the profiled log-likelihood at θ."""
    g = model.gradient(theta)
    if hessian is None:
        hessian = model.hessian(theta)
    nd = bool(np.all(np.linalg.eigvalsh(hessian) < 0))
    gain = float(0.5 * g @ np.linalg.solve(-hessian, g)) if nd else np.inf
    boundary = bool(np.abs(theta[model.diagonal]).min() < SINGULAR_TOL)
    return _Check(theta, model.loglike(theta), g, hessian, gain, nd, boundary)


def _refine(model: GroupedLMM, check: _Check) -> _Check:
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


def _run(model: GroupedLMM, optimizer: str) -> _Run:
    run = _Run(optimizer)
    start = model.theta_of(np.eye(model.q))  # lme4's starting value: Λ = I

    def objective(theta: np.ndarray) -> float:
        value = -model.loglike(theta)
        return value if np.isfinite(value) else 1e300

    options: dict = {}
    if optimizer in _GRADIENT_BASED:
        options["jac"] = lambda theta: -model.gradient(theta)
    if optimizer == "lbfgs":
        # scipy's default stops (ftol 2.2e-9 relative) end 1e-5 log-likelihood units short on
        # large fits; these end where the Newton check passes, so one optimiser suffices
        options["options"] = {"ftol": 1e-15, "gtol": 1e-8}
    try:
        res = optimize.minimize(objective, start, method=_SCIPY[optimizer], **options)
    except (np.linalg.LinAlgError, ValueError) as exc:
        run.error = str(exc).splitlines()[0]
        return run
    if not res.success:
        run.warnings = [str(res.message).splitlines()[0]]
    theta = model.canonical(res.x)
    run.llf = model.loglike(theta)
    if not np.isfinite(run.llf):
        run.error = "the optimiser ended where the likelihood cannot be evaluated"
        return run
    run.raw = _check(model, theta)
    run.refined = _refine(model, run.raw)
    return run


@dataclass
class _Fit:
    label: str
    model: GroupedLMM
    spec: object  # the statsmodels MixedLM holding the design and term names
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
    spec = smf.mixedlm(formula, data, groups=data[group], re_formula=re_formula)
    model = GroupedLMM(spec.endog, spec.exog, spec.exog_re, spec.groups, reml=reml)
    runs: list[_Run] = []
    for opt in optimizers:
        run = _run(model, opt)
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
        return _Fit("", model, spec, runs, None, "", "; ".join(r.describe() for r in runs))
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
    return _Fit("", model, spec, runs, best, chosen.optimizer, "; ".join(problems))


def _estimates(fit: _Fit, theta: np.ndarray) -> dict:
    """Fixed effects, variances and lme4-style covariance of β̂ at θ."""
    prof = fit.model.profile(theta)
    lam = fit.model.lam(theta)
    names = list(fit.spec.data.exog_re_names)
    return {
        "fe": pd.Series(prof.beta, index=fit.spec.exog_names),
        "vcov": prof.sigma2 * np.linalg.inv(prof.xvx),
        "cov_re": pd.DataFrame(prof.sigma2 * lam @ lam.T, index=names, columns=names),
        "scale": prof.sigma2,
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
    and counted (``n_excluded``). ``optimizers`` are tried in order (see the module
    docstring); ``compare_optimizers=True`` runs all of them.

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
    est = _estimates(fit, best.theta)
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
    out["n_obs"] = int(fit.model.n)
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
    n_par = fit.model.p + fit.model.k + 1
    runs = pd.DataFrame(
        [
            {
                "optimizer": r.optimizer,
                "loglik": r.llf,
                "newton_gain": r.raw.gain if r.raw else np.nan,
                "hessian_negative_definite": r.raw.negative_definite if r.raw else pd.NA,
                "refined_loglik": r.refined.llf if r.refined else np.nan,
                "error": r.error,
                "optimizer_message": "; ".join(r.warnings),
            }
            for r in fit.runs
        ]
    )
    out.attrs.update(
        variant=f"lme4 profiled deviance {formula}, {fit.label}, {'REML' if reml else 'ML'}, "
        f"optimum checked (gradient, Hessian), optimiser {fit.optimizer}",
        cov_re=est["cov_re"],
        residual_variance=est["scale"],
        llf=best.llf,
        aic=float(-2 * best.llf + 2 * n_par) if not reml else np.nan,
        formula=formula,
        optimizer_runs=runs,
    )
    return out
