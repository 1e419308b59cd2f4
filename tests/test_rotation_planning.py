"""A cohort's dated plan in one call (iopkit.rotation.planning), and the solver options.

``make_plan`` is what both ``iopkit plan`` and the ``curriculum_plan`` notebook run; these
tests pin that the command line writes exactly the library's plan.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from iopkit.curriculum import Curriculum, load_curriculum
from iopkit.data.sources.synthetic import DEMO_SOURCE
from iopkit.errors import InputError
from iopkit.reports.views.source import ReportData, open_source
from iopkit.rotation import (
    RotationProblem,
    SolverOptions,
    make_plan,
    plan_inputs,
    plan_rotation,
    stay_sessions,
)

PROGRAM = "adult_mood_anxiety_3d"


@pytest.fixture(scope="module")
def cur() -> Curriculum:
    return load_curriculum()


@pytest.fixture(scope="module")
def demo() -> ReportData:
    return open_source(DEMO_SOURCE)


def test_cli_plan_writes_the_library_plan(cur: Curriculum, tmp_path) -> None:
    """`iopkit plan` and make_plan (the notebook's call) give the same rotation and proof."""
    from iopkit.cli import app

    args = ["--program", PROGRAM, "--start", "2026-11-23", "--weeks", "6", "--admit-days", "mon"]
    res = CliRunner().invoke(app, ["plan", *args, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    lib = make_plan(cur, PROGRAM, date(2026, 11, 23), 6, admit_days="mon")
    assert lib.ok and lib.calendar is not None and lib.coverage is not None
    cli_rotation = pd.read_csv(tmp_path / "rotation.csv")
    assert cli_rotation["skill_id"].tolist() == lib.plan.sequence
    cli_sessions = pd.read_csv(tmp_path / "sessions.csv")
    assert cli_sessions["skill_id"].tolist() == lib.calendar.sessions["skill_id"].tolist()
    assert pd.read_csv(tmp_path / "coverage.csv")["fully_covered"].tolist() == (
        lib.coverage["fully_covered"].tolist()
    )


def test_make_plan_parts_agree(cur: Curriculum) -> None:
    lib = make_plan(cur, PROGRAM, date(2026, 11, 23), 8, patient_admit=date(2026, 11, 30))
    prob = lib.problem
    assert lib.exposures is not None and lib.comparison is not None
    # every admission slot of the heatmap meets every core skill, as the coverage says
    per_slot = lib.exposures.groupby("admission_slot", sort=False)["exposures"].min() > 0
    assert per_slot.all() and lib.coverage_summary()["share_fully_covered"] == 1.0
    assert set(lib.exposures["skill"]) == prob.core
    assert lib.comparison["rotation"].tolist()[0] == "planned"
    assert lib.patient is not None and set(prob.core) <= set(lib.patient["skill_id"])
    dated = lib.dated_summary()
    assert dated is not None and dated["n_admission_slots"] > 0


def test_make_plan_without_a_rotation_says_why(cur: Curriculum) -> None:
    lib = make_plan(cur, PROGRAM, date(2026, 11, 23), 4, attendance_margin=0.5)
    assert not lib.ok and lib.calendar is None and lib.coverage is None
    with pytest.raises(InputError, match="core needs 10 sessions"):
        lib.dated()


def test_make_plan_checks_the_patient_before_solving(cur: Curriculum) -> None:
    with pytest.raises(InputError, match="before the calendar starts"):
        make_plan(cur, PROGRAM, date(2026, 11, 23), 4, patient_admit=date(2026, 11, 2))
    with pytest.raises(InputError, match="discharge date needs the admission"):
        make_plan(cur, PROGRAM, date(2026, 11, 23), 4, patient_discharge=date(2026, 12, 2))


def test_plan_inputs_from_the_cohort_and_explicit_parameters(
    cur: Curriculum, demo: ReportData
) -> None:
    cohort = demo["cohorts"].iloc[0]
    got = plan_inputs(cur, demo.tables, cohort_id=str(cohort["cohort_id"]))
    assert got.program_id == cohort["program_id"]
    assert got.start == pd.Timestamp(cohort["start_date"]).date()
    assert got.mix is not None and sum(got.mix.values()) == pytest.approx(1.0)
    assert got.mix_text.endswith("(cohort)")
    given = plan_inputs(
        cur,
        demo.tables,
        cohort_id=str(cohort["cohort_id"]),
        program_id="adult_mood_anxiety_5d",
        start_date="2027-01-04",
        concern_mix="depression:3,anxiety:1",
    )
    assert given.program_id == "adult_mood_anxiety_5d" and given.start == date(2027, 1, 4)
    assert given.mix == {"depression": 0.75, "anxiety": 0.25}
    with pytest.raises(InputError, match="not in the cohorts table"):
        plan_inputs(cur, demo.tables, cohort_id="nope")
    with pytest.raises(InputError, match="no start_date"):
        plan_inputs(cur, None, program_id=PROGRAM)


def test_stay_sessions_projects_future_sessions_for_active_episodes(
    cur: Curriculum, demo: ReportData
) -> None:
    eps = demo["episodes"]
    active = eps[eps["discharge_date"].isna()].iloc[-1]
    s = stay_sessions(cur, demo["sessions"], cohort_id=active["cohort_id"],
                      program_id="adult_mood_anxiety_3d",
                      admit_date=active["admit_date"], min_sessions=12)  # fmt: skip
    after = s[s["date"] >= active["admit_date"]]
    assert len(after) >= 12 and s["planned"].any()
    assert s.loc[s["planned"], "date"].min() > s.loc[~s["planned"], "date"].max()
    assert np.all(np.diff(s["date"].to_numpy().astype("int64")) > 0)


def _small() -> RotationProblem:
    skills = ["c0", "c1", "c2", "c3", "e0", "e1"]
    return RotationProblem(
        skills=skills,
        core={"c0", "c1", "c2", "c3"},
        modality={s: ("A" if i % 2 == 0 else "B") for i, s in enumerate(skills)},
        weekdays=[0, 2, 4],
        window=6,
        requires={"c1": ["c0"], "c3": ["c2"]},
        after={"e1": ["e0"]},
    )


def test_prerequisite_encodings_reach_the_same_optimum() -> None:
    """The benchmark's baseline encoding ("window") and the fast one ("chain") are the same
    model: both prove the same optimal stage values."""
    chain = plan_rotation(_small(), options=SolverOptions(time_limit=5))
    window = plan_rotation(
        _small(), options=SolverOptions(time_limit=5, prereq_encoding="window", tile_hint=False)
    )
    assert chain.status == window.status == "optimal"
    assert chain.stages is not None and window.stages is not None
    assert chain.stages["value"].tolist() == window.stages["value"].tolist()


def test_stage_weights_only_change_the_reported_objective() -> None:
    base = plan_rotation(_small(), options=SolverOptions(time_limit=5))
    heavy = plan_rotation(_small(), options=SolverOptions(time_limit=5, w_requires=10_000))
    assert base.sequence == heavy.sequence
    assert base.stages is not None
    prereq = float(base.stages.set_index("name").loc["prerequisites", "value"])
    assert heavy.objective == pytest.approx(base.objective + 9_000 * prereq)


@pytest.mark.parametrize(
    "bad", [{"time_limit": 0}, {"time_limit": float("inf")}, {"num_workers": 0},
            {"prereq_encoding": "clever"}],
)  # fmt: skip
def test_solver_options_refuse_nonsense(bad: dict) -> None:
    with pytest.raises(InputError):
        SolverOptions(**bad)


def test_an_unproved_one_worker_plan_suggests_two_workers(cur: Curriculum) -> None:
    """A plan stopped by the time limit with one worker says what would help (a long cycle
    with one worker keeps its start); a proved plan says nothing of the kind."""
    from iopkit.rotation import problem_from_program

    prob = problem_from_program(cur, "adult_mood_anxiety_5d", cycle_weeks=12)
    # deterministic time units: the same stop on any machine (a wall-clock limit is not)
    rushed = plan_rotation(
        prob, options=SolverOptions(time_limit=1, deterministic=True, num_workers=1)
    )
    assert rushed.status == "feasible"
    assert any("--workers 2" in line for line in rushed.explanation)
    proved = plan_rotation(_small(), options=SolverOptions(time_limit=5))
    assert proved.status == "optimal"
    assert not any("--workers 2" in line for line in proved.explanation)
