"""Reliable change, cut-offs and categories reproduce published and package values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iopkit.errors import InputError
from iopkit.outcomes import (
    categorize,
    category_counts,
    clinical_significance,
    cutoffs,
    percentage_change,
    reliability_ha,
    reliable_change,
    s_diff,
    scale_facts,
    se_measurement,
    se_prediction,
    true_score_cutoffs,
)
from iopkit.outcomes.change import z_critical

PRE7 = [30, 20, 10, 8, 6, 4, 2]


def _cut(table: pd.DataFrame, name: str) -> float:
    return float(table.set_index("criterion").loc[name, "value"])


def test_rci_unit_values():
    """Reproduces SE_m 2.236068, S_diff 3.162278, SE_pred 3.0 and HA reliability 0.8 for
    SD 5, r .80 (clinicalsignificance tests/testthat/test-rci-utils.R; scales.md §5)."""
    assert se_measurement(5, 0.8) == pytest.approx(2.236068, abs=1e-6)
    assert s_diff(5, 0.8) == pytest.approx(3.162278, abs=1e-6)
    assert se_prediction(5, 0.8) == pytest.approx(3.0, abs=1e-9)
    assert reliability_ha(5, se_measurement(5, 0.8)) == pytest.approx(0.8)


def test_jt_rci_changes_and_direction():
    """Reproduces JT RCI [−2.529822, −1.264911, 0, 1.264911, 2.529822] for changes
    [−8, −4, 0, 4, 8] with SD 5, r .8; higher is better → improved = case 5, deteriorated =
    case 1; lower is better mirrored (clinicalsignificance test-calc_rci.R; scales.md §5)."""
    pre = np.zeros(5)
    post = np.array([-8, -4, 0, 4, 8.0])
    hi = reliable_change(pre, post, reliability=0.8, sd_pre=5, lower_is_better=False)
    assert hi["rci"].to_numpy() == pytest.approx(
        [-2.529822, -1.264911, 0, 1.264911, 2.529822], abs=1e-6
    )
    assert hi["improved"].tolist() == [False, False, False, False, True]
    assert hi["deteriorated"].tolist() == [True, False, False, False, False]
    lo = reliable_change(pre, post, reliability=0.8, sd_pre=5, lower_is_better=True)
    assert lo["improved"].tolist() == [True, False, False, False, False]
    assert lo["deteriorated"].tolist() == [False, False, False, False, True]
    assert hi.attrs["variant"] == "RCI JT"
    assert hi.attrs["critical_value"] == pytest.approx(1.959964, abs=1e-6)


def test_category_rule_strict_cut():
    """RCI [−2, −0.5, 0, 0.5, 2], cut qnorm(.975), higher is better → improved [F,F,F,F,T],
    deteriorated [T,F,F,F,F] (clinicalsignificance test-calc_rci.R; scales.md §5); an RCI
    exactly at the critical value is not reliable (strict >)."""
    sd = 5.0
    sdiff = s_diff(sd, 0.8)
    post = np.array([-2, -0.5, 0, 0.5, 2, z_critical(0.95)]) * sdiff
    r = reliable_change(np.zeros(6), post, reliability=0.8, sd_pre=sd, lower_is_better=False)
    assert r["rci"].iloc[5] == pytest.approx(z_critical(0.95), abs=1e-12)
    at = float(r["rci"].iloc[5])  # the critical value set to this RCI exactly: strict > fails
    r = reliable_change(
        np.zeros(6), post, reliability=0.8, sd_pre=sd, lower_is_better=False, critical_value=at
    )
    assert r["improved"].tolist() == [False, False, False, False, True, False]
    assert r["deteriorated"].tolist() == [True, False, False, False, False, False]


@pytest.mark.parametrize(
    ("method", "post", "kwargs", "expected"),
    [
        (
            "GLN",
            [2] * 7,
            dict(m_pre=5, sd_pre=7),
            [-5.476190, -3.571429, -1.666667, -1.285714, -0.904762, -0.523810, -0.142857],
        ),
        (
            "HLL",
            [3, 2, 2, 2, 2, 2, 1],
            dict(m_pre=10, sd_pre=5, m_post=7),
            [-6.666667, -4.333333, -1.666667, -1.133333, -0.6, -0.066667, 0.133333],
        ),
        (
            "EN",
            [2] * 7,
            dict(m_pre=10, sd_pre=5),
            [-10.733126, -7.155418, -3.577709, -2.862167, -2.146625, -1.431084, -0.715542],
        ),
        (
            "NK",
            [2] * 7,
            dict(m_pre=10, sd_pre=5, reliability_post=0.8),
            [-8.381164, -5.587442, -2.793721, -2.234977, -1.676233, -1.117488, -0.558744],
        ),
        (
            "HA",
            [3, 2, 2, 2, 2, 2, 1],
            dict(m_pre=10, sd_pre=5, m_post=7, sd_post=6),
            [-5.563602, -4.245263, -2.780442, -2.487478, -2.194514, -1.901550, -1.755067],
        ),
    ],
)
def test_rci_variants(method, post, kwargs, expected):
    """Reproduces the GLN/HLL/EN/NK/HA RCI tables for pre = [30, 20, 10, 8, 6, 4, 2], r .8
    (clinicalsignificance tests/testthat/test-calc_rci_*.R; scales.md §5)."""
    r = reliable_change(PRE7, post, reliability=0.8, method=method, **kwargs)
    assert r["rci"].to_numpy() == pytest.approx(expected, abs=1e-6)
    assert (r["method"] == method).all()
    assert r.attrs["formula"]


def test_rci_auxiliary_values():
    """Reproduces GLN SE_pred 4.2, NK denominator 2.863564 and HA r_xx2 0.861111,
    cor 0.804469, r_dd 0.214570 and default critical value 1.65 (scales.md §5)."""
    g = reliable_change(PRE7, [2] * 7, reliability=0.8, method="GLN", m_pre=5, sd_pre=7)
    assert g.attrs["se_prediction"] == pytest.approx(4.2)
    nk = reliable_change(
        PRE7, [2] * 7, reliability=0.8, method="NK", m_pre=10, sd_pre=5, reliability_post=0.8
    )
    assert nk.attrs["denominator"] == pytest.approx(2.863564, abs=1e-6)
    ha = reliable_change(
        PRE7,
        [3, 2, 2, 2, 2, 2, 1],
        reliability=0.8,
        method="HA",
        m_pre=10,
        sd_pre=5,
        m_post=7,
        sd_post=6,
    )
    assert ha.attrs["r_xx_post"] == pytest.approx(0.861111, abs=1e-6)
    assert ha.attrs["cor_pre_post"] == pytest.approx(0.804469, abs=1e-6)
    assert ha.attrs["r_dd"] == pytest.approx(0.214570, abs=1e-6)
    assert ha.attrs["critical_value"] == pytest.approx(1.644854, abs=1e-6)


def test_critical_values_are_exact_normal_quantiles():
    """R: qnorm(0.975) = 1.959964, qnorm(0.95) = 1.644854, qnorm(0.995) = 2.575829
    (clinicalsignificance R/cs_distribution.R: qnorm(1 − α/2), HA qnorm(1 − α))."""
    assert z_critical(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_critical(0.95, sided="one") == pytest.approx(1.644854, abs=1e-6)
    assert z_critical(0.99) == pytest.approx(2.575829, abs=1e-6)
    assert z_critical(0.90) == pytest.approx(1.644854, abs=1e-6)
    for bad in (0, 1, 1.5, float("nan")):
        with pytest.raises(InputError, match="confidence"):
            z_critical(bad)
    with pytest.raises(InputError, match="sided"):
        z_critical(0.95, sided="both")  # type: ignore[arg-type]


def test_rci_just_inside_r_critical_value_is_reliable():
    """An RCI of −1.95998 (lower is better) is "improved" in R (|RCI| > qnorm(.975) =
    1.959964) — it was "unchanged" with the rounded 1.96; +1.95998 is deteriorated."""
    sdiff = s_diff(5.0, 0.8)
    post = np.array([-1.95998, 1.95998, -1.95996]) * sdiff
    r = reliable_change(np.zeros(3), post, reliability=0.8, sd_pre=5.0, lower_is_better=True)
    assert r["rci"].to_numpy() == pytest.approx([-1.95998, 1.95998, -1.95996], abs=1e-9)
    assert r["improved"].tolist() == [True, False, False]
    assert r["deteriorated"].tolist() == [False, True, False]
    # a stricter confidence level and an explicit critical value are both honoured
    r99 = reliable_change(np.zeros(3), post, reliability=0.8, sd_pre=5.0, confidence=0.99)
    assert not r99["improved"].any() and r99.attrs["critical_value"] == pytest.approx(
        2.575829, abs=1e-6
    )
    old = reliable_change(np.zeros(3), post, reliability=0.8, sd_pre=5.0, critical_value=1.96)
    assert not old["improved"].any() and old.attrs["critical_value_source"] == "given"
    # clinical_significance passes the confidence level through
    cs = clinical_significance(
        pd.DataFrame({"pre": [20.0, 20.0], "post": [20 - 1.95998 * sdiff, 20.0]}),
        "pre",
        "post",
        reliability=0.8,
        sd_pre=5.0,
        cutoff=10.0,
    )
    assert cs["improved"].tolist() == [True, False]
    assert cs.attrs["critical_value"] == pytest.approx(1.959964, abs=1e-6)


def test_jacobson_truax_cutoffs():
    """Reproduces the JT 1991 illustration: M_clin 40, SD 7.5, M_func 60, SD 7.5 → c = 50,
    a = 55 / 25, b = 45 / 75 (higher / lower is better) (clinicalsignificance
    test-calc_cutoff.R)."""
    hi = cutoffs(40, 7.5, 60, 7.5, lower_is_better=False)
    lo = cutoffs(40, 7.5, 60, 7.5, lower_is_better=True)
    assert _cut(hi, "c") == _cut(lo, "c") == pytest.approx(50)
    assert _cut(hi, "a") == pytest.approx(55) and _cut(lo, "a") == pytest.approx(25)
    assert _cut(hi, "b") == pytest.approx(45) and _cut(lo, "b") == pytest.approx(75)


def test_cutoff_b_sd_choice_visible_with_unequal_sds():
    """Criterion b uses SD_functional (JT 1991) by default and SD_clinical with
    b_sd="clinical" (clinicalsignificance .calc_cutoff_jt); scales.md §3.2 asks for an
    unequal-SD case because equal SDs hide the difference."""
    jt = cutoffs(40, 10, 60, 5, lower_is_better=False)
    pkg = cutoffs(40, 10, 60, 5, lower_is_better=False, b_sd="clinical")
    assert _cut(jt, "b") == pytest.approx(50)  # 60 − 2·5
    assert _cut(pkg, "b") == pytest.approx(40)  # 60 − 2·10
    assert _cut(jt, "c") == pytest.approx((10 * 60 + 5 * 40) / 15)


def test_true_score_cutoffs_bauer():
    """Reproduces the HA true-score cut-offs for Bauer et al. 2004 (M_clin 68.35, SD 22.33,
    r .93; M_func 50, SD 22, r .93): a = 111.418544 / 25.281456, package b (clinical SD) =
    6.931456 / 93.068544, c from the package test formula (test-calc_cutoff.R).
    Note: scales.md §5 prints c = 59.106681 [C]; the formula gives 59.106700."""
    hi = true_score_cutoffs(68.35, 22.33, 0.93, 50, 22, 0.93, lower_is_better=False)
    lo = true_score_cutoffs(68.35, 22.33, 0.93, 50, 22, 0.93, lower_is_better=True)
    assert _cut(hi, "a_true") == pytest.approx(111.418544, abs=1e-6)
    assert _cut(lo, "a_true") == pytest.approx(25.281456, abs=1e-6)
    assert _cut(hi, "b_true") == pytest.approx(6.931456, abs=1e-6)
    assert _cut(lo, "b_true") == pytest.approx(93.068544, abs=1e-6)
    r = np.sqrt(0.93)
    c_formula = (22 * r * 68.35 + 22.33 * r * 50) / (22 * r + 22.33 * r)
    assert _cut(hi, "c_true") == pytest.approx(c_formula, abs=1e-9)
    assert _cut(hi, "c_true") == pytest.approx(59.1067, abs=1e-4)


def test_aaq2_cutoff_c():
    """Reproduces AAQ-II c = 22.58 from Bond 2011 norms, clinical 28.3 (9.9), non-clinical
    18.51 (7.05) (scales.md §1.9), directly and from the iopkit.scales registry norms."""
    assert _cut(cutoffs(28.3, 9.9, 18.51, 7.05), "c") == pytest.approx(22.58, abs=0.005)
    f = scale_facts("aaq2")
    if f.clinical_sd is None or f.functional_sd is None:
        pytest.skip("registry has no AAQ-II norms")
    c = _cut(cutoffs(f.clinical_mean, f.clinical_sd, f.functional_mean, f.functional_sd), "c")
    assert c == pytest.approx(22.58, abs=0.005)


def test_category_logic_snapshot():
    """Reproduces the recorded category output (clinicalsignificance
    tests/testthat/_snaps/calc_recovered.md): clinical_pre [T,F,F,F,F], functional_post
    [T,F,F,T,F], improved [T,T,F,F,F], deteriorated [F,F,F,T,T] → recovered, improved,
    unchanged; case 4 deteriorated and case 5 harmed by the algorithm (scales.md §5)."""
    cats = categorize(
        [True, False, False, False, False],
        [True, False, False, True, False],
        [True, True, False, False, False],
        [False, False, False, True, True],
    )
    assert list(cats) == ["recovered", "improved", "unchanged", "deteriorated", "harmed"]


def _claus(reference_data):
    d = pd.read_csv(reference_data / "clinicalsignificance_claus_2020.csv")
    assert {"id", "time", "hamd"} <= set(d.columns)
    return d.pivot(index="id", columns="time", values="hamd")


def test_claus_2020_distribution_and_combined(reference_data):
    """Reproduces clinicalsignificance v3.0.0 snapshots on Claus et al. 2020 HAM-D (pre =
    time 1, post = time 4, lower is better, r .80): n 43 → 40 used; JT distribution method
    improved 29 / unchanged 10 / deteriorated 1; combined with cut-off c, functional M 8 SD 8:
    recovered 26, improved 3, unchanged 10, deteriorated 1, harmed 0 (scales.md §5)."""
    w = _claus(reference_data)
    assert len(w) == 43
    res = clinical_significance(
        w, 1, 4, reliability=0.8, m_functional=8, sd_functional=8, cutoff="c"
    )
    assert res.attrs["n_complete"] == 40 and res.attrs["n_total"] == 43
    assert sorted(w.index[res["category"].isna()]) == [4, 17, 27]
    assert int(res["improved"].sum()) == 29
    assert int(res["unchanged"].sum()) == 10
    assert int(res["deteriorated"].sum()) == 1
    counts = category_counts(res, baseline_case=None).set_index("category")["n"]
    assert counts.to_dict() == {
        "recovered": 26,
        "improved": 3,
        "unchanged": 10,
        "deteriorated": 1,
        "harmed": 0,
        "missing": 3,
    }
    split = category_counts(res)
    assert split["n"].sum() == 43  # counts reconcile: nobody lost
    assert set(split["baseline"]) <= {
        "case at baseline",
        "non-case at baseline",
        "baseline missing",
    }
    noncase = split[split["baseline"] == "non-case at baseline"]
    assert noncase.loc[noncase["category"] == "recovered", "n"].sum() == 0


def test_claus_2020_percentage_change(reference_data):
    """Reproduces clinicalsignificance cs_percentage on Claus 2020 HAM-D with ≥ 50 %
    improvement: improved 16, unchanged 24, deteriorated 0 (scales.md §5)."""
    w = _claus(reference_data)
    p = percentage_change(w[1], w[4], improvement=0.5)
    assert int(p["improved"].sum()) == 16
    assert int(p["unchanged"].sum()) == 24
    assert int(p["deteriorated"].sum()) == 0
    assert int(p["improved"].isna().sum()) == 3


def test_percentage_change_rules():
    """calc_percentage rules: inclusive threshold, pre = 0 with post > 0 counts as improved
    (as coded in the package), pre = post unchanged (scales.md §3.3)."""
    p = percentage_change(
        [10, 10, 0, 5, 10], [5, 6, 2, 5, 15], improvement=0.5, lower_is_better=False
    )
    assert p["improved"].tolist() == [False, False, True, False, True]
    assert p["deteriorated"].tolist() == [True, False, False, False, False]


def test_percentage_change_from_zero_follows_direction():
    """pre = 0: a rise is an improvement when higher is better and a deterioration when lower
    is better — never both (deliberate deviation from the package's direction-blind rule)."""
    low = percentage_change([0, 0, 0], [5, 0, 1], improvement=0.5, lower_is_better=True)
    assert low["improved"].tolist() == [False, False, False]
    assert low["deteriorated"].tolist() == [True, False, True]
    assert low["unchanged"].tolist() == [False, True, False]
    high = percentage_change([0], [5], improvement=0.5, lower_is_better=False)
    assert (high["improved"].tolist(), high["deteriorated"].tolist()) == ([True], [False])


def test_jacobson_1989_direction_mirror(reference_data):
    """JT 1991 Table 2 DAS data (higher is better): negating the scores and declaring lower
    is better gives the same categories (direction handling, validation-data.md B3)."""
    d = pd.read_csv(reference_data / "clinicalsignificance_jacobson_1989.csv")
    w = d.pivot(index="subject", columns="time", values="das")
    a = clinical_significance(w, "pre", "post", reliability=0.8, cutoff="a", lower_is_better=False)
    neg = -w
    b = clinical_significance(neg, "pre", "post", reliability=0.8, cutoff="a", lower_is_better=True)
    assert list(a["category"]) == list(b["category"])
    assert a["improved"].sum() > 0


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="reliability"):
        reliable_change([1, 2], [2, 3], reliability=1.2)
    with pytest.raises(InputError, match="unknown RCI method"):
        reliable_change([1, 2, 3], [2, 3, 4], reliability=0.8, method="XYZ")
    with pytest.raises(InputError, match="NK method needs reliability_post"):
        reliable_change([1, 2, 3], [2, 3, 4], reliability=0.8, method="NK")
    with pytest.raises(InputError, match="non-numeric"):
        reliable_change(pd.Series(["a", "2", "3"], name="pre"), [2, 3, 4], reliability=0.8)
    with pytest.raises(InputError, match="functional norms"):
        clinical_significance(
            pd.DataFrame({"a": [10, 20, 30], "b": [5, 10, 9]}),
            "a",
            "b",
            reliability=0.8,
            cutoff="c",
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 27), st.integers(0, 27)), min_size=3, max_size=30),
    st.floats(0.5, 0.95),
    st.floats(1.0, 10.0),
)
def test_rci_symmetric(pairs, r, sd):
    """Swapping pre and post negates the JT RCI and swaps improvement and deterioration."""
    pre = [p for p, _ in pairs]
    post = [q for _, q in pairs]
    a = reliable_change(pre, post, reliability=r, sd_pre=sd)
    b = reliable_change(post, pre, reliability=r, sd_pre=sd)
    assert np.allclose(a["rci"], -b["rci"])
    assert a["improved"].tolist() == b["deteriorated"].tolist()
    assert (a["improved"] & a["deteriorated"]).sum() == 0
