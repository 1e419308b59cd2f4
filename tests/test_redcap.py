"""REDCap exports as REDCap writes them: raw and label exports, the data dictionary,
checkboxes, form status, longitudinal events, repeat instances, survey timestamps.

The fixtures in ``tests/fixtures/redcap`` follow REDCap's export format (see its
``build.py``); the round-trip tests at the top use iopkit's own writer."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from iopkit.data import load_bundle, validate_bundle
from iopkit.data.bundle import Bundle
from iopkit.data.sources.redcap import example_mapping, read_dictionary, read_redcap, write_redcap
from iopkit.data.sources.redcap.labels import LABEL_EXPORT_HINT, event_unique_name
from iopkit.errors import InputError
from iopkit.synth import synthesize

FIXTURES = Path(__file__).parent / "fixtures" / "redcap"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synth() -> Bundle:
    return synthesize(n_cohorts=2, seed=8, episodes_per_cohort=8)


@pytest.fixture(scope="module")
def reference(synth):
    return validate_bundle(synth)


def test_redcap_export_with_the_shipped_mapping(synth, reference, tmp_path) -> None:
    export = write_redcap(synth, tmp_path)
    head = export.read_text().splitlines()[0].split(",")
    assert head[:4] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]
    assert "phq9_9" in head and "item_1" not in head
    result = validate_bundle(load_bundle(export, mapping=example_mapping()))
    assert result.ok, result.problems.head()
    for t in reference.tables:  # same rows; line numbers refer to the export instead
        key = list(reference.tables[t].columns[:3])
        x = reference.tables[t].sort_values(key).reset_index(drop=True)
        y = result.tables[t][x.columns].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(x, y, check_dtype=False, obj=t)


def test_redcap_problem_points_at_the_export_line(synth, tmp_path) -> None:
    export = write_redcap(synth, tmp_path)
    lines = export.read_text().splitlines()
    i = next(i for i, line in enumerate(lines) if ",attendance," in line)
    lines[i] = lines[i].replace(",present", ",presnt").replace(",late", ",presnt")
    export.write_text("\n".join(lines) + "\n")
    result = validate_bundle(load_bundle(export, mapping=tmp_path / "mapping.yaml"))
    p = result.problems.iloc[0]
    assert (p["file"], p["source_line"], p["column"], p["value"]) == (
        str(export),
        i + 1,
        "status",
        "presnt",
    )


def test_redcap_codes_and_mapping_errors(synth, tmp_path) -> None:
    export = write_redcap(synth, tmp_path)
    text = export.read_text()
    assert ",1," in text or ",2," in text  # sex written as REDCap codes
    with pytest.raises(InputError, match="required column"):
        load_bundle(export, mapping={"tables": {"episodes": {"columns": {"episode_id": "ep_id"}}}})
    with pytest.raises(InputError, match="not in the export"):
        load_bundle(
            export,
            mapping={
                "tables": {
                    "attendance": {"columns": {"episode_id": "x", "date": "y", "status": "z"}}
                }
            },
        )


# --- the fixture project, raw and labels ---------------------------------------------------
@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the fixture project to edit."""
    dest = tmp_path / "project"
    shutil.copytree(FIXTURES, dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dest


@pytest.fixture(scope="module")
def from_folder():
    result = validate_bundle(load_bundle(FIXTURES / "folder"))
    assert result.ok, result.problems
    return result


def _load(export: Path, mapping: Path | dict | None = None) -> Bundle:
    return load_bundle(
        export, mapping=export.parent / "mapping.yaml" if mapping is None else mapping
    )


def _same_tables(a, b) -> None:
    assert set(a.tables) == set(b.tables)
    for t in a.tables:
        x = a.tables[t]
        key = list(x.columns[:3])
        x = x.sort_values(key).reset_index(drop=True)
        y = b.tables[t][x.columns].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(x, y, check_dtype=False, obj=t)


def _reconciles(result, export: Path) -> None:
    counts = result.counts.set_index("table")
    assert (counts["rows_in"] == counts["accepted"] + counts["rejected"]).all()
    for t, rej in result.rejects.items():
        assert len(rej) == counts.at[t, "rejected"]


@pytest.mark.parametrize("export", ["export_raw.csv", "export_labels.csv"])
def test_raw_and_label_exports_give_the_tables_of_the_csv_folder(export, from_folder) -> None:
    """The cohort report's inputs (validated tables) are the same from a raw export, a label
    export with its data dictionary and the CSV folder of the same data."""
    result = validate_bundle(_load(FIXTURES / export))
    _same_tables(from_folder, result)
    _reconciles(result, FIXTURES / export)
    # set aside, kept whole: the survey left unfinished and the one entered by staff
    rej = result.rejects["assessments"].set_index("source_line")
    assert list(rej.index) == [17, 28]
    assert rej.loc[17, "item_4"] == "2" and "form_incomplete" in rej.loc[17, "rules"]
    assert "survey_not_completed" in rej.loc[28, "rules"]


def test_label_export_is_read_through_the_dictionary_and_says_so() -> None:
    b = _load(FIXTURES / "export_labels.csv")
    notes = "\n".join(b.notes)
    assert "column headers are field labels" in notes
    assert "a label export" in notes and "read as codes through the data dictionary" in notes
    assert "'Enrolment (Arm 1: Arm 1)' → enrolment_arm_1" in notes
    assert "'Group attendance' → attendance" in notes
    assert b.lines["patients"][0] == 2  # lines still refer to the export file


def _without(mapping: Path, key: str) -> None:
    text = mapping.read_text()
    mapping.write_text(re.sub(rf"(?m)^{key}:.*\n", "", text))


@pytest.mark.parametrize("export", ["export_labels.csv", "values_only"])
def test_label_export_without_dictionary_is_refused(project, export) -> None:
    _without(project / "mapping.yaml", "dictionary")
    path = project / "export_labels.csv"
    if export == "values_only":  # API rawOrLabel=label, rawOrLabelHeaders=raw
        raw_head = (project / "export_raw.csv").read_text().splitlines()[0]
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        path.write_text("\n".join([raw_head, *lines[1:]]) + "\n")
    with pytest.raises(InputError, match="this is a label export") as err:
        _load(path)
    assert err.value.rule == "label_export" and err.value.file == str(path)
    assert LABEL_EXPORT_HINT in str(err.value)
    if export == "values_only":  # names the line and column of the first label
        assert (err.value.row, err.value.column) == (2, "redcap_event_name")


def test_label_values_under_raw_headers_and_checkbox_labels(project, from_folder) -> None:
    """API exports: rawOrLabel=label with raw headers, and exportCheckboxLabel=true (a checked
    choice holds its label, an unchecked one is blank)."""
    path = project / "export_labels.csv"
    raw_head = next(csv.reader(io.StringIO((project / "export_raw.csv").read_text())))
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[1:]
    choices = read_dictionary(project / "dictionary.csv").fields["other_concerns"].choices
    for row in rows:
        for code, label in choices.items():
            k = raw_head.index(f"other_concerns___{code}")
            row[k] = label if row[k] == "Checked" else ""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([raw_head, *rows])
    path.write_text(out.getvalue())
    b = _load(path)
    assert any("a label export" in n for n in b.notes)
    _same_tables(from_folder, validate_bundle(b))


# --- checkboxes ----------------------------------------------------------------------------
def test_checkbox_choices_become_the_contract_list(from_folder) -> None:
    b = _load(FIXTURES / "export_raw.csv")
    pats = b["patients"].set_index("patient_id")["other_concerns"]
    assert pats["P001"] == "anxiety;insomnia" and pats["P004"] == "anxiety;ocd;ptsd"
    assert pd.isna(pats["P002"])  # nothing checked: no other concern


def test_a_checkbox_value_that_is_not_0_or_1_sets_the_row_aside(project) -> None:
    path = project / "export_raw.csv"
    lines = path.read_text().splitlines()
    head = lines[0].split(",")
    col = head.index("other_concerns___3")
    fields = lines[1].split(",")
    fields[col] = "2"
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    result = validate_bundle(_load(path))
    p = result.problems[result.problems["rule"] == "checkbox_value"].iloc[0]
    assert (p["table"], p["source_line"], p["column"]) == ("patients", 2, "other_concerns")
    assert "other_concerns___3 = 2" in p["value"]
    assert list(result.rejects["patients"]["source_line"]) == [2]
    _reconciles(result, path)


# --- form status -----------------------------------------------------------------------------
def test_form_status_by_option(project) -> None:
    mapping = project / "mapping.yaml"
    default = validate_bundle(_load(project / "export_raw.csv"))
    assert "form_incomplete" in set(default.problems["rule"])
    notes = "\n".join(default.notes + _load(project / "export_raw.csv").notes)
    assert "1 row(s) with form status 1 (Unverified) accepted" in notes

    text = mapping.read_text()
    mapping.write_text(
        text.replace(
            "{incomplete: set_aside, unverified: accept}",
            "{incomplete: accept, unverified: set_aside}",
        )
    )
    b = _load(project / "export_raw.csv")
    assert "1 row(s) with form status 0 (Incomplete) accepted (form_status.incomplete: accept)" in (
        "\n".join(b.notes)
    )
    result = validate_bundle(b)
    rules = result.problems.groupby("source_line")["rule"].apply(set)
    assert "form_incomplete" not in set(result.problems["rule"])
    assert "form_unverified" in rules[11]  # the GAD-7 marked Unverified
    assert "form_unverified" in rules[18]  # the active episode's form is Unverified
    _reconciles(result, project / "export_raw.csv")


def test_a_form_status_that_is_not_0_1_2_is_reported(project) -> None:
    path = project / "export_raw.csv"
    text = path.read_text().replace(
        ",2026-03-16,1,2,1,1,1,1,1,2\n", ",2026-03-16,1,2,1,1,1,1,1,7\n"
    )
    path.write_text(text)
    result = validate_bundle(_load(path))
    p = result.problems[result.problems["rule"] == "form_status"].iloc[0]
    assert p["value"] == "gad7_complete = 7" and p["source_line"] == 6


# --- survey timestamps -----------------------------------------------------------------------
def test_survey_timestamp_is_a_date_only_by_option(project) -> None:
    b = _load(project / "export_raw.csv")
    phq = b["assessments"][b["assessments"]["scale"] == "phq9"]
    assert phq["date"].iloc[0] == "2026-03-02"  # from "2026-03-02 14:05:11"
    assert any("date part of phq9_timestamp (time of day dropped)" in n for n in b.notes)
    mapping = project / "mapping.yaml"
    mapping.write_text(
        mapping.read_text().replace(
            "columns: {episode_id: record_id}\n    date_part: {date: phq9_timestamp}",
            "columns: {episode_id: record_id, date: phq9_timestamp}",
        )
    )
    result = validate_bundle(_load(project / "export_raw.csv"))
    assert "date_has_time" in set(result.problems["rule"])  # never cut without being asked


# --- events and repeat instances -------------------------------------------------------------
def test_events_select_rows_and_repeat_instances_are_checked(project) -> None:
    b = _load(project / "export_raw.csv")
    assert len(b["attendance"]) == 13 and len(b["assessments"]) == 27
    path = project / "export_raw.csv"
    lines = path.read_text().splitlines()
    i = next(k for k, ln in enumerate(lines) if ",attendance,2," in ln)
    lines[i] = lines[i].replace(",attendance,2,", ",attendance,,")
    path.write_text("\n".join(lines) + "\n")
    result = validate_bundle(_load(path))
    p = result.problems[result.problems["rule"] == "repeat_instance"].iloc[0]
    assert (p["table"], p["source_line"]) == ("attendance", i + 1)


def test_a_row_of_no_table_is_counted(project) -> None:
    path = project / "export_raw.csv"
    head = next(csv.reader(io.StringIO(path.read_text())))
    row = {"record_id": "E001", "redcap_event_name": "follow_up_arm_1", "phq9_complete": "0"}
    with path.open("a") as f:
        f.write(",".join(row.get(c, "") for c in head) + "\n")
    b = _load(path)
    note = next(n for n in b.notes if "export row(s)" in n)
    assert "28 export row(s): 27 loaded into tables" in note
    assert "1 matching no table of the mapping (first on line 29)" in note


def test_event_labels_without_the_events_file(project, from_folder) -> None:
    _without(project / "mapping.yaml", "events")
    b = _load(project / "export_labels.csv")
    assert any("REDCap's naming rule" in n for n in b.notes)
    _same_tables(from_folder, validate_bundle(b))


def test_event_naming_rule_and_its_collisions(project) -> None:
    # unique names REDCap gave in REDCapR's longitudinal test project (event.csv)
    assert event_unique_name("Deadline to opt out of study", "2") == "deadline_to_opt_ou_arm_2"
    assert event_unique_name("Follow up", "1") == "follow_up_arm_1"
    _without(project / "mapping.yaml", "events")
    path = project / "export_labels.csv"
    text = path.read_text(encoding="utf-8-sig")
    text = text.replace('"Week 2 (Arm 1: Arm 1)"', '"Week 2 follow-up call A (Arm 1: Arm 1)"', 1)
    text = text.replace('"Discharge (Arm 1: Arm 1)"', '"Week 2 follow-up call B (Arm 1: Arm 1)"')
    path.write_text(text)
    with pytest.raises(
        InputError, match="give the same unique event name 'week_2_followup_ca_arm_1'.*events file"
    ) as err:
        _load(path)
    assert err.value.rule == "label_export"


# --- the data dictionary checks the mapping before loading ------------------------------------
def _line_of(mapping: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(mapping.read_text().splitlines(), 1) if needle in ln)


@pytest.mark.parametrize(
    "old,new,message,column",
    [
        (
            "      birth_year: birth_year",
            "      birth_year: birthyear",
            "field 'birthyear' is not in the data dictionary.*did you mean 'birth_year'",
            "birthyear",
        ),
        (
            'sex: {"1": female, "2": male, "3": other, "9": unknown}',
            'sex: {"1": female, "2": male, "3": other, "4": unknown}',
            "'4' is not a choice code of field 'sex'.*1 = Female",
            "sex",
        ),
        (
            "    form: episode",
            "    form: episodes",
            "'episodes' is not a form of the data dictionary",
            None,
        ),
        (
            "repeat_instrument: attendance}",
            "repeat_instrument: attendence}",
            "'attendence' is not a form.*did you mean 'attendance'",
            None,
        ),
        ("    items: gad7_", "    items: gad_", "no field gad_1, gad_2", "gad_1"),
    ],
)
def test_mapping_is_checked_against_the_dictionary(project, old, new, message, column) -> None:
    mapping = project / "mapping.yaml"
    assert old in mapping.read_text()
    mapping.write_text(mapping.read_text().replace(old, new))
    with pytest.raises(InputError, match=message) as err:
        _load(project / "export_raw.csv")
    assert err.value.file == str(mapping) and err.value.rule == "mapping"
    assert err.value.row == _line_of(mapping, new.strip())  # the line of the key at fault
    if column:
        assert err.value.column == column


def test_dictionary_problems_name_file_line_and_column(project) -> None:
    dd = project / "dictionary.csv"
    dd.write_text(dd.read_text().replace('"1, Female | 2, Male', '"1, Female | 2 Male'))
    with pytest.raises(InputError, match="'2 Male' is not 'code, label'") as err:
        read_dictionary(dd)
    assert err.value.row == 5 and err.value.column == "Choices, Calculations, OR Slider Labels"
    (project / "notdict.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a REDCap data dictionary"):
        read_dictionary(project / "notdict.csv")


def test_a_header_label_the_dictionary_does_not_know(project) -> None:
    path = project / "export_labels.csv"
    path.write_text(path.read_text(encoding="utf-8-sig").replace('"Year of birth"', '"Birth yr"'))
    with pytest.raises(InputError, match="header label 'Birth yr' \\(column 7\\)") as err:
        _load(path)
    assert err.value.row == 1


def test_read_redcap_takes_the_dictionary_as_an_argument(project, from_folder) -> None:
    _without(project / "mapping.yaml", "dictionary")
    b = read_redcap(
        project / "export_labels.csv",
        project / "mapping.yaml",
        dictionary=project / "dictionary.csv",
    )
    _same_tables(from_folder, validate_bundle(b))


# --- the docs page's example runs ------------------------------------------------------------
def test_docs_example_runs(tmp_path, monkeypatch) -> None:
    page = (ROOT / "docs" / "sources" / "redcap.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert blocks, "docs/sources/redcap.md has no python example"
    for name in (
        "export_labels.csv",
        "dictionary.csv",
        "events.csv",
        "mapping.yaml",
        "cohorts.csv",
    ):
        shutil.copy(FIXTURES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "docs/sources/redcap.md", "exec"), {})


# --- more hostile input ------------------------------------------------------------------------
def test_a_coded_field_without_codes_is_noted(project) -> None:
    mapping = project / "mapping.yaml"
    text = mapping.read_text()
    mapping.write_text(
        text.replace('      sex: {"1": female, "2": male, "3": other, "9": unknown}\n', "")
    )
    b = _load(project / "export_raw.csv")
    assert any("tables.patients.columns.sex: 'sex' is a radio field (1 = Female" in n
               for n in b.notes)  # fmt: skip


def test_a_missing_events_file_is_named(project) -> None:
    (project / "events.csv").unlink()
    with pytest.raises(InputError, match="events file not found") as err:
        _load(project / "export_labels.csv")
    assert err.value.file.endswith("events.csv")


def test_cli_label_export(project) -> None:
    from typer.testing import CliRunner

    from iopkit.cli import app

    runner = CliRunner()
    args = [
        "validate",
        str(project / "export_labels.csv"),
        "--mapping",
        str(project / "mapping.yaml"),
    ]
    ok = runner.invoke(app, args, terminal_width=200)
    assert "Traceback" not in ok.output and "label export" in ok.output, ok.output
    _without(project / "mapping.yaml", "dictionary")
    refused = runner.invoke(app, args, terminal_width=200)
    assert refused.exit_code == 1, refused.output
    assert "this is a label export" in " ".join(refused.output.split())
