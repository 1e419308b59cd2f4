"""Validation rules: each rule has a fixture that breaks it, and the report points at the cell."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from iopkit.data import load_bundle, validate_bundle, write_bundle, write_rejects
from iopkit.data.bundle import Bundle
from iopkit.data.catalog import ProgramRules, ScaleSpec
from iopkit.errors import InputError
from iopkit.synth import synthesize


@pytest.fixture(scope="module")
def base() -> Bundle:
    return synthesize(n_cohorts=1, seed=4, episodes_per_cohort=6)


def _raw(bundle: Bundle) -> dict[str, pd.DataFrame]:
    """Tables as a coordinator's CSV would hold them: text, ISO dates."""
    from iopkit.data.sources.text import dates_as_text

    return {
        t: dates_as_text(t, f).astype(object).where(f.notna(), None)
        for t, f in bundle.tables.items()
    }


def _run(base: Bundle, edit, tmp_path: Path | None = None, **kw):
    tables = _raw(base)
    edit(tables)
    if tmp_path is None:
        return validate_bundle(Bundle(tables=tables), **kw)
    write_bundle(tables, tmp_path, format="csv")
    return validate_bundle(load_bundle(tmp_path), **kw)


def _only(result, rule: str) -> pd.DataFrame:
    p = result.problems
    assert set(p["rule"]) - {"cascade"} == {rule}, p[
        ["table", "source_line", "column", "rule", "message"]
    ]
    return p[p["rule"] == rule]


def _set(table: str, row: int, col: str, value):
    def edit(t):
        t[table].at[row, col] = value

    return edit


def test_clean_base_is_clean(base) -> None:
    r = _run(base, lambda t: None)
    assert r.ok and len(r.problems) == 0
    assert (r.counts["rows_in"] == r.counts["accepted"]).all()


def test_vocabulary_typo_names_file_line_column_and_value(base, tmp_path) -> None:
    r = _run(base, _set("episodes", 2, "discharge_type", "complted"), tmp_path)
    p = _only(r, "vocabulary").iloc[0]
    assert (
        p["file"].endswith("episodes.csv")
        and p["source_line"] == 4
        and p["column"] == "discharge_type"
    )
    assert p["value"] == "complted" and "completed" in p["message"]
    assert "did you mean 'complted' → 'completed'?" in p["message"]  # a hint, never applied
    line = (tmp_path / "episodes.csv").read_text().splitlines()[p["source_line"] - 1]
    assert "complted" in line  # the line number is the one the user sees in the file
    assert r.counts.set_index("table").loc["episodes", "rejected"] == 1


def test_concern_list_checked_item_by_item(base) -> None:
    r = _run(base, _set("patients", 0, "other_concerns", "anxiety;burnout"))
    assert _only(r, "vocabulary")["column"].tolist() == ["other_concerns"]


def test_required_value_blank(base) -> None:
    r = _run(base, _set("episodes", 1, "admit_date", None))
    assert _only(r, "required")["column"].tolist() == ["admit_date"]


@pytest.mark.parametrize("value", ["five", "4.5"])
def test_whole_numbers_are_never_rounded(base, value) -> None:
    r = _run(base, _set("episodes", 0, "planned_weeks", value))
    assert _only(r, "type")["value"].tolist() == [value]


def test_range(base) -> None:
    r = _run(base, _set("patients", 0, "birth_year", "1850"))
    assert _only(r, "range")["column"].tolist() == ["birth_year"]


def test_exact_duplicate_keeps_the_first(base) -> None:
    def edit(t):
        t["attendance"] = pd.concat([t["attendance"], t["attendance"].iloc[[3]]], ignore_index=True)

    r = _run(base, edit)
    p = _only(r, "duplicate_row")
    n = len(base["attendance"])
    assert p["source_line"].tolist() == [n + 2] and "line 5" in p["message"].iloc[0]
    assert r.counts.set_index("table").loc["attendance", "accepted"] == n


def test_exact_copies_found_whatever_their_key_holds(base) -> None:
    """Copies are found among rows whose key repeats, blanks and unreadable dates included:
    three copies of a row (the later two rejected, each naming the first), two copies of a
    row whose key date does not parse (one duplicate_row, the date problem on both), and two
    rows equal in the key but not in every column (a conflict, not a copy)."""
    def edit(t):
        a = t["attendance"]
        bad = a.iloc[[7]].assign(date="2025-02-30")
        t["attendance"] = pd.concat([a, a.iloc[[3, 3]], bad, bad], ignore_index=True)

    r = _run(base, edit)
    n = len(base["attendance"])
    p = r.problems[r.problems["table"] == "attendance"]
    dup = p[p["rule"] == "duplicate_row"]
    assert dup["source_line"].tolist() == [n + 2, n + 3, n + 5]
    assert dup["message"].tolist() == ["exact copy of line 5", "exact copy of line 5",
                                       f"exact copy of line {n + 4}"]  # fmt: skip
    assert (p["rule"] == "duplicate_key").sum() == 0
    assert r.counts.set_index("table").loc["attendance", "accepted"] == n


def test_conflicting_key_rejects_both(base) -> None:
    def edit(t):
        row = t["attendance"].iloc[[3]].copy()
        row["status"] = "absent_excused" if row["status"].iloc[0] != "absent_excused" else "present"
        t["attendance"] = pd.concat([t["attendance"], row], ignore_index=True)

    r = _run(base, edit)
    p = _only(r, "duplicate_key")
    assert sorted(p["source_line"]) == [5, len(base["attendance"]) + 2]


def test_orphan_reference_and_cascade(base) -> None:
    def edit(t):
        t["episodes"].at[0, "patient_id"] = "P99999"

    r = _run(base, edit)
    p = r.problems
    assert p.loc[p["rule"] == "reference", "table"].tolist() == ["episodes"]
    ep = base["episodes"].at[0, "episode_id"]
    cascaded = p[p["rule"] == "cascade"]
    assert set(cascaded["table"]) >= {"attendance", "assessments", "goals"}
    assert cascaded["message"].str.contains(f"episodes {ep} \\(line 2\\)").all()
    n_children = sum(
        (base[t]["episode_id"] == ep).sum()
        for t in ("attendance", "assessments", "goals", "events")
    )
    assert r.n_rejected == 1 + n_children
    rej = r.rejects["attendance"]
    assert (rej["rules"] == "cascade").all() and len(rej) == (
        base["attendance"]["episode_id"] == ep
    ).sum()


def test_discharge_before_admission(base) -> None:
    r = _run(base, _set("episodes", 0, "discharge_date", "2020-01-01"))
    assert _only(r, "discharge_before_admit")["column"].tolist() == ["discharge_date"]


def test_review_before_set(base) -> None:
    r = _run(base, _set("goals", 0, "review_date", "2020-01-01"))
    assert _only(r, "review_before_set")["table"].tolist() == ["goals"]


def test_grace_window_is_configurable(base) -> None:
    ep = base["episodes"].iloc[0]
    rows = base["attendance"].index[base["attendance"]["episode_id"] == ep["episode_id"]]
    # a Monday 14 days before admission (program day; outside a 7-day window, inside 21)
    before = (ep["admit_date"] - pd.Timedelta(days=14)).strftime("%Y-%m-%d")
    edit = _set("attendance", rows[0], "date", before)
    p = _only(_run(base, edit), "outside_episode").iloc[0]
    assert "by more than 7 days" in p["message"] and p["value"] == before
    assert _run(base, edit, grace_days=21).ok


def test_attendance_on_a_day_the_program_does_not_meet(base) -> None:
    ep = base["episodes"].iloc[0]
    rows = base["attendance"].index[base["attendance"]["episode_id"] == ep["episode_id"]]
    d = base["attendance"].at[rows[1], "date"]
    sat = (d + pd.Timedelta(days=(5 - d.day_of_week) % 7)).strftime("%Y-%m-%d")
    p = _only(_run(base, _set("attendance", rows[1], "date", sat)), "program_day").iloc[0]
    assert "Saturday" in p["message"]


def test_program_days_can_be_passed_as_parameters(base) -> None:
    pid = base["cohorts"].at[0, "program_id"]
    r = validate_bundle(
        base,
        programs={pid: ProgramRules(pid, frozenset({6}))},
        skills=set(base["sessions"]["skill_id"]),
    )
    assert set(r.problems["rule"]) == {"program_day", "cascade"} or set(r.problems["rule"]) == {
        "program_day"
    }


def test_unknown_program_and_skill(base) -> None:
    r = _run(base, _set("sessions", 0, "skill_id", "dbt.dt.tipp"))
    assert _only(r, "unknown_skill")["value"].tolist() == ["dbt.dt.tipp"]
    r = _run(base, _set("cohorts", 0, "program_id", "adult_mood"))
    assert r.problems.loc[r.problems["rule"] != "cascade", "rule"].tolist() == ["unknown_program"]
    # everything but the patients hangs off the one cohort
    assert r.counts["accepted"].sum() == len(base["patients"])


def test_items_against_the_registry(base) -> None:
    """PHQ-9 has 9 items scored 0–3 (scales.md §1.1): 4 is out of range, item_10 must be blank."""
    phq = base["assessments"].index[base["assessments"]["scale"] == "phq9"]
    assert _only(_run(base, _set("assessments", phq[0], "item_3", "4")), "item_range")[
        "column"
    ].tolist() == ["item_3"]
    assert _only(_run(base, _set("assessments", phq[0], "item_10", "1")), "item_count")[
        "column"
    ].tolist() == ["item_10"]
    assert _only(_run(base, _set("assessments", phq[0], "scale", "phq10")), "unknown_scale")[
        "value"
    ].tolist() == ["phq10"]


def test_scale_spelling_from_the_registry_is_read_and_noted(base) -> None:
    phq = base["assessments"].index[base["assessments"]["scale"] == "phq9"]
    r = _run(base, _set("assessments", phq[0], "scale", "PHQ-9"))
    assert r.ok and any("'PHQ-9' → 'phq9'" in n for n in r.notes)
    assert r.tables["assessments"].iloc[0]["scale"] == "phq9"


def test_items_of_a_scale_spelled_another_way_are_still_checked(base) -> None:
    """A row whose scale reads as a registry id (``PHQ-9``) has its items checked against
    that scale: an out-of-range answer is not let through by the spelling."""
    phq = base["assessments"].index[base["assessments"]["scale"] == "phq9"]

    def edit(t):
        t["assessments"].at[phq[0], "scale"] = "PHQ-9"
        t["assessments"].at[phq[0], "item_3"] = "4"
        t["assessments"].at[phq[1], "scale"] = "PHQ-9"
        t["assessments"].at[phq[1], "item_10"] = "1"

    p = _run(base, edit).problems
    p = p[p["rule"] != "cascade"]
    assert p[["column", "rule"]].values.tolist() == [
        ["item_3", "item_range"],
        ["item_10", "item_count"],
    ]
    assert p["message"].tolist() == [
        "phq9 items run 0–3",
        "phq9 has 9 items; item_10 must be blank",
    ]


def test_long_form_assessments() -> None:
    b = synthesize(1, seed=2, episodes_per_cohort=3)
    a = b["assessments"]
    long = a.melt(id_vars=["episode_id", "date", "scale"], var_name="item", value_name="response")
    long["item"] = long["item"].str.removeprefix("item_").astype(int)
    long = long.dropna(subset=["response"]).reset_index(drop=True)
    b.tables["assessments"] = long
    b.lines.pop("assessments")
    b.__post_init__()
    assert validate_bundle(b).ok
    phq = long.index[long["scale"] == "phq9"]
    long.loc[phq[0], "response"] = 7
    long.loc[phq[1], "item"] = 10
    r = validate_bundle(b)
    assert r.problems["rule"].tolist() == ["item_range", "item_count"]
    assert r.problems["column"].tolist() == ["response", "item"]
    # a scale passed as a parameter instead of the registry
    r = validate_bundle(b, scales={"phq9": ScaleSpec("phq9", 9, 0, 9)})
    assert r.problems.loc[r.problems["rule"] != "unknown_scale", "rule"].tolist() == ["item_count"]
    assert (r.problems["rule"] == "unknown_scale").sum() == (long["scale"] != "phq9").sum()


def test_missing_required_column_rejects_the_table_with_one_problem(base) -> None:
    def edit(t):
        t["attendance"] = t["attendance"].drop(columns="status")

    r = _run(base, edit)
    p = r.problems[r.problems["table"] == "attendance"]
    assert p["rule"].tolist() == ["missing_column"] and p["source_line"].tolist() == [1]
    c = r.counts.set_index("table").loc["attendance"]
    assert c["accepted"] == 0 and c["rejected"] == c["rows_in"]
    assert r.rejects["attendance"]["reasons"].str.contains("status").all()


def test_strict_raises_on_the_first_problem(base, tmp_path) -> None:
    tables = _raw(base)
    tables["episodes"].at[2, "discharge_type"] = "complted"
    write_bundle(tables, tmp_path, format="csv")
    with pytest.raises(InputError) as err:
        validate_bundle(load_bundle(tmp_path), strict=True)
    e = err.value
    assert (
        e.file.endswith("episodes.csv")
        and e.row == 4
        and e.column == "discharge_type"
        and e.rule == "vocabulary"
    )


def test_write_rejects_keeps_rows_and_reasons(base, tmp_path) -> None:
    r = _run(base, _set("episodes", 2, "discharge_type", "complted"))
    written = write_rejects(r, tmp_path)
    ep = pd.read_csv(tmp_path / "rejects" / "episodes.csv")
    assert ep.loc[0, "source_line"] == 4 and ep.loc[0, "discharge_type"] == "complted"
    assert ep.loc[0, "rules"] == "vocabulary" and "completed" in ep.loc[0, "reasons"]
    assert (tmp_path / "problems.csv") in written


def test_accepted_tables_are_typed_and_indexed_by_line(base) -> None:
    r = _run(base, lambda t: None)
    ep = r.tables["episodes"]
    assert ep.index.name == "source_line" and ep.index[0] == 2
    assert pd.api.types.is_datetime64_any_dtype(ep["admit_date"])
    assert str(ep["planned_weeks"].dtype) == "Int64"


def test_only_required_columns_is_a_valid_bundle() -> None:
    """Optional columns may be absent; they are added blank with their contract type."""
    tables = {
        "cohorts": pd.DataFrame(
            {"cohort_id": ["C01"], "program_id": ["adult_mood_anxiety_3d"], "name": ["Group A"]}
        ),
        "patients": pd.DataFrame({"patient_id": ["P1"], "primary_concern": ["depression"]}),
        "episodes": pd.DataFrame(
            {
                "episode_id": ["E1"],
                "patient_id": ["P1"],
                "cohort_id": ["C01"],
                "admit_date": ["2025-01-06"],
            }
        ),
    }
    r = validate_bundle(Bundle(tables=tables))
    assert r.ok and len(r.problems) == 0, r.problems
    assert str(r.tables["episodes"]["planned_weeks"].dtype) == "Int64"
    assert r.tables["episodes"]["discharge_date"].isna().all()


def test_link_points_at_the_first_accepted_parent_row() -> None:
    """The shared reference lookup: found = the key exists in the parent; row = the first
    accepted parent row with it (−1 when every row with it is rejected, so the child
    cascades)."""
    import numpy as np

    from iopkit.data.validation.cells import cell_problems
    from iopkit.data.validation.rules import RuleContext
    from iopkit.data.validation.tables import TableState

    parent_frame = pd.DataFrame({"episode_id": ["A", "B", "A", None, "C", "C"]}, dtype=object)
    parent = TableState("episodes", parent_frame, parent_frame.copy())
    bad_rows = [0, 4, 5]  # A's first copy, both copies of C
    parent.add(cell_problems(np.array(bad_rows), [None] * 3, "required", "x"), "episode_id")
    child_frame = pd.DataFrame({"episode_id": ["A", "B", "C", "D", None]}, dtype="str")
    child = TableState("attendance", child_frame, child_frame.copy())
    ctx = RuleContext(tables={"episodes": parent}, rejected={}, grace_days=7, programs=None,
                      skills=None, scales=None, notes=[])  # fmt: skip
    found, row = ctx.link(child, "episode_id", "episodes")
    assert found.tolist() == [True, True, True, False, False]
    assert row.tolist() == [2, 1, -1, -1, -1]
    assert ctx.link(child, "episode_id", "episodes")[1] is row  # computed once


def test_text_objects_share_one_object_per_distinct_value() -> None:
    """Arrow-backed text becomes an object array with None for blanks, and every cell
    holding the same text holds the same ``str`` object (memory at 1.5 M rows)."""
    from iopkit.data.validation.cells import key_text, text_objects

    s = pd.Series(["P1", None, "P2", "P1"] * 3, dtype="str")
    out = text_objects(s)
    assert out.dtype == object and out.tolist() == ["P1", None, "P2", "P1"] * 3
    assert out[0] is out[3] is out[11]
    pieces = pd.concat([s.iloc[:5], s.iloc[5:]])  # Arrow data in two chunks
    assert text_objects(pieces).tolist() == out.tolist()
    mixed = pd.Series(["P1", float("nan"), 3], dtype=object)
    assert text_objects(mixed).tolist() == ["P1", None, 3]
    assert key_text(s).tolist() == out.tolist()
