"""`iopkit report`, `iopkit run` and the committed schedules."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from iopkit.cli import app
from iopkit.reports.engine.lock import RunLock
from iopkit.reports.engine.schedule import load_schedule

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "fixtures" / "reports" / "tiny.ipynb"
runner = CliRunner()


def test_report_refuses_unknown_parameter_with_exit_1(tmp_path: Path) -> None:
    res = runner.invoke(app, ["report", str(TINY), "-p", "wekks=3", "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert "unknown parameter 'wekks'" in res.output and "Traceback" not in res.output


def test_report_refuses_malformed_pair(tmp_path: Path) -> None:
    """A usage error (exit 2) since issue 16: the option is written wrong, not the input."""
    res = runner.invoke(app, ["report", str(TINY), "-P", "weeks", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "key=value" in res.output


def test_run_refuses_an_overlapping_run(tmp_path: Path) -> None:
    sched = tmp_path / "s.yaml"
    sched.write_text(f"out: out\njobs:\n  - template: {TINY}\n    name: a\n")
    with RunLock(tmp_path / "out"):
        res = runner.invoke(app, ["run", str(sched), "--no-progress"])
    assert res.exit_code == 1 and "already writing" in res.output


def test_run_reports_a_bad_schedule(tmp_path: Path) -> None:
    sched = tmp_path / "s.yaml"
    sched.write_text("jobs: []\n")
    res = runner.invoke(app, ["run", str(sched)])
    assert res.exit_code == 1 and "schema" in res.output


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from iopkit.data import write_bundle
    from iopkit.data.sources.synthetic import DEMO_SETTINGS
    from iopkit.synth import synthesize

    return write_bundle(synthesize(**DEMO_SETTINGS), tmp_path_factory.mktemp("b") / "data")


def test_committed_schedules_expand(bundle_dir: Path, tmp_path: Path) -> None:
    import iopkit.reports.grids  # noqa: F401 - registers the data grids the schedules use

    demo = load_schedule(ROOT / "reports/schedules/demo.yaml", variables={"data": str(bundle_dir)})
    names = [j.name for j in demo.jobs]
    # a plan and an outcome report per cohort, one patient report, the program report
    assert names[:4] == ["plan-C01", "plan-C02", "plan-C03", "plan-C04"]
    assert names[4:8] == ["outcomes-C01", "outcomes-C02", "outcomes-C03", "outcomes-C04"]
    assert names[8].startswith("progress-E") and names[9] == "program" and len(names) == 10
    weekly = load_schedule(
        ROOT / "reports/schedules/weekly.example.yaml",
        variables={"data": str(bundle_dir), "week": "2025-W12"},
        out=tmp_path / "weekly",
    )
    outcome_jobs = [j for j in weekly.jobs if j.name.startswith("outcomes-")]
    assert outcome_jobs and all(Path(j.template).is_file() for j in weekly.jobs)
    assert {j.params["data_source"] for j in weekly.jobs} == {str(bundle_dir)}


@pytest.mark.parametrize("template", ["patient_progress", "cohort_outcomes", "program_outcomes"])
def test_report_requires_data_source(tmp_path: Path, template: str) -> None:
    """No silent stand-in: without data_source the command refuses, naming the parameter."""
    res = runner.invoke(app, ["report", template, "--out", str(tmp_path)])
    assert res.exit_code == 1, res.output
    assert "data_source is required" in res.output and "Traceback" not in res.output
    assert not any(tmp_path.iterdir())  # nothing ran


def test_run_requires_data_source_in_every_job(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: s\nout: {tmp_path / 'out'}\njobs:\n"
        "  - template: program_outcomes\n    name: program\n    params: {start_date: ''}\n"
    )
    res = runner.invoke(app, ["run", str(path), "--no-progress"])
    assert res.exit_code == 1, res.output
    assert "job program" in res.output and "data_source is required" in res.output
    assert not (tmp_path / "out").exists()
