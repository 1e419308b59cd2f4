"""Expected recovery curves on synthetic data with a planted slow-responder group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iopkit.errors import InputError
from iopkit.outcomes.expected import expected_recovery, recovery_status

ADMIT = pd.Timestamp("2025-01-06")


def _cohort(n: int, *, slow_share: float, seed: int, prefix: str, weeks: int = 8):
    """Weekly PHQ-9-like scores: responders fall by 35 % of baseline per unit of ln(1 + t),
    slow responders by 5 %; noise SD 2; scores clipped to 0–27."""
    rng = np.random.default_rng(seed)
    ids = [f"{prefix}{i:04d}" for i in range(n)]
    slow = rng.random(n) < slow_share
    base = rng.uniform(10, 25, n)
    rows = []
    for i, eid in enumerate(ids):
        rate = 0.05 if slow[i] else 0.35
        for t in range(weeks + 1):
            mean = base[i] * (1 - rate * np.log1p(t))
            score = base[i] if t == 0 else mean + rng.normal(0, 2)
            rows.append((eid, ADMIT + pd.Timedelta(days=7 * t), float(np.clip(score, 0, 27))))
    long = pd.DataFrame(rows, columns=["episode_id", "date", "score"])
    long["days"] = (long["date"] - ADMIT).dt.days
    long["weeks"] = long["days"] / 7
    episodes = pd.DataFrame({"episode_id": ids, "admit_date": ADMIT, "discharge_type": "completed"})
    return long, episodes, pd.Series(slow, index=ids)


@pytest.fixture(scope="module")
def curves():
    long, eps, _ = _cohort(400, slow_share=0.1, seed=1, prefix="T")
    return expected_recovery(long, eps, scale="phq9")


def test_curve_recovers_the_planted_course_and_band_coverage(curves):
    """The median curve at baseline 20 follows the planted responder course, and the 80 %
    band holds about 80 % of the training scores."""
    long, eps, _ = _cohort(400, slow_share=0.1, seed=1, prefix="T")
    e = curves.expected([20, 20], [0, 4])
    assert e["expected"].iloc[0] == pytest.approx(20, abs=0.6)
    assert e["expected"].iloc[1] == pytest.approx(20 * (1 - 0.35 * np.log1p(4)), abs=1.0)
    assert (e["lower"] <= e["expected"]).all() and (e["expected"] <= e["upper"]).all()
    st = recovery_status(long, curves)
    inside = st["position"] == "as expected"
    assert inside.mean() == pytest.approx(0.80, abs=0.03)
    assert curves.n_episodes == 400 and curves.quantiles == pytest.approx((0.1, 0.5, 0.9))
    assert "quantile regression" in curves.model and curves.training_window.startswith(
        "admitted 2025-01-06"
    )


def test_table_is_tidy_by_registry_band(curves):
    t = curves.table
    assert list(t.columns) == [
        "band",
        "band_min",
        "band_max",
        "baseline_ref",
        "week",
        "expected",
        "lower",
        "upper",
        "n_episodes",
    ]
    assert set(t["band"]) == {"moderate", "moderately severe", "severe"}  # baselines 10–25
    sev = t[t["band"] == "severe"]
    assert sev["week"].tolist() == list(range(len(sev))) and sev["expected"].is_monotonic_decreasing
    assert (t["lower"] <= t["upper"]).all() and t["n_episodes"].gt(0).all()


def test_planted_slow_responders_are_not_on_track(curves):
    """Sensitivity and specificity at the latest score (week 6) on a fresh cohort with 30 %
    slow responders; every row names method, model, training window and n."""
    long, _, slow = _cohort(300, slow_share=0.3, seed=2, prefix="P", weeks=6)
    st = recovery_status(long, curves)
    last = st[st["is_latest"]].set_index("episode_id")
    flagged = last["not_on_track"].astype(bool)
    sens = flagged[slow[last.index]].mean()
    spec = (~flagged[~slow[last.index]]).mean()
    assert sens > 0.8 and spec > 0.95, (sens, spec)  # observed 0.86 and 0.98
    assert (st["method"] == "expected_curve").all() and (st["n_training_episodes"] == 400).all()
    assert st["model"].iloc[0] == curves.model and st["training_window"].iloc[0]
    assert "90%" in st["rule"].iloc[0]


def test_fixed_rule_by_name():
    """[D] rule: at week ≥ 4 a reduction from baseline < 20 % is not on track."""
    rows = [
        ("a", 0, 20),
        ("a", 28, 17),  # 15 % by week 4 → not on track
        ("b", 0, 20),
        ("b", 28, 16),  # exactly 20 % → on track (strict <)
        ("c", 0, 20),
        ("c", 21, 20),  # week 3 → not yet due
        ("d", 0, 0),
        ("d", 28, 0),  # baseline 0 → undefined
    ]
    long = pd.DataFrame(rows, columns=["episode_id", "days", "score"])
    long["date"] = ADMIT + pd.to_timedelta(long["days"], "D")
    long["weeks"] = long["days"] / 7
    st = recovery_status(long, method="fixed_rule").set_index("episode_id")
    assert bool(st.loc["a", "not_on_track"]) and not bool(st.loc["b", "not_on_track"])
    assert pd.isna(st.loc["c", "not_on_track"]) and "not yet due" in st.loc["c", "reason"]
    assert pd.isna(st.loc["d", "not_on_track"]) and "baseline 0" in st.loc["d", "reason"]
    assert (st["model"] == "fixed rule (no model)").all()
    assert st["rule"].iloc[0] == "[D] at week ≥ 4, reduction from baseline < 20%"


def test_higher_is_better_mirrors(curves):
    """With higher-is-better scores the band's lower edge is the worse side."""
    long, eps, _ = _cohort(200, slow_share=0.0, seed=3, prefix="H")
    flipped = long.assign(score=27 - long["score"])
    c = expected_recovery(flipped, eps, lower_is_better=False, min_episodes=50)
    st = recovery_status(flipped, c)
    worse = st["position"] == "worse than expected"
    assert (st.loc[worse, "score"] < st.loc[worse, "lower"]).all()
    assert st["not_on_track"].astype(bool).equals(worse)
    assert "below the 10%" in st["rule"].iloc[0]


def test_errors_name_the_rule(curves):
    long, eps, _ = _cohort(10, slow_share=0.0, seed=4, prefix="S")
    with pytest.raises(InputError, match="at least 30 completed episodes.*fixed_rule"):
        expected_recovery(long, eps)
    with pytest.raises(InputError, match="at least 30"):  # only completed episodes train
        big, beps, _ = _cohort(60, slow_share=0.0, seed=4, prefix="S")
        expected_recovery(big, beps.assign(discharge_type="dropped_out"))
    with pytest.raises(InputError, match="unknown on-track method"):
        recovery_status(long, curves, method="oq")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs fitted curves"):
        recovery_status(long)
    with pytest.raises(InputError, match="coverage"):
        expected_recovery(long, eps, coverage=80)


def test_path_by_date_for_one_patient(curves):
    p = curves.path(20.0, "2025-01-06", "2025-02-03")
    assert list(p.columns) == ["date", "weeks", "expected", "lower", "upper"]
    assert len(p) == 29 and p["weeks"].iloc[0] == 0 and p["weeks"].iloc[-1] == 4
    same = curves.expected([20.0], [4.0]).iloc[0]
    assert p.iloc[-1][["expected", "lower", "upper"]].tolist() == pytest.approx(same.tolist())
    assert (p["lower"] <= p["expected"]).all() and (p["expected"] <= p["upper"]).all()
    with pytest.raises(InputError, match="before admission"):
        curves.path(20.0, "2025-02-03", "2025-01-06")


def test_patient_figure_draws_the_band_behind_the_line(curves):
    from iopkit import plots

    p = curves.path(20.0, "2025-01-06", "2025-02-03")
    mine = pd.DataFrame({"date": pd.to_datetime(["2025-01-06", "2025-01-20", "2025-02-03"]),
                         "score": [20, 16, 12]})
    fig = plots.patient_scores(mine, scale_label="PHQ-9", expected=p)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["expected range for this baseline", "expected (median)", "patient"]
    assert ax.collections[0].get_zorder() < ax.lines[-1].get_zorder()  # band behind the line


def test_fixed_rule_is_one_function_shared_with_the_flags():
    """[D] at week ≥ 4 a reduction < 20 % is not on track; <NA> before week 4 or when the
    baseline is 0. mbc_flags and recovery_status(method="fixed_rule") both call it."""
    import inspect

    from iopkit.outcomes import flags
    from iopkit.outcomes.expected import fixed_rule

    flag, due, red = fixed_rule([20, 20, 20, 0], [18, 10, 19, 3], [4, 4, 2, 6])
    assert list(flag.fillna(False)) == [True, False, False, False]
    assert pd.isna(flag[2]) and pd.isna(flag[3]) and list(due) == [True, True, False, True]
    assert red[0] == pytest.approx(0.10)
    higher, _, _ = fixed_rule([20], [23], [5], lower_is_better=False)  # +15 % < 20 %
    assert bool(higher[0])
    assert "fixed_rule(" in inspect.getsource(flags.mbc_flags)
