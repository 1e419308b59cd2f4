"""`iopkit validate` and `iopkit synth`: summaries, exit codes, no tracebacks."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from iopkit.cli import app

runner = CliRunner()


def test_synth_then_validate_clean(tmp_path) -> None:
    r = runner.invoke(
        app,
        [
            "synth",
            "--out",
            str(tmp_path / "b"),
            "--cohorts",
            "1",
            "--per-cohort",
            "5",
            "--seed",
            "3",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["validate", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    assert "episodes" in r.output and "all rows accepted" in r.output


@pytest.mark.parametrize("fmt,suffix", [("parquet", ""), ("excel", ".xlsx"), ("sqlite", ".sqlite")])
def test_synth_formats(tmp_path, fmt, suffix) -> None:
    out = tmp_path / f"b{suffix}"
    r = runner.invoke(
        app, ["synth", "--out", str(out), "--cohorts", "1", "--per-cohort", "3", "--format", fmt]
    )
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_defects_exit_1_with_problems_and_rejects(tmp_path) -> None:
    src = tmp_path / "b"
    r = runner.invoke(
        app, ["synth", "--out", str(src), "--cohorts", "1", "--defects", "--seed", "2"]
    )
    assert r.exit_code == 0 and (src / "defects.csv").exists()
    r = runner.invoke(
        app, ["validate", str(src), "--rejects", str(tmp_path / "out"), "--show", "3"]
    )
    assert r.exit_code == 1
    assert "[rule:" in r.output and "line" in r.output
    defects = pd.read_csv(src / "defects.csv")
    problems = pd.read_csv(tmp_path / "out" / "problems.csv")
    direct = problems[problems["rule"] != "cascade"][["table", "source_line"]].drop_duplicates()
    assert len(direct) == len(defects)
    assert (tmp_path / "out" / "rejects" / "episodes.csv").exists()


def test_strict_and_unreadable_input_give_a_message_not_a_traceback(tmp_path) -> None:
    src = tmp_path / "b"
    runner.invoke(app, ["synth", "--out", str(src), "--cohorts", "1", "--defects"])
    r = runner.invoke(app, ["validate", str(src), "--strict"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert ".csv, row " in r.output and "column '" in r.output and "[rule: " in r.output
    r = runner.invoke(app, ["validate", str(tmp_path / "missing")])
    assert r.exit_code == 1 and "not found" in r.output
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "patients.csv").write_text(
        "patient_id,first_name,primary_concern\nP1,Ann,depression\n"
    )
    r = runner.invoke(app, ["validate", str(tmp_path / "p")])
    assert r.exit_code == 1 and "first_name" in r.output and "Traceback" not in r.output


def test_bad_options(tmp_path) -> None:
    r = runner.invoke(app, ["synth", "--out", str(tmp_path), "--format", "xml"])
    assert r.exit_code == 1 and "xml" in r.output
    r = runner.invoke(app, ["synth", "--out", str(tmp_path), "--program", "nope"])
    assert r.exit_code == 1 and "nope" in r.output


def test_synth_as_of_leaves_active_episodes_and_validates(tmp_path) -> None:
    """--as-of cuts the bundle like a live export: no admission after it, running stays open."""
    out = tmp_path / "live"
    r = runner.invoke(
        app,
        [
            "synth",
            "--out",
            str(out),
            "--cohorts",
            "2",
            "--per-cohort",
            "6",
            "--as-of",
            "2025-02-14",
        ],
    )
    assert r.exit_code == 0, r.output
    eps = pd.read_csv(out / "episodes.csv", dtype=str)
    assert (pd.to_datetime(eps["admit_date"]) <= "2025-02-14").all()
    assert eps["discharge_date"].isna().any()  # active episodes exist
    assert not (pd.to_datetime(eps["discharge_date"]) > "2025-02-14").any()
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    r = runner.invoke(app, ["synth", "--out", str(tmp_path / "x"), "--as-of", "2025-13-01"])
    assert r.exit_code == 1 and "--as-of" in r.output
