"""Real clinic exports (issue 11): optional columns keep their rows, free text is redacted,
parsing is faithful. Bundles here are hand-written, shaped like a clinic's export."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iopkit.data import load_bundle, validate_bundle, write_rejects
from iopkit.data.bundle import Bundle

PROGRAM = "adult_mood_anxiety_3d"  # meets mon, wed, fri
MONDAY = "2025-01-06"


def _export(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def _cohort_export(sexes: list[str]) -> dict[str, str]:
    """One cohort, one patient per entry of ``sexes``: an episode, one attendance row and one
    PHQ-9 each (25 clinical rows for five patients)."""
    n = len(sexes)
    items = ",".join(f"item_{i}" for i in range(1, 10))
    return {
        "cohorts": f"cohort_id,program_id,name,start_date\nC01,{PROGRAM},Group A,{MONDAY}\n",
        "patients": "patient_id,birth_year,sex,primary_concern\n"
        + "".join(f"P{i:05d},1980,{s},depression\n" for i, s in enumerate(sexes, 1)),
        "episodes": "episode_id,patient_id,cohort_id,admit_date,planned_weeks\n"
        + "".join(f"E{i:05d},P{i:05d},C01,{MONDAY},6\n" for i in range(1, n + 1)),
        "attendance": "episode_id,date,status\n"
        + "".join(f"E{i:05d},{MONDAY},present\n" for i in range(1, n + 1)),
        "assessments": f"episode_id,date,scale,{items}\n"
        + "".join(f"E{i:05d},{MONDAY},phq9,{','.join(['1'] * 9)}\n" for i in range(1, n + 1)),
    }


def test_fhir_sex_codes_and_a_typo_keep_every_clinical_row(tmp_path) -> None:
    folder = _export(tmp_path, _cohort_export(["F", "M", "f", "m", "femal"]))
    r = validate_bundle(load_bundle(folder))
    c = r.counts.set_index("table")
    assert r.ok and (c["rows_in"] == c["accepted"] + c["rejected"]).all()
    assert c.loc["patients", "accepted"] == 5
    for table in ("episodes", "attendance", "assessments"):
        assert c.loc[table, "accepted"] == 5 and c.loc[table, "rejected"] == 0
    assert r.tables["patients"]["sex"].tolist()[:4] == ["female", "male", "female", "male"]
    assert pd.isna(r.tables["patients"]["sex"].iloc[4])  # the typo is blanked, row kept
    assert len(r.problems) == 1 and c.loc["patients", "warnings"] == 1
    w = r.warnings.iloc[0]
    assert w["file"].endswith("patients.csv") and w["source_line"] == 6
    assert (w["column"], w["value"], w["rule"]) == ("sex", "femal", "vocabulary")
    assert "did you mean" in w["message"] and "blanked" in w["message"]
    assert any("HL7" in n or "'F' → 'female'" in n for n in r.notes), r.notes
    written = write_rejects(r, tmp_path / "out")
    problems = pd.read_csv(tmp_path / "out" / "problems.csv")
    assert problems["severity"].tolist() == ["warning"]
    assert problems["source_line"].tolist() == [6]
    assert [p.name for p in written] == ["problems.csv"]  # no rejects: nothing rejected


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("birth_year", "19800", "range"),
        ("birth_year", "nineteen", "type"),
        ("referral_source", "gp", "vocabulary"),
        ("other_concerns", "anxiety;burnout", "vocabulary"),
    ],
)
def test_descriptive_columns_warn_and_blank(column, value, rule) -> None:
    tables = {
        t: pd.read_csv(io.StringIO(text), dtype=str)
        for t, text in _cohort_export(["female"] * 2).items()
    }
    tables["patients"][column] = None
    tables["patients"].at[0, column] = value
    r = validate_bundle(Bundle(tables=tables))
    assert r.ok, r.problems
    assert r.problems[["column", "value", "rule", "severity"]].values.tolist() == [
        [column, value, rule, "warning"]
    ]
    assert pd.isna(r.tables["patients"][column].iloc[0])


def test_keys_and_required_columns_still_reject_and_cascade(tmp_path) -> None:
    export = _cohort_export(["F", "M"])
    export["patients"] = export["patients"].replace("P00002,1980,M,depression", "P00002,1980,M,")
    r = validate_bundle(load_bundle(_export(tmp_path, export)))
    c = r.counts.set_index("table")
    assert c.loc["patients", "rejected"] == 1 and c.loc["episodes", "rejected"] == 1
    assert c.loc["attendance", "rejected"] == 1 and c.loc["assessments", "rejected"] == 1
    assert set(r.problems["severity"]) == {"error"}


GOAL = "Call Jane Doe on 555-867-5309 or jane.doe@example.com"


def _with_free_text(tmp_path: Path) -> Path:
    export = _cohort_export(["F", "M"])
    export["goals"] = (
        "episode_id,set_date,goal_no,horizon,goal,status\n"
        f'E00001,{MONDAY},1,weekly,"{GOAL}",pending\n'
        f"E00002,{MONDAY},1,weekly,walk 20-30 minutes 3 times a week,pending\n"
        f'E00009,{MONDAY},1,weekly,"SSN 123-45-6789",pending\n'  # no such episode: rejected
    )
    export["events"] = (
        "episode_id,date,kind,note\n"
        f"E00001,{MONDAY},family_session,mother (DOB 3 April 1961) attended\n"
    )
    return _export(tmp_path, export)


def test_identifiers_in_free_text_are_redacted_everywhere(tmp_path) -> None:
    bundle = load_bundle(_with_free_text(tmp_path))
    r = validate_bundle(bundle)
    goals = r.tables["goals"]["goal"]
    assert "555-867-5309" not in goals.iloc[0] and "jane.doe@example.com" not in goals.iloc[0]
    assert "[redacted telephone number]" in goals.iloc[0]
    assert "[redacted email address]" in goals.iloc[0]
    assert goals.iloc[1] == "walk 20-30 minutes 3 times a week"  # not an identifier
    assert "1961" not in r.tables["events"]["note"].iloc[0]
    c = r.counts.set_index("table")
    assert c.loc["goals", "accepted"] == 2 and c.loc["goals", "rejected"] == 1
    assert c.loc["goals", "warnings"] == 2 and c.loc["events", "warnings"] == 1
    hits = r.problems[r.problems["rule"] == "identifier_in_text"]
    assert set(hits["severity"]) == {"warning"}
    assert hits[["table", "source_line", "column"]].values.tolist() == [
        ["goals", 2, "goal"],
        ["goals", 4, "goal"],
        ["events", 2, "note"],
    ]
    first = hits.iloc[0]["message"]
    assert "telephone number" in first and "email address" in first
    write_rejects(r, tmp_path / "out")
    for path in (tmp_path / "out").rglob("*.csv"):
        text = path.read_text()
        for secret in ("555-867-5309", "jane.doe@example.com", "123-45-6789", "1961"):
            assert secret not in text, (path, secret)
    assert "goal" in pd.read_csv(tmp_path / "out" / "rejects" / "goals.csv").columns
    # the caller's bundle is not changed behind their back
    assert GOAL in bundle["goals"]["goal"].tolist()


@pytest.mark.parametrize("value", ["1e1", "1.979e3", "2E1", "0x1F", "inf"])
def test_exponent_or_other_notation_is_not_a_whole_number(value) -> None:
    from iopkit.data.validation.cells import parse_ints

    out, probs = parse_ints(pd.Series(["6", " 7 ", "8.0", value], dtype=object))
    assert out.tolist()[:3] == [6, 7, 8] and pd.isna(out[3])
    assert probs["row"].tolist() == [3] and probs["rule"].tolist() == ["type"]
    assert probs["value"].tolist() == [value]


@pytest.mark.parametrize("dtype", ["uint64", "UInt64", "int64", "Int64"])
def test_typed_integers_beyond_2_53_are_reported_not_wrapped(dtype) -> None:
    """A typed integer column (Parquet, SQL) with a value past 2^53 — 2^64 − 1 in an
    unsigned column included, which must not wrap to −1 — is a type problem on that cell;
    the others are read as they are."""
    from iopkit.data.validation.cells import parse_ints

    big = 2**64 - 1 if dtype.lower() == "uint64" else 2**62
    values = np.array([3, big, 5], dtype=dtype) if dtype.islower() else pd.array(
        [3, big, 5], dtype=dtype)
    out, probs = parse_ints(pd.Series(values))
    assert out.tolist()[::2] == [3, 5] and pd.isna(out[1])
    assert probs["row"].tolist() == [1] and "2^53" in probs["message"].iloc[0]


def test_exponent_in_planned_weeks_rejects_the_episode(tmp_path) -> None:
    export = _cohort_export(["F", "M"])
    export["episodes"] = export["episodes"].replace(f"{MONDAY},6\nE00002", f"{MONDAY},6e0\nE00002")
    r = validate_bundle(load_bundle(_export(tmp_path, export)))
    p = r.problems[r.problems["rule"] == "type"]
    assert p[["table", "source_line", "column", "value"]].values.tolist() == [
        ["episodes", 2, "planned_weeks", "6e0"]
    ]
    assert r.counts.set_index("table").loc["episodes", "rejected"] == 1


def test_ids_differing_only_by_case_are_a_warning(tmp_path) -> None:
    export = _cohort_export(["F", "M", "F"])
    export["patients"] = export["patients"].replace("P00003,", "p00002,")
    export["episodes"] = export["episodes"].replace("P00003,", "p00002,")
    r = validate_bundle(load_bundle(_export(tmp_path, export)))
    assert r.ok
    w = r.warnings
    assert w[["table", "source_line", "column", "value", "rule"]].values.tolist() == [
        ["patients", 4, "patient_id", "p00002", "case_only_id"]
    ]
    assert "'P00002' on line 3" in w.iloc[0]["message"]
    assert r.counts.set_index("table").loc["patients", "accepted"] == 3


def test_ragged_row_is_kept_whole_in_rejects_and_problems(tmp_path) -> None:
    export = _cohort_export(["F", "M"])
    tail = ",".join(f"extra{i}" for i in range(30))  # the raw row is far over 80 characters
    export["attendance"] = export["attendance"].replace(
        f"E00002,{MONDAY},present", f"E00002,{MONDAY},present,{tail}"
    )
    r = validate_bundle(load_bundle(_export(tmp_path, export)))
    p = r.problems[r.problems["rule"] == "field_count"].iloc[0]
    assert p["value"] == f"E00002,{MONDAY},present,{tail}" and p["source_line"] == 3
    assert "extra_fields" not in r.tables["attendance"].columns
    assert not any("extra column" in n for n in r.notes)
    write_rejects(r, tmp_path / "out")
    rej = pd.read_csv(tmp_path / "out" / "rejects" / "attendance.csv", dtype=str)
    assert rej.loc[0, "status"] == "present" and rej.loc[0, "extra_fields"] == tail
    problems = pd.read_csv(tmp_path / "out" / "problems.csv", dtype=str)
    assert tail in problems.loc[problems["rule"] == "field_count", "value"].iloc[0]


def test_field_over_the_csv_limit_is_a_message_naming_file_and_line(tmp_path) -> None:
    import csv

    from iopkit.errors import InputError

    export = _cohort_export(["F", "M"])
    long = "x" * (csv.field_size_limit() + 10)
    export["events"] = (
        f"episode_id,date,kind,note\nE00001,{MONDAY},family_session,ok\n"
        f'E00002,{MONDAY},family_session,"{long}"\n'
    )
    with pytest.raises(InputError) as err:
        load_bundle(_export(tmp_path, export))
    e = err.value
    assert e.file.endswith("events.csv") and e.row == 3 and e.rule == "csv_syntax"
    assert "131,072" in str(e) and "line 3" in str(e)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_named_pipe_as_a_table_file_is_refused_not_hung(tmp_path) -> None:
    from iopkit.data.readers import read_table
    from iopkit.errors import InputError

    folder = _export(tmp_path, _cohort_export(["F"]))
    os.mkfifo(folder / "goals.csv")
    with pytest.raises(InputError, match="not a regular file") as err:
        load_bundle(folder)
    assert err.value.file.endswith("goals.csv")
    pipe = tmp_path / "items.csv"
    os.mkfifo(pipe)
    with pytest.raises(InputError, match="not a regular file"):
        read_table(pipe)
    with pytest.raises(InputError, match="not a regular file"):
        load_bundle(tmp_path / "items.csv")


def test_unterminated_quote_names_the_line_it_opened(tmp_path) -> None:
    export = _cohort_export(["F", "M", "F", "M"])
    export["attendance"] = (
        "episode_id,date,status\n"
        f"E00001,{MONDAY},present\n"
        f'E00002,{MONDAY},"present\n'  # the quote opens on line 3 and is never closed
        f"E00003,{MONDAY},present\n"
        f"E00004,{MONDAY},present\n"
    )
    r = validate_bundle(load_bundle(_export(tmp_path, export)))
    p = r.problems[r.problems["table"] == "attendance"]
    assert set(p["source_line"]) == {3} and "unclosed_quote" in set(p["rule"])
    msg = p.loc[p["rule"] == "unclosed_quote", "message"].iloc[0]
    assert "quote opened on line 3 is never closed: lines 3–5" in msg
    c = r.counts.set_index("table").loc["attendance"]
    assert (c["accepted"], c["rejected"]) == (1, 1)


def test_a_stray_quote_closed_later_names_where_it_opened(tmp_path) -> None:
    export = _cohort_export(["F", "M", "F", "M"])
    export["attendance"] = (
        "episode_id,date,status\n"
        f"E00001,{MONDAY},present\n"
        f'E00002,{MONDAY},"present\n'  # opened on line 3 ...
        f'E00003,{MONDAY}",present\n'  # ... closed on line 4: one row of 4 fields
        f"E00004,{MONDAY},present\n"
    )
    r = validate_bundle(load_bundle(_export(tmp_path, export)))
    p = r.problems[r.problems["rule"] == "field_count"]
    assert p["source_line"].tolist() == [3]
    assert "a quote opened on line 3 is not closed until line 4" in p.iloc[0]["message"]
    assert r.counts.set_index("table").loc["attendance", "accepted"] == 2


def test_admission_after_the_as_of_date_is_a_problem(tmp_path) -> None:
    import datetime as dt

    export = _cohort_export(["F", "M"])
    export["episodes"] = export["episodes"].replace(
        f"E00002,P00002,C01,{MONDAY}", "E00002,P00002,C01,2035-01-08"
    )
    folder = _export(tmp_path, export)
    unchecked = validate_bundle(load_bundle(folder)).problems
    assert "future_admission" not in set(unchecked["rule"])  # no as-of date: not checked
    r = validate_bundle(load_bundle(folder), as_of=dt.date(2025, 3, 1))
    p = r.problems[r.problems["rule"] == "future_admission"]
    assert p[["table", "source_line", "column", "value"]].values.tolist() == [
        ["episodes", 3, "admit_date", "2035-01-08"]
    ]
    assert "2025-03-01" in p.iloc[0]["message"]


# --- Excel: formulas without a saved result, hidden sheets ---------------------------------
def _workbook(tmp_path: Path, export: dict[str, str], edit=None) -> Path:
    """The CSV export as a workbook written by openpyxl (which never calculates formulas)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, text in export.items():
        ws = wb.create_sheet(name)
        for row in text.splitlines():
            ws.append([int(v) if v.isdigit() else v for v in row.split(",")])
    if edit is not None:
        edit(wb)
    path = tmp_path / "export.xlsx"
    wb.save(path)
    return path


def test_formula_without_a_saved_result_is_a_problem_not_a_blank(tmp_path) -> None:
    def edit(wb) -> None:
        wb["assessments"]["D3"] = "=1+1"  # item_1 of E00002's PHQ-9
        wb["episodes"]["E2"] = "=2+4"  # planned_weeks of E00001

    path = _workbook(tmp_path, _cohort_export(["F", "M"]), edit)
    r = validate_bundle(load_bundle(path))
    p = r.problems[r.problems["rule"] == "formula_without_value"]
    assert p[["table", "source_line", "column", "value"]].values.tolist() == [
        ["episodes", 2, "planned_weeks", "=2+4"],
        ["assessments", 3, "item_1", "=1+1"],
    ]
    assert "cell D3 holds the formula =1+1 but no saved result" in p.iloc[1]["message"]
    assert "[sheet assessments]" in p.iloc[1]["file"]
    c = r.counts.set_index("table")
    assert c.loc["episodes", "rejected"] == 1 and c.loc["assessments", "rejected"] == 2


def test_score_refuses_a_formula_without_a_saved_result(tmp_path) -> None:
    import openpyxl
    from typer.testing import CliRunner

    from iopkit.cli import app

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([f"item_{i}" for i in range(1, 8)])
    ws.append([1, 1, 1, 1, 1, 1, 1])
    ws.append([1, "=2+2", 1, 1, 1, 1, 1])
    wb.save(tmp_path / "gad.xlsx")
    res = CliRunner().invoke(app, ["score", str(tmp_path / "gad.xlsx"), "-s", "gad7"])
    assert res.exit_code == 1
    out = " ".join(res.output.split())
    assert "cell B3 holds the formula =2+2 but no saved result" in out
    assert "formula_without_value" in out


def test_saved_formula_results_are_read(tmp_path) -> None:
    """A formula Excel calculated and saved is read through its result (no problem)."""
    import zipfile

    path = _workbook(tmp_path, _cohort_export(["F", "M"]), lambda wb: None)
    # give episodes!E2 a formula with a cached value, as Excel writes it
    src = zipfile.ZipFile(path)
    patched = tmp_path / "saved.xlsx"
    with zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet3.xml":
                data = data.replace(
                    b'<c r="E2" t="n"><v>6</v></c>', b'<c r="E2"><f>3+3</f><v>6</v></c>'
                )
                assert b"<f>3+3</f>" in data
            dst.writestr(item, data)
    r = validate_bundle(load_bundle(patched))
    assert r.ok, r.problems
    assert r.tables["episodes"]["planned_weeks"].tolist() == [6, 6]


@pytest.mark.parametrize("state", ["hidden", "veryHidden", "visible"])
def test_every_sheet_header_is_checked_for_identifiers(tmp_path, state) -> None:
    from iopkit.errors import InputError

    def edit(wb) -> None:
        ws = wb.create_sheet("lookup")
        ws.append(["patient_id", "first_name"])
        ws.append(["P00001", "Jane"])
        ws.sheet_state = state

    path = _workbook(tmp_path, _cohort_export(["F"]), edit)
    with pytest.raises(InputError, match="direct identifiers") as err:
        load_bundle(path)
    assert "[sheet lookup]" in str(err.value) and "first_name" in str(err.value)


def test_hidden_sheets_are_named_in_a_note(tmp_path) -> None:
    def edit(wb) -> None:
        wb["attendance"].sheet_state = "hidden"
        ws = wb.create_sheet("codes")
        ws.append(["code", "meaning"])
        ws.sheet_state = "veryHidden"

    r = validate_bundle(load_bundle(_workbook(tmp_path, _cohort_export(["F"]), edit)))
    assert r.ok
    assert any("sheet 'attendance' is hidden (read as a table)" in n for n in r.notes)
    assert any("sheet 'codes' is very hidden (not a table" in n for n in r.notes)


# --- §6: an export of our own making, every defect named, nothing else lost -----------------
def _own_export() -> tuple[dict[str, str], dict[str, set]]:
    """Ten patients coded F/M, one episode each (two attendance days and a PHQ-9), with one
    defect of each kind; returns the CSV texts and the rows expected to be rejected."""
    wed = "2025-01-08"
    concern = {2: "depresion"}  # a typo in a required vocabulary
    cohort = {4: "C99"}  # no such cohort
    discharge = {3: "2025-01-01"}  # discharge before admission
    patients = ["patient_id,sex,primary_concern"]
    episodes = ["episode_id,patient_id,cohort_id,admit_date,discharge_date"]
    attendance = ["episode_id,date,status"]
    items = ",".join(f"item_{i}" for i in range(1, 10))
    assessments = [f"episode_id,date,scale,{items}"]
    for i in range(1, 11):
        patients.append(f"P{i:05d},{'FM'[i % 2]},{concern.get(i, 'anxiety')}")
        episodes.append(f"E{i:05d},P{i:05d},{cohort.get(i, 'C01')},{MONDAY},{discharge.get(i, '')}")
        status = "presnet" if i == 5 else "present"  # misspelled status
        attendance.append(f"E{i:05d},{MONDAY},{status}")
        attendance.append(f"E{i:05d},{'2025-02-30' if i == 10 else wed},present")  # impossible
        scale = "phq10" if i == 9 else "phq9"  # unknown scale
        answers = ["1"] * 9
        if i == 7:
            answers[2] = "7"  # out of range (0–3)
        assessments.append(f"E{i:05d},{MONDAY},{scale},{','.join(answers)}")
    attendance.append(f"E00006,{MONDAY},absent_unexcused")  # conflicts with E00006's row
    assessments.append(f"E00008,{wed},gad7,{','.join(['1'] * 8)},")  # an 8th GAD-7 item
    export = {
        "cohorts": f"cohort_id,program_id,name\nC01,{PROGRAM},Group A\n",
        "patients": "\n".join(patients) + "\n",
        "episodes": "\n".join(episodes) + "\n",
        "attendance": "\n".join(attendance) + "\n",
        "assessments": "\n".join(assessments) + "\n",
    }
    rejected = {
        "cohorts": set(),
        "patients": {"P00002"},
        "episodes": {"E00002", "E00003", "E00004"},
        "attendance": {
            ("E00002", MONDAY),
            ("E00002", wed),
            ("E00003", MONDAY),
            ("E00003", wed),
            ("E00004", MONDAY),
            ("E00004", wed),
            ("E00005", MONDAY),
            ("E00006", MONDAY),
            ("E00010", "2025-02-30"),
        },  # fmt: skip
        "assessments": {
            ("E00002", "phq9"),
            ("E00003", "phq9"),
            ("E00004", "phq9"),
            ("E00007", "phq9"),
            ("E00008", "gad7"),
            ("E00009", "phq10"),
        },  # fmt: skip
    }
    return export, rejected


def test_own_export_rejects_exactly_the_defects_and_their_dependants(tmp_path) -> None:
    export, expected = _own_export()
    r = validate_bundle(load_bundle(_export(tmp_path, export)))
    c = r.counts.set_index("table")
    assert (c["rows_in"] == c["accepted"] + c["rejected"]).all()
    keys = {
        "patients": lambda f: set(f["patient_id"]),
        "episodes": lambda f: set(f["episode_id"]),
        "cohorts": lambda f: set(f["cohort_id"]),
        "attendance": lambda f: set(zip(f["episode_id"], f["date"], strict=True)),
        "assessments": lambda f: set(zip(f["episode_id"], f["scale"], strict=True)),
    }
    for table, want in expected.items():
        got = keys[table](r.rejects[table])
        assert got == want, (table, got ^ want)
    assert c.loc["attendance", "rejected"] == 10  # E00006's two conflicting rows both go
    assert c["accepted"].to_dict() == {
        "cohorts": 1, "patients": 9, "episodes": 7, "attendance": 11, "assessments": 5,
    }  # fmt: skip
    direct = r.problems[r.problems["severity"] == "error"]
    by_rule = direct.groupby("rule")["source_line"].apply(lambda s: sorted(set(s))).to_dict()
    assert by_rule.pop("cascade")  # the dependants of rejected parents
    assert by_rule == {
        "vocabulary": [3, 10],  # patients line 3 (concern); attendance line 10 (status)
        "discharge_before_admit": [4],
        "reference": [5],
        "duplicate_key": [12, 22],
        "invalid_date": [21],
        "item_range": [8],
        "item_count": [12],
        "unknown_scale": [10],
    }, by_rule
    assert r.warnings.empty  # F/M are HL7 codes: read, not warned about
    sexes = ["female" if i % 2 == 0 else "male" for i in range(1, 11) if i != 2]
    assert r.tables["patients"]["sex"].tolist() == sexes
