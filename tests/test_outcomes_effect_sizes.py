"""Effect sizes and rates reproduce Lakens 2013, R sleep, effectsize rouder2016 values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from iopkit.errors import InputError
from iopkit.outcomes import independent_effect_sizes, paired_effect_sizes, wilson_rate
from iopkit.outcomes.effect_sizes import hedges_j, normal_ci

MOVIE_1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
MOVIE_2 = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def _est(t: pd.DataFrame) -> dict[str, float]:
    return dict(zip(t["measure"], t["estimate"], strict=True))


def test_lakens_2013_movie_paired():
    """Reproduces Lakens 2013 (Front Psychol 4:863) movie ratings, paired: d_z 1.50
    (t(9) = 4.74), d_av 1.1287 (arithmetic-mean SD), d_rm 1.1113, r 0.7255 (dgromer/apa
    tests; scales.md §5)."""
    es = paired_effect_sizes(MOVIE_2, MOVIE_1)
    e = _est(es)
    assert e["d_z"] == pytest.approx(1.50, abs=0.005)
    assert e["d_z"] * np.sqrt(10) == pytest.approx(4.74, abs=0.005)
    assert e["d_av"] == pytest.approx(1.1287, abs=5e-5)
    assert e["d_rm"] == pytest.approx(1.1113, abs=5e-5)
    assert e["d_av_rms"] == pytest.approx(1.1259, abs=5e-5)
    assert es["r"].iloc[0] == pytest.approx(0.7255, abs=5e-5)
    assert e["g_av"] == pytest.approx(e["d_av"] * 0.913874892, abs=1e-9)  # exact J(9), R
    approx = _est(paired_effect_sizes(MOVIE_2, MOVIE_1, hedges="approximate"))
    assert approx["g_av"] == pytest.approx(e["d_av"] * (1 - 3 / (4 * 9 - 1)))
    methods = dict(zip(es["measure"], es["ci_method"], strict=True))
    assert methods["d_z"] == "noncentral t"
    assert "Cooper et al. 2009 eq. 12.21" in methods["d_rm"]
    assert "Algina & Keselman 2003 eq. 4" in methods["d_av_rms"]
    assert "Becker 1988 eq. 6" in methods["d_pre"]
    assert methods["g_av"] == "d_av CI × J (exact)"


def test_lakens_2013_movie_between_groups():
    """Reproduces Lakens 2013 between-groups d = 1.13 and Hedges' g = 1.08 (t(18) = 2.52)
    (dgromer/apa test-cohens-d.R; scales.md §5: d_s 1.1259, g 1.0783)."""
    es = independent_effect_sizes(MOVIE_1, MOVIE_2)
    e = _est(es)
    assert round(e["d_s"], 2) == 1.13 and e["d_s"] == pytest.approx(1.1259, abs=5e-5)
    assert round(e["g_s"], 2) == 1.08 and e["g_s"] == pytest.approx(1.0782, abs=5e-5)  # exact J
    approx = _est(independent_effect_sizes(MOVIE_1, MOVIE_2, hedges="approximate"))
    assert approx["g_s"] == pytest.approx(1.0783, abs=5e-5)  # 1 − 3/(4·df − 1), scales.md §5
    t = stats.ttest_ind(MOVIE_1, MOVIE_2).statistic
    assert t == pytest.approx(2.52, abs=0.005)


# R 4.2.2: the effectsize 1.0.3 function `.paired_d` (R/repeated_measures_d.R, run from
# easystats/effectsize@3ccf232) with CI = d + qnorm(c(.025, .975)) * se as in
# `repeated_measures_d()`, i.e. rm_d(movie_2, movie_1, method = m, adjust = FALSE); and
# effectsize 0.8.3 cohens_d()/hedges_g(). Printed values (7 decimals):
R_MOVIE_PAIRED = {  # measure: (rm_d method, d, CI_low, CI_high)
    "d_rm": ("rm", -1.1113323, -1.6953513, -0.5273134),  # Cooper et al. 2009 eq. 12.21
    "d_av_rms": ("av", -1.1258799, -1.5910898, -0.6606701),  # Algina & Keselman 2003 eq. 4
    "d_pre": ("b", -1.2146645, -1.9176936, -0.5116354),  # Becker 1988 eq. 6
}
R_SLEEP_PAIRED = {  # rm_d(extra[group == 1], extra[group == 2], method = m, adjust = FALSE)
    "d_rm": ("rm", -0.8221766, -1.2810424, -0.3633109),
    "d_av_rms": ("av", -0.8321811, -1.2337059, -0.4306563),
    "d_pre": ("b", -0.7891127, -1.3153947, -0.2628308),
}


@pytest.mark.parametrize(
    ("pre", "post", "expected"),
    [(MOVIE_1, MOVIE_2, R_MOVIE_PAIRED), (SLEEP_2, SLEEP_1, R_SLEEP_PAIRED)],
    ids=["lakens2013-movies", "R-sleep"],
)
def test_paired_intervals_match_r_effectsize(pre, post, expected):
    """Every paired CI matches R effectsize to 1e-6 (issue 14 quotes d_rm [−1.6954, −0.5273]
    and d_av_rms [−1.5911, −0.6607] on Lakens 2013)."""
    es = paired_effect_sizes(pre, post).set_index("measure")
    for measure, (_, d, lo, hi) in expected.items():
        got = es.loc[measure, ["estimate", "ci_low", "ci_high"]].to_numpy(float)
        assert got == pytest.approx([d, lo, hi], abs=1e-6), measure


def test_dz_intervals_match_r_effectsize():
    """d_z exact (noncentral t): effectsize::cohens_d(movie_2 - movie_1) prints −1.5000000
    [−2.4034362, −0.5605143]; sleep: cohens_d(extra1 - extra2) −1.2845576 [−2.1180166,
    −0.4146277]. Normal (rm_d(method = "z"), Hedges & Olkin 1985 p. 86 eq. 14): movie
    [−2.4034988, −0.5965012], sleep [−2.1218647, −0.4472505]."""
    cases = [
        (MOVIE_1, MOVIE_2, (-1.5, -2.4034362, -0.5605143), (-2.4034988, -0.5965012)),
        (SLEEP_2, SLEEP_1, (-1.2845576, -2.1180166, -0.4146277), (-2.1218647, -0.4472505)),
    ]
    for pre, post, exact, normal in cases:
        z = paired_effect_sizes(pre, post).set_index("measure").loc["d_z"]
        assert z[["estimate", "ci_low", "ci_high"]].to_numpy(float) == pytest.approx(
            exact, abs=1e-6
        )
        zn = paired_effect_sizes(pre, post, d_z_ci="normal").set_index("measure").loc["d_z"]
        assert zn[["ci_low", "ci_high"]].to_numpy(float) == pytest.approx(normal, abs=1e-6)
        assert zn["ci_method"].startswith("normal") and "Hedges & Olkin" in zn["ci_method"]


def test_between_groups_intervals_match_r_effectsize():
    """effectsize 0.8.3: cohens_d(movie_1, movie_2) 1.1258799 [0.1630766, 2.0621460];
    hedges_g(movie_1, movie_2) 1.0781949 [0.1561697, 1.9748068] (exact J, pooled SD)."""
    es = independent_effect_sizes(MOVIE_1, MOVIE_2).set_index("measure")
    cols = ["estimate", "ci_low", "ci_high"]
    assert es.loc["d_s", cols].to_numpy(float) == pytest.approx(
        [1.1258799, 0.1630766, 2.0621460], abs=1e-6
    )
    assert es.loc["g_s", cols].to_numpy(float) == pytest.approx(
        [1.0781949, 0.1561697, 1.9748068], abs=1e-6
    )


def test_hedges_j_exact_and_approximate():
    """R effectsize `.J`: exp(lgamma(df/2) − log(sqrt(df/2)) − lgamma((df − 1)/2)) prints
    J(9) = 0.913874892, J(18) = 0.957646427; the approximation 1 − 3/(4df − 1) is available
    by name and converges to the exact value as df grows."""
    assert hedges_j(9) == pytest.approx(0.913874892, abs=1e-9)
    assert hedges_j(18) == pytest.approx(0.957646427, abs=1e-9)
    assert hedges_j(9, "approximate") == pytest.approx(1 - 3 / 35)
    assert hedges_j(5000) == pytest.approx(hedges_j(5000, "approximate"), abs=1e-8)
    assert np.isfinite(hedges_j(1e7))
    with pytest.raises(InputError, match="unknown Hedges J"):
        hedges_j(9, "gamma")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="df > 1"):
        hedges_j(1)


def test_confidence_level_sets_the_normal_quantile():
    """The normal intervals use qnorm(1 − α/2) for any level: 90 % → ±1.644854·SE."""
    lo, hi = normal_ci(0.0, 1.0, 0.90)
    assert (lo, hi) == pytest.approx((-1.644854, 1.644854), abs=1e-6)
    es = paired_effect_sizes(MOVIE_1, MOVIE_2, confidence=0.90).set_index("measure")
    r = R_MOVIE_PAIRED["d_rm"]
    se = (r[3] - r[2]) / (2 * 1.959964)
    assert es.loc["d_rm", "ci_high"] - es.loc["d_rm", "estimate"] == pytest.approx(
        1.644854 * se, abs=1e-6
    )
    with pytest.raises(InputError, match="confidence"):
        paired_effect_sizes(MOVIE_1, MOVIE_2, confidence=95)


def test_dz_ci_is_exact_noncentral_t():
    """The d_z CI inverts the noncentral t: at its bounds the t statistic sits at the 97.5 %
    and 2.5 % quantiles."""
    es = paired_effect_sizes(MOVIE_2, MOVIE_1).set_index("measure")
    t = es.loc["d_z", "estimate"] * np.sqrt(10)
    lo, hi = es.loc["d_z", ["ci_low", "ci_high"]]
    assert stats.nct.cdf(t, 9, lo * np.sqrt(10)) == pytest.approx(0.975, abs=1e-6)
    assert stats.nct.cdf(t, 9, hi * np.sqrt(10)) == pytest.approx(0.025, abs=1e-6)


def test_r_sleep_effect_sizes():
    """Reproduces R `sleep` (Student 1908), group 1 − group 2 by ID: d_z −1.2846,
    d_av −0.8335, d_rm −0.8222, r 0.7952 (scales.md §5 [C])."""
    es = paired_effect_sizes(SLEEP_2, SLEEP_1)
    e = _est(es)
    assert e["d_z"] == pytest.approx(-1.2846, abs=5e-5)
    assert e["d_av"] == pytest.approx(-0.8335, abs=5e-5)
    assert e["d_rm"] == pytest.approx(-0.8222, abs=5e-5)
    assert es["r"].iloc[0] == pytest.approx(0.7952, abs=5e-5)


def test_rouder_2016_effectsize(reference_data):
    """Reproduces easystats/effectsize rm_d on rouder2016 (per-id means): d_z = −1.353713
    and its 'd_av' = −0.8357347, which is the root-mean-square-SD variant d_av_rms — not
    Lakens' arithmetic-mean d_av (validation-data.md B7; scales.md §6.3)."""
    d = pd.read_csv(reference_data / "effectsize_rouder2016.csv")
    m = d.groupby(["id", "cond"])["rt"].mean().unstack()
    e = _est(paired_effect_sizes(m[2], m[1]))
    assert e["d_z"] == pytest.approx(-1.353713, abs=1e-6)
    assert e["d_av_rms"] == pytest.approx(-0.8357347, abs=1e-6)
    assert e["d_av"] != pytest.approx(-0.8357347, abs=1e-4)


def test_effect_sizes_exclude_and_count_missing():
    es = paired_effect_sizes([1, 2, 3, np.nan, 5], [2, 2, 5, 4, np.nan])
    assert es["n"].iloc[0] == 3 and es["n_excluded"].iloc[0] == 2
    with pytest.raises(InputError, match="at least 3"):
        paired_effect_sizes([1, 2], [2, 3])


def test_wilson_matches_statsmodels():
    """Rates use statsmodels proportion_confint(method="wilson")."""
    p, lo, hi = wilson_rate(np.array([3, 0, 10]), np.array([10, 5, 10]))
    for i, (k, n) in enumerate([(3, 10), (0, 5), (10, 10)]):
        elo, ehi = proportion_confint(k, n, method="wilson")
        assert lo[i] == pytest.approx(elo) and hi[i] == pytest.approx(ehi)
    assert p.tolist() == [0.3, 0.0, 1.0]
    p0, lo0, _ = wilson_rate(0, 0)
    assert np.isnan(p0) and np.isnan(lo0)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_p(kn):
    """The Wilson interval always contains the observed proportion."""
    k, n = kn
    p, lo, hi = wilson_rate(k, n)
    assert lo - 1e-12 <= p <= hi + 1e-12
    assert 0 - 1e-12 <= lo <= hi <= 1 + 1e-12
