"""`iopkit curriculum validate · list · show` and `iopkit agenda` through the Typer app."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import iopkit.cli.curriculum  # noqa: F401  (registers the commands)
from iopkit.cli import _common
from iopkit.cli._common import app

SHIPPED = Path(__file__).resolve().parents[1] / "curriculum"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables wrap at the terminal width; fix it so assertions do not depend on the runner."""
    monkeypatch.setattr(_common.console, "width", 200)
    monkeypatch.setattr(_common.err_console, "width", 200)


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def test_validate_shipped_ok() -> None:
    code, out = _run("curriculum", "validate", str(SHIPPED))
    assert code == 0
    assert "ok" in out and "67 skills" in out
    assert "adult_mood_anxiety_3d: core needs ≥ 11 sessions, shortest stay has 12" in out


def test_validate_summary_is_one_line_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long curriculum path (an installed wheel) must not split the summary line."""
    monkeypatch.setattr(_common.console, "width", 40)
    code, out = _run("curriculum", "validate", str(SHIPPED))
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("ok ") and "67 skills" in first and "3 program(s)" in first


def test_validate_broken_exits_1_with_file_line_key(tmp_path: Path) -> None:
    root = tmp_path / "curriculum"
    shutil.copytree(SHIPPED, root)
    f = root / "programs" / "adult_mood_anxiety_3d.yaml"
    f.write_text(f.read_text().replace("min_weeks: 4", "min_weeks: 4\nmin_wekes: 4"))
    code, out = _run("curriculum", "validate", str(root))
    assert code == 1
    line = f.read_text().splitlines().index("min_wekes: 4") + 1
    assert f"curriculum/programs/adult_mood_anxiety_3d.yaml:{line} min_wekes:" in out
    assert "min_wekes: unknown key 'min_wekes' (did you mean 'min_weeks'?)" in out
    assert "Traceback" not in out


def test_list_filters() -> None:
    code, out = _run("curriculum", "list", "--dir", str(SHIPPED), "--target", "ocd")
    assert code == 0 and "cbt.exp.erp_ocd" in out and "dbt.mf.wise_mind" not in out
    code, out = _run(
        "curriculum", "list", "--dir", str(SHIPPED), "--program", "adult_mood_anxiety_3d", "--core"
    )
    assert code == 0 and "10 skill(s)" in out
    code, out = _run("curriculum", "list", "--dir", str(SHIPPED), "-m", "sleep", "--wide")
    assert code == 0 and "8 skill(s)" in out and "requires" in out
    code, out = _run("curriculum", "list", "--dir", str(SHIPPED), "-m", "rp")
    assert "rp.safety.stanley_brown_safety_plan" in out and "task" in out


def test_list_unknown_modality_is_input_error() -> None:
    code, out = _run("curriculum", "list", "--dir", str(SHIPPED), "--modality", "dtb")
    assert code == 1 and "did you mean 'dbt'" in out


def test_show_skill_and_program() -> None:
    code, out = _run("curriculum", "show", "sleep.beh.sleep_window", "--dir", str(SHIPPED))
    assert code == 0
    for fragment in ("Requires: sleep.edu.sleep_diary", "At least 7 days after", "bipolar"):
        assert fragment in out
    code, out = _run("curriculum", "show", "adolescent_afterschool_3d", "--dir", str(SHIPPED))
    assert code == 0 and "15:30" in out and "needs ≥ 11 of 12 sessions" in out
    code, out = _run("curriculum", "show", "dbt.dt.tipp", "--dir", str(SHIPPED))
    assert code == 1 and "did you mean 'dbt.dt.tip'" in out


def test_agenda_command_prints_and_writes_csv(tmp_path: Path) -> None:
    out_csv = tmp_path / "agenda.csv"
    code, out = _run(
        "agenda",
        "--program",
        "adult_mood_anxiety_3d",
        "--date",
        "2026-12-02",
        "--skill",
        "dbt.dt.tip",
        "--start",
        "09:30",
        "--dir",
        str(SHIPPED),
        "-o",
        str(out_csv),
    )
    assert code == 0
    assert "09:30–09:55" in out and "12:15–12:30" in out
    assert "Cautions" in out  # TIP carries a cold-water caution
    df = pd.read_csv(out_csv)
    assert df["minutes"].sum() == 180


@pytest.mark.parametrize(
    "date_arg,fragment",
    [("2026-13-01", "YYYY-MM-DD"), ("2026-12-01", "meets on mon, wed, fri")],
)
def test_agenda_bad_date(date_arg: str, fragment: str) -> None:
    code, out = _run(
        "agenda",
        "-p",
        "adult_mood_anxiety_3d",
        "-d",
        date_arg,
        "-s",
        "dbt.dt.tip",
        "--dir",
        str(SHIPPED),
    )
    assert code == 1 and fragment in out
