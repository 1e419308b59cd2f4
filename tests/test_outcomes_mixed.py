"""The mixed model reaches the optimum and reproduces lme4 on Beat the Blues (HSAUR).

Reference values:

* HSAUR (Everitt & Hothorn), ``cran/HSAUR@61c0421:inst/doc/Ch_analysing_longitudinal_dataI.pdf``
  Fig. 10.2 and its ``anova()`` table (ML fits; validation-data.md B1).
* lme4 1.1-31 in R 4.2.2 (Debian bookworm ``r-cran-lme4``), same data
  (``../shared/reference-data/HSAUR_BtheB.csv``, treatment levels TAU, BtheB), long format with
  time = 2, 4, 6, 8 as HSAUR, ``na.action = na.omit``::

      lmer(bdi ~ bdi.pre + time + treatment + drug + length + (1 | subject), REML = reml)
      lmer(bdi ~ bdi.pre + time + treatment + drug + length + (time | subject), REML = reml)

  printed by ``summary()`` (5 decimals), ``logLik()`` / ``AIC()`` (``sprintf("%.6f")``) and
  ``as.data.frame(VarCorr())``. lme4's default optimiser (nloptwrap) stops within 1e-6 of
  the random-slope log-likelihood optimum but up to 1e-3 away in the flat direction of the
  intercept variance; the same fits with ``lmerControl(optimizer = "bobyqa", optCtrl =
  list(rhoend = 1e-12))`` print the optimum (``LME4_TIGHT``), which iopkit must match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iopkit.errors import InputError
from iopkit.outcomes import mixed_model

COVARIATES = ["bdi_pre", "btheb", "drug_yes", "long6"]
TERMS = ["Intercept", "bdi_pre", "time", "btheb", "drug_yes", "long6"]  # lme4's order

# lme4 1.1-31 summary(): (estimate, SE) per term in TERMS order; variances; logLik; AIC
LME4 = {
    ("ML", "intercept"): {
        "fe": [
            (5.94366, 2.24922),
            (0.63819, 0.07759),
            (-0.71702, 0.14606),
            (-2.37308, 1.66375),
            (-2.79784, 1.72000),
            (0.25635, 1.63219),
        ],
        "var": {"intercept": 48.30449547, "residual": 25.12756227},
        "printed_var": {"intercept": 48.30, "residual": 25.13},
        "loglik": -935.312060,
        "aic": 1886.6241,
    },
    ("ML", "slope"): {
        "fe": [
            (5.95880, 2.24106),
            (0.64380, 0.07724),
            (-0.70301, 0.15459),
            (-2.49313, 1.66294),
            (-2.89227, 1.71865),
            (0.11490, 1.62900),
        ],
        "printed_var": {"intercept": 47.0063, "slope": 0.2035, "residual": 23.8816},
        "loglik": -934.904019,
        "aic": 1889.8080,
    },
    ("REML", "intercept"): {
        "fe": [
            (5.92148, 2.30586),
            (0.63888, 0.07961),
            (-0.71353, 0.14664),
            (-2.35900, 1.70841),
            (-2.78885, 1.76594),
            (0.23810, 1.67537),
        ],
        "var": {"intercept": 51.43611734, "residual": 25.27327015},
        "printed_var": {"intercept": 51.44, "residual": 25.27},
        "loglik": -933.039648,  # REML criterion at convergence 1866.1
        "aic": np.nan,
    },
    ("REML", "slope"): {
        "fe": [
            (5.94388, 2.29860),
            (0.64439, 0.07927),
            (-0.69950, 0.15615),
            (-2.48582, 1.70779),
            (-2.88747, 1.76479),
            (0.09733, 1.67237),
        ],
        "printed_var": {"intercept": 50.5601, "slope": 0.2317, "residual": 23.8677},
        "loglik": -932.577833,
        "aic": np.nan,
    },
}
# lme4 1.1-31 with lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12)),
# sprintf("%.7f") of fixef(), sqrt(diag(vcov())), and as.data.frame(VarCorr())$vcov
LME4_TIGHT = {
    "ML": {
        "fe": [5.9588159, 0.6437979, -0.7030180, -2.4931281, -2.8922599, 0.1149264],
        "se": [2.2410516, 0.0772397, 0.1545944, 1.6629275, 1.7186415, 1.6289960],
        "var": {
            "intercept": 47.007334388,
            "slope": 0.203540580,
            "cov": -0.208660295,
            "residual": 23.881455565,
        },
        "loglik": -934.9040187,
    },
    "REML": {
        "fe": [5.9438965, 0.6443935, -0.6995048, -2.4858172, -2.8874533, 0.0973618],
        "se": [2.2985884, 0.0792677, 0.1561555, 1.7077790, 1.7647776, 1.6723634],
        "var": {
            "intercept": 50.5608769167,
            "slope": 0.2317481190,
            "cov": -0.3090683046,
            "residual": 23.8675951637,
        },
        "loglik": -932.5778333,
    },
}


def _btheb_long(reference_data):
    w = pd.read_csv(reference_data / "HSAUR_BtheB.csv")
    w["subject"] = np.arange(len(w))
    waves = {"bdi.2m": 2, "bdi.4m": 4, "bdi.6m": 6, "bdi.8m": 8}
    long = w.melt(
        id_vars=["subject", "drug", "length", "treatment", "bdi.pre"],
        value_vars=list(waves),
        var_name="wave",
        value_name="bdi",
    )
    long["time"] = long["wave"].map(waves)
    return long.assign(
        bdi_pre=long["bdi.pre"],
        btheb=(long["treatment"] == "BtheB") * 1,
        drug_yes=(long["drug"] == "Yes") * 1,
        long6=(long["length"] == ">6m") * 1,
    )


def test_mixed_model_reproduces_hsaur_btheb(reference_data):
    """Reproduces the HSAUR lmer fit (Ch. analysing longitudinal data I, validation-data.md
    B1): bdi ~ bdi.pre + time + treatment + drug + length + (1|subject), ML, 280 obs /
    97 subjects: time −0.71702, bdi.pre 0.63819, BtheB −2.37308, drug −2.79784, length
    0.25635, intercept 5.94366; random-intercept variance 48.30, residual 25.13,
    logLik −935.31, AIC 1886.6."""
    long = _btheb_long(reference_data)
    m = mixed_model(
        long,
        outcome="bdi",
        time="time",
        group="subject",
        covariates=["bdi_pre", "btheb", "drug_yes", "long6"],
        random_slope=False,
        reml=False,
    ).set_index("term")
    assert m["n_obs"].iloc[0] == 280 and m["n_groups"].iloc[0] == 97
    assert m["n_excluded"].iloc[0] == 400 - 280
    expected = {
        "time": -0.71702,
        "bdi_pre": 0.63819,
        "btheb": -2.37308,
        "drug_yes": -2.79784,
        "long6": 0.25635,
        "Intercept": 5.94366,
    }
    for term, value in expected.items():
        assert m.loc[term, "estimate"] == pytest.approx(value, abs=5e-4)
    assert m.loc["time", "se"] == pytest.approx(0.14606, rel=0.01)
    assert m.attrs["cov_re"].iloc[0, 0] == pytest.approx(48.30, abs=0.01)
    assert m.attrs["residual_variance"] == pytest.approx(25.13, abs=0.01)
    assert m.attrs["llf"] == pytest.approx(-935.31, abs=0.01)
    assert m.attrs["aic"] == pytest.approx(1886.6, abs=0.05)
    assert m["model"].iloc[0] == "random intercept only"


def test_mixed_model_slope_and_fallback():
    """A random-slope model is reported as such; when there is no between-episode slope
    variance (identical slopes) the fit falls back to a random intercept and says why."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(40):
        b0, b1 = 18 + rng.normal(0, 3), -1 + rng.normal(0, 0.5)
        for wk in range(6):
            rows.append((f"E{i}", wk, b0 + b1 * wk + rng.normal(0, 1)))
    d = pd.DataFrame(rows, columns=["episode_id", "weeks", "score"])
    m = mixed_model(d)
    assert m["model"].iloc[0].startswith("random intercept + slope")
    slope = m.set_index("term").loc["weeks"]
    assert slope["ci_low"] < -1 < slope["ci_high"]
    rng = np.random.default_rng(0)
    rows = []
    for i in range(30):  # identical slopes: the slope variance MLE sits on the boundary 0
        b0 = 18 + rng.normal(0, 3)
        rows += [(f"E{i}", wk, b0 - wk + rng.normal(0, 2)) for wk in range(6)]
    f = mixed_model(pd.DataFrame(rows, columns=["episode_id", "weeks", "score"]))
    assert f["model"].iloc[0].startswith("random intercept only (slope model:")


_FITS: dict[tuple, pd.DataFrame] = {}


def _fit_btheb(reference_data, *, reml: bool, slope: bool, **kw) -> pd.DataFrame:
    """One fit per setting for the whole module (the fits take seconds each)."""
    key = (str(reference_data), reml, slope, tuple(sorted(kw.items())))
    if key not in _FITS:
        _FITS[key] = mixed_model(
            _btheb_long(reference_data),
            outcome="bdi",
            time="time",
            group="subject",
            covariates=COVARIATES,
            random_slope=slope,
            reml=reml,
            **kw,
        ).set_index("term")
    return _FITS[key].copy()


@pytest.mark.parametrize("reml", [False, True], ids=["ML", "REML"])
@pytest.mark.parametrize("slope", [False, True], ids=["intercept", "slope"])
def test_mixed_model_reproduces_lme4_btheb(reference_data, reml, slope):
    """logLik, fixed effects and SEs (lme4 vcov), variances — as lme4 prints them (module
    docstring); the random-slope models at the optimum lme4 reaches with a tight tolerance."""
    key = ("REML" if reml else "ML", "slope" if slope else "intercept")
    ref = LME4[key]
    m = _fit_btheb(reference_data, reml=reml, slope=slope)
    assert m["model"].iloc[0] == ("random intercept + slope" if slope else "random intercept only")
    assert bool(m["converged"].iloc[0]) and not bool(m["boundary"].iloc[0])
    assert bool(m["hessian_negative_definite"].iloc[0]) and m["newton_gain"].iloc[0] < 1e-6
    assert m["n_obs"].iloc[0] == 280 and m["n_groups"].iloc[0] == 97
    assert m["loglik"].iloc[0] == pytest.approx(ref["loglik"], abs=2e-6)
    assert m.attrs["llf"] == m["loglik"].iloc[0]
    if not reml:
        assert m.attrs["aic"] == pytest.approx(ref["aic"], abs=1e-4)
    else:
        assert np.isnan(m.attrs["aic"])
    for term, (est, se) in zip(TERMS, ref["fe"], strict=True):
        tol = 6e-6 if not slope else 5e-5  # printed 5 decimals; slope: lme4 default tolerance
        assert m.loc[term, "estimate"] == pytest.approx(est, abs=tol), term
        assert m.loc[term, "se"] == pytest.approx(se, abs=tol), term
    cov = m.attrs["cov_re"].to_numpy()
    printed = ref["printed_var"]
    if not slope:
        assert cov[0, 0] == pytest.approx(ref["var"]["intercept"], abs=1e-4)
        assert m.attrs["residual_variance"] == pytest.approx(ref["var"]["residual"], abs=1e-4)
        assert round(cov[0, 0], 2) == printed["intercept"]
        assert round(m.attrs["residual_variance"], 2) == printed["residual"]
    else:
        tight = LME4_TIGHT[key[0]]
        for i, term in enumerate(TERMS):
            assert m.loc[term, "estimate"] == pytest.approx(tight["fe"][i], abs=2e-6), term
            assert m.loc[term, "se"] == pytest.approx(tight["se"][i], abs=2e-6), term
        v = tight["var"]
        assert cov[0, 0] == pytest.approx(v["intercept"], abs=1e-4)
        assert cov[1, 1] == pytest.approx(v["slope"], abs=1e-6)
        assert cov[0, 1] == pytest.approx(v["cov"], abs=1e-5)
        assert m.attrs["residual_variance"] == pytest.approx(v["residual"], abs=1e-4)
        assert m["loglik"].iloc[0] == pytest.approx(tight["loglik"], abs=2e-7)
        # lme4's default fit (printed 4 decimals) is within its optimiser tolerance of these
        assert cov[0, 0] == pytest.approx(printed["intercept"], abs=2e-3)
        assert cov[1, 1] == pytest.approx(printed["slope"], abs=1e-4)
        assert m.attrs["residual_variance"] == pytest.approx(printed["residual"], abs=1e-3)


def test_ml_random_slope_reaches_hsaur_optimum(reference_data):
    """Issue 14: statsmodels' L-BFGS stopped near logLik −935.13 on the ML random-slope model and
    called it converged; HSAUR's anova() prints logLik −934.90, AIC 1889.8, deviance 1869.8 and
    LRT χ² 0.8161 (df 2) against the random-intercept model (−935.31, AIC 1886.6). iopkit's
    first optimiser reaches that optimum and its check says so."""
    m = _fit_btheb(reference_data, reml=False, slope=True)
    assert round(m["loglik"].iloc[0], 2) == -934.90
    assert round(m.attrs["aic"], 1) == 1889.8 and round(-2 * m.attrs["llf"], 1) == 1869.8
    assert m["optimizers_tried"].iloc[0] == "lbfgs logLik -934.904019"
    assert m["optimizer"].iloc[0] == "lbfgs" and bool(m["converged"].iloc[0])
    assert pd.isna(m["optimizers_agree"].iloc[0])  # one optimiser passed: no second run
    ri = _fit_btheb(reference_data, reml=False, slope=False)
    assert round(ri["loglik"].iloc[0], 2) == -935.31 and round(ri.attrs["aic"], 1) == 1886.6
    lrt = 2 * (m.attrs["llf"] - ri.attrs["llf"])
    assert round(lrt, 4) == 0.8161
    # treatment effect as lme4: −2.49313 (statsmodels' L-BFGS stop gave −2.565)
    assert m.loc["btheb", "estimate"] == pytest.approx(-2.49313, abs=5e-5)


def test_a_short_stop_is_detected_refined_and_reported(reference_data):
    """Nelder–Mead (scipy's default tolerances) stops 0.0117 logLik units short of the ML
    random-slope optimum: the check sees it (Newton gain > 0.01), the Newton refinement reaches
    lme4's −934.904019, the next optimiser runs, and the disagreement between the optimisers'
    own stops is reported. With compare_optimizers=True every optimiser runs and the best
    checked optimum is kept whichever found it."""
    m = _fit_btheb(reference_data, reml=False, slope=True, optimizers=("nm", "lbfgs"))
    tried = m["optimizers_tried"].iloc[0]
    assert tried.startswith("nm logLik -934.91") and "not at an optimum" in tried
    assert "refined to -934.904019" in tried and "lbfgs logLik -934.904019" in tried
    runs = m.attrs["optimizer_runs"]
    assert list(runs["optimizer"]) == ["nm", "lbfgs"]
    assert runs["newton_gain"].iloc[0] > 0.01 and runs["newton_gain"].iloc[1] < 1e-6
    assert runs["refined_loglik"].iloc[0] == pytest.approx(-934.904019, abs=2e-6)
    assert m["loglik"].iloc[0] == pytest.approx(-934.904019, abs=2e-6)
    assert bool(m["converged"].iloc[0]) and not bool(m["optimizers_agree"].iloc[0])
    only = _fit_btheb(reference_data, reml=False, slope=True, optimizers=("nm",))
    assert only["loglik"].iloc[0] == pytest.approx(-934.904019, abs=2e-6)
    assert bool(only["converged"].iloc[0]) and pd.isna(only["optimizers_agree"].iloc[0])
    assert "refined to -934.904019" in only["optimizers_tried"].iloc[0]
    every = _fit_btheb(reference_data, reml=False, slope=True, compare_optimizers=True)
    runs = every.attrs["optimizer_runs"]
    assert list(runs["optimizer"]) == ["lbfgs", "bfgs", "cg", "powell", "nm"]
    assert every["loglik"].iloc[0] >= runs["loglik"].max() - 1e-9
    assert every["loglik"].iloc[0] == pytest.approx(-934.904019, abs=2e-6)
    with pytest.raises(InputError, match="unknown optimiser"):
        mixed_model(
            _btheb_long(reference_data),
            outcome="bdi",
            time="time",
            group="subject",
            optimizers=("newton",),
        )


def test_profiled_likelihood_equals_statsmodels(reference_data):
    """The batched profiled log-likelihood (iopkit.outcomes._lmm) equals statsmodels'
    ``MixedLM.loglike`` at the same θ (its packed Cholesky factor), ML and REML, with random
    intercept and with random slope, at points on and off the optimum."""
    import statsmodels.formula.api as smf

    from iopkit.outcomes._lmm import GroupedLMM

    long = _btheb_long(reference_data).dropna(subset=["bdi"])
    formula = "bdi ~ bdi_pre + time + btheb + drug_yes + long6"
    for re_formula, thetas in (("~time", ([1.4, -0.03, 0.09], [0.5, 0.2, 0.3])),
                               ("~1", ([1.4], [0.3]))):
        spec = smf.mixedlm(formula, long, groups=long["subject"], re_formula=re_formula)
        for reml in (False, True):
            spec.fit(reml=reml)  # sets the attributes loglike needs
            spec.reml = reml
            ours = GroupedLMM(spec.endog, spec.exog, spec.exog_re, spec.groups, reml=reml)
            for theta in map(np.array, thetas):
                assert ours.loglike(theta) == pytest.approx(spec.loglike(theta), abs=1e-9)


def test_boundary_fit_is_never_called_converged():
    """Identical true slopes put the slope variance on the boundary: without fallback the fit
    is reported as a boundary fit, not converged, with the reason in ``model``."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(30):
        b0 = 18 + rng.normal(0, 3)
        rows += [(f"E{i}", wk, b0 - wk + rng.normal(0, 2)) for wk in range(6)]
    d = pd.DataFrame(rows, columns=["episode_id", "weeks", "score"])
    m = mixed_model(d, fallback=False)
    assert bool(m["boundary"].iloc[0]) and not bool(m["converged"].iloc[0])
    assert "boundary fit" in m["model"].iloc[0] and "[warning:" in m["model"].iloc[0]
    assert m["model"].iloc[0].startswith("random intercept + slope")
