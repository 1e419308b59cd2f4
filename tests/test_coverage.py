"""Coverage analysis, independent of the solver: hand-checked sequences and brute force."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from iopkit.errors import InputError
from iopkit.rotation import (
    compare_rotations,
    coverage_from_sessions,
    coverage_matrix,
    coverage_summary,
    coverage_table,
    module_blocks,
    round_robin,
)

MON_FRI = [0, 1, 2, 3, 4]


def test_hand_checked_windows() -> None:
    """Sequence A B C D repeating on a 4-day week, stay 3 sessions, core {A, B}.

    Admission at slot 0 sees A B C (covered after 2 sessions); slot 2 sees C D A and misses
    B, which comes 4 sessions after admission (C D A B)."""
    t = coverage_table(
        list("ABCD"), core={"A", "B"}, window=3, weekdays=[0, 1, 2, 3], attendance_p=0.5
    ).set_index("admission_slot")
    assert t.loc[0, "fully_covered"]
    assert t.loc[0, "sessions_to_full_coverage"] == 2
    assert not t.loc[2, "fully_covered"]
    assert t.loc[2, "missed_skills"] == "B"
    assert t.loc[2, "sessions_to_full_coverage"] == 4
    # expected coverage with p = 0.5: A met with prob 0.5, B not taught -> mean 0.25
    assert t.loc[2, "expected_coverage"] == pytest.approx(0.25)
    assert t.loc[0, "weekday"] == "Mon"
    assert t.loc[0, "skill_on_admission"] == "A"


def test_expected_coverage_is_exact_binomial() -> None:
    """P(meet a skill taught k times in the window) = 1 − (1 − p)^k; mean over core."""
    t = coverage_table(list("AAB"), core={"A", "B"}, window=3, weekdays=[0, 1, 2], attendance_p=0.8)
    want = ((1 - 0.2**2) + (1 - 0.2)) / 2
    assert t["expected_coverage"].tolist() == pytest.approx([want] * 3)


def test_prerequisite_violations_are_counted_per_admission() -> None:
    """requires B <- A: admission at slot 1 (B C D A) meets B first -> one violation;
    admission at slot 0 (A B C) honours it; slot 2 (C D A) never meets B -> not applicable."""
    t = coverage_table(
        list("ABCD"), core={"A"}, window=3, weekdays=[0, 1, 2, 3], requires={"B": ["A"]}
    ).set_index("admission_slot")
    assert t.loc[0, ["prereq_applicable", "prereq_violations"]].tolist() == [1, 0]
    assert t.loc[1, ["prereq_applicable", "prereq_violations"]].tolist() == [1, 1]
    assert t.loc[1, "violated"] == "B<-A"
    assert t.loc[2, "prereq_applicable"] == 0
    assert t.loc[3, ["prereq_applicable", "prereq_violations"]].tolist() == [1, 0]  # D A B
    s = coverage_summary(t.reset_index())
    assert s["prereq_fraction"] == pytest.approx(2 / 3)  # 3 applicable, slot 1 violates


def test_lag_requires_sessions_between() -> None:
    """A diary must precede the sleep window by 2 sessions: A B is too close, A x B is not."""

    def lagged(seq: list[str]) -> pd.DataFrame:
        return coverage_table(
            seq,
            core=set(),
            window=4,
            weekdays=[0, 1, 2, 3],
            requires={"B": ["A"]},
            lags={("A", "B"): 2},
            admit_weekdays=[0],
        )

    close, far = lagged(["A", "B", "x", "y"]), lagged(["A", "x", "B", "y"])
    assert close["prereq_violations"].tolist() == [1]
    assert far["prereq_violations"].tolist() == [0]


def test_admission_days_and_joint_period() -> None:
    """A 4-slot sequence on a 3-day week repeats jointly every lcm(4, 3) = 12 slots; Monday
    admissions are slots 0, 3, 6, 9."""
    t = coverage_table(list("ABCD"), core={"A"}, window=2, weekdays=[0, 2, 4], admit_weekdays=[0])
    assert t["admission_slot"].tolist() == [0, 3, 6, 9]
    assert (t["weekday"] == "Mon").all()


def test_summary_worst_and_mean() -> None:
    t = coverage_table(list("ABCD"), core={"A", "B"}, window=3, weekdays=[0, 1, 2, 3])
    s = coverage_summary(t)
    # windows: ABC ok, BCD miss A, CDA miss B, DAB ok
    assert s["share_fully_covered"] == 0.5
    assert s["worst_core_missed"] == 1
    assert s["mean_core_missed"] == 0.5
    assert s["worst_sessions_to_cover"] == 4  # C D A B
    assert s["n_admission_slots"] == 4


def test_delivered_sessions_are_censored_not_dropped() -> None:
    """Five delivered sessions, stay 3: the last two admission dates cannot see a full stay;
    they stay in the table (window_complete False) and counts reconcile."""
    sessions = pd.DataFrame(
        {
            "cohort_id": ["k1"] * 5,
            "date": pd.date_range("2026-01-05", periods=5, freq="B"),
            "skill_id": list("ABCAB"),
        }
    )
    t = coverage_from_sessions(sessions, core={"A", "B"}, window=3)
    assert len(t) == 5
    assert t["window_complete"].tolist() == [True, True, True, False, False]
    s = coverage_summary(t)
    assert s["n_admission_slots"] + s["n_censored"] == len(t)
    assert s["share_fully_covered"] == 1.0  # ABC, BCA, CAB
    # Monday-only admissions
    mon = coverage_from_sessions(sessions, core={"A", "B"}, window=3, admit_weekdays=[0])
    assert mon["admission_date"].astype(str).tolist() == ["2026-01-05"]


def test_delivered_sessions_missing_column_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="no column 'skill_id'"):
        coverage_from_sessions(pd.DataFrame({"date": ["2026-01-05"]}), core={"A"}, window=2)


def test_baselines() -> None:
    skills = ["mf1", "mf2", "dt1", "dt2", "er1"]
    module = {"mf1": "dbt.mf", "mf2": "dbt.mf", "dt1": "dbt.dt", "dt2": "dbt.dt", "er1": "dbt.er"}
    assert round_robin(skills) == skills
    # Linehan's cycle: mindfulness before each other module (curriculum.md §1.1)
    assert module_blocks(skills, module, opening_module="dbt.mf") == [
        "mf1", "mf2", "dt1", "dt2", "mf1", "mf2", "er1",
    ]  # fmt: skip
    assert module_blocks(skills, module) == skills


def test_compare_rotations_one_row_each() -> None:
    out = compare_rotations(
        {"good": list("AB"), "bad": list("ABCDEF")}, core={"A", "B"}, window=2, weekdays=[0, 1]
    ).set_index("rotation")
    assert out.loc["good", "share_fully_covered"] == 1.0
    assert out.loc["bad", "share_fully_covered"] < 1.0
    assert out.loc["bad", "cycle_length"] == 6


def _brute(seq, core, window, start):
    n = len(seq)
    return set(core) <= {seq[(start + k) % n] for k in range(window)}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=12),
    st.sets(st.sampled_from("ABCDE"), max_size=3),
    st.integers(1, 8),
    st.floats(0, 1),
)
def test_coverage_matches_brute_force(seq, core, window, p) -> None:
    # one program day a week: the slots are the sequence itself
    t = coverage_table(seq, core=core, window=window, weekdays=[0], attendance_p=p)
    for r in t.itertuples():
        assert r.fully_covered == _brute(seq, core, window, r.admission_slot)
        ks = [sum(seq[(r.admission_slot + k) % len(seq)] == c for k in range(window)) for c in core]
        want = sum(1 - (1 - p) ** k for k in ks) / len(ks) if ks else 1.0
        assert math.isclose(r.expected_coverage, want, abs_tol=1e-12)


# --- CLI: iopkit coverage ----------------------------------------------------------------


def _cli():
    from iopkit.cli import plan as _plan  # noqa: F401 - registers the commands
    from iopkit.cli._common import app

    return app


def test_cli_coverage_of_delivered_sessions(tmp_path) -> None:
    from iopkit.curriculum import load_curriculum

    cur = load_curriculum()
    core = cur.core_skills("adult_mood_anxiety_3d")
    dates = pd.bdate_range("2026-01-05", periods=40)
    dates = [d for d in dates if d.weekday() in (0, 2, 4)][:18]
    rows = [
        {"cohort_id": "k1", "date": d.date().isoformat(), "skill_id": core[i % len(core)]}
        for i, d in enumerate(dates)
    ]
    path = tmp_path / "sessions.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    out = tmp_path / "cov.csv"
    res = CliRunner().invoke(
        _cli(), ["coverage", str(path), "--program", "adult_mood_anxiety_3d", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert len(table) == 18
    assert "censored" in res.output


def _coverage_of_rows(tmp_path, rows: str):
    """``iopkit coverage`` of a sessions CSV with the header cohort_id,date,skill_id + rows."""
    path = tmp_path / "sessions.csv"
    path.write_text("cohort_id,date,skill_id\n" + rows)
    return CliRunner().invoke(_cli(), ["coverage", str(path), "--program", "adult_mood_anxiety_3d"])


def test_cli_coverage_bad_skill_names_row_and_column(tmp_path) -> None:
    res = _coverage_of_rows(tmp_path, "k1,2026-01-05,dbt.mf.wise_mind\nk1,2026-01-07,nope\n")
    assert res.exit_code == 1
    assert "row 3" in res.output and "skill_id" in res.output
    assert "Traceback" not in res.output


def test_cli_coverage_bad_date(tmp_path) -> None:
    res = _coverage_of_rows(tmp_path, "k1,05/01/2026,dbt.mf.wise_mind\n")
    assert res.exit_code == 1
    assert "row 2" in res.output and "'date'" in res.output


def test_cli_coverage_duplicate_session_names_row(tmp_path) -> None:
    """Two sessions of one cohort on one day break the sessions key (cohort_id, date)."""
    res = _coverage_of_rows(tmp_path, "k1,2026-01-05,dbt.mf.wise_mind\nk1,2026-01-05,dbt.dt.stop\n")
    assert res.exit_code == 1
    assert "row 3" in res.output and "1 duplicate row(s)" in res.output
    assert "Traceback" not in res.output


def test_coverage_matrix_agrees_with_rotation_coverage_table() -> None:
    """Exposure counts (the heatmap's input) agree with coverage_table's windows."""
    core = ["a", "b", "c", "d"]
    good = ["a", "b", "x", "c", "d", "y"]  # every 6-session window holds all core skills
    bad = round_robin(["a", "b", "c", "d", "x", "y", "z", "w"])  # 8-cycle, window 6 misses some
    for seq in (good, bad):
        m = coverage_matrix(seq, core=core, window=6, weekdays=[0, 2, 4])
        ref = coverage_table(seq, core=core, window=6, weekdays=[0, 2, 4])
        covered = m.groupby("admission_slot", sort=False)["exposures"].min() > 0
        assert len(covered) == len(ref)
        assert covered.to_numpy().tolist() == ref["fully_covered"].astype(bool).tolist()
        missed = (m["exposures"] == 0).groupby(m["admission_slot"], sort=False).sum()
        assert missed.to_numpy().tolist() == ref["core_missed"].astype(int).tolist()


def test_coverage_matrix_admission_days_only() -> None:
    m = coverage_matrix(["a", "b"], core=["a"], window=2, weekdays=[0, 2, 4], admit_weekdays=[0])
    assert set(m["weekday"]) == {"Mon"} and len(m) == 2  # lcm(2, 3) = 6 sessions, 2 Mondays
