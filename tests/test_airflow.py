"""The demo schedule as an Airflow DAG (``airflow dags test``, SQLite metadata database) in the
separate environment that ``.ci/airflow-env`` builds; the published reports match a local run.

Airflow is far too large for the dev extra, so it lives in its own virtualenv:
``$IOPKIT_AIRFLOW_VENV`` or ``/tmp/iopkit-airflow-venv``. Without it the test skips locally
and *fails* in CI (``CI`` set), where ``.ci/run`` must have built it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from iopkit.resources import schedules_dir
from tests.manifests import comparable

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("IOPKIT_AIRFLOW_VENV") or "/tmp/iopkit-airflow-venv")


@pytest.fixture(scope="module")
def airflow_env() -> Path:
    if not (VENV / ".iopkit-ready").is_file():
        reason = (f"no Airflow environment at {VENV}; build it with `.ci/airflow-env {VENV}` "
                  "(~2-15 min, downloads apache-airflow)")
        if os.environ.get("CI"):
            pytest.fail(f"{reason} — .ci/run must build it before the tests")
        pytest.skip(reason)
    # the DAG must run this checkout's iopkit and templates, not those of the checkout the
    # environment was first built for (a reused /tmp: CI once compared /work/main's templates
    # with the clone's)
    found = subprocess.run(
        [str(VENV / "bin" / "python"), "-c",
         "import iopkit, pathlib; print(pathlib.Path(iopkit.__file__).resolve().parents[1])"],
        capture_output=True, text=True, timeout=120,
        cwd=VENV,  # not this checkout: `python -c` would import iopkit from the current folder
    )
    if found.returncode != 0 or Path(found.stdout.strip()) != ROOT:
        reason = (f"the Airflow environment {VENV} imports iopkit from "
                  f"{found.stdout.strip() or found.stderr.strip()[-300:]}, not {ROOT}; run "
                  f"`.ci/airflow-env {VENV}` from this checkout")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return VENV


def _env(home: Path, dags: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        PATH=f"{VENV / 'bin'}:{os.environ.get('PATH', '')}",
    )
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.mark.slow
def test_demo_schedule_as_an_airflow_dag_matches_a_local_run(
    airflow_env: Path, tmp_path: Path
) -> None:
    from iopkit.data import write_bundle
    from iopkit.data.sources.synthetic import DEMO_SETTINGS
    from iopkit.synth import synthesize

    data = write_bundle(synthesize(**{**DEMO_SETTINGS, "n_cohorts": 1}), tmp_path / "data")
    # the demo schedule with the orchestrator keys a DAG reads (validated by the schema)
    spec = yaml.safe_load((schedules_dir() / "demo.yaml").read_text())
    spec.update(retries=2, retry_delay_s=5, job_timeout_s=1800)
    schedule = tmp_path / "demo.yaml"
    schedule.write_text(yaml.safe_dump(spec, sort_keys=False))
    home, dags, out = tmp_path / "home", tmp_path / "dags", tmp_path / "airflow-out"
    home.mkdir()
    dags.mkdir()
    (dags / "iopkit_demo.py").write_text(
        "from iopkit.integrations.airflow import build_dag\n\n"
        f"dag = build_dag({str(schedule)!r}, dag_id='iopkit_demo', out={str(out)!r},\n"
        f"                variables={{'data': {str(data)!r}}})\n"
    )
    env = _env(home, dags)
    airflow = str(airflow_env / "bin" / "airflow")
    python = str(airflow_env / "bin" / "python")
    # the DAG's shape and the schedule's retries and timeout, read back through Airflow
    probe = subprocess.run(
        [python, "-c",
         "import json, runpy, sys; d = runpy.run_path(sys.argv[1])['dag']; "
         "t = d.get_task('report'); "
         "print(json.dumps({'tasks': sorted(d.task_ids), 'retries': t.retries, "
         "'delay': t.retry_delay.total_seconds(), "
         "'timeout': t.execution_timeout.total_seconds(), "
         "'rule': str(d.get_task('assemble').trigger_rule)}))",
         str(dags / "iopkit_demo.py")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    shape = json.loads(probe.stdout.strip().splitlines()[-1])
    assert shape["tasks"] == ["assemble", "jobs", "plan", "report"]
    assert (shape["retries"], shape["delay"], shape["timeout"]) == (2, 5.0, 1800.0)
    assert "all_done" in shape["rule"].lower()
    migrate = subprocess.run([airflow, "db", "migrate"], capture_output=True, text=True,
                             env=env, timeout=900)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    run = subprocess.run([airflow, "dags", "test", "iopkit_demo"], capture_output=True,
                         text=True, env=env, timeout=1800, cwd=tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["executor"] == "airflow"
    # every job of the schedule published (how many flagged-patient reports the grid
    # expands to depends on the data; the comparison with a local run below checks which)
    counts = manifest["counts"]
    assert counts["failed"] == counts["pending"] == counts["not_run"] == 0
    assert counts["ok"] == len(manifest["jobs"]) >= 3
    assert not (out / ".iopkit-run.lock").exists()  # the assemble task released it
    assert not manifest["notes"], manifest["notes"]

    import iopkit.reports.grids  # noqa: F401 - the demo schedule's data grids
    import iopkit.reports.views.source  # noqa: F401 - the data_source snapshotter
    from iopkit.reports.engine.batch import run_schedule

    local = run_schedule(schedule, workers=2, out=tmp_path / "local",
                         variables={"data": str(data)}, progress=False)
    assert local.exit_code == 0
    on_local = json.loads((tmp_path / "local" / "manifest.json").read_text())


    assert comparable(manifest) == comparable(on_local)
    index = (out / "index.html").read_text()
    for job in manifest["jobs"]:
        html = out / job["outputs"]["html"]
        assert html.is_file() and f"href='{job['outputs']['html']}'" in index
        assert {p.name for p in html.parent.iterdir()} == {
            p.name for p in (tmp_path / "local" / job["outputs"]["html"]).parent.iterdir()}


def test_dag_steps_keep_the_guarantees_without_airflow(tmp_path: Path) -> None:
    """plan → report per job → assemble, as plain functions: the lock is held across the
    steps (a local run is refused meanwhile), a failed report fails its task (so Airflow
    retries it), assemble refuses a run it does not own, builds manifest and index, releases
    the lock, and fails the DAG run when a report failed; a URL password never enters XCom."""
    from iopkit.errors import InputError
    from iopkit.integrations.airflow import assemble_step, plan_jobs, run_job_step
    from iopkit.reports.engine.batch import run_jobs
    from iopkit.reports.engine.lock import LOCK_NAME, RunLockedError
    from iopkit.reports.engine.schedule import Job

    tiny = Path(__file__).parent / "fixtures" / "reports" / "tiny.ipynb"
    marker = tmp_path / "broken"
    marker.write_text("x")
    schedule = tmp_path / "s.yaml"
    schedule.write_text(yaml.safe_dump({"out": "out", "retries": 1, "jobs": [
        {"template": str(tiny), "name": "t-{c}", "for_each": {"grid": {"c": ["A", "B"]}},
         "params": {"cohort_id": "{c}", "fail_if_exists": "{m}"}}]}))
    owner = "airflow:iopkit_t/run1"
    planned = plan_jobs(str(schedule), owner, variables={"m": ""})
    out = planned["out"]
    assert len(planned["jobs"]) == 2 and all(isinstance(j, str) for j in planned["jobs"])
    with pytest.raises(RunLockedError, match=owner):
        run_jobs([Job("x", str(tiny))], out, progress=False)
    with pytest.raises(RuntimeError, match="does not hold the run lock"):
        assemble_step(out, "airflow:iopkit_t/other")
    first, second = planned["jobs"]
    assert run_job_step(first, out, planned["run_id"])["status"] == "ok"
    broken = Job.from_json(second)
    broken = Job(broken.name, broken.template, {**broken.params, "fail_if_exists": str(marker)},
                 text_params=broken.text_params)
    with pytest.raises(RuntimeError, match="broken cohort B"):
        run_job_step(broken.to_json(), out, planned["run_id"])
    with pytest.raises(RuntimeError, match=r"1 report\(s\) failed"):
        assemble_step(out, owner)
    assert not (Path(out) / LOCK_NAME).exists()
    manifest = json.loads((Path(out) / "manifest.json").read_text())
    assert manifest["counts"]["ok"] == 1 and manifest["counts"]["failed"] == 1
    assert "href='failed/t-B/report.html'" in (Path(out) / "index.html").read_text()
    with pytest.raises(InputError, match="XCom"):
        plan_jobs(str(schedule), owner, variables={"m": "postgresql://u:pw@db/x"})
    assert not (Path(out) / LOCK_NAME).exists()
