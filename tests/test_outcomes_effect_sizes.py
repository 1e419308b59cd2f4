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
    assert e["g_av"] == pytest.approx(e["d_av"] * (1 - 3 / (4 * 9 - 1)))
    assert set(es["ci_method"]) == {"noncentral t", "normal, Becker 1988 variance", "d_av CI × J"}


def test_lakens_2013_movie_between_groups():
    """Reproduces Lakens 2013 between-groups d = 1.13 and Hedges' g = 1.08 (t(18) = 2.52)
    (dgromer/apa test-cohens-d.R; scales.md §5: d_s 1.1259, g 1.0783)."""
    es = independent_effect_sizes(MOVIE_1, MOVIE_2)
    e = _est(es)
    assert round(e["d_s"], 2) == 1.13 and e["d_s"] == pytest.approx(1.1259, abs=5e-5)
    assert round(e["g_s"], 2) == 1.08 and e["g_s"] == pytest.approx(1.0783, abs=5e-5)
    t = stats.ttest_ind(MOVIE_1, MOVIE_2).statistic
    assert t == pytest.approx(2.52, abs=0.005)


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
