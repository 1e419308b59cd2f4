"""Run a batch of report jobs on any executor, with per-job records, a manifest, resume, an index.

The guarantees travel with the job, so they hold on one machine, on a Dask cluster and in an
Airflow DAG alike (docs/running-on-dask.md, docs/running-on-airflow.md):

* :func:`prepare_run` (under the run lock) writes the run's plan ``.iopkit-run/run.json``
  (job order, title, run id), keeps the records of reusable reports on ``--resume`` and clears
  the others, and hands the jobs validated data snapshots (:data:`SNAPSHOTTERS`): a source is
  read and validated once per batch, not once per report.
* :func:`execute_job` — the unit every executor runs, plain data in and out, never raising —
  runs one report and writes its own status record ``.iopkit-run/records/<name>.json``
  atomically: parameters with every URL password hidden (``runner.redact_params``), status,
  attempts, timings (execute, HTML export, publish), outputs, key figures, "published with N
  notes", error, host and PID.
* :func:`assemble_run` builds ``manifest.json`` and ``index.html`` from the plan and the
  records; any process that sees the run folder can run it (the local batch after every job,
  Airflow's final task). ``--resume`` reads the records.
* The run lock (:mod:`~.lock`) refuses a second run on the same folder, also across hosts;
  temporary folders carry host and PID (:mod:`~.atomic`).

Locally, jobs run in a ``ProcessPoolExecutor`` with *spawned* workers (papermill is not safe
to run in threads, papermill #578/#473; spawn keeps the run lock out of the workers). A kernel
that fails to start (papermill #239, #511, #776) is retried once. One failing job never stops
the others; its notebook and error stay in ``failed/<name>/``. The exit status of a run is
non-zero when any job failed (:attr:`RunSummary.exit_code`).
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import random
import shutil
import signal
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from iopkit import __version__
from iopkit.errors import IopkitError
from iopkit.privacy import redact_url
from iopkit.reports.engine import atomic
from iopkit.reports.engine.figures import published_text, report_notes
from iopkit.reports.engine.index import write_index
from iopkit.reports.engine.lock import RunLock
from iopkit.reports.engine.params import refuse_url_passwords
from iopkit.reports.engine.schedule import Job, load_schedule
from iopkit.reports.engine.snapshots import SNAPSHOT_ENV, SNAPSHOTTERS

MANIFEST = "manifest.json"
#: The run's own files: ``run.json`` (plan), ``records/`` (one per job), ``snapshots/``.
RUN_DIR = ".iopkit-run"
#: Attempts for a job whose kernel did not start (1 retry).
KERNEL_START_ATTEMPTS = 2


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def run_dir(out_dir: str | Path) -> Path:
    """``<out_dir>/.iopkit-run``: plan, records and snapshots of the run in ``out_dir``."""
    return Path(out_dir).absolute() / RUN_DIR


def record_path(out_dir: str | Path, name: str) -> Path:
    """Where job ``name`` writes its status record."""
    return run_dir(out_dir) / "records" / f"{name}.json"


def snapshot_index(out_dir: str | Path) -> Path:
    """The index of a run's data snapshots (read by the report kernels via ``IOPKIT_SNAPSHOTS``)."""
    return run_dir(out_dir) / "snapshots" / "index.json"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    atomic.ensure_private_dir(path.parent)
    atomic.write_private_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_record(out_dir: str | Path, record: Mapping[str, Any]) -> Path:
    """Write one job's status record atomically (temp file + rename, mode 0600)."""
    path = record_path(out_dir, str(record["name"]))
    _write_json(path, record)
    return path


def read_records(out_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Every readable status record in ``out_dir``, by job name (unreadable ones are skipped:
    an atomic write never leaves a torn record, so those are foreign files)."""
    folder = run_dir(out_dir) / "records"
    out: dict[str, dict[str, Any]] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            rec = _read_json(path)
            if rec and rec.get("name") == path.stem:
                out[path.stem] = rec
    return out


def _redact_error(error: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: redact_url(v) if isinstance(v, str) else v for k, v in dict(error or {}).items()}


def _base_record(job: Job, run_id: str | None) -> dict[str, Any]:
    from iopkit.reports.engine.runner import redact_params

    return {
        "name": job.name,
        "template": job.template,
        "params": redact_params(job.params),
        "status": "pending",
        "attempts": 0,
        "outputs": {},
        "figures": {},
        "error": None,
        "run_id": run_id,
    }


def execute_job(job: Job, out_dir: str, run_id: str | None = None) -> dict[str, Any]:
    """Run one job to completion or failure, write its status record and return it
    (never raises). This is the unit any executor runs: a plain top-level function of plain
    data. When the run folder has data snapshots (:func:`prepare_run`), the report kernel is
    told where they are (``IOPKIT_SNAPSHOTS``)."""
    from iopkit.reports.engine.runner import KernelStartError, ReportError, run_report

    if run_id is None:
        run_id = (_read_json(run_dir(out_dir) / "run.json") or {}).get("run_id")
    snapshots = snapshot_index(out_dir)
    env = {SNAPSHOT_ENV: str(snapshots)} if snapshots.is_file() else None
    t0 = time.perf_counter()
    record = {
        **_base_record(job, run_id),
        "status": "failed",
        "started": _now(),
        "host": atomic.host_name(),
        "pid": os.getpid(),
    }
    while True:
        record["attempts"] += 1
        try:
            res = run_report(
                job.template,
                job.params,
                out_dir,
                name=job.name,
                timeout=job.timeout,
                kernel=job.kernel,
                from_text=job.text_params,
                env=env,
            )
        except KernelStartError as exc:
            if record["attempts"] < KERNEL_START_ATTEMPTS:
                time.sleep(0.5 + random.random())  # stagger the retry
                continue
            _failed(record, exc.result.error, exc.result.path, out_dir)
            record["timings_s"] = exc.result.timings
        except ReportError as exc:
            _failed(record, exc.result.error, exc.result.path, out_dir)
            record["timings_s"] = exc.result.timings
        except IopkitError as exc:  # bad parameters or schedule: nothing was run
            _failed(record, {"ename": type(exc).__name__, "evalue": str(exc)}, None, out_dir)
        except Exception as exc:  # noqa: BLE001 - isolate the job, keep the message
            _failed(
                record,
                {
                    "ename": type(exc).__name__,
                    "evalue": str(exc),
                    "traceback": traceback.format_exc()[-4000:],
                },
                None,
                out_dir,
            )
        else:
            rel = Path(res.path).relative_to(Path(out_dir).absolute())
            record.update(
                status="ok",
                figures=res.figures,
                published=published_text(res.figures),
                n_notes=len(report_notes(res.figures)),
                timings_s=res.timings,
                outputs={
                    "html": f"{rel.as_posix()}/report.html",
                    "notebook": f"{rel.as_posix()}/report.ipynb",
                    "figures": f"{rel.as_posix()}/figures.json",
                },
            )
        break
    record["duration_s"] = round(time.perf_counter() - t0, 3)
    record["finished"] = _now()
    try:
        write_record(out_dir, record)
    except OSError as exc:  # the run folder vanished or filled up: the caller still learns
        record["record_error"] = f"{type(exc).__name__}: {exc}"
    return record


def _failed(
    record: dict[str, Any], error: Mapping[str, Any] | None, path: str | None, out_dir: str
) -> None:
    record["status"] = "failed"
    record["error"] = _redact_error(error)
    if path:
        rel = Path(path).relative_to(Path(out_dir).absolute()).as_posix()
        record["outputs"] = {
            "html": f"{rel}/report.html",
            "notebook": f"{rel}/report.ipynb",
            "error": f"{rel}/error.json",
        }


@dataclass
class RunSummary:
    """Outcome of a batch run."""

    out_dir: Path
    records: list[dict[str, Any]]
    index: Path
    manifest: Path
    started: str
    finished: str | None
    reused: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "failed": 0, "not_run": 0}
        for r in self.records:
            out[r["status"] if r["status"] in out else "not_run"] += 1
        return out

    @property
    def exit_code(self) -> int:
        """0 when every job produced its report, 1 otherwise."""
        c = self.counts
        return 0 if c["failed"] == 0 and c["not_run"] == 0 else 1


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of the last run in ``out_dir`` (None when there is none or it is unreadable)."""
    return _read_json(Path(out_dir) / MANIFEST)


def _reusable(job: Job, rec: Mapping[str, Any] | None, out: Path) -> bool:
    from iopkit.reports.engine.runner import redact_params

    if not rec or rec.get("status") != "ok":
        return False
    if rec.get("template") != job.template or rec.get("params") != redact_params(job.params):
        return False
    html = (rec.get("outputs") or {}).get("html")
    return bool(html) and (out / html).is_file()


ExecutorFactory = Callable[[int], Executor]
def process_pool(workers: int) -> Executor:
    """The default executor: ``workers`` spawned processes."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


@dataclass
class RunPlan:
    """What :func:`prepare_run` decided: the run id, the jobs to execute, the notes."""

    out_dir: Path
    run_id: str
    todo: list[Job]
    reused: int
    notes: list[str]


def prepare_run(
    jobs: Sequence[Job],
    out_dir: str | Path,
    *,
    resume: bool = False,
    title: str = "iopkit reports",
    schedule_path: str | None = None,
    meta: Mapping[str, Any] | None = None,
    snapshots: bool = True,
) -> RunPlan:
    """Start a run in ``out_dir`` (call it holding the :class:`~.lock.RunLock`).

    Cleans this host's dead temporaries, writes ``.iopkit-run/run.json``, keeps the records of
    reports ``--resume`` can reuse (same template and parameters, report still there) and
    removes every other record, then snapshots the data sources of the jobs to run once
    (:data:`SNAPSHOTTERS`; a source that cannot be snapshotted is noted and each job opens it
    itself, so its report fails with that source's own message).
    """
    out = atomic.ensure_private_dir(Path(out_dir).absolute())
    notes = atomic.recover(out) + atomic.recover(out / "failed")
    rdir = atomic.ensure_private_dir(run_dir(out))
    previous = read_records(out) if resume else {}
    if resume:  # a folder last written before per-job records: its manifest
        for rec in (read_manifest(out) or {}).get("jobs", []):
            if isinstance(rec, dict) and rec.get("name") and rec["name"] not in previous:
                previous[rec["name"]] = rec
    shutil.rmtree(rdir / "records", ignore_errors=True)
    shutil.rmtree(rdir / "snapshots", ignore_errors=True)
    run_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    todo: list[Job] = []
    for job in jobs:
        rec = previous.get(job.name)
        if resume and _reusable(job, rec, out):
            assert rec is not None
            write_record(out, rec)
        else:
            todo.append(job)
    from iopkit.reports.engine.runner import redact_params

    plan = {
        "run_id": run_id,
        "title": title,
        "schedule": schedule_path,
        "resume": resume,
        "started": _now(),
        "iopkit": __version__,
        **dict(meta or {}),
        "jobs": [
            {"name": j.name, "template": j.template, "params": redact_params(j.params)}
            for j in jobs
        ],
    }
    if snapshots and todo:
        notes += _snapshot(todo, out)
    plan["notes"] = notes
    _write_json(rdir / "run.json", plan)
    return RunPlan(out, run_id, todo, len(jobs) - len(todo), notes)


def _snapshot(todo: Sequence[Job], out: Path) -> list[str]:
    """Snapshot each distinct value of every registered parameter once; returns notes."""
    notes: list[str] = []
    index: dict[str, Any] = {}
    folder = run_dir(out) / "snapshots"
    for param, fn in SNAPSHOTTERS.items():
        values = sorted({j.params[param] for j in todo if isinstance(j.params.get(param), str)})
        for i, value in enumerate(v for v in values if v):
            target = atomic.ensure_private_dir(folder / f"{param}-{i}")
            t0 = time.perf_counter()
            try:
                entry = dict(fn(value, target))
            except Exception as exc:  # noqa: BLE001 - noted; each job then opens the source
                shutil.rmtree(target, ignore_errors=True)
                notes.append(
                    f"{param} {redact_url(value)!r} was not snapshotted "
                    f"({type(exc).__name__}: {redact_url(str(exc))[:300]}); each report "
                    "opens it itself"
                )
                continue
            entry.update(path=target.name, seconds=round(time.perf_counter() - t0, 3))
            index[str(entry["key"])] = entry
    if index:
        _write_json(folder / "index.json", {"snapshots": index})
    return notes


def assemble_run(out_dir: str | Path, *, final: bool = True) -> RunSummary:
    """Build ``manifest.json`` and ``index.html`` from the run's plan and job records.

    Any executor's last step (also a separate process or machine that sees the folder).
    A planned job without a record is ``pending`` while the run goes on and ``not_run`` when
    ``final``; a record kept from an earlier run is marked ``reused``. ``final`` also removes
    the run's data snapshots (copies of patient data are kept no longer than the run needs).
    """
    out = Path(out_dir).absolute()
    plan = _read_json(run_dir(out) / "run.json")
    if plan is None:
        raise IopkitError(f"{out} has no run plan ({RUN_DIR}/run.json); nothing to assemble")
    records = read_records(out)
    ordered: list[dict[str, Any]] = []
    reused = 0
    for planned in plan.get("jobs", []):
        rec = records.get(planned["name"])
        if rec is None:
            rec = {**planned, "status": "not_run" if final else "pending", "attempts": 0,
                   "outputs": {}, "figures": {}, "error": None}
        elif rec.get("run_id") != plan["run_id"]:
            rec = {**rec, "reused": True}
            reused += 1
        ordered.append(rec)
    counts = {"ok": 0, "failed": 0, "pending": 0, "not_run": 0}
    for r in ordered:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    finished = _now() if final else None
    meta = {k: v for k, v in plan.items() if k not in ("jobs", "notes")}
    _write_json(
        out / MANIFEST,
        {**meta, "finished": finished, "counts": counts, "notes": plan.get("notes", []),
         "jobs": ordered},
    )
    summary = {"started": plan.get("started"), "finished": finished or "(running)", **counts}
    index = write_index(out, plan.get("title", "iopkit reports"), ordered, summary)
    if final:
        shutil.rmtree(run_dir(out) / "snapshots", ignore_errors=True)
    return RunSummary(
        out, ordered, index, out / MANIFEST, plan.get("started", ""), finished,
        reused=reused, notes=list(plan.get("notes", [])),
    )


def run_jobs(
    jobs: Sequence[Job],
    out_dir: str | Path,
    *,
    workers: int = 1,
    resume: bool = False,
    title: str = "iopkit reports",
    schedule_path: str | None = None,
    console: Console | None = None,
    progress: bool = True,
    executor_factory: ExecutorFactory = process_pool,
    executor_name: str = "local",
) -> RunSummary:
    """Run ``jobs`` into ``out_dir``; returns a :class:`RunSummary` (never raises for job failures).

    ``executor_factory(workers)`` gives the ``concurrent.futures.Executor`` the jobs are
    submitted to (default: spawned local processes; :func:`iopkit.integrations.dask.executor`
    for a Dask cluster). Raises :class:`iopkit.reports.engine.lock.RunLockedError` when
    another run holds the folder, and :class:`iopkit.errors.InputError` (nothing written)
    when a job's parameters hold a URL password.
    """
    for job in jobs:  # before anything is written: no password reaches the manifest
        refuse_url_passwords(job.params)
    console = console or Console(stderr=True)
    out = atomic.ensure_private_dir(Path(out_dir).absolute())
    with RunLock(out) as lock:
        plan = prepare_run(
            jobs, out, resume=resume, title=title, schedule_path=schedule_path,
            meta={"workers": workers, "executor": executor_name},
        )
        if lock.stale:
            plan.notes.insert(
                0,
                f"previous run (pid {lock.stale.get('pid')} on {lock.stale.get('host', '?')}, "
                f"started {lock.stale.get('started')}) ended without releasing its lock "
                f"({lock.stale.get('reason')})",
            )
            _add_notes(out, plan.notes)
        assemble_run(out, final=False)
        if plan.reused:
            console.print(f"resume: {plan.reused} report(s) already complete, "
                          f"{len(plan.todo)} to run")
        if plan.todo:
            _execute(plan, workers, console, progress, executor_factory)
        summary = assemble_run(out, final=True)
    return summary


def _add_notes(out: Path, notes: list[str]) -> None:
    path = run_dir(out) / "run.json"
    plan = _read_json(path) or {}
    plan["notes"] = notes
    _write_json(path, plan)


def _execute(
    plan: RunPlan,
    workers: int,
    console: Console,
    show_progress: bool,
    executor_factory: ExecutorFactory,
) -> None:
    todo, out = plan.todo, plan.out_dir
    workers = max(1, min(workers, len(todo)))
    columns = (
        TextColumn("[bold]reports"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    previous_handler = signal.getsignal(signal.SIGTERM)

    def _on_term(signum: int, frame: object) -> None:  # systemd stop / kill: finish cleanly
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_term)
    try:
        with (
            Progress(*columns, console=console, disable=not show_progress) as bar,
            executor_factory(workers) as pool,
        ):
            task = bar.add_task("", total=len(todo))
            futures: dict[Future[dict[str, Any]], Job] = {
                pool.submit(execute_job, job, str(out), plan.run_id): job for job in todo
            }
            try:
                for fut in as_completed(futures):
                    job = futures[fut]
                    try:
                        rec = fut.result()
                    except Exception as exc:  # noqa: BLE001 - a worker died (pool broken,
                        # Dask KilledWorker): the job never wrote its record, so we do
                        rec = {
                            **_base_record(job, plan.run_id),
                            "status": "failed",
                            "attempts": 1,
                            "error": {"ename": type(exc).__name__,
                                      "evalue": redact_url(str(exc))[:2000]},
                            "finished": _now(),
                        }
                        write_record(out, rec)
                    assemble_run(out, final=False)
                    mark = "[green]ok[/]" if rec["status"] == "ok" else "[red]FAILED[/]"
                    dur = float(rec.get("duration_s") or 0)
                    bar.console.print(f"{mark} {job.name} ({dur:.1f} s)")
                    bar.update(task, advance=1, description=job.name)
            except KeyboardInterrupt:
                for fut in futures:
                    fut.cancel()
                raise
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


def run_schedule(
    path: str | Path,
    workers: int | None = None,
    resume: bool = False,
    *,
    out: str | Path | None = None,
    variables: Mapping[str, Any] | None = None,
    console: Console | None = None,
    progress: bool = True,
    executor_factory: ExecutorFactory = process_pool,
    executor_name: str = "local",
    check_job: Callable[[Job], None] | None = None,
) -> RunSummary:
    """Load a schedule file and run its jobs (see :func:`run_jobs`).

    ``check_job`` is called on every expanded job before anything runs (it raises to refuse
    the whole run, e.g. the command line's "data_source is required").
    """
    schedule = load_schedule(path, variables=variables, out=out)
    if check_job is not None:
        for job in schedule.jobs:
            check_job(job)
    return run_jobs(
        schedule.jobs,
        schedule.out,
        workers=workers or schedule.workers,
        resume=resume,
        title=f"iopkit reports — {schedule.name}",
        schedule_path=schedule.path,
        console=console,
        progress=progress,
        executor_factory=executor_factory,
        executor_name=executor_name,
    )
