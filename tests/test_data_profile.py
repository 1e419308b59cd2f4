"""Source profiles (issue 11 §1): an export shaped the way a clinic's system writes it,
read through one small YAML file, on every source kind, with lines kept and nothing guessed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iopkit.cli import app
from iopkit.data import load_bundle, validate_bundle, write_bundle
from iopkit.data.profile import draft_profile, load_profile, load_profile_text
from iopkit.errors import ConfigError, InputError

runner = CliRunner()
PROGRAM = "adult_mood_anxiety_3d"  # meets mon, wed, fri
ITEMS = ",".join(f"Q{i}" for i in range(1, 10))

#: An EHR-style export: its own column names, F/M/U-style and letter codes, US dates,
#: 'NA' for no value.
EXPORT = {
    "cohorts": f"GroupID,Program,GroupName,StartDate\nC01,{PROGRAM},Group A,01/06/2025\n",
    "patients": "ClientID,BirthYear,Gender,PrimaryConcern,Referral\n"
    "P00001,1980,F,Depression,GP\n"
    "P00002,NA,M,Anxiety,Self\n"
    "P00003,1975,X,Depression,NA\n",
    "episodes": "EpisodeID,ClientID,GroupID,AdmitDate,DischargeDate,PlannedWeeks\n"
    "E00001,P00001,C01,01/06/2025,02/14/2025,6\n"
    "E00002,P00002,C01,01/08/2025,NA,6\n"
    "E00003,P00003,C01,01/10/2025,NA,NA\n",
    "attendance": "EpisodeID,Date,Status\n"
    "E00001,01/06/2025,P\n"
    "E00002,01/08/2025,A\n"
    "E00003,01/10/2025,P\n",
    "assessments": f"EpisodeID,Date,Scale,{ITEMS}\n"
    "E00001,01/06/2025,phq9,1,2,1,0,1,2,1,0,0\n"
    "E00002,01/08/2025,phq9,2,2,2,1,NA,2,1,1,0\n",
}

PROFILE = """\
date_format: "%m/%d/%Y"
missing: ["NA"]
columns: {EpisodeID: episode_id, ClientID: patient_id, GroupID: cohort_id, Date: date}
tables:
  cohorts:
    columns: {Program: program_id, GroupName: name, StartDate: start_date}
  patients:
    columns: {BirthYear: birth_year, Gender: sex, PrimaryConcern: primary_concern,
              Referral: referral_source}
    values:
      primary_concern: {Depression: depression, Anxiety: anxiety}
      referral_source: {GP: outpatient, Self: self}
  episodes:
    columns: {AdmitDate: admit_date, DischargeDate: discharge_date, PlannedWeeks: planned_weeks}
  attendance:
    columns: {Status: status}
    values:
      status: {P: present, A: absent_unexcused}
  assessments:
    columns: {Scale: scale, Q1: item_1, Q2: item_2, Q3: item_3, Q4: item_4, Q5: item_5,
              Q6: item_6, Q7: item_7, Q8: item_8, Q9: item_9}
"""


def _folder(tmp_path: Path, files: dict[str, str] = EXPORT, name: str = "export") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for table, text in files.items():
        (folder / f"{table}.csv").write_text(text, encoding="utf-8")
    return folder


def _profile(tmp_path: Path, text: str = PROFILE) -> Path:
    path = tmp_path / "clinic.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_profile_the_export_is_mostly_rejected(tmp_path) -> None:
    r = validate_bundle(load_bundle(_folder(tmp_path)))
    assert r.counts["accepted"].sum() == 0  # missing required columns everywhere


def test_a_profile_reads_the_export_whole_with_lines_kept(tmp_path) -> None:
    prof = _profile(tmp_path)
    r = validate_bundle(load_bundle(_folder(tmp_path), profile=prof))
    c = r.counts.set_index("table")
    assert (c["rows_in"] == c["accepted"] + c["rejected"]).all()
    assert r.ok, r.problems[["table", "source_line", "column", "value", "rule", "message"]]
    p = r.tables["patients"]
    assert p.index.tolist() == [2, 3, 4]  # source lines of the user's file
    assert p["sex"].tolist()[:2] == ["female", "male"]  # HL7 codes need no profile
    assert pd.isna(p["sex"].iloc[2])  # 'X' is no code: blanked with a warning, row kept
    assert p["primary_concern"].tolist() == ["depression", "anxiety", "depression"]
    assert p["referral_source"].tolist()[:2] == ["outpatient", "self"]
    assert pd.isna(p.loc[3, "birth_year"])  # 'NA' read as missing
    e = r.tables["episodes"]
    assert e.loc[2, "discharge_date"] == pd.Timestamp("2025-02-14")  # %m/%d/%Y, declared
    assert r.tables["attendance"]["status"].tolist() == ["present", "absent_unexcused", "present"]
    a = r.tables["assessments"]
    assert pd.isna(a.loc[3, "item_5"]) and a.loc[2, "item_2"] == 2
    # missing tokens: counted per table and column, named in the notes
    m = r.missing.set_index(["table", "column"])["cells"].to_dict()
    assert m == {
        ("patients", "birth_year"): 1,
        ("patients", "referral_source"): 1,
        ("episodes", "discharge_date"): 2,
        ("episodes", "planned_weeks"): 1,
        ("assessments", "item_5"): 1,
    }
    assert set(r.missing["token"]) == {"NA"}
    assert any("read as missing" in n and "birth_year 'NA' ×1" in n for n in r.notes), r.notes
    assert any("values read by the profile" in n and "'P' → 'present' (2)" in n for n in r.notes)
    w = r.warnings
    assert w[["table", "source_line", "column", "value"]].values.tolist() == [
        ["patients", 4, "sex", "X"]
    ]


def test_rejects_keep_cells_as_read(tmp_path) -> None:
    files = dict(EXPORT)
    files["attendance"] = EXPORT["attendance"].replace("E00003,01/10/2025,P", "E00003,01/10/2025,Q")
    r = validate_bundle(load_bundle(_folder(tmp_path, files), profile=_profile(tmp_path)))
    rej = r.rejects["attendance"]
    assert rej["source_line"].tolist() == [4] and rej["status"].tolist() == ["Q"]
    p = r.problems[(r.problems["rule"] == "vocabulary") & (r.problems["severity"] == "error")]
    assert p[["table", "source_line", "column", "value"]].values.tolist() == [
        ["attendance", 4, "status", "Q"]
    ]
    # the caller's export, read without the profile, is unchanged by a profiled read
    assert r.rejects["attendance"].columns.tolist()[:4] == [
        "source_line",
        "episode_id",
        "date",
        "status",
    ]


@pytest.mark.parametrize(
    ("value", "rule"),
    [("2025-01-10", "date_format"), ("10 Jan 2025", "date_format"), ("02/30/2025", "invalid_date"),
     ("1/10/25", "date_format"), ("01/10/2025 09:00", "date_format")],
)  # fmt: skip
def test_declared_date_format_is_never_guessed(tmp_path, value, rule) -> None:
    files = dict(EXPORT)
    files["attendance"] = EXPORT["attendance"].replace("E00003,01/10/2025,P", f"E00003,{value},P")
    prof = _profile(tmp_path)
    r = validate_bundle(load_bundle(_folder(tmp_path, files), profile=prof))
    p = r.problems[r.problems["rule"] == rule]
    assert p[["table", "source_line", "column", "value"]].values.tolist() == [
        ["attendance", 4, "date", value]
    ]
    assert "%m/%d/%Y" in p.iloc[0]["message"]
    if rule == "date_format":
        assert str(prof) in p.iloc[0]["message"] and "e.g. 03/31/2025" in p.iloc[0]["message"]


def test_excel_cells_that_are_dates_stay_dates_with_a_format(tmp_path) -> None:
    bundle = load_bundle(_folder(tmp_path), profile=_profile(tmp_path))
    ok = validate_bundle(bundle).tables
    xlsx = tmp_path / "clinic.xlsx"
    write_bundle({t: f.reset_index(drop=True) for t, f in ok.items()}, xlsx, format="excel")
    r = validate_bundle(load_bundle(xlsx, profile={"date_format": "%m/%d/%Y"}))
    assert r.ok, r.problems


@pytest.mark.parametrize("kind", ["excel", "sqlite", "parquet"])
def test_every_source_kind_honours_the_profile(tmp_path, kind) -> None:
    raw = load_bundle(_folder(tmp_path))  # the export as read, its own names and codes
    tables = {t: raw.tables[t] for t in raw.table_names}
    dest = {
        "excel": tmp_path / "x.xlsx",
        "sqlite": tmp_path / "x.sqlite",
        "parquet": tmp_path / "pq",
    }
    fmt = {"excel": "excel", "sqlite": "sqlite", "parquet": "parquet"}[kind]
    path = write_bundle(tables, dest[kind], format=fmt)
    r = validate_bundle(load_bundle(path, profile=_profile(tmp_path)))
    assert r.ok, r.problems
    assert r.tables["attendance"]["status"].tolist() == ["present", "absent_unexcused", "present"]
    assert r.missing["cells"].sum() == 6
    assert r.tables["patients"].index.tolist() == [2, 3, 4]


def test_sqlalchemy_url_honours_the_profile(tmp_path) -> None:
    raw = load_bundle(_folder(tmp_path))
    path = write_bundle({t: raw.tables[t] for t in raw.table_names}, tmp_path / "db.sqlite",
                        format="sqlite")  # fmt: skip
    with sqlite3.connect(path) as con:
        assert con.execute("select count(*) from patients").fetchone() == (3,)
    r = validate_bundle(load_bundle(f"sqlite:///{path}", profile=_profile(tmp_path)))
    assert r.ok, r.problems


def test_synthetic_source_with_a_profile(tmp_path) -> None:
    r = validate_bundle(load_bundle("synthetic:demo", profile={"missing": ["NA"]}))
    assert r.ok and len(r.missing) == 0


PAT = "tables:\n  patients:\n"


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        ("tables:\n  patient: {}\n", "unknown table 'patient' (did you mean 'patients'?)", 2),
        ("colums: {a: b}\n", "unknown key 'colums' (did you mean 'columns'?)", 1),
        (PAT + "    columns: {Gender: gender}\n", "not a column of table patients", 3),
        (PAT + "    values:\n      sex: {F: femme}\n", "not one of female, male", 4),
        (PAT + "    values:\n      birth_year: {x: '1980'}\n", "int column", 4),
        ("tables:\n  episodes:\n    ignore: [admit_date]\n", "required in episodes", 3),
        ("ignore: [name]\n", "required in cohorts", 1),
        ('date_format: "%m/%d/%y"\n', "two-digit year", 1),
        ('date_format: "%Y-%m"\n', "lacks a day", 1),
        ('date_format: "%Y-%m-%d %H:%M"\n', "time of day", 1),
        ("values:\n  sex: {yes: female}\n", "put it in quotes", 2),
        ("missing: [NA, null]\n", "put it in quotes", 1),
        ("columns: {A: patient_id, B: patient_id}\n", "both renamed to 'patient_id'", 1),
        ("columns: {a: b}\ncolumns: {c: d}\n", "appears twice", 2),
        ("source: x\n", "unknown key 'source'", 1),
    ],
)  # fmt: skip
def test_profile_problems_name_file_line_and_key(tmp_path, text, needle, line) -> None:
    path = _profile(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    msg = str(err.value)
    assert needle in msg and f"{path}:{line}" in msg, msg


def test_a_bad_profile_fails_before_the_source_is_read(tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown table"):
        load_bundle(tmp_path / "no-such-folder", profile={"tables": {"visits": {}}})


def test_rename_onto_an_existing_column_is_refused(tmp_path) -> None:
    files = dict(EXPORT)
    files["patients"] = EXPORT["patients"].replace("Referral\n", "sex\n").replace(",GP\n", ",F\n")
    files["patients"] = files["patients"].replace(",Self\n", ",M\n").replace(",NA\n", ",F\n")
    with pytest.raises(InputError) as err:
        load_bundle(_folder(tmp_path, files), profile={"columns": {"Gender": "sex"}})
    assert err.value.file.endswith("patients.csv") and err.value.column == "Gender"
    assert "already has a column 'sex'" in str(err.value)


def test_ignored_optional_column_and_absent_renames_are_noted(tmp_path) -> None:
    text = PROFILE.replace("    values:\n      primary_concern", "    ignore: [referral_source]\n"
                           "    values:\n      primary_concern")  # fmt: skip
    text += "  goals:\n    columns: {Goal: goal}\n"
    r = validate_bundle(load_bundle(_folder(tmp_path), profile=_profile(tmp_path, text)))
    assert r.tables["patients"]["referral_source"].isna().all()  # contract column, left blank
    assert not len(r.problems[r.problems["column"] == "referral_source"])
    assert any("ignored by the profile: referral_source" in n for n in r.notes)


def test_identifier_columns_are_refused_even_when_renamed_or_ignored(tmp_path) -> None:
    files = dict(EXPORT)
    files["patients"] = EXPORT["patients"].replace("Referral\n", "Referral,PatientName\n")
    files["patients"] = "\n".join(
        line + ",x" if i else line for i, line in enumerate(files["patients"].splitlines())
    )
    with pytest.raises(InputError, match="direct identifiers"):
        load_bundle(_folder(tmp_path, files), profile={"ignore": ["PatientName"]})


# --- iopkit profile init -----------------------------------------------------------------
def _hostile_export() -> dict[str, str]:
    files = dict(EXPORT)
    files["goals"] = (
        "EpisodeID,SetDate,GoalNo,Horizon,Goal,Status\n"
        'E00001,01/06/2025,1,Weekly,"Call Jane Doe on 555-867-5309",Pending\n'
    )
    files["patients"] = EXPORT["patients"].replace(",GP\n", ",jane@example.com\n")
    return files


def test_profile_init_drafts_a_profile_that_reads_the_export(tmp_path) -> None:
    folder = _folder(tmp_path, _hostile_export())
    draft = draft_profile(load_bundle(folder))
    prof = load_profile_text(draft)  # the draft is a valid profile as written
    pt = prof.for_table("patients")
    assert pt.columns["ClientID"] == "patient_id" and pt.columns["BirthYear"] == "birth_year"
    assert pt.columns["PrimaryConcern"] == "primary_concern"
    assert prof.for_table("episodes").columns["AdmitDate"] == "admit_date"
    assert pt.values["primary_concern"] == {"Depression": "depression", "Anxiety": "anxiety"}
    assert "F" not in pt.values.get("sex", {})  # a standard code: no map needed
    assert prof.for_table("cohorts").columns["GroupID"] == "cohort_id"  # a common synonym
    assert prof.for_table("assessments").columns["Q9"] == "item_9"
    # 'P' starts only one status: suggested; 'A' could be either absence: only a comment
    assert prof.for_table("attendance").values == {"status": {"P": "present"}}
    assert '# "A": ?' in draft and "choose one of present" in draft
    assert '# "X": ?' in draft and "sex" not in pt.values  # no suggestion: nothing applied
    # the date pattern and missing tokens are suggested in comments, never applied
    assert prof.date_format is None and prof.for_table("episodes").date_format is None
    assert '# date_format: "%m/%d/%Y"' in draft
    assert '# missing: ["NA"]' in draft
    # nothing identifying, no ids and no free text in the draft
    for secret in ("555-867-5309", "Jane", "jane@example.com", "P00001", "E00001", "Call"):
        assert secret not in draft, secret


def test_profile_init_cli_then_validate_with_the_confirmed_profile(tmp_path) -> None:
    folder = _folder(tmp_path)
    out = tmp_path / "drafts" / "clinic.yaml"
    res = runner.invoke(app, ["profile", "init", str(folder), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert runner.invoke(app, ["profile", "init", str(folder), "-o", str(out)]).exit_code == 1
    text = out.read_text()
    # the coordinator confirms the suggestions: the date pattern, 'NA', the letter codes
    text = text.replace('# date_format: "%m/%d/%Y"', 'date_format: "%m/%d/%Y"')
    text = text.replace('    # missing: ["NA"]', '    missing: ["NA"]')
    text = text.replace('        # "A": ?', '        "A": "absent_unexcused"  #')
    text = text.replace('        # "GP": ?', '        "GP": "outpatient"  #')
    out.write_text(text)
    load_profile(out)
    res = runner.invoke(app, ["validate", str(folder), "--profile", str(out)])
    assert res.exit_code == 0, res.output
    assert "read as missing (profile tokens)" in res.output and "'NA' ×" in res.output
    printed = runner.invoke(app, ["profile", "init", str(folder)])
    assert printed.exit_code == 0 and "tables:" in printed.output


def test_validate_with_a_broken_profile_exits_1_naming_the_line(tmp_path) -> None:
    bad = _profile(tmp_path, PAT + "    values:\n      sex: {F: femme}\n")
    res = runner.invoke(app, ["validate", str(_folder(tmp_path)), "--profile", str(bad)])
    assert res.exit_code == 1 and f"{bad}:4" in res.output


# --- iopkit score --profile and missing tokens in its summary ------------------------------
def test_score_names_the_text_it_read_as_missing(tmp_path) -> None:
    path = tmp_path / "phq.csv"
    path.write_text(
        "id,Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8,Q9\n"
        "a,1,1,1,1,1,1,1,1,1\n"
        "b,1,n/a,1,1,1,1,1,1,1\n"
        "c,1,1,NA,1,1,1,1,1,-99\n",
        encoding="utf-8",
    )
    items = ["--items", ",".join(f"Q{i}" for i in range(1, 10))]
    res = runner.invoke(
        app, ["score", str(path), "-s", "phq9", *items, "-o", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == 0, res.output
    assert (
        "read as missing (text meaning no answer), 2 cell(s): Q2 'n/a' ×1, Q3 'NA' ×1" in res.output
    )
    prof = _profile(tmp_path, 'missing: ["-99"]\ncolumns: {id: episode_id}\n')
    res = runner.invoke(
        app, ["score", str(path), "-s", "phq9", *items, "--profile", str(prof), "-o",
              str(tmp_path / "o.csv")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "read as missing (profile tokens), 1 cell(s): Q9 '-99' ×1" in res.output
    out = pd.read_csv(tmp_path / "o.csv", dtype=str)
    assert "episode_id" in out.columns
    assert out["phq9_status"].tolist() == ["complete", "prorated", "incomplete"]


def test_two_columns_renamed_to_one_by_merged_sections_are_refused(tmp_path) -> None:
    prof = {
        "columns": {"Status": "status"},
        "tables": {"attendance": {"columns": {"State": "status"}}},
    }
    files = {"attendance": EXPORT["attendance"].replace("Status\n", "Status,State\n")}
    files["attendance"] = "\n".join(
        line + ",x" if i else line for i, line in enumerate(files["attendance"].splitlines())
    )
    with pytest.raises(InputError, match="'Status' and 'State' to 'status'") as err:
        load_bundle(_folder(tmp_path, {**EXPORT, **files}), profile=prof)
    assert err.value.file.endswith("attendance.csv") and err.value.rule == "profile"


def test_a_report_reads_its_source_through_the_profile(tmp_path) -> None:
    """Reports take the profile as a parameter (`profile`), so the cohort report of an
    EHR-shaped export counts the episodes the profile lets through — all three."""
    import json

    from iopkit.reports.engine.runner import run_report
    from iopkit.resources import notebooks_dir

    export, profile = _folder(tmp_path), _profile(tmp_path)
    res = run_report(
        notebooks_dir() / "cohort_outcomes.ipynb",
        {"data_source": str(export), "profile": str(profile), "cohort_id": "C01"},
        tmp_path / "out",
    )
    figures = json.loads((res.html.parent / "figures.json").read_text())["figures"]
    assert figures["n_episodes"] == 3  # without the profile every episode is rejected
    assert figures["header"]["data_as_of"] == "2025-02-14"  # US dates read as declared
    without = validate_bundle(load_bundle(export))
    assert int(without.counts.set_index("table").loc["episodes", "accepted"]) == 0
