"""Episode outcomes, cohort summaries and NHS Talking Therapies measures (the mixed model:
test_outcomes_mixed.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iopkit.errors import InputError
from iopkit.outcomes import (
    ScaleFacts,
    cohort_summary,
    episode_outcomes,
    episode_scores,
    locf_sensitivity,
    talking_therapies,
    weekly_means,
    weekly_trajectory,
    with_weeks,
)

ADMIT = pd.Timestamp("2025-01-06")


def _claus_tables(reference_data):
    """Claus 2020 HAM-D as iopkit episodes + long scores (time t → admission + 7(t − 1) days;
    discharge = the time-4 date)."""
    d = pd.read_csv(reference_data / "clinicalsignificance_claus_2020.csv")
    eps = pd.DataFrame(
        {
            "episode_id": [f"E{i}" for i in sorted(d["id"].unique())],
            "cohort_id": "claus",
            "admit_date": ADMIT,
            "discharge_date": ADMIT + pd.Timedelta(days=21),
            "discharge_type": "completed",
        }
    )
    sc = pd.DataFrame(
        {
            "episode_id": "E" + d["id"].astype(str),
            "date": ADMIT + pd.to_timedelta((d["time"] - 1) * 7, unit="D"),
            "scale": "hamd",
            "total": d["hamd"],
        }
    )
    return eps, sc


HAMD = ScaleFacts(
    scale_id="hamd",
    reliability=0.8,
    functional_mean=8,
    functional_sd=8,
    remission_below=8,
    mcid=7,
    source="Claus 2020 documentation values",
)


def test_episode_outcomes_reproduce_claus_2020(reference_data):
    """Through the episode pipeline, Claus 2020 HAM-D (discharge endpoint = time 4, r .80,
    complete-case baseline SD, cut-off c with functional M 8 SD 8) reproduces the
    clinicalsignificance v3.0.0 snapshot: recovered 26, improved 3, unchanged 10,
    deteriorated 1, harmed 0; 40 of 43 paired (scales.md §5)."""
    eps, sc = _claus_tables(reference_data)
    o = episode_outcomes(
        sc, eps, scale="hamd", facts=HAMD, endpoint="discharge", discharge_window=0
    )
    assert o.attrs["counts"]["episodes"] == 43 and o.attrs["counts"]["paired"] == 40
    counts = o["category"].value_counts().to_dict()
    assert counts == {
        "recovered": 26,
        "improved": 3,
        "unchanged": 10,
        "deteriorated": 1,
        "harmed": 0,
    }
    assert int(o["reliable_improvement"].sum()) == 29
    assert "Jacobson & Truax" in o.attrs["variants"]["rci"]
    assert int(o["response"].sum()) == 16  # ≥ 50 % reduction, as cs_percentage


def _toy():
    eps = pd.DataFrame(
        {
            "episode_id": ["E1", "E2", "E3", "E4", "E5"],
            "patient_id": ["P1", "P2", "P3", "P4", "P5"],
            "cohort_id": ["C1", "C1", "C1", "C2", "C2"],
            "admit_date": ["2025-01-06"] * 5,
            "discharge_date": ["2025-02-07", "2025-02-07", "2025-01-20", None, "2025-02-07"],
            "discharge_type": ["completed", "completed", "dropped_out", None, "completed"],
        }
    )
    rows = [
        ("E1", "2025-01-05", 20),
        ("E1", "2025-01-20", 15),
        ("E1", "2025-02-06", 4),
        ("E2", "2025-01-06", 12),
        ("E2", "2025-02-07", 19),
        ("E3", "2025-01-08", 18),
        ("E3", "2025-01-15", 16),
        ("E4", "2025-01-20", 14),  # no baseline within ±7 days
        ("E5", "2025-01-06", 0),
        ("E5", "2025-02-07", 0),
        ("E1", "2025-01-13", np.nan),  # missing score: ignored, never imputed
    ]
    sc = pd.DataFrame(rows, columns=["episode_id", "date", "total"]).assign(scale="phq9")
    return eps, sc


PHQ9 = ScaleFacts(
    scale_id="phq9",
    reliability=0.84,
    clinical_mean=16.65,
    clinical_sd=4.25,
    functional_mean=3.1,
    functional_sd=3.5,
    remission_below=5,
    mcid=5,
    reliable_change_points=6,
    caseness=10,
)


def test_baseline_endpoint_rules():
    eps, sc = _toy()
    es = episode_scores(sc, eps, scale="phq9").set_index("episode_id")
    assert es.loc["E1", "baseline"] == 20 and es.loc["E1", "endpoint"] == 4
    assert bool(es.loc["E1", "endpoint_at_discharge"])
    assert np.isnan(es.loc["E4", "baseline"])  # first score 14 days after admission
    assert es.loc["E3", "endpoint"] == 16 and bool(es.loc["E3", "endpoint_at_discharge"])
    dis = episode_scores(sc, eps, scale="phq9", endpoint="discharge", discharge_window=2)
    assert np.isnan(dis.set_index("episode_id").loc["E3", "endpoint"])
    assert len(es) == 5  # every episode kept


def test_episode_outcome_columns_and_rules():
    eps, sc = _toy()
    o = episode_outcomes(sc, eps, scale="phq9", facts=PHQ9, sd_source="norms").set_index(
        "episode_id"
    )
    e1 = o.loc["E1"]
    assert e1["change"] == -16 and e1["pct_change"] == pytest.approx(-0.8)
    assert bool(e1["response"]) and bool(e1["remission"]) and bool(e1["mcid_reached"])
    s_diff = np.sqrt(2) * 4.25 * np.sqrt(1 - 0.84)
    assert e1["rci"] == pytest.approx(-16 / s_diff)
    assert e1["category"] == "recovered"
    e2 = o.loc["E2"]
    assert bool(e2["reliable_deterioration"]) and e2["category"] == "deteriorated"
    # baseline 0: percent change undefined → response missing, not False
    assert pd.isna(o.loc["E5", "response"]) and bool(o.loc["E5", "remission"])
    assert o.loc["E5", "baseline_case"] is False or not bool(o.loc["E5", "baseline_case"])
    assert pd.isna(o.loc["E4", "category"])
    cut = (4.25 * 3.1 + 3.5 * 16.65) / (4.25 + 3.5)
    assert o["cutoff"].iloc[0] == pytest.approx(cut)
    assert "norms" in o.attrs["variants"]["rci"]


def test_sample_sd_by_cohort_and_registry_facts():
    eps, sc = _toy()
    o = episode_outcomes(sc, eps, scale="phq9", facts=PHQ9, sd_by="cohort_id")
    c1 = o[o["cohort_id"] == "C1"]
    base = c1.loc[c1["endpoint"].notna(), "baseline"]
    assert c1["rci_sd"].iloc[0] == pytest.approx(base.std(ddof=1))
    # the registry supplies PHQ-9 facts when no ScaleFacts are given
    reg = episode_outcomes(sc, eps, scale="phq9", cutoff=None)
    assert "registry" in reg.attrs["facts_source"]


def test_cutoffs_by_cohort_are_each_cohorts_own():
    """With ``sd_by``, every row's cut-off is :func:`cutoffs` of its own cohort's baseline
    mean and SD (criteria a, b and c; b with either SD), computed for all cohorts at once."""
    from iopkit.outcomes import cutoffs
    from iopkit.outcomes._common import scale_facts
    from iopkit.synth import synthesize

    b = synthesize(n_cohorts=6, seed=5, episodes_per_cohort=12)
    from iopkit.scales.engine import score_assessments

    scores = score_assessments(b["assessments"])
    facts = scale_facts("phq9")
    for crit, b_sd in (("a", "functional"), ("b", "functional"), ("b", "clinical"),
                       ("c", "functional")):  # fmt: skip
        o = episode_outcomes(scores, b["episodes"], scale="phq9", sd_by="cohort_id",
                             cutoff=crit, b_sd=b_sd)  # fmt: skip
        assert o["cohort_id"].nunique() == 6
        for cohort, g in o.groupby("cohort_id"):
            base = g.loc[g["endpoint"].notna() & g["baseline"].notna(), "baseline"]
            assert g["rci_sd"].iloc[0] == pytest.approx(base.std(ddof=1), rel=1e-12)
            t = cutoffs(base.mean(), base.std(ddof=1), facts.functional_mean,
                        facts.functional_sd, b_sd=b_sd).set_index("criterion")
            assert g["cutoff"].to_numpy() == pytest.approx(t.loc[crit, "value"], rel=1e-12), (
                cohort, crit)


def test_episode_input_errors():
    eps, sc = _toy()
    with pytest.raises(InputError, match="not a date"):
        episode_outcomes(sc.assign(date="yesterday"), eps, scale="phq9", facts=PHQ9)
    with pytest.raises(InputError, match="appears more than once"):
        episode_outcomes(sc, pd.concat([eps, eps.iloc[:1]]), scale="phq9", facts=PHQ9)
    with pytest.raises(InputError) as err:
        episode_outcomes(sc.drop(columns="total"), eps, scale="phq9", facts=PHQ9)
    assert err.value.column == "total"
    with pytest.raises(InputError, match="reliability"):
        episode_outcomes(sc, eps, scale="unknown_scale", cutoff=None)
    junk = sc.astype({"total": object})
    junk.loc[junk.index[0], "total"] = "n/a"
    for fn in (episode_outcomes, with_weeks):  # both refuse text scores the same way
        with pytest.raises(InputError, match="'n/a'.*is not a number") as err:
            fn(junk, eps, scale="phq9", **({"facts": PHQ9} if fn is episode_outcomes else {}))
        assert err.value.column == "total"


def test_cohort_summary_labels_itt_and_completers():
    eps, sc = _toy()
    o = episode_outcomes(sc, eps, scale="phq9", facts=PHQ9, sd_source="norms")
    s = cohort_summary(o, by=None)
    n = s[s["statistic"] == "n"].set_index("analysis_set")["estimate"]
    assert n["all"] == 5 and n["itt"] == 4 and n["paired"] == 4 and n["completers"] == 3
    assert s.loc[s["statistic"] == "n", "variant"].str.contains("ITT").any()
    es = s[(s["analysis_set"] == "completers") & (s["statistic"] == "d_z")]
    assert len(es) == 1 and es["ci_method"].iloc[0] == "noncentral t"
    rr = s[(s["analysis_set"] == "paired") & (s["statistic"] == "response_rate")].iloc[0]
    assert rr["n"] == 3 and rr["ci_method"] == "Wilson"  # E5 (baseline 0) not in denominator
    rec = s[(s["analysis_set"] == "paired") & (s["statistic"] == "recovered_rate")].iloc[0]
    assert rec["n"] == 3  # cases at baseline only
    cats = s[(s["analysis_set"] == "paired") & (s["statistic"] == "category_n")]
    assert cats["estimate"].sum() == 4


def test_weekly_trajectory_and_locf():
    eps, sc = _toy()
    w = with_weeks(sc, eps, scale="phq9")
    assert w.attrs["n_missing_score"] == 1
    assert w.loc[w["date"] == "2025-01-05", "week"].iloc[0] == -1
    t = weekly_trajectory(sc, eps, scale="phq9")
    wk0 = t.set_index("week").loc[0]
    assert wk0["n"] == 3 and wk0["mean"] == pytest.approx((12 + 18 + 0) / 3)  # E1 is week -1
    # the same from the weeks frame a report also draws (computed once)
    pd.testing.assert_frame_equal(weekly_means(w), t)
    pd.testing.assert_frame_equal(weekly_means(w, by="cohort_id"),
                                  weekly_trajectory(sc, eps, scale="phq9", by="cohort_id"))
    with pytest.raises(InputError, match="cohort_id"):
        weekly_means(w.drop(columns="cohort_id"), by="cohort_id")
    lo = locf_sensitivity(sc, eps, scale="phq9", week=2)
    assert lo["analysis"].str.contains("LOCF sensitivity").all()
    assert lo["n"].iloc[0] == 4 and lo["n_baseline_carried"].iloc[0] == 2  # E2, E5


def test_talking_therapies_rules():
    """NHS TT thresholds (PHQ-9 caseness ≥ 10, RC ≥ 6; GAD-7 caseness ≥ 8, RC ≥ 4; NHS
    Digital via PMC8411661) with the documented [M] combination rule."""
    dep = pd.DataFrame(
        {
            "episode_id": ["a", "b", "c", "d", "e"],
            "baseline": [15, 15, 8, 12, 20],
            "endpoint": [8, 9, 4, 18, np.nan],
        }
    )
    anx = pd.DataFrame(
        {
            "episode_id": ["a", "b", "c", "d", "e"],
            "baseline": [12, 12, 6, 9, 15],
            "endpoint": [6, 16, 2, 8, 9],
        }
    )
    t = talking_therapies(dep, anx, anxiety_scale="gad7").set_index("episode_id")
    assert bool(t.loc["a", "reliable_recovery"])
    # b: PHQ-9 improves by 6 but GAD-7 deteriorates by 4 → not reliable improvement
    assert not bool(t.loc["b", "reliable_improvement"]) and not bool(t.loc["b", "recovery"])
    assert pd.isna(t.loc["c", "recovery"]) and not bool(t.loc["c", "case_at_baseline"])
    assert bool(t.loc["d", "reliable_deterioration"])
    assert not t.loc["e", "paired"] and pd.isna(t.loc["e", "reliable_improvement"])
    assert "[M]" in t.attrs["variant"]
