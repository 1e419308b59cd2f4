"""An Apache Airflow DAG from a schedule file: the same jobs, the same guarantees.

A DAG file (in Airflow's ``dags_folder``) is two lines::

    from iopkit.integrations.airflow import build_dag
    dag = build_dag("/srv/iop/schedules/weekly.yaml", variables={"week": "{{ ds }}"})

The DAG has three steps (Airflow dynamic task mapping,
https://airflow.apache.org/docs/apache-airflow/stable/authoring-and-scheduling/dynamic-task-mapping.html):

1. ``plan`` — expands the schedule's jobs (the data grids read the data here, at run time,
   never when Airflow parses the file), takes the run lock of the output folder for this DAG
   run, starts the run (:func:`~iopkit.reports.engine.batch.prepare_run`: records, resume,
   one validated snapshot per data source) and returns the jobs to run as JSON (XCom).
2. ``report`` — one mapped task per job calling the engine's own
   :func:`~iopkit.reports.engine.batch.execute_job` (not a bare PapermillOperator, which
   would skip iopkit's parameter checks, HTML export, identifier check and atomic publish).
   A failed report fails its task, so Airflow retries it ``retries`` times after
   ``retry_delay_s`` and stops it after ``job_timeout_s`` — all three read from the schedule.
3. ``assemble`` — runs whatever happened before it (``trigger_rule="all_done"``): builds
   ``manifest.json`` and ``index.html`` from the job records and releases the lock; it fails
   when any report failed, so the DAG run shows it.

Airflow's own XCom and logs live in its metadata database, so a job whose parameters hold
a URL password is refused in ``plan`` (give the password to the database driver instead,
e.g. libpq's ``~/.pgpass``). Tasks may run on any Airflow worker that has iopkit installed
and sees the output folder and the data at the same paths.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iopkit.errors import InputError, SetupError
from iopkit.privacy import has_url_password


def _airflow() -> Any:
    try:
        import airflow.sdk as sdk  # Airflow 3 Task SDK
    except ImportError:
        try:
            import airflow.decorators as sdk  # Airflow 2.9+
        except ImportError:
            raise SetupError("the Airflow DAG needs apache-airflow: pip install 'iopkit[airflow]'"
                             ) from None
    return sdk


def plan_jobs(
    schedule_path: str,
    owner: str,
    out: str | None = None,
    variables: Mapping[str, Any] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """The ``plan`` step (plain Python, callable without Airflow): expand the schedule, take
    the lock for ``owner`` (e.g. ``airflow:<dag_id>/<run_id>``), start the run; returns
    ``{"out": folder, "run_id": ..., "jobs": [job JSON, ...]}`` for the jobs to execute."""
    import iopkit.reports.grids  # noqa: F401 - registers the data-driven schedule grids
    import iopkit.reports.views.source  # noqa: F401 - registers the data_source snapshotter
    from iopkit.reports.engine.batch import prepare_run
    from iopkit.reports.engine.lock import RunLock
    from iopkit.reports.engine.schedule import load_schedule

    schedule = load_schedule(schedule_path, variables=variables, out=out)
    for job in schedule.jobs:
        for key, value in job.params.items():
            if isinstance(value, str) and has_url_password(value):
                raise InputError(
                    f"{schedule_path}: job {job.name}: parameter {key} holds a URL password, "
                    "which Airflow would store in its XCom table; give the password to the "
                    "driver instead (e.g. ~/.pgpass)",
                    column=key,
                    rule="no password in an Airflow job",
                )
    RunLock(schedule.out, owner=owner).acquire()  # released by assemble_step
    plan = prepare_run(
        schedule.jobs,
        schedule.out,
        resume=resume,
        title=f"iopkit reports — {schedule.name}",
        schedule_path=schedule.path,
        meta={"executor": "airflow", "owner": owner},
    )
    return {"out": str(plan.out_dir), "run_id": plan.run_id,
            "jobs": [job.to_json() for job in plan.todo]}


def run_job_step(job_json: str, out: str, run_id: str) -> dict[str, Any]:
    """The ``report`` step: run one job with the engine's runner; raise when it failed (so
    the orchestrator retries it). Returns the job's status record."""
    from iopkit.reports.engine.batch import execute_job
    from iopkit.reports.engine.schedule import Job

    job = Job.from_json(job_json)
    record = execute_job(job, out, run_id)
    if record["status"] != "ok":
        err = record.get("error") or {}
        raise RuntimeError(
            f"report {job.name} failed: {err.get('ename', '')}: {str(err.get('evalue', ''))[:500]}"
            f" (kept in {Path(out) / (record.get('outputs') or {}).get('error', 'failed')})"
        )
    return {k: record[k] for k in ("name", "status", "duration_s", "published") if k in record}


def assemble_step(out: str, owner: str) -> dict[str, int]:
    """The ``assemble`` step: manifest and index from the records, lock released; raises
    when any report failed or did not run. Returns the counts."""
    from iopkit.reports.engine.batch import assemble_run
    from iopkit.reports.engine.lock import holds_lock, release_owned

    if not holds_lock(out, owner):  # e.g. plan was refused: another run owns the folder
        raise RuntimeError(f"{owner} does not hold the run lock of {out}; not assembling "
                           "another run's manifest")
    try:
        summary = assemble_run(out, final=True)
    finally:
        release_owned(out, owner)
    if summary.exit_code:
        failed = [r["name"] for r in summary.records if r["status"] != "ok"]
        raise RuntimeError(f"{len(failed)} report(s) failed or did not run: {failed}; "
                           f"see {summary.index}")
    return summary.counts


def build_dag(
    schedule_path: str | Path,
    *,
    dag_id: str | None = None,
    out: str | None = None,
    variables: Mapping[str, Any] | None = None,
    schedule: str | None = None,
    start_date: dt.datetime | None = None,
    resume: bool = False,
) -> Any:
    """An Airflow DAG running ``schedule_path`` (see the module docstring).

    ``schedule`` is Airflow's (a cron expression such as ``"0 6 * * 1"``, or None for manual
    runs); ``variables`` and ``out`` are as for ``iopkit run`` (values may be Jinja templates
    such as ``"{{ ds }}"``, rendered by Airflow per run). Only the schedule's top-level
    settings are read here (retries, retry delay, job timeout); its jobs are expanded when the
    DAG runs. One DAG run at a time (``max_active_runs=1``; the run lock refuses overlaps
    from anywhere else).
    """
    from iopkit.reports.engine.schedule import schedule_settings

    sdk = _airflow()
    path = str(Path(schedule_path).absolute())
    settings = schedule_settings(path)
    name = dag_id or f"iopkit_{settings['name']}".replace("-", "_")
    timeout = settings["job_timeout_s"]
    report_options: dict[str, Any] = {
        "retries": settings["retries"],
        "retry_delay": dt.timedelta(seconds=settings["retry_delay_s"]),
    }
    if timeout:
        report_options["execution_timeout"] = dt.timedelta(seconds=timeout)
    vars_ = dict(variables or {})

    @sdk.dag(
        dag_id=name,
        schedule=schedule,
        start_date=start_date or dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,
        tags=["iopkit"],
        params={},
    )
    def iopkit_reports() -> None:
        @sdk.task(task_id="plan")
        def plan(
            out: str | None, variables: dict[str, Any], **context: Any
        ) -> dict[str, Any]:  # arguments are Jinja-rendered by Airflow per run
            owner = f"airflow:{context['dag'].dag_id}/{context['run_id']}"
            return plan_jobs(path, owner, out=out, variables=variables, resume=resume)

        @sdk.task(task_id="jobs")
        def jobs(planned: dict[str, Any]) -> list[dict[str, str]]:
            return [{"job_json": j, "out": planned["out"], "run_id": planned["run_id"]}
                    for j in planned["jobs"]]

        @sdk.task(task_id="report", **report_options)
        def report(job_json: str, out: str, run_id: str) -> dict[str, Any]:
            return run_job_step(job_json, out, run_id)

        @sdk.task(task_id="assemble", trigger_rule="all_done")
        def assemble(planned: dict[str, Any], **context: Any) -> dict[str, int]:
            owner = f"airflow:{context['dag'].dag_id}/{context['run_id']}"
            return assemble_step(planned["out"], owner)

        planned = plan(out, vars_)
        done = report.expand_kwargs(jobs(planned))
        done >> assemble(planned)

    return iopkit_reports()
