"""Rotation planner: pre-checks, CP-SAT plans verified by the independent coverage count.

Design facts under test (shared/reference/curriculum.md §2, design pattern B): with rolling
admission, coverage needs every core skill inside every window as long as the minimum stay
(4 weeks × 3 days = 12 sessions); hard prerequisites (§1.6 ``requires``) should be met
before the skill for as many admission slots as possible.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iopkit.errors import InputError
from iopkit.rotation import (
    RotationProblem,
    SolverOptions,
    compare_with_baselines,
    coverage_summary,
    coverage_table,
    elective_weights,
    parse_mix,
    parse_weekdays,
    plan_program,
    plan_rotation,
    precheck,
    sessions_for_days,
)

MWF = [0, 2, 4]


def _problem(n_core: int = 4, n_elec: int = 4, **kw) -> RotationProblem:
    core = [f"c{i}" for i in range(n_core)]
    elec = [f"e{i}" for i in range(n_elec)]
    skills = core + elec
    base = dict(
        skills=skills,
        core=set(core),
        modality={s: ("A" if i % 2 == 0 else "B") for i, s in enumerate(skills)},
        weekdays=MWF,
        window=6,
    )
    base.update(kw)
    return RotationProblem(**base)


def _cover(plan, **kw):
    p = plan.problem
    return coverage_table(plan.sequence, **{**p.coverage_args(window=p.effective_window), **kw})


# --- pre-checks: actionable messages before the solver --------------------------------


def test_precheck_core_longer_than_stay_reproduces_issue_message() -> None:
    """Reproduces the issue #4 example: "core needs 14 sessions; a 4-week stay at 3 days a
    week has 12"."""
    prob = _problem(n_core=14, n_elec=0, window=12, stay_weeks=4)
    plan = plan_rotation(prob, options=SolverOptions(time_limit=2))
    assert plan.status == "infeasible"
    assert "core needs 14 sessions; a 4-week stay at 3 days a week has 12" in plan.explanation[0]
    assert plan.rotation.empty


def test_precheck_attendance_margin_shrinks_window() -> None:
    prob = _problem(n_core=11, n_elec=1, window=12, attendance_margin=0.85)
    errors, _ = precheck(prob)
    assert any("85% attendance margin: 10" in e for e in errors)


def test_precheck_modality_confined_to_too_few_days() -> None:
    """Five core skills of modality A that can only be taught on Mondays cannot all fit a
    12-session window (4 Mondays)."""
    prob = _problem(n_core=5, n_elec=3, window=12, modality_days={"A": [0]}, modality={})
    prob.modality = {s: "A" if s.startswith("c") else "B" for s in prob.skills}
    errors, _ = precheck(prob)
    assert any("can only be taught on Mon" in e and "has only 4" in e for e in errors)


def test_precheck_modality_gap_impossible_with_facilitator_days() -> None:
    prob = _problem(window=6, modality_days={"A": [0]}, max_modality_gap=1)
    errors, _ = precheck(prob)
    assert any("A can only be taught on Mon" in e and "absent for 2 sessions" in e for e in errors)


def test_precheck_day_without_any_teachable_skill() -> None:
    prob = _problem(modality_days={"A": [0, 2], "B": [0, 2]})
    errors, _ = precheck(prob)
    assert any("can be taught on Fri" in e for e in errors)


def test_precheck_warns_prerequisite_chain_longer_than_window() -> None:
    prob = _problem(
        n_core=4,
        n_elec=0,
        window=3,
        requires={"c1": ["c0"], "c2": ["c1"], "c3": ["c2"]},
    )
    errors, warnings = precheck(prob)
    assert any("core needs 4 sessions" in e for e in errors)
    assert any("chain ending at c3 has 4 skills" in w for w in warnings)


def test_prerequisite_cycle_is_a_config_error() -> None:
    prob = _problem(requires={"c0": ["c1"], "c1": ["c0"]})
    with pytest.raises(InputError, match="prerequisite cycle"):
        precheck(prob)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"window": 0}, "minimum stay"),
        ({"attendance_margin": 1.5}, "attendance margin"),
        ({"admit_weekdays": [1]}, "not program days"),
        ({"cycle_length": 7}, "whole number of weeks"),
        ({"weights": {"e0": -1.0}}, "elective weight"),
    ],
)
def test_malformed_problem_raises_config_error(change: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_rotation(_problem(**change), options=SolverOptions(time_limit=1))


# --- solver-proved infeasibility gets a diagnosis, never a hang ---------------------------


def test_solver_infeasible_is_diagnosed() -> None:
    """One modality only, at most 2 of a modality in a row: no rotation exists; the
    diagnosis names the run limit."""
    prob = _problem(n_core=3, n_elec=0, window=6, max_modality_run=2)
    prob.modality = dict.fromkeys(prob.skills, "A")
    plan = plan_rotation(prob, options=SolverOptions(time_limit=3))
    assert plan.status == "infeasible"
    text = " ".join(plan.explanation)
    assert "run limit" in text
    assert plan.wall_time < 10


def test_cyclic_window_counterexample_is_explained_by_counting() -> None:
    """A Mon–Fri program with a 3-session stay and 3 core skills: the default cycle is one
    week (5 slots) and every 3 consecutive slots, cyclically, must hold a, b and c, so each
    skill needs 2 copies (gaps ≤ 3 around a 5-cycle): 6 sessions > 5 (hand-checked)."""
    prob = RotationProblem(
        skills=["a", "b", "c"],
        core={"a", "b", "c"},
        modality={"a": "X", "b": "X", "c": "X"},
        weekdays=[0, 1, 2, 3, 4],
        window=3,
    )
    plan = plan_rotation(prob, options=SolverOptions(time_limit=3))
    assert plan.status == "infeasible"
    assert plan.explanation[0].startswith(
        "the 5-session cycle needs at least 6 sessions: each of the 3 core skills must be "
        "taught 2× per cycle"
    )


def test_margin_with_monday_admission_is_explained(curriculum) -> None:
    """Monday admission, 85 % of 12 sessions = 10: the slots common to all four Monday
    windows are the 4 Mondays, so 6 of the 10 core skills need 2 copies: 16 > 12."""
    plan = plan_program(curriculum, "adult_mood_anxiety_3d", admit_days="mon",
                        attendance_margin=0.85)  # fmt: skip
    assert plan.status == "infeasible"
    assert "needs at least 16 sessions" in plan.explanation[0]
    assert "4 slot(s) common to every admission window (Mon), so 6 of them" in (plan.explanation[0])


def test_attendance_margin_on_a_shipped_program_is_explained(curriculum) -> None:
    """85 % of a 12-session stay = 10 sessions; with admission on every day of a 12-slot
    cycle each of the 10 core skills needs 2 copies: 20 > 12."""
    plan = plan_program(curriculum, "adult_mood_anxiety_3d", attendance_margin=0.85)
    assert plan.status == "infeasible"
    assert "needs at least 20 sessions" in plan.explanation[0]
    assert "(85% attendance margin: 10)" in plan.explanation[0]


# --- feasible plans are covered, as checked by the independent count ---------------------


def test_small_plan_is_optimal_and_fully_covered() -> None:
    prob = _problem(n_core=4, n_elec=4, window=6, requires={"c1": ["c0"]})
    plan = plan_rotation(prob, options=SolverOptions(time_limit=5))
    assert plan.status == "optimal"
    assert plan.objective == plan.bound
    table = _cover(plan)
    assert table["fully_covered"].all()
    assert len(plan.rotation) == 6
    assert set(plan.rotation.columns) >= {"slot", "weekday", "skill_id", "modality", "core"}


def test_monday_admission_honours_every_prerequisite() -> None:
    """With Monday-only admission the prerequisite can always come first in the week, so
    100 % of (admission, prerequisite) pairs are honoured; with any-day admission a patient
    admitted on the dependent skill's day cannot be (curriculum.md §2, pattern A vs B)."""
    req = {"c1": ["c0"], "c3": ["c2"]}
    mon = plan_rotation(
        _problem(window=6, requires=req, admit_weekdays=[0]), options=SolverOptions(time_limit=5)
    )
    assert mon.ok
    assert coverage_summary(_cover(mon))["prereq_fraction"] == 1.0
    anyday = plan_rotation(_problem(window=6, requires=req), options=SolverOptions(time_limit=5))
    assert anyday.ok
    frac = coverage_summary(_cover(anyday))["prereq_fraction"]
    assert 0.5 <= frac < 1.0


def test_fixed_placement_and_facilitator_days_are_respected() -> None:
    prob = _problem(
        n_core=4,
        n_elec=4,
        window=6,
        fixed={"e0": [0]},
        modality_days={"B": [2, 4]},
    )
    plan = plan_rotation(prob, options=SolverOptions(time_limit=5))
    assert plan.ok
    rot = plan.rotation
    assert (rot.loc[rot.skill_id == "e0", "weekday"] == 0).all()
    assert (rot.skill_id == "e0").any()
    assert not ((rot.modality == "B") & (rot.weekday == 0)).any()
    # e1 is modality B (Wed/Fri only): pinning it to Monday is explained up front
    prob.fixed = {"e1": [0]}
    bad = plan_rotation(prob, options=SolverOptions(time_limit=5))
    assert bad.status == "infeasible"
    assert "e1 can be taught on no day (B only on Wed/Fri; fixed to Mon" in bad.explanation[0]


def test_modality_gap_and_run_hold_cyclically() -> None:
    prob = _problem(n_core=4, n_elec=6, window=12, max_modality_gap=2, max_modality_run=2)
    plan = plan_rotation(prob, options=SolverOptions(time_limit=5))
    assert plan.ok
    mods = list(plan.rotation.modality)
    n = len(mods)
    for i in range(n):
        run = [mods[(i + k) % n] for k in range(3)]
        assert len(set(run)) > 1, f"3 of one modality in a row at slot {i}"
        for m in ("A", "B"):
            assert m in run, f"{m} absent for 3 sessions from slot {i}"


def test_no_repeat_within_a_week_when_avoidable() -> None:
    prob = _problem(n_core=3, n_elec=6, window=6, min_repeat_gap=3)
    plan = plan_rotation(prob, options=SolverOptions(time_limit=5))
    seq = plan.sequence
    for i in range(len(seq)):
        window = [seq[(i + k) % len(seq)] for k in range(3)]
        assert len(set(window)) == 3


def test_concern_mix_steers_electives() -> None:
    """Two free slots and four electives: a cohort that is 90 % insomnia gets the two sleep
    skills; a 90 % anxiety cohort gets the anxiety ones."""
    skills = ["c0", "c1", "c2", "c3", "sleep1", "sleep2", "anx1", "anx2"]
    targets = {
        "c0": ["general"],
        "c1": ["general"],
        "c2": ["general"],
        "c3": ["general"],
        "sleep1": ["insomnia"],
        "sleep2": ["insomnia"],
        "anx1": ["anxiety"],
        "anx2": ["anxiety"],
    }
    for mix, want in (
        ({"insomnia": 0.9, "anxiety": 0.1}, {"sleep1", "sleep2"}),
        ({"insomnia": 0.1, "anxiety": 0.9}, {"anx1", "anx2"}),
    ):
        prob = RotationProblem(
            skills=skills,
            core={"c0", "c1", "c2", "c3"},
            modality=dict.fromkeys(skills, "M"),
            weekdays=MWF,
            window=6,
            weights=elective_weights(targets, mix),
        )
        plan = plan_rotation(prob, options=SolverOptions(time_limit=5))
        chosen = set(plan.rotation.loc[~plan.rotation.core, "skill_id"])
        assert chosen == want


def test_parse_helpers() -> None:
    assert parse_weekdays("mon, WED") == [0, 2]
    with pytest.raises(InputError, match="unknown weekday"):
        parse_weekdays("funday")
    assert parse_mix("depression=2,anxiety=2") == {"depression": 0.5, "anxiety": 0.5}
    with pytest.raises(InputError, match="unknown concern"):
        parse_mix("sadness=1")
    with pytest.raises(InputError, match="concern=share"):
        parse_mix("depression")


def test_sessions_for_days() -> None:
    """7 nights of sleep diary (curriculum.md §1.5) = 3 Mon/Wed/Fri sessions, 5 Mon–Fri."""
    assert sessions_for_days([0, 2, 4], 7) == 3
    assert sessions_for_days([0, 1, 2, 3, 4], 7) == 5
    assert sessions_for_days([0, 2, 4], 1) == 1


# --- property-based: random configurations ------------------------------------------------


@st.composite
def configs(draw):
    spw = draw(st.sampled_from([2, 3, 5]))
    weekdays = sorted(draw(st.sets(st.integers(0, 4), min_size=spw, max_size=spw)))
    weeks = draw(st.integers(1, 3))
    window = weeks * spw
    n_core = draw(st.integers(1, window))
    n_elec = draw(st.integers(0, 4))
    core = [f"c{i}" for i in range(n_core)]
    skills = core + [f"e{i}" for i in range(n_elec)]
    req = {}
    for i in range(1, len(skills)):
        if draw(st.booleans()) and draw(st.booleans()):
            req[skills[i]] = [skills[draw(st.integers(0, i - 1))]]
    admit = sorted(draw(st.sets(st.sampled_from(weekdays), min_size=1)))
    return RotationProblem(
        skills=skills,
        core=set(core),
        modality={s: draw(st.sampled_from("AB")) for s in skills},
        weekdays=weekdays,
        window=window,
        admit_weekdays=admit,
        requires=req,
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_random_feasible_configurations_cover_every_admission_slot(prob) -> None:
    """Cycle = stay, so a rotation always exists; every admission slot must be covered."""
    plan = plan_rotation(prob, options=SolverOptions(time_limit=2))
    assert plan.ok, plan.explanation
    table = _cover(plan)
    assert table["fully_covered"].all()
    assert (table["sessions_to_full_coverage"] <= prob.window).all()
    if all(c in prob.core for c in prob.requires):
        # the solver's own count of honoured prerequisites equals the independent recount
        honoured = int(table["prereq_applicable"].sum() - table["prereq_violations"].sum())
        assert plan.prereq_satisfied == honoured


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.integers(1, 4), st.sampled_from([None, 1, 2]))
def test_random_tight_configurations_are_covered_or_explained(prob, extra, run) -> None:
    """Shorter windows than the cycle, run limits: either a covered plan or an explanation,
    always within the time limit (the diagnosis gets a second budget)."""
    prob.cycle_length = prob.length + extra * prob.sessions_per_week
    prob.max_modality_run = run
    plan = plan_rotation(prob, options=SolverOptions(time_limit=1))
    assert plan.wall_time < 8
    if plan.ok:
        assert _cover(plan)["fully_covered"].all()
    else:
        assert plan.explanation and all(isinstance(e, str) and e for e in plan.explanation)


# --- shipped programs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def curriculum():
    from iopkit.curriculum import load_curriculum

    return load_curriculum()


def test_each_shipped_program_is_fully_covered_and_beats_baselines(curriculum) -> None:
    """Issue #4 "done when": 100 % of admission slots covered within the minimum stay and
    better coverage than round-robin and DBT-style module blocks."""
    for pid in curriculum.programs:
        plan = plan_program(curriculum, pid, options=SolverOptions(time_limit=10))
        assert plan.ok, (pid, plan.explanation)
        comp = compare_with_baselines(plan, curriculum).set_index("rotation")
        assert comp.loc["planned", "share_fully_covered"] == 1.0, pid
        for base in ("round_robin", "module_blocks"):
            assert (
                comp.loc["planned", "share_fully_covered"] > comp.loc[base, "share_fully_covered"]
            ), (pid, base)
            assert (
                comp.loc["planned", "expected_coverage_mean"]
                > comp.loc[base, "expected_coverage_mean"]
            ), (pid, base)
        # facilitator availability: every planned skill sits on a day it can be taught
        prob = plan.problem
        for r in plan.rotation.itertuples():
            assert r.weekday in prob.allowed_weekdays(r.skill_id), (pid, r.skill_id)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9), st.data())
def test_min_copies_matches_brute_force(L, data) -> None:
    """Fewest copies of a core skill per cycle = minimum stabbing of the admission windows."""
    from itertools import combinations

    from iopkit.rotation.prechecks import min_copies

    weff = data.draw(st.integers(1, L))
    adm = sorted(data.draw(st.sets(st.integers(0, L - 1), min_size=1)))
    windows = [{(a + k) % L for k in range(weff)} for a in adm]
    brute = next(
        k
        for k in range(1, L + 1)
        for pts in combinations(range(L), k)
        if all(w & set(pts) for w in windows)
    )
    assert min_copies(adm, weff, L) == brute


def test_plan_cli_is_reproducible_by_default(tmp_path) -> None:
    """Same request, same rotation.csv (one CP-SAT worker and a fixed seed by default)."""
    from typer.testing import CliRunner

    from iopkit.cli import app

    args = [
        "plan",
        "--program",
        "adolescent_afterschool_3d",
        "--start",
        "2027-01-05",
        "--weeks",
        "4",
    ]
    runner = CliRunner()
    for name in ("a", "b"):
        r = runner.invoke(app, [*args, "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    first = (tmp_path / "a" / "rotation.csv").read_text()
    assert first == (tmp_path / "b" / "rotation.csv").read_text()


def test_deterministic_time_gives_the_same_plan_under_any_load() -> None:
    """SolverOptions(deterministic=True) budgets CP-SAT's deterministic time, not wall
    seconds: with one worker, a short limit stops at the same point on every run (a wall
    clock limit stops wherever the machine's load left the search)."""
    from iopkit.curriculum import load_curriculum
    from iopkit.rotation import SolverOptions, plan_program

    cur = load_curriculum()
    opts = SolverOptions(time_limit=0.3, seed=0, deterministic=True)
    plans = [plan_program(cur, "adult_mood_anxiety_3d", options=opts) for _ in range(2)]
    assert plans[0].sequence == plans[1].sequence and plans[0].status == plans[1].status


def test_every_stage_reports_its_own_status_and_gap() -> None:
    """Each lexicographic stage is reported on its own; a stage left unsolved by the time
    limit makes the plan's gap infinite instead of hiding behind the solved stages."""
    from dataclasses import replace

    import pandas as pd

    prob = _problem()
    plan = plan_rotation(prob, options=SolverOptions(time_limit=5))
    assert set(plan.stages["status"]) <= {"optimal", "feasible"}
    assert plan.gap == plan.stages["gap"].max()
    assert "gap" in plan.summary() and all(n in plan.summary() for n in plan.stages["name"])
    nan = float("nan")
    stages = pd.DataFrame(
        [("prerequisites", "optimal", 10.0, 10.0, 0.1, 0.0),
         ("electives", "not reached", nan, nan, 0.0, nan)],
        columns=["name", "status", "value", "bound", "seconds", "gap"],
    )  # fmt: skip
    unsolved = replace(plan, stages=stages)
    assert unsolved.gap == float("inf")
    assert "electives: not reached" in unsolved.summary()


def _ordered_problem() -> RotationProblem:
    """A two-stay cycle (window 6 < cycle 12) with ordered core pairs: a hard prerequisite
    with a lag, a soft order on a core predecessor and one on an elective predecessor."""
    return _problem(
        n_core=4,
        n_elec=4,
        window=6,
        cycle_length=12,
        admit_weekdays=[0, 2],
        requires={"c1": ["c0"]},
        after={"c3": ["c2"], "c2": ["e0"], "e1": ["c0"]},
        min_sessions_after={("c0", "c1"): 2},
        weights={"e0": 1.0, "e1": 0.5, "e2": 0.8, "e3": 0.3},
    )


def _lex(prob: RotationProblem, *, cuts: bool, fix: list[str] | None = None) -> list[int]:
    """Proved optimum of every stage in turn (each keeping the earlier ones), optionally
    with the rotation fixed to ``fix``."""
    from ortools.sat.python import cp_model

    from iopkit.rotation.model import build_model
    from iopkit.rotation.problem import STAGES

    built = build_model(prob, SolverOptions(), cuts=cuts)
    if fix is not None:
        for (s, i), var in built.x.items():
            built.model.add(var == int(fix[i] == s))
    values = []
    for name in STAGES:
        expr = sum(built.stage_terms(name))
        built.model.maximize(expr)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 20
        assert solver.solve(built.model) == cp_model.OPTIMAL
        values.append(round(solver.objective_value))
        built.model.add(expr >= values[-1])
    return values


def test_window_cut_keeps_every_stage_optimum_and_every_rotation() -> None:
    """The redundant cut "ok(a) ≤ Σ p in [a, a + weff − lag)" on ordered core pairs removes
    no solution: the proved optimum of every stage is the same with and without it, and
    rotations that are feasible without it (random objectives) reach the same stage values
    with it."""
    import random

    from ortools.sat.python import cp_model

    from iopkit.rotation.model import build_model

    prob = _ordered_problem()
    assert _lex(prob, cuts=True) == _lex(prob, cuts=False)
    built = build_model(prob, SolverOptions(), cuts=False)
    rng = random.Random(0)
    for _ in range(4):
        built.model.maximize(sum(rng.randint(0, 5) * v for v in built.x.values()))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.solve(built.model) == cp_model.OPTIMAL
        seq = [next(s for s in prob.skills if (s, i) in built.x and solver.value(built.x[s, i]))
               for i in range(prob.length)]  # fmt: skip
        assert _lex(prob, cuts=True, fix=seq) == _lex(prob, cuts=False, fix=seq)


def test_electives_stage_uses_its_own_subsolvers() -> None:
    from iopkit.rotation.solve import _solver

    opts = SolverOptions(num_workers=2)
    assert list(_solver(opts, 1.0, stage="electives").parameters.subsolvers) == list(
        opts.elective_subsolvers
    )
    assert list(_solver(opts, 1.0, stage="soft_order").parameters.subsolvers) == list(
        opts.subsolvers
    )
