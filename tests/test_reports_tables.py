"""Report tabulations, the discharge-plan draft, benchmarks data and the identifier check."""

from __future__ import annotations

import math

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from iopkit.data.sources.synthetic import DEMO_SOURCE
from iopkit.errors import InputError
from iopkit.reports.engine.runner import identifier_columns
from iopkit.reports.views import tables
from iopkit.reports.views.drafts import BLANK, discharge_plan
from iopkit.reports.views.source import ReportData, open_source, severity_bands


@pytest.fixture(scope="module")
def demo() -> ReportData:
    return open_source(DEMO_SOURCE)


def test_select_period_counts_reconcile(demo: ReportData) -> None:
    eps = demo["episodes"]
    sel = tables.select_period(demo, cohort_id="C02", start_date="2025-02-01",
                               end_date="2025-02-28")
    e = sel["episodes"]
    expected = eps[(eps["cohort_id"] == "C02") & (eps["admit_date"] <= "2025-02-28")
                   & (eps["discharge_date"].isna() | (eps["discharge_date"] >= "2025-02-01"))]
    assert sorted(e["episode_id"]) == sorted(expected["episode_id"])
    a = sel["attendance"]
    assert a["date"].between("2025-02-01", "2025-02-28").all()
    assert set(a["episode_id"]) <= set(e["episode_id"])
    with pytest.raises(InputError, match="after end_date"):
        tables.select_period(demo, start_date="2025-03-01", end_date="2025-02-01")


def test_census_reconciles(demo: ReportData) -> None:
    c = tables.census(demo["episodes"]).set_index("measure")["n"]
    in_care = "episodes in care during the period"
    assert c[in_care] == len(demo["episodes"])
    assert c.drop(in_care).sum() == c[in_care]  # every episode counted once
    wide = tables.census_by_cohort(demo["episodes"]).set_index("cohort")
    assert wide.loc["total", "episodes in care"] == len(demo["episodes"])
    assert wide.drop(index="total")["episodes in care"].sum() == len(demo["episodes"])


def test_rates_table_carries_the_exact_count(demo: ReportData) -> None:
    from iopkit.outcomes import cohort_summary, episode_outcomes

    o = episode_outcomes(demo.scores, demo["episodes"], scale="phq9")
    rates = tables.rates_table(cohort_summary(o, by=None))
    paired = o.dropna(subset=["baseline", "endpoint"])
    row = rates.set_index("outcome").loc["response"]
    assert row[tables.RATE_COUNT] == int(paired["response"].fillna(False).sum())
    assert row[tables.RATE] == pytest.approx(
        round(100 * row[tables.RATE_COUNT] / row[tables.RATE_N], 1)
    )
    assert not [c for c in rates.columns if "_" in c]  # plain labels (issue 12 §7)


def test_program_figures_read_the_rates_table(demo: ReportData) -> None:
    """One number, one computation: response and remission in the benchmark figures are the
    rates table's (same denominator: episodes whose response is defined)."""
    from iopkit.outcomes import cohort_summary, episode_outcomes

    o = episode_outcomes(demo.scores, demo["episodes"], scale="phq9")
    summary = cohort_summary(o, by=None)
    rates = tables.rates_table(summary).set_index("outcome")
    f = tables.program_figures({"phq9": o}, demo["episodes"], demo["attendance"],
                               summaries={"phq9": summary})
    for key, outcome in (("phq9_response_pct", "response"), ("phq9_remission_pct", "remission")):
        assert round(f[key], 1) == rates.loc[outcome, tables.RATE]


def test_weekly_attendance_counts_people_per_week() -> None:
    eps = pd.DataFrame({"episode_id": ["a", "b"],
                        "admit_date": pd.to_datetime(["2025-01-06", "2025-01-08"])})
    att = pd.DataFrame({"episode_id": ["a", "a", "b", "a"],
                        "date": pd.to_datetime(["2025-01-06", "2025-01-08", "2025-01-08",
                                                "2025-01-13"]),
                        "status": ["present", "late", "present", "present"]})
    w = tables.weekly_attendance(att, eps)
    assert w[["week", "status", "n", "n_episodes"]].values.tolist() == [
        [1, "late", 1, 2], [1, "present", 2, 2], [2, "present", 1, 1]
    ]
    assert w["n"].sum() == len(att)  # every attendance row counted once


def test_modality_sessions_counts_sessions_and_people() -> None:
    exp = pd.DataFrame({"episode_id": ["a", "a", "b", "c"],
                        "modality": ["cbt", "dbt", "cbt", "act"], "n_attended": [3, 1, 2, 0]})
    m = tables.modality_sessions(exp).set_index("modality")
    assert m.loc["cbt"].tolist() == [5, 2] and m.loc["dbt"].tolist() == [1, 1]
    assert m.loc["act"].tolist() == [0, 0]  # a modality nobody attended stays, with 0


def test_reliable_change_points_is_jacobson_truax_threshold(demo: ReportData) -> None:
    """z · S_diff with S_diff = √2 · SD · √(1 − r) (Jacobson & Truax 1991) and the exact
    z = qnorm(0.975) = 1.959964 (R), not the rounded 1.96."""
    from iopkit.outcomes import episode_outcomes, scale_facts

    o = episode_outcomes(demo.scores, demo["episodes"], scale="phq9")
    r = scale_facts("phq9").reliability
    expected = 1.959963984540054 * math.sqrt(2) * float(o["rci_sd"].iloc[0]) * math.sqrt(1 - r)
    assert tables.reliable_change_points(o) == pytest.approx(expected, rel=1e-12)
    assert tables.reliable_change_points(o, critical_value=1.96) == pytest.approx(
        expected / 1.959963984540054 * 1.96, rel=1e-12
    )


def test_category_table_always_has_both_strata(demo: ReportData) -> None:
    from iopkit.outcomes import episode_outcomes

    o = episode_outcomes(demo.scores, demo["episodes"], scale="phq9")
    t = tables.category_table(o[o["baseline_case"].fillna(False).astype(bool)])
    assert list(t.columns[1:3]) == list(tables.CASE_STRATA)
    assert t["non-case at baseline"].sum() == 0
    assert t[list(tables.CASE_STRATA)].to_numpy().sum() == int(
        o["baseline_case"].fillna(False).astype(bool).sum()
    )


def test_benchmarks_reproduce_curriculum_reference() -> None:
    """The published figures in data_files/benchmarks.yaml, each with its source."""
    b = tables.benchmarks()
    assert set(b["certainty"]) <= {"V", "3P"} and b["source"].str.len().gt(5).all()
    vals = {(m, v) for m, v in zip(b["measure"], b["value"], strict=True)}
    for pair in [("phq9_admission_mean", 15.4), ("phq9_discharge_mean", 9.4),
                 ("gad7_admission_mean", 14.0), ("gad7_discharge_mean", 8.4),
                 ("phq9_response_pct", 46.0), ("phq9_remission_pct", 22.0),
                 ("completion_pct", 72.9), ("completion_pct", 62.3),
                 ("nonattendance_day_pct", 7.0), ("phq9_improved_5_points_pct", 50.3)]:
        assert pair in vals


def test_program_figures_match_outcomes(demo: ReportData) -> None:
    from iopkit.outcomes import completion_rate, episode_outcomes

    o = {"phq9": episode_outcomes(demo.scores, demo["episodes"], scale="phq9")}
    f = tables.program_figures(o, demo["episodes"], demo["attendance"])
    comp = completion_rate(demo["episodes"])
    assert f["completion_pct"] == pytest.approx(100 * comp["completion_rate"].iloc[0])
    paired = o["phq9"].dropna(subset=["baseline", "endpoint"])
    assert f["phq9_mean_reduction"] == pytest.approx(-paired["change"].mean())
    assert 0 <= f["nonattendance_day_pct"] <= 100
    table = tables.benchmark_table(f)
    assert len(table) == len(tables.benchmarks())


def test_severity_bands_from_registry() -> None:
    """PHQ-9 bands 0–4/5–9/10–14/15–19/20–27 (Kroenke 2001; curriculum.md §3)."""
    b = severity_bands("phq9")
    assert list(zip(b["lower"], b["upper"], strict=True)) == [
        (0, 4), (5, 9), (10, 14), (15, 19), (20, 27)
    ]


def test_discharge_plan_draft_lists_gaps_and_leaves_judgement_blank() -> None:
    skills = pd.DataFrame({
        "skill_id": ["rp.plan.coping_plan", "cbt.ba.activation", "dbt.dt.tip"],
        "core": [True, True, True],
        "status": ["attended", "missed", "attended"],
        "make_up": [None, "2025-03-24", None],
    })
    text = discharge_plan(
        episode_id="E1", skills=skills, titles={"cbt.ba.activation": "Behavioural activation"},
        events=pd.DataFrame({"kind": ["aftercare_appointment"],
                             "date": [pd.Timestamp("2025-04-01")]}),
        flags=pd.DataFrame({"flag": ["safety"], "value": ["phq9: item 9=1"]}),
        latest=pd.DataFrame({"scale_label": ["PHQ-9"], "endpoint": [12.0], "band": ["moderate"]}),
    )
    assert "Behavioural activation — next taught 2025-03-24" in text
    assert "safety: phq9: item 9=1" in text and "appointment on 2025-04-01" in text
    assert "PHQ-9: 12 (moderate)" in text and text.count(BLANK) >= 4


def test_identifier_columns_in_outputs() -> None:
    html = ("<table><tr><th>episode_id</th><th>Patient Name</th><th>mrn</th></tr>"
            "<tr><td>E1</td><td>x</td><td>1</td></tr></table>")
    cell = new_code_cell("x")
    cell.outputs = [new_output("display_data", data={"text/html": html})]
    nb = new_notebook(cells=[cell])
    assert identifier_columns(nbformat.from_dict(nb)) == ["Patient Name", "mrn"]


def test_program_figures_respect_suppression(demo: ReportData) -> None:
    from iopkit.outcomes import episode_outcomes

    o = {"phq9": episode_outcomes(demo.scores, demo["episodes"], scale="phq9")}
    shown = tables.program_figures(o, demo["episodes"], demo["attendance"], k=0)
    hidden = tables.program_figures(o, demo["episodes"], demo["attendance"], k=10**6)
    assert all(np.isfinite(v) for v in shown.values())
    assert all(np.isnan(v) for v in hidden.values())
    paired = o["phq9"].dropna(subset=["baseline", "endpoint"])
    remitted = int(paired["remission"].fillna(False).sum())
    k11 = tables.program_figures(o, demo["episodes"], demo["attendance"], k=11)
    assert np.isnan(k11["phq9_remission_pct"]) == (1 <= remitted < 11)


def test_suppression_parameter_check() -> None:
    """suppress_below: whole number ≥ 0; 0 or 1 turn suppression off (k = 1 hides nothing)."""
    from iopkit.reports.views import checks

    assert checks.suppression(11) == 11 and checks.suppression(0) == 1
    for bad in (-3, 2.5, True, "11"):
        with pytest.raises(InputError, match="suppress_below"):
            checks.suppression(bad)  # type: ignore[arg-type]


def test_expected_recovery_views(demo: ReportData) -> None:
    """The patient's expected band and the cohort's not-on-track list come from
    iopkit.outcomes.expected (curves fitted on the bundle's completed episodes)."""
    curves = tables.expected_curves(demo, "phq9")
    assert curves.n_episodes >= 30 and "quantile regression" in curves.model
    path = tables.expected_path(demo, curves, "E00123", "phq9")
    assert {"date", "expected", "lower", "upper"} <= set(path.columns)
    assert (path["lower"] <= path["upper"]).all()
    eps = demo["episodes"]
    late = tables.not_on_track(demo, curves, eps, "phq9")
    assert late.attrs["n_active"] == int(eps["discharge_date"].isna().sum())
    assert (late["latest score"] > late["upper"]).all()  # worse than the band (lower = better)
    assert set(late["episode_id"]) <= set(eps.loc[eps["discharge_date"].isna(), "episode_id"])
