"""Curriculum queries exist once, on :class:`Curriculum`; other layers delegate to them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from iopkit.curriculum import Curriculum, load_curriculum
from iopkit.errors import ConfigError, InputError, UnknownIdError

SHIPPED = Path(__file__).resolve().parents[1] / "curriculum"
PROGRAMS = ["adult_mood_anxiety_3d", "adult_mood_anxiety_5d", "adolescent_afterschool_3d"]


@pytest.fixture(scope="module")
def cur() -> Curriculum:
    return load_curriculum(SHIPPED)


# --- default program ----------------------------------------------------------------------


def test_default_program_is_first_adult_program_by_id(cur: Curriculum) -> None:
    assert cur.default_program().id == "adult_mood_anxiety_3d"
    teen_only = cur.model_copy(
        update={
            "programs": {"adolescent_afterschool_3d": cur.programs["adolescent_afterschool_3d"]}
        }
    )
    assert teen_only.default_program().id == "adolescent_afterschool_3d"
    with pytest.raises(ConfigError, match="holds no program"):
        cur.model_copy(update={"programs": {}}).default_program()


# --- core, electives, pool ----------------------------------------------------------------


@pytest.mark.parametrize("pid", PROGRAMS)
def test_program_skills_are_core_and_electives_in_catalog_order(cur: Curriculum, pid: str) -> None:
    pool = cur.program_skills(pid)
    assert set(pool) == set(cur.core_skills(pid)) | set(cur.elective_skills(pid))
    assert pool == [s for s in cur.skills if s in set(pool)]  # catalog order
    assert all(cur.skill(s).rotating for s in pool)  # never an individual task
    core, electives = cur.core_and_electives(pid)
    assert core + electives == [s for s in pool if s in set(core)] + [
        s for s in pool if s not in set(core)
    ]
    assert set(core) == set(cur.core_skills(pid)) and set(electives) == set(
        cur.elective_skills(pid)
    )
    assert not set(core) & set(electives)


def test_core_skills_keep_the_program_files_order(cur: Curriculum) -> None:
    """core_skills follows the program file (listed skills, then modules); the split of
    core_and_electives follows the catalog — both orders are used (agenda lists, synth)."""
    listed = cur.program("adult_mood_anxiety_3d").core.skills
    assert cur.core_skills("adult_mood_anxiety_3d")[: len(listed)] == listed
    core, _ = cur.core_and_electives("adult_mood_anxiety_3d")
    assert core != cur.core_skills("adult_mood_anxiety_3d")  # differ in order only
    assert sorted(core) == sorted(cur.core_skills("adult_mood_anxiety_3d"))


def test_core_of_and_electives_of_take_a_program_object(cur: Curriculum) -> None:
    p = cur.program("adolescent_afterschool_3d")
    assert cur.core_of(p) == cur.core_skills(p.id)
    assert cur.electives_of(p) == cur.elective_skills(p.id)
    narrowed = p.model_copy(update={"electives": p.electives.model_copy(update={"exclude": []})})
    assert set(cur.electives_of(narrowed)) >= set(cur.electives_of(p))


# --- facilitator weekdays -----------------------------------------------------------------


def test_facilitator_weekdays_only_restricted_skills(cur: Curriculum) -> None:
    pid = "adult_mood_anxiety_5d"
    days = cur.facilitator_weekdays(pid)
    assert days["cbt.exp.erp_ocd"] == [0, 1, 2]  # only fac_d is ERP-trained (Mon–Wed)
    assert days["sleep.beh.stimulus_control"] == [1, 3]  # fac_f: CBT-I, Tue/Thu
    assert "cbt.ps.problem_solving" not in days  # needs no training: every program day
    assert set(days) == {s for s in cur.program_skills(pid) if cur.training_for(s)}
    assert cur.skill_weekdays(pid)["cbt.ps.problem_solving"] == [0, 1, 2, 3, 4]
    for sid, wd in days.items():
        assert cur.skill_weekdays(pid)[sid] == wd


def test_facilitator_weekdays_empty_without_facilitators(cur: Curriculum) -> None:
    p = cur.program("adult_mood_anxiety_3d").model_copy(update={"facilitators": []})
    c2 = cur.model_copy(update={"programs": {**cur.programs, p.id: p}})
    assert c2.facilitator_weekdays(p.id) == {}
    assert all(v == p.weekdays for v in c2.skill_weekdays(p.id).values())


def test_facilitator_weekdays_nobody_trained_is_an_empty_list(cur: Curriculum) -> None:
    p = cur.program("adult_mood_anxiety_5d")
    facs = [f.model_copy(update={"trainings": ["cbt"]}) for f in p.facilitators]
    c2 = cur.model_copy(
        update={"programs": {**cur.programs, p.id: p.model_copy(update={"facilitators": facs})}}
    )
    assert c2.facilitator_weekdays(p.id)["dbt.dt.tip"] == []


@pytest.mark.parametrize("pid", PROGRAMS)
def test_rotation_pool_and_facilitator_days_match_the_queries(cur: Curriculum, pid: str) -> None:
    """The rotation problem of a program has the pool and facilitator days of the queries."""
    from iopkit.rotation import problem_from_program

    prob = problem_from_program(cur, pid)
    assert prob.skills == cur.program_skills(pid)
    restricted = cur.facilitator_weekdays(pid)
    for sid in prob.skills:
        assert prob.allowed_weekdays(sid) == set(restricted.get(sid, prob.weekdays)), sid


# --- closures -----------------------------------------------------------------------------


def test_closures_method_is_sorted_and_matches_program(cur: Curriculum) -> None:
    start, end = date(2026, 11, 1), date(2027, 1, 31)
    got = cur.closures("adult_mood_anxiety_3d", start, end)
    assert got == sorted(got)
    assert set(got) == cur.program("adult_mood_anxiety_3d").closures(start, end)
    assert date(2026, 11, 26) in got  # Thanksgiving (holidays package, US)
    with pytest.raises(InputError, match="unknown program"):
        cur.closures("nope", start, end)


# --- the data layer delegates -------------------------------------------------------------


def test_catalog_delegates_to_the_curriculum(
    cur: Curriculum, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iopkit.data import catalog

    monkeypatch.delenv("IOPKIT_CURRICULUM", raising=False)
    shipped = load_curriculum()
    assert catalog.get_program() == shipped.default_program()
    assert catalog.get_program("adult_mood_anxiety_5d") == shipped.program("adult_mood_anxiety_5d")
    with pytest.raises(UnknownIdError, match="did you mean 'adult_mood_anxiety_5d'") as exc:
        catalog.get_program("adult_mood_anxiety_5")
    assert set(exc.value.known) == set(shipped.programs)
    for pid in shipped.programs:
        assert catalog.program_core_electives(pid) == shipped.core_and_electives(pid)
        core, electives = shipped.core_and_electives(pid)
        assert catalog.program_skills(pid) == core + electives
    assert catalog.skill_ids() == set(shipped.skills)
    rules = catalog.program_rules()
    assert {pid: set(r.weekdays) for pid, r in rules.items()} == {
        pid: set(p.weekdays) for pid, p in shipped.programs.items()
    }
    p = shipped.program("adult_mood_anxiety_3d")
    assert catalog.closures(p, date(2026, 12, 1), date(2026, 12, 31)) == shipped.closures(
        p.id, date(2026, 12, 1), date(2026, 12, 31)
    )
