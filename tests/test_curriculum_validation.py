"""Every kind of broken curriculum gets a precise message naming file, line and key path.

Each test copies the shipped ``curriculum/`` into tmp_path, breaks one thing, and checks the
problem list (and that ``load_curriculum`` refuses it with a ConfigError, not a traceback).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from iopkit.curriculum import Problem, load_curriculum, validate_curriculum
from iopkit.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[1] / "curriculum"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "curriculum"
    shutil.copytree(SHIPPED, dst)
    return dst


def _edit_text(root: Path, rel: str, old: str, new: str, count: int = 1) -> None:
    f = root / rel
    text = f.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found in {rel}: {old!r}"
    f.write_text(text.replace(old, new, count), encoding="utf-8")


def _edit_yaml(root: Path, rel: str, fn: Callable[[dict], None]) -> None:
    f = root / rel
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    fn(data)
    f.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _line_of(root: Path, rel: str, needle: str) -> int:
    lines = (root / rel).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def _errors(root: Path) -> list[Problem]:
    problems = [p for p in validate_curriculum(root) if p.severity == "error"]
    assert problems, "expected at least one error"
    with pytest.raises(ConfigError) as exc:
        load_curriculum(root)
    assert "problem" in str(exc.value)
    return problems


def _one(problems: list[Problem], fragment: str) -> Problem:
    hits = [p for p in problems if fragment in p.message]
    assert len(hits) == 1, [str(p) for p in problems]
    return hits[0]


def test_unknown_key_typo_with_suggestion_file_line_and_path(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "modules/dbt.yaml",
        "    home_practice: Fill in a daily diary card",
        "    home_practise: Fill in a daily diary card",
    )
    p = _one(_errors(root), "unknown key 'home_practise'")
    assert "did you mean 'home_practice'?" in p.message
    assert p.file == "curriculum/modules/dbt.yaml"
    assert p.key == "skills[0].home_practise"
    assert p.line == _line_of(root, "modules/dbt.yaml", "home_practise:")
    # the missing correct key is reported too, at the same skill
    assert any(q.key == "skills[0].home_practice" for q in _errors(root))


def test_unknown_key_in_program_block(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "programs/adult_mood_anxiety_3d.yaml",
        "{segment: break, minutes: 10}",
        "{segment: break, minuts: 10}",
    )
    p = _one(_errors(root), "unknown key 'minuts'")
    assert "did you mean 'minutes'?" in p.message
    assert p.key == "block[3].minuts"


def test_duplicate_skill_id(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_yaml(root, "modules/act.yaml", lambda d: d["skills"].append(dict(d["skills"][1])))
    p = _one(_errors(root), "duplicate skill id 'act.open.control_problem'")
    assert "first defined in curriculum/modules/act.yaml at skills[1]" in p.message
    assert p.key == "skills[8].id"


def test_duplicate_program_id(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    shutil.copy(root / "programs/adult_mood_anxiety_3d.yaml", root / "programs/zz_copy.yaml")
    p = _one(_errors(root), "duplicate program id 'adult_mood_anxiety_3d'")
    assert p.file == "curriculum/programs/zz_copy.yaml"


def test_unknown_prerequisite_with_suggestion(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "modules/dbt.yaml",
        "    requires: [dbt.mf.wise_mind]\n",
        "    requires: [dbt.mf.wise_mnd]\n",
    )
    p = _one(_errors(root), "unknown prerequisite 'dbt.mf.wise_mnd'")
    assert "did you mean 'dbt.mf.wise_mind'?" in p.message
    assert p.key.endswith(".requires[0]") and p.key.startswith("skills[")
    assert p.line == _line_of(root, "modules/dbt.yaml", "dbt.mf.wise_mnd")


def test_prerequisite_cycle_is_named(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    # wise mind after STOP, while STOP requires wise mind: a two-step cycle
    _edit_yaml(
        root,
        "modules/dbt.yaml",
        lambda d: d["skills"][2].__setitem__("after", ["dbt.dt.stop"]),
    )
    p = _one(_errors(root), "prerequisite cycle")
    assert (
        "dbt.mf.wise_mind → dbt.dt.stop → dbt.mf.wise_mind" in p.message
        or "dbt.dt.stop → dbt.mf.wise_mind → dbt.dt.stop" in p.message
    )
    assert "dbt.dt.stop requires dbt.mf.wise_mind" in p.message


def test_longer_cycle_across_files(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    # cbt_model requires rp coping plan; coping plan after warning signs; warning signs
    # requires the CBT model → a three-skill cycle spanning two files
    _edit_yaml(
        root,
        "modules/cbt.yaml",
        lambda d: d["skills"][0].__setitem__("requires", ["rp.plan.coping_plan"]),
    )
    _edit_yaml(
        root,
        "modules/relapse_prevention.yaml",
        lambda d: d["skills"][0].__setitem__("requires", ["cbt.model.cbt_model"]),
    )
    p = _one(_errors(root), "prerequisite cycle")
    for sid in ("cbt.model.cbt_model", "rp.plan.coping_plan", "rp.risk.warning_signs"):
        assert sid in p.message


def test_block_not_summing_to_session_length(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "programs/adult_mood_anxiety_3d.yaml",
        "{segment: skill, minutes: 60}",
        "{segment: skill, minutes: 50}",
    )
    p = _one(_errors(root), "block adds up to 170 min")
    assert "session_minutes is 180" in p.message
    assert p.key == "block" and p.file == "curriculum/programs/adult_mood_anxiety_3d.yaml"


def test_block_without_mindfulness_cannot_reach_180(tmp_path: Path) -> None:
    """The five segments of the design brief reach at most 30+60+10+60+15 = 175 min."""
    root = _copy(tmp_path)
    _edit_text(
        root, "programs/adult_mood_anxiety_3d.yaml", "  - {segment: mindfulness, minutes: 10}\n", ""
    )
    p = _one(_errors(root), "block adds up to 170 min")
    assert "reach at most 175 min" in p.message and "mindfulness" in p.message


def test_segment_out_of_range_and_order(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "programs/adult_mood_anxiety_5d.yaml",
        "{segment: check_in, minutes: 30}",
        "{segment: check_in, minutes: 35}",
    )
    p = _one(_errors(root), "Check-in & safety scan lasts 35 min")
    assert "allowed 20–30 min" in p.message and p.key == "block[0].minutes"
    root2 = _copy(tmp_path / "b")
    _edit_yaml(
        root2,
        "programs/adult_mood_anxiety_5d.yaml",
        lambda d: d["block"].insert(0, d["block"].pop(2)),
    )
    p2 = _one(_errors(root2), "segments out of order")
    assert "skill → check_in" in p2.message


def test_unknown_segment_kind(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "programs/adult_mood_anxiety_3d.yaml",
        "{segment: wrap_up, minutes: 15}",
        "{segment: wrapup, minutes: 15}",
    )
    p = _one(_errors(root), "Input should be")
    assert "'wrap_up'" in p.message and p.key == "block[5].segment"


def test_core_does_not_fit_min_stay(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    extra = ["dbt.dt.accepts", "dbt.dt.self_soothe", "dbt.dt.improve", "act.engaged.values"]
    _edit_yaml(
        root, "programs/adult_mood_anxiety_3d.yaml", lambda d: d["core"]["skills"].extend(extra)
    )
    p = _one(_errors(root), "core needs at least")
    assert "core needs at least 15 sessions (14 core skills + 1 repeat" in p.message
    assert "a 4-week stay at 3 days a week has 12" in p.message


def test_core_exactly_filling_min_stay_is_a_warning(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_yaml(
        root,
        "programs/adult_mood_anxiety_3d.yaml",
        lambda d: d["core"]["skills"].append("dbt.dt.accepts"),
    )
    problems = validate_curriculum(root)
    assert [p.severity for p in problems] == ["warning"]
    assert "exactly 12" in problems[0].message
    load_curriculum(root)  # warnings do not block loading


def test_core_skill_whose_prerequisite_is_not_core(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_yaml(
        root,
        "programs/adult_mood_anxiety_3d.yaml",
        lambda d: d["core"]["skills"].remove("dbt.mf.wise_mind"),
    )
    p = _one(_errors(root), "requires dbt.mf.wise_mind, which is not core")
    assert p.key == "core.skills[4]"  # dbt.dt.stop, after the removal


def test_unknown_core_skill_module_and_individual_task_in_core(tmp_path: Path) -> None:
    root = _copy(tmp_path)

    def edit(d: dict) -> None:
        d["core"]["skills"].append("dbt.dt.tipp")
        d["core"]["skills"].append("rp.safety.stanley_brown_safety_plan")
        d["core"]["modules"] = ["dbt.mff"]

    _edit_yaml(root, "programs/adult_mood_anxiety_5d.yaml", edit)
    errs = _errors(root)
    assert "did you mean 'dbt.dt.tip'?" in _one(errs, "unknown core skill").message
    assert "did you mean 'dbt.mf'?" in _one(errs, "unknown module 'dbt.mff'").message
    assert "admission_tasks" in _one(errs, "is an individual task").message


def test_admission_day_not_a_program_day(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "programs/adolescent_afterschool_3d.yaml",
        "admission_days: [tue, wed]",
        "admission_days: [mon, wed]",
    )
    p = _one(_errors(root), "admission day(s) mon are not program days")
    assert p.key == "admission_days"


def test_weekday_typo_and_listed_twice(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "programs/adult_mood_anxiety_3d.yaml",
        "days: [mon, wed, fri]\n",
        "days: [mon, wed, wed, fri]\n",
    )
    assert "weekday listed twice: wed" in _one(_errors(root), "weekday listed twice").message


def test_unknown_scale_ids(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root, "modules/sleep.yaml", "    related_scales: [isi]\n", "    related_scales: [isii]\n"
    )
    _edit_text(
        root, "programs/adult_mood_anxiety_3d.yaml", "weekly: [phq9, gad7]", "weekly: [phq9, gad8]"
    )
    errs = _errors(root)
    p = _one(errs, "unknown scale id 'isii'")
    assert "did you mean 'isi'?" in p.message and p.key == "skills[0].related_scales[0]"
    q = _one(errs, "unknown scale id 'gad8'")
    assert q.key == "measurement.weekly[1]"


def test_scale_alias_is_a_warning(tmp_path: Path) -> None:
    pytest.importorskip("iopkit.scales")
    root = _copy(tmp_path)
    _edit_text(
        root,
        "programs/adult_mood_anxiety_3d.yaml",
        "panic: {admission: [pdss], weekly: [pdss]",
        "panic: {admission: [pdss_sr], weekly: [pdss]",
    )
    problems = validate_curriculum(root)
    assert [p.severity for p in problems] == ["warning"]
    assert "alias" in problems[0].message and "'pdss'" in problems[0].message


def test_scale_registry_failure_is_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken scale registry is a bug to see, not a reason to check against a stale list."""
    import iopkit.scales

    def broken() -> list:
        raise RuntimeError("registry unavailable")

    monkeypatch.setattr(iopkit.scales, "list_scales", broken)
    with pytest.raises(RuntimeError, match="registry unavailable"):
        validate_curriculum(_copy(tmp_path))


def test_scale_ids_come_from_the_registry(tmp_path: Path) -> None:
    from iopkit.curriculum import known_scale_ids
    from iopkit.scales import list_scales

    assert known_scale_ids() == {s.id for s in list_scales()}
    root = _copy(tmp_path)
    _edit_text(
        root, "modules/act.yaml", "    related_scales: [aaq2]\n", "    related_scales: [aaq3]\n"
    )
    p = _one(_errors(root), "unknown scale id 'aaq3'")
    assert "did you mean 'aaq2'?" in p.message and "known: " in p.message


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(root, "modules/cbt.yaml", "    tier: core\n", "    tier: [core\n")
    p = _one(_errors(root), "YAML syntax error")
    assert p.file == "curriculum/modules/cbt.yaml"
    assert p.line is not None and abs(p.line - _line_of(root, "modules/cbt.yaml", "[core")) <= 2


def test_unquoted_colon_gets_a_quoting_hint(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "modules/act.yaml",
        "      - Thoughts are not facts or orders, even when they feel urgent.",
        "      - Remember: thoughts are not facts",
    )
    p = _one(_errors(root), "double quotes")
    assert p.key.endswith("teaching_points[0]")


def test_missing_required_key_and_bad_ranges(tmp_path: Path) -> None:
    root = _copy(tmp_path)

    def edit(d: dict) -> None:
        del d["skills"][2]["source"]
        d["skills"][3]["objectives"] = ["only one"]
        d["skills"][4]["minutes"] = 5

    _edit_yaml(root, "modules/act.yaml", edit)
    errs = _errors(root)
    assert _one(errs, "required key 'source' is missing").key == "skills[2].source"
    assert _one(errs, "at least 2 items").key == "skills[3].objectives"
    assert _one(errs, "greater than or equal to 15").key == "skills[4].minutes"


def test_one_broken_skill_does_not_cascade(tmp_path: Path) -> None:
    """A schema error in dbt.mf.wise_mind must not make every reference to it 'unknown'."""
    root = _copy(tmp_path)
    _edit_yaml(root, "modules/dbt.yaml", lambda d: d["skills"][2].__setitem__("minutes", "lots"))
    errs = _errors(root)
    assert len(errs) == 1, [str(p) for p in errs]
    assert errs[0].key == "skills[2].minutes"


def test_skill_in_wrong_module_or_prefix(tmp_path: Path) -> None:
    root = _copy(tmp_path)

    def edit(d: dict) -> None:
        d["skills"][0]["module"] = "opne"
        d["skills"][1]["id"] = "act.aware.control_problem"

    _edit_yaml(root, "modules/act.yaml", edit)
    errs = _errors(root)
    assert "did you mean 'open'?" in _one(errs, "module 'opne' is not declared").message
    assert _one(errs, "must start with 'act.open.'").key == "skills[1].id"


def test_min_days_after_must_name_a_requirement(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root,
        "modules/sleep.yaml",
        "      sleep.edu.sleep_diary: 7",
        "      sleep.edu.sleep_education: 7",
    )
    p = _one(_errors(root), "not in its requires list")
    assert p.key.endswith("min_days_after.sleep.edu.sleep_education")


def test_unknown_holiday_region(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_text(
        root, "programs/adult_mood_anxiety_5d.yaml", "  subdivision: NY", "  subdivision: QQ"
    )
    p = _one(_errors(root), "holidays rejects subdivision 'QQ'")
    assert p.key == "closure_rules.subdivision"


def test_facilitator_training_missing_for_core(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_yaml(
        root,
        "programs/adolescent_afterschool_3d.yaml",
        lambda d: [f.__setitem__("trainings", ["cbt"]) for f in d["facilitators"]],
    )
    errs = _errors(root)
    assert any("trained in 'dbt'" in p.message for p in errs)


def test_electives_no_facilitator_can_teach_are_a_warning(tmp_path: Path) -> None:
    """A listed elective modality nobody is trained in would silently never be planned."""
    root = _copy(tmp_path)
    _edit_yaml(
        root,
        "programs/adolescent_afterschool_3d.yaml",
        lambda d: d["facilitators"].pop(),  # drop the ACT / CBT-I trained counsellor
    )
    probs = validate_curriculum(root)
    hits = [p for p in probs if "planner can never place them" in p.message]
    assert {("act" in p.message, "cbt_i" in p.message) for p in hits} == {
        (True, False),
        (False, True),
    }
    assert all(p.severity == "warning" and p.key == "electives" for p in hits)


def test_missing_directory_and_folders(tmp_path: Path) -> None:
    assert "not found" in validate_curriculum(tmp_path / "nope")[0].message
    (tmp_path / "c" / "modules").mkdir(parents=True)
    probs = validate_curriculum(tmp_path / "c")
    assert probs[0].file.endswith("programs") and "folder missing" in probs[0].message
    with pytest.raises(ConfigError, match="not found"):
        load_curriculum(tmp_path / "nope")


def test_problem_str_is_file_line_key_message() -> None:
    p = Problem("curriculum/modules/dbt.yaml", "skills[3].requires[0]", "unknown", 42)
    assert str(p) == "curriculum/modules/dbt.yaml:42 skills[3].requires[0]: unknown"


def test_typo_in_a_skill_still_suggests_it_and_spares_programs(tmp_path: Path) -> None:
    """A key typo inside dbt.mf.wise_mind: references to wise mind stay valid, a misspelt
    reference is still matched to it, and no program reports a cascade."""
    root = _copy(tmp_path)
    _edit_text(
        root,
        "modules/dbt.yaml",
        "    home_practice: Once a day, pause before a decision",
        "    home_practise: Once a day, pause before a decision",
    )
    _edit_text(
        root,
        "modules/dbt.yaml",
        "    requires: [dbt.mf.wise_mind]\n",
        "    requires: [dbt.mf.wise_mnd]\n",
    )
    errs = _errors(root)
    assert {p.file for p in errs} == {"curriculum/modules/dbt.yaml"}, [str(p) for p in errs]
    assert "did you mean 'dbt.mf.wise_mind'?" in _one(errs, "unknown prerequisite").message


def test_duplicate_yaml_key_is_not_silently_dropped(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys; validation must say so instead."""
    root = _copy(tmp_path)
    _edit_text(
        root,
        "programs/adult_mood_anxiety_3d.yaml",
        "admission_days: [mon, wed, fri]\n",
        "admission_days: [mon, wed, fri]\nadmission_days: [mon]\n",
    )
    p = _one(_errors(root), "appears twice")
    line = _line_of(root, "programs/adult_mood_anxiety_3d.yaml", "admission_days: [mon]")
    assert p.key == "admission_days" and p.line == line
    assert f"lines {line - 1} and {line}" in p.message
