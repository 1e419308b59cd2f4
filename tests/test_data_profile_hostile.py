"""Malformed inputs, tried one by one (issue 11 §6): each ends in a refusal naming the file
and the rule, or in named problems on the rows concerned — never a traceback, a hang or a
silent change. :data:`CASES` is the tally: its id says what was tried, its expectation how
it ended (``refused``: InputError/ConfigError; ``error``: rows rejected with that rule;
``warning``: rows kept, value named)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from iopkit.data import load_bundle, validate_bundle
from iopkit.errors import ConfigError, InputError

PROGRAM = "adult_mood_anxiety_3d"
MON = "2025-01-06"
ITEMS = ",".join(f"item_{i}" for i in range(1, 10))


def _base() -> dict[str, str]:
    return {
        "cohorts": f"cohort_id,program_id,name\nC01,{PROGRAM},Group A\n",
        "patients": "patient_id,birth_year,sex,primary_concern\n"
        "P00001,1980,F,depression\nP00002,1985,M,anxiety\n",
        "episodes": "episode_id,patient_id,cohort_id,admit_date,planned_weeks\n"
        f"E00001,P00001,C01,{MON},6\nE00002,P00002,C01,{MON},6\n",
        "attendance": f"episode_id,date,status\nE00001,{MON},present\nE00002,{MON},present\n",
        "assessments": f"episode_id,date,scale,{ITEMS}\n"
        f"E00001,{MON},phq9,{','.join(['1'] * 9)}\n",
    }


def _folder(tmp: Path, edits: dict[str, str] | None = None, raw: dict[str, bytes] | None = None):
    folder = tmp / "export"
    folder.mkdir()
    for name, text in {**_base(), **(edits or {})}.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    for name, data in (raw or {}).items():
        (folder / name).write_bytes(data)
    return folder


def _replace(table: str, old: str, new: str) -> dict[str, str]:
    text = _base()[table]
    assert old in text, (table, old)
    return {table: text.replace(old, new, 1)}


def _workbook(tmp: Path, edit: Callable | None = None) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, text in _base().items():
        ws = wb.create_sheet(name)
        for row in text.splitlines():
            ws.append([int(v) if v.isdigit() else v for v in row.split(",")])
    if edit is not None:
        edit(wb)
    path = tmp / "export.xlsx"
    wb.save(path)
    return path


def _profile(tmp: Path, text: str | bytes) -> Path:
    path = tmp / "profile.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


def _cell(sheet: str, ref: str, value) -> Callable:
    def edit(wb) -> None:
        wb[sheet][ref] = value

    return edit


def _hidden_identifier(wb) -> None:
    ws = wb.create_sheet("Sheet9")
    ws.append(["first_name"])
    ws.sheet_state = "veryHidden"


def _fifo(tmp: Path) -> Path:
    folder = _folder(tmp)
    os.mkfifo(folder / "goals.csv")
    return folder


def _dir_as_file(tmp: Path) -> Path:
    folder = _folder(tmp)
    (folder / "goals.csv").mkdir()
    return folder


def _both(tmp: Path) -> Path:
    folder = _folder(tmp)
    (folder / "attendance.parquet").write_bytes(b"PAR1")
    return folder


def _no_patients(tmp: Path) -> Path:
    folder = _folder(tmp)
    (folder / "patients.csv").unlink()
    return folder


Setup = Callable[[Path], tuple[object, dict]]
#: (what was tried, setup -> (source, load/validate options), (outcome, rule))
CASES: list[tuple[str, Setup, tuple[str, str]]] = [
    # --- CSV text and structure
    ("unterminated quote", lambda t: (_folder(t, _replace("attendance", f"{MON},present\nE00002", f'{MON},"present\nE00002')), {}), ("error", "unclosed_quote")),  # noqa: E501
    ("stray quote closed a line later", lambda t: (_folder(t, _replace("attendance", f'E00001,{MON},present\nE00002,{MON},present', f'E00001,{MON},"present\nE00002,{MON}",present')), {}), ("error", "field_count")),  # noqa: E501
    ("ragged row, extra fields", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON},present", f"E00002,{MON},present,x,y")), {}), ("error", "field_count")),  # noqa: E501
    ("short row", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON},present", "E00002")), {}), ("error", "field_count")),  # noqa: E501
    ("field over the csv limit", lambda t: (_folder(t, {"events": f'episode_id,date,kind,note\nE00001,{MON},family_session,"{"x" * 140_000}"\n'}), {}), ("refused", "csv_syntax")),  # noqa: E501
    ("NUL bytes", lambda t: (_folder(t, raw={"goals.csv": b"episode_id\x00,set_date\n"}), {}), ("refused", "encoding")),  # noqa: E501
    ("Windows-1252 bytes", lambda t: (_folder(t, raw={"goals.csv": "episode_id,goal\nE00001,“walk”\n".encode("cp1252")}), {}), ("refused", "encoding")),  # noqa: E501
    ("UTF-16 BOM, odd bytes", lambda t: (_folder(t, raw={"goals.csv": b"\xff\xfea\x00b"}), {}), ("refused", "encoding")),  # noqa: E501
    ("empty file", lambda t: (_folder(t, {"goals": ""}), {}), ("refused", "header")),
    ("header with an empty name", lambda t: (_folder(t, {"goals": "episode_id,,goal\n"}), {}), ("refused", "header")),  # noqa: E501
    ("header repeats a name", lambda t: (_folder(t, {"goals": "episode_id,goal,goal\n"}), {}), ("refused", "header")),  # noqa: E501
    ("named pipe as a table", lambda t: (_fifo(t), {}), ("refused", "unreadable")),
    ("folder named goals.csv", lambda t: (_dir_as_file(t), {}), ("refused", "unreadable")),
    ("csv and parquet for one table", lambda t: (_both(t), {}), ("refused", "ambiguous_source")),
    ("required table missing", lambda t: (_no_patients(t), {}), ("refused", "missing_table")),
    ("identifier column PhoneNo", lambda t: (_folder(t, {"goals": "episode_id,PhoneNo\n"}), {}), ("refused", "direct_identifier")),  # noqa: E501
    ("identifier column D.O.B.", lambda t: (_folder(t, {"goals": "episode_id,D.O.B.\n"}), {}), ("refused", "direct_identifier")),  # noqa: E501
    ("missing required column", lambda t: (_folder(t, {"attendance": f"episode_id,date\nE00001,{MON}\n"}), {}), ("error", "missing_column")),  # noqa: E501
    # --- cells
    ("exponent 6e0 in an integer", lambda t: (_folder(t, _replace("episodes", f"{MON},6\nE00002", f"{MON},6e0\nE00002")), {}), ("error", "type")),  # noqa: E501
    ("fraction 5.5 in an integer", lambda t: (_folder(t, _replace("episodes", f"{MON},6\nE00002", f"{MON},5.5\nE00002")), {}), ("error", "type")),  # noqa: E501
    ("integer beyond 2^53", lambda t: (_folder(t, _replace("episodes", f"{MON},6\nE00002", f"{MON},99999999999999999999\nE00002")), {}), ("error", "type")),  # noqa: E501
    ("hex 0x1F as an item", lambda t: (_folder(t, _replace("assessments", "phq9,1,", "phq9,0x1F,")), {}), ("error", "type")),  # noqa: E501
    ("ambiguous day/month", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON}", "E00002,04/03/2025")), {}), ("error", "ambiguous_date")),  # noqa: E501
    ("two-digit year", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON}", "E00002,06/01/25")), {}), ("error", "date_format")),  # noqa: E501
    ("impossible date", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON}", "E00002,2025-02-30")), {}), ("error", "invalid_date")),  # noqa: E501
    ("time of day in a date", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON}", f"E00002,{MON} 09:30")), {}), ("error", "date_has_time")),  # noqa: E501
    ("serial number as a date", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON}", "E00002,45663")), {}), ("error", "date_format")),  # noqa: E501
    ("blank required value", lambda t: (_folder(t, _replace("patients", "P00002,1985,M,anxiety", "P00002,1985,M,")), {}), ("error", "required")),  # noqa: E501
    ("required vocabulary typo", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON},present", f"E00002,{MON},Present")), {}), ("error", "vocabulary")),  # noqa: E501
    ("descriptive vocabulary typo", lambda t: (_folder(t, _replace("patients", "1985,M", "1985,mal")), {}), ("warning", "vocabulary")),  # noqa: E501
    ("birth year out of range", lambda t: (_folder(t, _replace("patients", "1985", "19850")), {}), ("warning", "range")),  # noqa: E501
    ("ids differing only by case", lambda t: (_folder(t, {**_replace("patients", "P00002,1985", "p00001,1985"), **_replace("episodes", "E00002,P00002", "E00002,p00001")}), {}), ("warning", "case_only_id")),  # noqa: E501
    ("exact duplicate row", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON},present\n", f"E00002,{MON},present\nE00002,{MON},present\n")), {}), ("error", "duplicate_row")),  # noqa: E501
    ("conflicting key", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON},present\n", f"E00002,{MON},present\nE00002,{MON},late\n")), {}), ("error", "duplicate_key")),  # noqa: E501
    ("orphan reference", lambda t: (_folder(t, _replace("attendance", f"E00002,{MON}", f"E00009,{MON}")), {}), ("error", "reference")),  # noqa: E501
    ("discharge before admission", lambda t: (_folder(t, {"episodes": f"episode_id,patient_id,cohort_id,admit_date,discharge_date\nE00001,P00001,C01,{MON},2025-01-01\nE00002,P00002,C01,{MON},\n"}), {}), ("error", "discharge_before_admit")),  # noqa: E501
    ("unknown program", lambda t: (_folder(t, _replace("cohorts", PROGRAM, "adult_typo")), {}), ("error", "unknown_program")),  # noqa: E501
    ("unknown scale", lambda t: (_folder(t, _replace("assessments", "phq9", "phq10")), {}), ("error", "unknown_scale")),  # noqa: E501
    ("item out of range", lambda t: (_folder(t, _replace("assessments", "phq9,1,", "phq9,4,")), {}), ("error", "item_range")),  # noqa: E501
    ("admission after the as-of date", lambda t: (_folder(t, _replace("episodes", f"E00002,P00002,C01,{MON}", "E00002,P00002,C01,2035-01-08")), {"as_of": dt.date(2025, 3, 1)}), ("error", "future_admission")),  # noqa: E501
    ("phone number in goal text", lambda t: (_folder(t, {"goals": f"episode_id,set_date,goal_no,goal\nE00001,{MON},1,call 555-867-5309\n"}), {}), ("warning", "identifier_in_text")),  # noqa: E501
    # --- Excel
    ("text file renamed .xlsx", lambda t: ((t / "x.xlsx").write_text("a,b\n") and t / "x.xlsx", {}), ("refused", "unreadable")),  # noqa: E501
    ("formula without saved result", lambda t: (_workbook(t, _cell("assessments", "E2", "=1+1")), {}), ("error", "formula_without_value")),  # noqa: E501
    ("very hidden sheet with first_name", lambda t: (_workbook(t, _hidden_identifier), {}), ("refused", "direct_identifier")),  # noqa: E501
    ("value right of the last header", lambda t: (_workbook(t, _cell("attendance", "E3", "x")), {}), ("error", "field_count")),  # noqa: E501
    ("Excel header repeats a name", lambda t: (_workbook(t, _cell("attendance", "D1", "status")), {}), ("refused", "header")),  # noqa: E501
    # --- profiles (YAML)
    ("profile alias bomb", lambda t: (_folder(t), {"profile": _profile(t, BOMB)}), ("refused", "alias bomb")),  # noqa: E501
    ("profile nested 100 deep", lambda t: (_folder(t), {"profile": _profile(t, "a: " + "[" * 100 + "]" * 100 + "\n")}), ("refused", "nested deeper")),  # noqa: E501
    ("profile key twice", lambda t: (_folder(t), {"profile": _profile(t, "missing: [NA]\nmissing: [x]\n")}), ("refused", "appears twice")),  # noqa: E501
    ("profile not UTF-8", lambda t: (_folder(t), {"profile": _profile(t, "missing: [\xe9]\n".encode("latin-1"))}), ("refused", "not UTF-8")),  # noqa: E501
    ("profile is a list", lambda t: (_folder(t), {"profile": _profile(t, "- a\n- b\n")}), ("refused", "expected a mapping")),  # noqa: E501
    ("profile maps to a non-value", lambda t: (_folder(t), {"profile": {"values": {"sex": {"F": "woman"}}}}), ("refused", "not one of")),  # noqa: E501
    ("profile rename onto an existing column", lambda t: (_folder(t), {"profile": {"columns": {"sex": "birth_year"}}}), ("refused", "profile")),  # noqa: E501
    ("date not in the declared format", lambda t: (_folder(t), {"profile": {"date_format": "%m/%d/%Y"}}), ("error", "date_format")),  # noqa: E501
    ("unquoted yes in a value map", lambda t: (_folder(t), {"profile": _profile(t, "values:\n  sex: {yes: female}\n")}), ("refused", "put it in quotes")),  # noqa: E501
    # --- the source itself
    ("unknown suffix", lambda t: ((t / "x.docx").write_text("x") and t / "x.docx", {}), ("refused", "source_kind")),  # noqa: E501
    ("source that does not exist", lambda t: (t / "nowhere", {}), ("refused", "missing_source")),  # noqa: E501
    ("blank source", lambda t: ("  ", {}), ("refused", "missing_source")),
]


@pytest.mark.parametrize(("what", "setup", "expect"), CASES, ids=[c[0] for c in CASES])
def test_malformed_input_ends_named(tmp_path, what, setup, expect) -> None:
    if "pipe" in what and not hasattr(os, "mkfifo"):
        pytest.skip("named pipes need POSIX")
    source, options = setup(tmp_path)
    load_opts = {k: v for k, v in options.items() if k in ("profile",)}
    check_opts = {k: v for k, v in options.items() if k not in load_opts}
    outcome, rule = expect
    if outcome == "refused":
        with pytest.raises((InputError, ConfigError)) as err:
            validate_bundle(load_bundle(source, **load_opts), **check_opts)
        exc = err.value
        if isinstance(exc, InputError):
            assert exc.rule == rule, (exc.rule, str(exc))
            if str(source).strip():
                assert exc.file and str(tmp_path) in exc.file, str(exc)
        else:
            assert rule in str(exc) and str(tmp_path) in str(exc) or rule in str(exc), str(exc)
        return
    r = validate_bundle(load_bundle(source, **load_opts), **check_opts)
    c = r.counts
    assert (c["rows_in"] == c["accepted"] + c["rejected"]).all()
    hits = r.problems[(r.problems["rule"] == rule) & (r.problems["severity"] == outcome)]
    assert len(hits), r.problems[["table", "source_line", "column", "rule", "severity"]]
    assert hits["file"].notna().all() and hits["source_line"].notna().all()
    if outcome == "warning":
        assert r.ok, r.problems
    else:
        assert r.n_rejected >= 1


def test_the_tally_covers_every_kind_of_ending() -> None:
    ends = {e[0] for _, _, e in CASES}
    assert ends == {"refused", "error", "warning"} and len(CASES) >= 55
