"""Adversarial pass over every subcommand with the bad input a clinic coordinator produces.

The standard (project brief, docs/architecture.md "CLI"): exit 1 for bad input with a message
naming the file / row (line as the user sees it) / column / rule; exit 2 for a usage error;
never a raw Python traceback; never clip, coerce or drop silently.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from iopkit.cli import app
from iopkit.cli._common import friendly_errors

runner = CliRunner()
PHQ = ",".join(f"phq9_{i}" for i in range(1, 10))
PROGRAM = "adult_mood_anxiety_3d"


def run(args: list[str]):
    """Invoke the CLI; fail the test on any uncaught exception (= a traceback for the user)."""
    result = runner.invoke(app, [str(a) for a in args], terminal_width=200)
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"uncaught {exc!r}\n{result.output}"
    assert "Traceback" not in result.output, result.output
    return result


def bad(args: list[str], *needles: str, code: int = 1):
    result = run(args)
    assert result.exit_code == code, result.output
    flat = " ".join(result.output.split())
    for needle in needles:
        assert needle in flat, flat
    return result


# --- every command is wrapped ------------------------------------------------------------------
def test_every_command_is_wrapped_by_friendly_errors() -> None:
    """Each registered callback (and sub-app callback) goes through friendly_errors."""
    from iopkit.cli._common import app as root

    seen = []

    def walk(typer_app) -> None:
        cb = typer_app.registered_callback
        if cb is not None and cb.callback.__name__ != "_root":
            seen.append(cb.callback)
        seen.extend(c.callback for c in typer_app.registered_commands)
        for group in typer_app.registered_groups:
            walk(group.typer_instance)

    walk(root)
    assert len(seen) >= 15
    unwrapped = [f.__name__ for f in seen if not getattr(f, "__iopkit_friendly__", False)]
    assert not unwrapped, unwrapped
    assert getattr(friendly_errors(lambda: None), "__iopkit_friendly__", False)


# --- score: the shared table reader ------------------------------------------------------------
def test_score_refuses_duplicated_header(tmp_path) -> None:
    f = tmp_path / "dup.csv"
    f.write_text("id,phq9_1," + PHQ + "\nA1,1,1,2,3,1,2,3,1,2,0\n")
    bad(["score", f, "--scale", "phq9"], "dup.csv", "row 1", "repeats column name", "phq9_1")


def test_score_refuses_row_with_extra_fields_in_first_data_row(tmp_path) -> None:
    """pandas would silently turn the leading columns into an index and shift every value."""
    f = tmp_path / "extra.csv"
    f.write_text("id," + PHQ + "\nA1,1,2,3,1,2,3,1,2,0,7,7\nA2,1,1,1,1,1,1,1,1,1\n")
    bad(["score", f, "--scale", "phq9"], "extra.csv", "row 2", "12 fields", "field_count")


def test_score_refuses_short_row(tmp_path) -> None:
    """A truncated row must not be padded into 'missing answers'."""
    f = tmp_path / "short.csv"
    f.write_text("id," + PHQ + "\nA2,1,1,1,1,1,1,1,1,1\nA1,1,2\n")
    bad(["score", f, "--scale", "phq9"], "short.csv", "row 3", "3 fields", "field_count")


def test_score_reads_semicolon_csv_and_says_so(tmp_path) -> None:
    """European Excel writes ';'-separated CSV: read it and report the delimiter."""
    f = tmp_path / "semi.csv"
    f.write_text("id;" + PHQ.replace(",", ";") + "\nA1;1;2;3;1;2;3;1;2;0\n")
    result = run(["score", f, "--scale", "phq9"])
    assert result.exit_code == 0, result.output
    assert "';'" in result.output and "15" in result.output  # total 1+2+3+1+2+3+1+2+0


def test_score_header_only_is_bad_input(tmp_path) -> None:
    f = tmp_path / "hdr.csv"
    f.write_text("id," + PHQ + "\n")
    bad(["score", f, "--scale", "phq9"], "hdr.csv", "no data rows")


def test_score_corrupt_xlsx_is_named_clearly(tmp_path) -> None:
    f = tmp_path / "corrupt.xlsx"
    f.write_bytes(b"\x00\x9c\xf5random bytes, not a workbook" * 20)
    bad(["score", f, "--scale", "phq9"], "corrupt.xlsx", "not an Excel workbook")


def test_score_excel_duplicated_header(tmp_path) -> None:
    import pandas as pd

    f = tmp_path / "dup.xlsx"
    frame = pd.DataFrame([["A1", 1, 2]], columns=["id", "phq9_1", "x"])
    frame.to_excel(f, index=False)
    from openpyxl import load_workbook

    wb = load_workbook(f)
    wb.active["C1"] = "phq9_1"
    wb.save(f)
    bad(["score", f, "--scale", "phq9"], "dup.xlsx", "repeats column name", "phq9_1")


def test_score_output_into_missing_folder_or_directory(tmp_path) -> None:
    f = tmp_path / "ok.csv"
    f.write_text("id," + PHQ + "\nA1,1,2,3,1,2,3,1,2,0\n")
    bad(["score", f, "--scale", "phq9", "-o", tmp_path / "nodir" / "o.csv"], "nodir")
    (tmp_path / "d.csv").mkdir()
    bad(["score", f, "--scale", "phq9", "-o", tmp_path / "d.csv"], "d.csv")


def test_score_output_with_unknown_extension_is_refused(tmp_path) -> None:
    f = tmp_path / "ok.csv"
    f.write_text("id," + PHQ + "\nA1,1,2,3,1,2,3,1,2,0\n")
    bad(["score", f, "--scale", "phq9", "-o", tmp_path / "o.json"], "o.json", ".json")
    assert not (tmp_path / "o.json").exists()


def test_score_items_for_a_scale_not_requested_is_usage_error(tmp_path) -> None:
    f = tmp_path / "ok.csv"
    f.write_text("id," + PHQ + "\nA1,1,2,3,1,2,3,1,2,0\n")
    bad(["score", f, "--scale", "phq9", "--items", "gad7=a,b"], "--items", "gad7", code=2)


# --- validate: the bundle reader -----------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "bundle"
    result = run(["synth", "--out", out, "--cohorts", "1", "--per-cohort", "2"])
    assert result.exit_code == 0, result.output
    return out


def _copy(bundle, tmp_path):
    import shutil

    dest = tmp_path / "bundle"
    shutil.copytree(bundle, dest)
    return dest


@pytest.mark.parametrize("value", ["inf", "1e400", "99999999999999999999999", "-inf"])
def test_validate_huge_or_infinite_whole_number_is_a_problem_not_a_crash(
    bundle, tmp_path, value
) -> None:
    b = _copy(bundle, tmp_path)
    ep = b / "episodes.csv"
    lines = ep.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + "," + value
    ep.write_text("\n".join(lines) + "\n")
    bad(["validate", b], "episodes.csv, line 2", "planned_weeks", "whole number")


def test_validate_directory_in_place_of_a_table_file(bundle, tmp_path) -> None:
    b = _copy(bundle, tmp_path)
    (b / "events.csv").unlink()
    (b / "events.csv").mkdir()
    bad(["validate", b], "events.csv", "is a folder, not")


def test_validate_reads_semicolon_table_and_notes_it(bundle, tmp_path) -> None:
    b = _copy(bundle, tmp_path)
    ep = b / "episodes.csv"
    ep.write_text(ep.read_text().replace(",", ";"))
    result = run(["validate", b])
    assert result.exit_code == 0, result.output
    assert "episodes.csv" in result.output and "';'" in result.output


# --- plan / coverage --------------------------------------------------------------------------
def test_coverage_sessions_file_problems(tmp_path) -> None:
    f = tmp_path / "s.csv"
    f.write_text("cohort_id,date,skill_id\nC01,2025-01-06,cbt.model.cbt_model,extra\n")
    bad(["coverage", f, "--program", PROGRAM], "s.csv", "row 2", "field_count")
    f.write_bytes(b"cohort_id,date,skill_id\nC\xe9\x81,2025-01-06,cbt.model.cbt_model\n")
    bad(["coverage", f, "--program", PROGRAM], "s.csv", "UTF-8")
    f.write_text("")
    bad(["coverage", f, "--program", PROGRAM], "s.csv", "empty")
    f.write_text("cohort_id,date,skill_id,date\nC01,2025-01-06,cbt.model.cbt_model,x\n")
    bad(["coverage", f, "--program", PROGRAM], "s.csv", "repeats column name", "date")
    d = tmp_path / "d.csv"
    d.mkdir()
    bad(["coverage", d, "--program", PROGRAM], "d.csv", "is a folder, not")


def test_plan_option_problems_are_caught_before_solving(tmp_path) -> None:
    base = ["plan", "--program", PROGRAM, "--start", "2025-01-06", "--out", tmp_path / "p"]
    bad([*base, "--on-closure", "nope"], "--on-closure", "nope", code=2)
    bad([*base, "--tz", "Mars/Olympus"], "Mars/Olympus")
    bad([*base, "--patient-admit", "2025-99-01"], "--patient-admit", "2025-99-01")
    bad([*base, "--patient-discharge", "2025-03-01"], "--patient-discharge", "--patient-admit")
    bad([*base, "--patient-admit", "2024-01-01"], "2024-01-01", "before", "2025-01-06")
    assert not (tmp_path / "p").exists()  # nothing half-written


def test_plan_out_is_an_existing_file(tmp_path) -> None:
    f = tmp_path / "plan.csv"
    f.write_text("x\n")
    bad(["plan", "--program", PROGRAM, "--start", "2025-01-06", "--out", f], "plan.csv")


def test_plan_mix_repeated_concern_is_refused(tmp_path) -> None:
    bad(
        ["plan", "--program", PROGRAM, "--start", "2025-01-06", "--out", tmp_path,
         "--mix", "depression=0.5,depression=0.5"],
        "depression", "twice",
    )  # fmt: skip


def test_agenda_out_in_missing_folder(tmp_path) -> None:
    bad(
        ["agenda", "-p", PROGRAM, "-d", "2025-01-06", "-s", "cbt.model.cbt_model",
         "-o", tmp_path / "nodir" / "a.csv"],
        "nodir",
    )  # fmt: skip


# --- synth --------------------------------------------------------------------------------------
def test_synth_bad_numbers_and_destinations(tmp_path) -> None:
    out = tmp_path / "s"
    bad(["synth", "--out", out, "--seed", "-5"], "--seed", code=2)
    bad(["synth", "--out", out, "--start", "9999-12-01"], "--start", "9999-12-01")
    bad(["synth", "--out", out, "--cohorts", "100000", "--per-cohort", "100000"], "episodes")
    f = tmp_path / "f.csv"
    f.write_text("x\n")
    bad(["synth", "--out", f, "--cohorts", "1", "--per-cohort", "1"], "f.csv")
    bad(["synth", "--out", tmp_path / "x.xlsx", "--format", "csv"], "x.xlsx", "csv")
    bad(["synth", "--out", tmp_path / "y.csv", "--format", "excel"], "y.csv", "excel")
    assert not out.exists()


# --- report / run -------------------------------------------------------------------------------
def test_report_template_file_problems(tmp_path) -> None:
    for name, data in (
        ("t.csv", b"id,a\n1,2\n"),
        ("t.ipynb", b"\x9c\xf5\x00binary"),
        ("e.ipynb", b"{}"),
    ):
        f = tmp_path / name
        f.write_bytes(data)
        bad(["report", f, "-o", tmp_path / "out"], name, "notebook")


def test_report_repeated_param(tmp_path) -> None:
    bad(
        ["report", "cohort_outcomes", "-o", tmp_path, "-p", "cohort_id=C01",
         "-p", "cohort_id=C02"],
        "cohort_id", "twice", code=2,
    )  # fmt: skip  (a usage error since issue 16)


def test_report_param_without_equals(tmp_path) -> None:
    bad(["report", "cohort_outcomes", "-o", tmp_path, "-P", "cohort_id"], "cohort_id", "--param",
        code=2)  # fmt: skip


def test_run_schedule_file_problems(tmp_path) -> None:
    f = tmp_path / "s.yaml"
    f.write_bytes(b"name: caf\xe9\njobs: []\n")
    bad(["run", f], "s.yaml", "UTF-8")
    f.write_text("")
    bad(["run", f], "s.yaml", "empty")
    bad(["run", tmp_path], str(tmp_path), "folder")


def test_run_var_without_equals_names_the_option(tmp_path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("name: x\njobs: []\n")
    bad(["run", f, "--var", "week"], "--var", "week", code=2)


# --- validate: sources and mappings -------------------------------------------------------------
def test_validate_mapping_not_utf8(tmp_path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("record_id\n1\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_bytes(b"record_id: caf\xe9\n")
    bad(["validate", export, "--mapping", mapping], "mapping.yaml", "UTF-8")


def test_validate_database_url_without_driver_or_source() -> None:
    pytest.importorskip("sqlalchemy")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        bad(["validate", "postgresql://u:secret@127.0.0.1:1/db"], "driver", "***")
    bad(["validate", ""], "no source given")


def test_validate_corrupt_workbook(tmp_path) -> None:
    f = tmp_path / "bundle.xlsx"
    f.write_bytes(b"\x00\x9c\xf5 random bytes" * 30)
    bad(["validate", f], "bundle.xlsx", "not an Excel workbook")


def test_run_schedule_key_written_twice(tmp_path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("name: x\nout: a\nout: b\njobs: []\n")
    bad(["run", f], "s.yaml", "'out' appears twice", "lines 2 and 3")


def test_demo_negative_seed_is_usage_error(tmp_path) -> None:
    bad(["demo", "--seed", "-1", "--out", tmp_path / "d"], "--seed", code=2)


def test_score_reads_excel_unicode_text_and_refuses_nul_bytes(tmp_path) -> None:
    """Excel's "Unicode Text" export is UTF-16 (with BOM), tab-separated."""
    text = "id\t" + PHQ.replace(",", "\t") + "\r\nA1\t1\t2\t3\t1\t2\t3\t1\t2\t0\r\n"
    f = tmp_path / "u16.txt"
    f.write_bytes(text.encode("utf-16"))
    result = run(["score", f, "--scale", "phq9"])
    assert result.exit_code == 0, result.output
    assert "UTF-16" in result.output and ",15.0," in result.output
    f.write_bytes(text.encode("utf-16-le"))  # no byte-order mark: NUL bytes everywhere
    bad(["score", f, "--scale", "phq9"], "u16.txt", "NUL bytes")


def test_score_non_finite_missing_code_is_usage_error(tmp_path) -> None:
    f = tmp_path / "ok.csv"
    f.write_text("id," + PHQ + "\nA1,1,2,3,1,2,3,1,2,0\n")
    bad(["score", f, "--scale", "phq9", "--missing-codes", "nan"], "--missing-codes", code=2)


def test_plan_dates_and_horizon_out_of_range(tmp_path) -> None:
    base = ["plan", "--program", PROGRAM, "--out", tmp_path / "p"]
    bad([*base, "--start", "9999-12-27"], "--start", "1900–2200")
    bad([*base, "--start", "2025-01-06", "--weeks", "100000"], "--weeks", code=2)
    assert not (tmp_path / "p").exists()


def test_coverage_reads_an_excel_workbook_with_date_cells(tmp_path) -> None:
    """Before: pd.read_csv on the .xlsx bytes → UnicodeDecodeError traceback."""
    import pandas as pd

    f = tmp_path / "s.xlsx"
    days = pd.bdate_range("2025-01-06", periods=40)
    days = days[days.day_of_week.isin([0, 2, 4])]
    pd.DataFrame({"cohort_id": "C01", "date": days, "skill_id": "cbt.model.cbt_model"}).to_excel(
        f, index=False
    )
    result = run(["coverage", f, "--program", PROGRAM])
    assert result.exit_code == 0, result.output
    assert "delivered" in result.output


def test_curriculum_path_that_is_a_file(tmp_path) -> None:
    f = tmp_path / "cur.csv"
    f.write_text("x\n")
    bad(["curriculum", "validate", f], "cur.csv", "is a file, not a curriculum folder")
    bad(["curriculum", "list", "--dir", f], "cur.csv", "is a file, not a curriculum folder")


def test_score_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path) -> None:
    """The invalid-row listing names the line the user sees in an editor."""
    f = tmp_path / "blank.csv"
    f.write_text(
        "id," + PHQ + '\nA1,1,1,1,1,1,1,1,1,1\n\nA2,9,1,1,1,1,1,1,1,1\n"A\n3",9,1,1,1,1,1,1,1,1\n'
    )
    result = run(["score", f, "--scale", "phq9"])
    assert result.exit_code == 0, result.output
    assert "line 4: phq9_1=9" in result.output and "line 5: phq9_1=9" in result.output
    assert "line 3:" not in result.output


def test_non_finite_time_limits_are_usage_errors(tmp_path) -> None:
    """inf would let the solver run unbounded; nan reached nbclient as a TraitError."""
    bad(["plan", "--program", PROGRAM, "--start", "2025-01-06", "--out", tmp_path,
         "--time-limit", "inf"], "--time-limit", code=2)  # fmt: skip
    bad(["report", "cohort_outcomes", "-o", tmp_path, "--timeout", "nan"], "--timeout", code=2)
