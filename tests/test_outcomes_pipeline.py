"""End to end on a synthetic bundle (iopkit.synth) scored by iopkit.scales: every outcome
function runs on the data contracts and its counts reconcile with the input."""

from __future__ import annotations

import numpy as np
import pytest

import iopkit.outcomes as oc


@pytest.fixture(scope="module")
def bundle():
    synth = pytest.importorskip("iopkit.synth")
    engine = pytest.importorskip("iopkit.scales.engine")
    b = synth.synthesize(n_cohorts=2, seed=3, as_of="2025-03-15")
    return b, engine.score_assessments(b["assessments"])


def test_outcomes_on_synthetic_bundle(bundle):
    b, scored = bundle
    eps = b["episodes"]
    o = oc.episode_outcomes(scored, eps, scale="phq9")
    c = o.attrs["counts"]
    assert c["episodes"] == len(eps) == len(o)
    assert c["paired"] + c["baseline_no_endpoint"] + c["no_baseline"] == len(eps)
    assert int(o["category"].notna().sum()) == c["paired"]
    s = oc.cohort_summary(o)
    n = s[(s["statistic"] == "n") & (s["analysis_set"] == "all")]["estimate"].sum()
    assert n == len(eps)
    active = int(eps["discharge_date"].isna().sum())
    f = oc.mbc_flags(scored, eps, b["attendance"])
    assert len(f) == 4 * active
    assert (f["flag"] == "safety").sum() == active
    att = oc.attendance_summary(b["attendance"], eps)
    assert att["n_scheduled"].sum() == len(b["attendance"])
    ex = oc.skill_exposure(b["attendance"], b["sessions"], eps)
    attended = b["attendance"]["status"].isin(["present", "late"]).sum()
    assert ex["n_attended"].sum() + ex.attrs["attended_no_session"] >= attended
    m = oc.mixed_model(oc.with_weeks(scored, eps, scale="phq9"))
    slope = m.set_index("term").loc["weeks"]
    assert np.isfinite(slope["estimate"]) and slope["ci_low"] < slope["ci_high"]
    comp = oc.measurement_completeness(scored, eps, scale="phq9")
    assert comp["completeness"].between(0, 1).all()
