"""Sources: every format loads the same tables; encodings, dates and identifiers are handled
explicitly (read correctly or reported, never guessed)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from iopkit.data import load_bundle, validate_bundle, write_bundle
from iopkit.data.bundle import Bundle
from iopkit.data.validation.cells import parse_dates
from iopkit.errors import InputError
from iopkit.privacy import is_direct_identifier
from iopkit.synth import synthesize


@pytest.fixture(scope="module")
def synth() -> Bundle:
    return synthesize(n_cohorts=2, seed=8, episodes_per_cohort=8)


@pytest.fixture(scope="module")
def reference(synth):
    return validate_bundle(synth)


def _same(a, b) -> None:
    for t in a.tables:
        x, y = a.tables[t], b.tables[t]
        pd.testing.assert_frame_equal(x, y[x.columns], check_dtype=False, obj=t)


@pytest.mark.parametrize(
    "fmt,name", [("csv", "dir"), ("parquet", "dir"), ("excel", "b.xlsx"), ("sqlite", "b.sqlite")]
)
def test_every_format_validates_clean_and_loads_the_same_tables(
    synth, reference, tmp_path, fmt, name
) -> None:
    dest = write_bundle(synth, tmp_path / name, format=fmt)
    result = validate_bundle(load_bundle(dest))
    assert result.ok, result.problems.head()
    _same(reference, result)


def test_sqlalchemy_url(synth, reference, tmp_path) -> None:
    dest = write_bundle(synth, tmp_path / "b.db", format="sqlite")
    result = validate_bundle(load_bundle(f"sqlite:///{dest}"))
    assert result.ok
    _same(reference, result)


# --- direct identifiers -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "column",
    [
        "first_name",
        "LastName",
        "patient name",
        "MRN",
        "dob",
        "Date of Birth",
        "phone",
        "email",
        "E-Mail",
        "home_address",
        "zip",
        "SSN",
    ],
)
def test_identifier_columns_are_refused(synth, tmp_path, column) -> None:
    tables = dict(synth.tables)
    tables["patients"] = tables["patients"].assign(**{column: "x"})
    write_bundle(tables, tmp_path, format="csv")
    with pytest.raises(InputError) as err:
        load_bundle(tmp_path)
    assert "patients.csv" in str(err.value) and repr(column) in str(err.value)
    assert err.value.rule == "direct_identifier"


def test_identifier_check_lists_every_file_and_column(synth, tmp_path) -> None:
    tables = dict(synth.tables)
    tables["patients"] = tables["patients"].assign(first_name="x", mrn="1")
    tables["events"] = tables["events"].assign(phone="1")
    write_bundle(tables, tmp_path, format="csv")
    with pytest.raises(InputError) as err:
        load_bundle(tmp_path)
    msg = str(err.value)
    # one listing for every file, each column with its Safe Harbor category (iopkit.privacy)
    assert re.search(r"patients\.csv: 'first_name' \([^)]+\), 'mrn' \([^)]+\)", msg), msg
    assert "events.csv: 'phone'" in msg


def test_not_identifiers() -> None:
    for table, col in (
        ("cohorts", "name"),
        ("patients", "birth_year"),
        (None, "redcap_event_name"),
        ("sessions", "facilitator"),
        ("episodes", "admit_date"),
    ):
        assert not is_direct_identifier(col, table)
    assert is_direct_identifier("name", "patients")


# --- encodings --------------------------------------------------------------------------------
def _with_goal_text(synth, tmp_path: Path, text: str, encoding: str, bom: bool = False) -> Path:
    write_bundle(synth, tmp_path, format="csv")
    goals = tmp_path / "goals.csv"
    content = goals.read_text(encoding="utf-8")
    first = content.splitlines()[1].split(",")[4]
    content = content.replace(first, text, 1)
    data = content.encode(encoding)
    goals.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return tmp_path


def test_utf8_with_bom(synth, tmp_path) -> None:
    b = load_bundle(_with_goal_text(synth, tmp_path, "Café walk", "utf-8", bom=True))
    assert b["goals"].columns[0] == "episode_id"  # BOM not glued to the first column name
    assert b["goals"].at[0, "goal"] == "Café walk"
    assert any("goals.csv" in n and "byte-order mark" in n for n in b.notes)


def test_latin1_is_detected_and_reported(synth, tmp_path) -> None:
    b = load_bundle(_with_goal_text(synth, tmp_path, "Café walk", "latin-1"))
    assert b["goals"].at[0, "goal"] == "Café walk"
    assert any("goals.csv" in n and "Latin-1" in n for n in b.notes)
    assert validate_bundle(b).ok


def test_windows_1252_fails_clearly(synth, tmp_path) -> None:
    folder = _with_goal_text(synth, tmp_path, "\u201cwalk\u201d", "cp1252")
    with pytest.raises(InputError) as err:
        load_bundle(folder)
    assert "goals.csv" in err.value.file and err.value.row == 2 and "cp1252" in str(err.value)
    assert load_bundle(folder, encoding="cp1252")["goals"].at[0, "goal"] == "\u201cwalk\u201d"


# --- CSV structure ----------------------------------------------------------------------------
def test_row_with_extra_fields_is_rejected_not_dropped(synth, tmp_path) -> None:
    write_bundle(synth, tmp_path, format="csv")
    path = tmp_path / "attendance.csv"
    lines = path.read_text().splitlines()
    lines[3] += ",surplus"
    lines.insert(5, "")  # a blank line: later line numbers still match the editor
    path.write_text("\n".join(lines) + "\n")
    r = validate_bundle(load_bundle(tmp_path))
    p = r.problems
    assert p[["source_line", "rule"]].values.tolist() == [[4, "field_count"]]
    c = r.counts.set_index("table").loc["attendance"]
    assert c["rows_in"] == len(synth["attendance"]) and c["rejected"] == 1
    assert r.tables["attendance"].index[-1] == len(lines)  # last data row's real line


def test_missing_required_table_and_unknown_source(tmp_path) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,primary_concern\nP1,depression\n")
    with pytest.raises(InputError, match="cohorts, episodes"):
        load_bundle(tmp_path)
    with pytest.raises(InputError, match="not found"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(InputError, match="mapping"):
        load_bundle(tmp_path / "patients.csv")


def test_excel_text_and_number_in_date_cells(synth, tmp_path) -> None:
    tables = {t: f.copy() for t, f in synth.tables.items()}
    for t in ("episodes",):
        tables[t]["admit_date"] = tables[t]["admit_date"].astype(object)
    tables["episodes"].at[0, "admit_date"] = "06/01/2025"  # ambiguous text in a date column
    tables["episodes"].at[1, "admit_date"] = 45678  # an Excel serial number
    path = write_bundle(tables, tmp_path / "b.xlsx", format="excel")
    r = validate_bundle(load_bundle(path))
    p = r.problems[r.problems["table"] == "episodes"]
    assert p[["source_line", "rule"]].values.tolist() == [[2, "ambiguous_date"], [3, "date_format"]]
    assert p["file"].iloc[0].endswith("[sheet episodes]")
    r = validate_bundle(load_bundle(path), dayfirst=True)
    p = r.problems[r.problems["table"] == "episodes"]
    assert p["rule"].tolist() == ["date_format"]


# --- dates --------------------------------------------------------------------------------------
def _dates(values, dayfirst=None):
    out, probs = parse_dates(pd.Series(values, dtype=object), dayfirst)
    return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in out], dict(
        zip(probs["row"], probs["rule"], strict=True)
    )


def test_iso_and_month_name_dates() -> None:
    got, probs = _dates(
        ["2025-03-04", "2025-03-04 00:00:00", "4 Mar 2025", "March 4, 2025", "04-Mar-2025", None]
    )
    assert got == ["2025-03-04"] * 5 + [None] and probs == {}


def test_unambiguous_slashed_dates_are_read_ambiguous_ones_reported() -> None:
    got, probs = _dates(["25/03/2025", "03/03/2025", "04/03/2025"])
    assert got[:2] == ["2025-03-25", "2025-03-03"] and got[2] is None
    assert probs == {2: "ambiguous_date"}


def test_dayfirst_option_reads_ambiguous_dates() -> None:
    assert _dates(["04/03/2025"], dayfirst=True)[0] == ["2025-03-04"]
    assert _dates(["04/03/2025"], dayfirst=False)[0] == ["2025-04-03"]
    assert _dates(["03/25/2025"], dayfirst=True)[1] == {0: "invalid_date"}


def test_mixed_orders_in_one_column_are_reported() -> None:
    got, probs = _dates(["25/03/2025", "03/25/2025", "2025-01-02"])
    assert probs == {0: "mixed_date_formats", 1: "mixed_date_formats"} and got[2] == "2025-01-02"


@pytest.mark.parametrize(
    "value,rule",
    [
        ("2025-02-30", "invalid_date"),
        ("3/4/25", "date_format"),
        ("2025-03-04 14:30", "date_has_time"),
        ("45678", "date_format"),
        ("next Tuesday", "date_format"),
        (45678, "date_format"),
    ],
)
def test_dates_that_are_reported(value, rule) -> None:
    got, probs = _dates([value])
    assert got == [None] and probs == {0: rule}


def test_database_password_never_appears_in_messages() -> None:
    from iopkit.privacy import redact_url

    assert (
        redact_url("postgresql://iop:s3cret@db.example/iop")
        == "postgresql://iop:***@db.example/iop"
    )
    with pytest.raises(InputError) as err:
        load_bundle("sqlite:////nonexistent-dir/x.sqlite")
    assert err.value.rule in {"unreadable", "missing_table"}
