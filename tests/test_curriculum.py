"""Models, queries, program helpers and agendas of ``iopkit.curriculum`` on the shipped content."""

from __future__ import annotations

import itertools
from datetime import date, time
from pathlib import Path

import pandas as pd
import pytest

from iopkit.curriculum import (
    SEGMENT_RULES,
    Curriculum,
    Skill,
    agenda,
    load_curriculum,
    validate_curriculum,
)
from iopkit.errors import InputError
from iopkit.vocab import SKILL_CONCERNS as CONCERNS

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "curriculum"


@pytest.fixture(scope="module")
def cur() -> Curriculum:
    return load_curriculum(SHIPPED)


# --- the shipped curriculum ----------------------------------------------------------------


def test_shipped_curriculum_has_no_problems() -> None:
    assert validate_curriculum(SHIPPED) == []


def test_default_path_is_repository_curriculum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOPKIT_CURRICULUM", raising=False)
    assert load_curriculum().root == SHIPPED.resolve()


def test_env_var_overrides_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(SHIPPED, tmp_path / "cur")
    monkeypatch.setenv("IOPKIT_CURRICULUM", str(tmp_path / "cur"))
    assert load_curriculum().root == (tmp_path / "cur").resolve()


def test_catalog_size_and_modalities(cur: Curriculum) -> None:
    assert len(cur.skills) >= 60
    assert set(cur.modalities) == {"cbt", "dbt", "act", "rp", "sleep"}
    counts = pd.Series([s.modality for s in cur.skills.values()]).value_counts()
    assert (counts >= 6).all(), counts


# Skills issue #3 lists as the minimum; ids are iopkit's.
REQUIRED_SKILLS = [
    "dbt.mf.wise_mind",
    "dbt.mf.what_skills",
    "dbt.mf.how_skills",
    "dbt.dt.stop",
    "dbt.dt.pros_cons",
    "dbt.dt.tip",
    "dbt.dt.accepts",
    "dbt.dt.self_soothe",
    "dbt.dt.improve",
    "dbt.dt.radical_acceptance",
    "dbt.dt.turning_mind_willingness",
    "dbt.er.understand_name_emotions",
    "dbt.er.check_the_facts",
    "dbt.er.opposite_action",
    "dbt.er.problem_solving",
    "dbt.er.abc_please",
    "dbt.er.cope_ahead",
    "dbt.ie.clarify_priorities",
    "dbt.ie.dear_man",
    "dbt.ie.give",
    "dbt.ie.fast",
    "dbt.ie.validation",
    "cbt.model.cbt_model",
    "cbt.model.self_monitoring",
    "cbt.ba.activation",
    "cbt.cr.identify_thoughts",
    "cbt.cr.thinking_traps",
    "cbt.cr.thought_record",
    "cbt.cr.core_beliefs",
    "cbt.ps.problem_solving",
    "cbt.exp.exposure_hierarchy",
    "cbt.exp.erp_ocd",
    "cbt.panic.panic_education",
    "cbt.panic.interoceptive_exposure",
    "act.open.creative_hopelessness",
    "act.open.acceptance_willingness",
    "act.open.defusion",
    "act.aware.present_moment",
    "act.aware.self_as_context",
    "act.engaged.values",
    "act.engaged.committed_action",
    "rp.risk.warning_signs",
    "rp.risk.high_risk_situations",
    "rp.plan.coping_plan",
    "rp.plan.lapse_vs_relapse",
    "rp.plan.lifestyle_balance",
    "rp.plan.aftercare",
    "rp.safety.stanley_brown_safety_plan",
    "sleep.edu.sleep_education",
    "sleep.edu.sleep_diary",
    "sleep.beh.stimulus_control",
    "sleep.beh.sleep_window",
    "sleep.cog.cognitive_strategies",
    "sleep.cog.wind_down_relaxation",
]


def test_issue_minimum_skill_list_present(cur: Curriculum) -> None:
    missing = [s for s in REQUIRED_SKILLS if s not in cur.skills]
    assert missing == []


def test_every_skill_cites_a_source_and_has_content(cur: Curriculum) -> None:
    for s in cur.skills.values():
        assert 2 <= len(s.objectives) <= 4, s.id
        assert s.teaching_points and s.practice and s.home_practice, s.id
        assert s.source.strip() and "shared/reference" not in s.source, s.id
        assert set(s.targets) <= set(CONCERNS)


def test_prerequisite_seed_from_reference(cur: Curriculum) -> None:
    """Reproduces the hard prerequisites of curriculum.md §1.6 (machine-readable seed)."""
    req = cur.prerequisites()
    assert "dbt.mf.wise_mind" in req["dbt.dt.stop"]
    assert "dbt.mf.wise_mind" in req["dbt.dt.pros_cons"]
    assert "dbt.er.understand_name_emotions" in req["dbt.er.check_the_facts"]
    assert "dbt.er.check_the_facts" in req["dbt.er.opposite_action"]
    assert "dbt.ie.clarify_priorities" in req["dbt.ie.dear_man"]
    assert "cbt.model.self_monitoring" in req["cbt.ba.activation"]
    assert "cbt.exp.exposure_hierarchy" in req["cbt.exp.erp_ocd"]
    assert "cbt.panic.panic_education" in req["cbt.panic.interoceptive_exposure"]
    # ACT ordering is soft only (curriculum.md §1.3).
    assert all(req[s.id] == [] for s in cur.query(modality="act"))


def test_sleep_window_needs_a_week_of_diary_and_carries_cautions(cur: Curriculum) -> None:
    """Reproduces curriculum.md §1.5: ≥ 7 nights of diary; bipolar/seizure/OSA cautions."""
    sw = cur.skill("sleep.beh.sleep_window")
    assert "sleep.edu.sleep_diary" in sw.requires
    assert cur.min_gaps()[("sleep.edu.sleep_diary", "sleep.beh.sleep_window")] == 7
    assert {"bipolar", "seizure_disorder", "untreated_osa"} <= set(sw.contraindications)
    assert sw.clinician_approval
    assert any("2 of 5" in c for c in sw.cautions)  # PMC4185309 hypomania report


def test_safety_plan_is_individual_admission_task(cur: Curriculum) -> None:
    sp = cur.skill("rp.safety.stanley_brown_safety_plan")
    assert sp.kind == "individual_task" and not sp.rotating
    assert sp.id not in {s.id for s in cur.rotating_skills()}
    assert [s.id for s in cur.individual_tasks()] == [sp.id]
    for p in cur.programs.values():
        assert sp.id not in cur.core_skills(p.id)
        assert sp.id not in cur.elective_skills(p.id)
        assert p.admission_tasks == [sp.id]


# --- programs ------------------------------------------------------------------------------


def test_three_programs_with_expected_days(cur: Curriculum) -> None:
    days = {p.id: p.days for p in cur.programs.values()}
    assert days["adult_mood_anxiety_3d"] == ["mon", "wed", "fri"]
    assert days["adult_mood_anxiety_5d"] == ["mon", "tue", "wed", "thu", "fri"]
    assert days["adolescent_afterschool_3d"] == ["tue", "wed", "thu"]
    assert cur.program("adolescent_afterschool_3d").start_time == time(15, 30)


@pytest.mark.parametrize(
    "pid", ["adult_mood_anxiety_3d", "adult_mood_anxiety_5d", "adolescent_afterschool_3d"]
)
def test_every_program_core_fits_shortest_stay(cur: Curriculum, pid: str) -> None:
    p = cur.program(pid)
    assert 4 <= p.min_weeks <= p.max_weeks <= 8
    assert cur.core_sessions_needed(pid) <= p.min_sessions
    assert p.block_minutes == p.session_minutes == 180
    core = set(cur.core_skills(pid))
    for sid in core:  # every hard prerequisite of a core skill is core too
        assert set(cur.skill(sid).requires) <= core, sid


def test_program_helpers(cur: Curriculum) -> None:
    p = cur.program("adult_mood_anxiety_3d")
    assert p.weekdays == [0, 2, 4]
    assert p.sessions_per_week == 3
    assert p.min_sessions == 12 and p.max_sessions == 18
    assert p.segment_minutes("skill") == 60 and p.segment_minutes("nope") == 0


def test_closures_holidays_and_listed_dates(cur: Curriculum) -> None:
    """US-MA holidays from the `holidays` package: Thanksgiving 2026-11-26, Patriots' Day
    2027-04-19; plus the program's listed 2026-12-24."""
    p = cur.program("adult_mood_anxiety_3d")
    closed = p.closures(date(2026, 11, 1), date(2027, 4, 30))
    assert {date(2026, 11, 26), date(2026, 12, 24), date(2026, 12, 25)} <= closed
    assert date(2027, 4, 19) in closed  # Patriots' Day (Massachusetts only)
    assert date(2027, 4, 19) not in cur.program("adult_mood_anxiety_5d").closures(
        date(2027, 4, 1), date(2027, 4, 30)
    )  # New York program
    reasons = p.closure_reasons(date(2026, 12, 24), date(2026, 12, 25))
    assert reasons[date(2026, 12, 25)] == "Christmas Day"
    assert "Christmas Eve" in reasons[date(2026, 12, 24)]


def test_admission_days(cur: Curriculum) -> None:
    teen = cur.program("adolescent_afterschool_3d")
    assert teen.is_admission_day(date(2026, 12, 1))  # Tuesday
    assert not teen.is_admission_day(date(2026, 12, 3))  # Thursday: program day, no admission
    assert teen.is_program_day(date(2026, 12, 3))
    assert not teen.is_admission_day(date(2026, 12, 29))  # listed winter-break closure
    assert not teen.is_program_day(date(2026, 12, 7))  # Monday


def test_measurement_schedule_by_concern(cur: Curriculum) -> None:
    m = cur.program("adult_mood_anxiety_3d").measurement
    assert m.scales_for("admission", ["ptsd", "adhd"]) == [
        "phq9",
        "gad7",
        "wsas",
        "aaq2",
        "pcl5",
        "asrs",
    ]
    assert "asrs" not in m.scales_for("weekly", ["adhd"])  # intake only
    assert m.scales_for("weekly", ["panic"]) == ["phq9", "gad7", "pdss"]
    assert m.scales_for("discharge", ["insomnia", "ocd"])[-2:] == ["isi", "ocir"]  # concern order
    item9 = [s for s in m.safety if s.scale == "phq9"][0]
    assert (item9.item, item9.flag_at, item9.escalate_at) == (9, 1, 2)  # Simon 2013
    with pytest.raises(InputError, match="unknown occasion"):
        m.scales_for("monthly")  # type: ignore[arg-type]


# --- queries -------------------------------------------------------------------------------


def test_query_filters(cur: Curriculum) -> None:
    dbt_dt = cur.query(modality="dbt", module="dt")
    assert dbt_dt and all(s.module_id == "dbt.dt" for s in dbt_dt)
    assert [s.id for s in cur.query(module="dbt.dt")] == [s.id for s in dbt_dt]
    ocd = {s.id for s in cur.query(target="ocd")}
    assert "cbt.exp.erp_ocd" in ocd and "dbt.mf.wise_mind" not in ocd
    tier_core = cur.query(core=True)
    assert all(s.tier == "core" for s in tier_core)
    assert len(tier_core) + len(cur.query(core=False)) == len(cur.skills)
    prog_core = cur.query(program="adult_mood_anxiety_3d", core=True)
    assert [s.id for s in prog_core] == [
        s for s in cur.skills if s in set(cur.core_skills("adult_mood_anxiety_3d"))
    ]


def test_query_program_respects_elective_pool(cur: Curriculum) -> None:
    teen = {s.id for s in cur.query(program="adolescent_afterschool_3d")}
    assert "sleep.edu.sleep_diary" in teen  # sleep.edu module allowed
    assert "sleep.beh.sleep_window" not in teen  # sleep.beh module not in the pool
    adult = set(cur.elective_skills("adult_mood_anxiety_3d"))
    assert "cbt.exp.erp_ocd" not in adult  # excluded in the program file


def test_query_rejects_unknown_values_with_suggestion(cur: Curriculum) -> None:
    with pytest.raises(InputError, match="did you mean 'dbt'"):
        cur.query(modality="dtb")
    with pytest.raises(InputError, match="unknown target 'anxeity'"):
        cur.query(target="anxeity")
    with pytest.raises(InputError, match="unknown module"):
        cur.query(module="dbt.xx")
    with pytest.raises(InputError, match="did you mean 'dbt.dt.tip'"):
        cur.skill("dbt.dt.tipp")
    with pytest.raises(InputError, match="known programs"):
        cur.program("adult")


def test_skills_frame(cur: Curriculum) -> None:
    df = cur.skills_frame()
    assert len(df) == len(cur.skills) and df["id"].is_unique
    assert {"id", "modality", "module_id", "requires", "targets", "file"} <= set(df.columns)
    tip = df.set_index("id").loc["dbt.dt.tip"]
    assert tip["training_needed"] == "dbt" and tip["file"].endswith("dbt.yaml")
    sub = cur.skills_frame(cur.query(modality="sleep"))
    assert set(sub["modality"]) == {"sleep"}


def test_core_skills_expands_modules(cur: Curriculum, tmp_path: Path) -> None:
    import shutil

    import yaml

    shutil.copytree(SHIPPED, tmp_path / "c")
    f = tmp_path / "c" / "programs" / "adult_mood_anxiety_5d.yaml"
    data = yaml.safe_load(f.read_text())
    data["core"] = {"skills": ["dbt.mf.wise_mind"], "modules": ["act.open"]}
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    c2 = load_curriculum(tmp_path / "c")
    assert c2.core_skills("adult_mood_anxiety_5d") == ["dbt.mf.wise_mind"] + c2.module_skills(
        "act.open"
    )


# --- agenda --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pid,day,start",
    [
        ("adult_mood_anxiety_3d", date(2026, 12, 2), None),
        ("adult_mood_anxiety_5d", date(2026, 12, 3), "08:45"),
        ("adolescent_afterschool_3d", date(2026, 12, 2), "15:30"),
    ],
)
def test_agenda_contiguous_and_sums_to_session(
    cur: Curriculum, pid: str, day: date, start: str | None
) -> None:
    p = cur.program(pid)
    df = cur.agenda(pid, day, "dbt.er.abc_please", start)
    assert list(df.columns) == ["segment", "title", "start", "end", "minutes", "content"]
    assert df["minutes"].sum() == 180
    assert (df["start"].iloc[1:].to_numpy() == df["end"].iloc[:-1].to_numpy()).all()
    assert ((df["end"] - df["start"]).dt.total_seconds() / 60 == df["minutes"]).all()
    first = pd.Timestamp.combine(day, p.start_time if start is None else time.fromisoformat(start))
    assert df["start"].iloc[0] == first
    assert df["end"].iloc[-1] == first + pd.Timedelta(minutes=180)
    assert list(df["segment"]) == [s.segment for s in p.block]


def test_agenda_content_comes_from_skill(cur: Curriculum) -> None:
    s = cur.skill("dbt.ie.dear_man")
    df = cur.agenda("adult_mood_anxiety_3d", date(2026, 12, 4), s.id).set_index("segment")
    assert df.loc["skill", "content"].startswith(s.title)
    assert s.teaching_points[0] in df.loc["skill", "content"]
    assert df.loc["application", "content"] == s.practice
    assert s.home_practice in df.loc["wrap_up", "content"]
    assert df.loc["check_in", "title"] == SEGMENT_RULES["check_in"].title


def test_agenda_refuses_bad_days_tasks_and_times(cur: Curriculum) -> None:
    with pytest.raises(InputError, match="meets on mon, wed, fri"):
        cur.agenda("adult_mood_anxiety_3d", date(2026, 12, 1), "dbt.dt.tip")  # Tuesday
    with pytest.raises(InputError, match="closed on 2026-11-26 .Thanksgiving"):
        cur.agenda("adult_mood_anxiety_5d", date(2026, 11, 26), "dbt.dt.tip")
    with pytest.raises(InputError, match="individual task"):
        cur.agenda(
            "adult_mood_anxiety_3d", date(2026, 12, 2), "rp.safety.stanley_brown_safety_plan"
        )
    with pytest.raises(InputError, match="HH:MM"):
        cur.agenda("adult_mood_anxiety_3d", date(2026, 12, 2), "dbt.dt.tip", "9am")
    with pytest.raises(InputError, match="after midnight"):
        cur.agenda("adult_mood_anxiety_3d", date(2026, 12, 2), "dbt.dt.tip", "22:30")


def test_agenda_function_accepts_models(cur: Curriculum) -> None:
    df = agenda(cur.program("adult_mood_anxiety_3d"), date(2026, 12, 2), cur.skill("dbt.dt.tip"))
    assert len(df) == 6


# --- the core-sessions bound ---------------------------------------------------------------


def _window_ok(seq: list[str], skills: set[str], edges: list[tuple[str, str]]) -> bool:
    if set(seq) != skills:
        return False
    for pre, dep in edges:
        first_pre = seq.index(pre)
        if dep not in seq[first_pre + 1 :]:
            return False
    return True


def _feasible(n: int, edges: list[tuple[str, str]], stay: int) -> bool:
    """Is there a periodic rotation whose every `stay`-session window meets all skills, each
    prerequisite before a later session of its dependent? (brute force over periods ≤ stay+1)"""
    skills = [chr(97 + i) for i in range(n)]
    for period in range(n, stay + 2):
        for cycle in itertools.product(skills, repeat=period):
            seq = list(cycle) * (stay // period + 2)
            if all(_window_ok(seq[s : s + stay], set(skills), edges) for s in range(period)):
                return True
    return False


def test_core_sessions_bound_is_tight_for_small_cases() -> None:
    """Checks the docstring claim of Curriculum.core_sessions_needed by brute force: with a
    prerequisite pair, n core skills need n + 1 sessions, and n + 1 suffice."""
    assert _feasible(3, [], 3)
    assert not _feasible(3, [("a", "b")], 3)
    assert _feasible(3, [("a", "b")], 4)
    assert not _feasible(4, [("a", "b"), ("c", "d")], 4)
    assert _feasible(4, [("a", "b"), ("c", "d")], 5)


def test_skill_model_forbids_extra_keys() -> None:
    base = dict(
        id="x.y.z",
        title="t",
        modality="x",
        module="y",
        tier="core",
        summary="s",
        objectives=["a", "b"],
        teaching_points=["a", "b"],
        practice="p",
        home_practice="h",
        minutes=45,
        targets=["general"],
        source="src",
    )
    assert Skill.model_validate(base).rotating
    with pytest.raises(Exception, match="Extra inputs are not permitted"):
        Skill.model_validate({**base, "objectivs": ["a", "b"]})
    with pytest.raises(Exception, match="at most 4"):
        Skill.model_validate({**base, "objectives": list("abcde")})


def test_session_dates_skip_closures(cur: Curriculum) -> None:
    """Thanksgiving (2026-11-26, `holidays` US) removes one day of the Mon–Fri program."""
    p5 = cur.program("adult_mood_anxiety_5d")
    week = p5.session_dates(date(2026, 11, 23), date(2026, 11, 29))
    assert week == [date(2026, 11, d) for d in (23, 24, 25, 27)]
    p3 = cur.program("adult_mood_anxiety_3d")
    assert p3.session_dates(date(2026, 11, 23), date(2026, 11, 29)) == [
        date(2026, 11, d) for d in (23, 25, 27)
    ]
    assert p3.session_dates(date(2026, 11, 29), date(2026, 11, 23)) == []


def test_skill_weekdays_follow_facilitator_trainings(cur: Curriculum) -> None:
    days = cur.skill_weekdays("adult_mood_anxiety_5d")
    assert days["cbt.exp.erp_ocd"] == [0, 1, 2]  # only fac_d is ERP-trained (Mon–Wed)
    assert days["sleep.beh.stimulus_control"] == [1, 3]  # fac_f: CBT-I, Tue/Thu
    assert days["cbt.ps.problem_solving"] == [0, 1, 2, 3, 4]  # no training needed
    assert days["dbt.dt.tip"] == [0, 1, 2, 3, 4]
    assert set(days) == set(cur.core_skills("adult_mood_anxiety_5d")) | set(
        cur.elective_skills("adult_mood_anxiety_5d")
    )


def test_agenda_notes_a_skill_longer_than_its_segment(cur: Curriculum) -> None:
    prog = cur.program("adolescent_afterschool_3d")  # skill segment: 55 min
    long_skill = cur.skill("dbt.ie.dear_man").model_copy(update={"minutes": 60})
    df = agenda(prog, date(2026, 12, 2), long_skill).set_index("segment")
    assert "needs 60 min of teaching and the segment has 55" in df.loc["skill", "content"]
    short = agenda(prog, date(2026, 12, 2), cur.skill("dbt.dt.tip")).set_index("segment")
    assert "Note:" not in short.loc["skill", "content"]


def test_targets_frame_is_long_and_complete(cur: Curriculum) -> None:
    tf = cur.targets_frame()
    assert list(tf.columns) == ["skill_id", "concern"]
    assert len(tf) == sum(len(s.targets) for s in cur.skills.values())
    erp = cur.targets_frame(["cbt.exp.erp_ocd"])
    assert erp["concern"].tolist() == ["ocd"]
    counts = cur.programs_frame().set_index("id")
    assert counts.loc["adult_mood_anxiety_5d", "core_sessions_needed"] == 18
