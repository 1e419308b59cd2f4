"""Run a batch of report jobs in parallel processes, with a manifest, resume and an index.

* Jobs run in a ``ProcessPoolExecutor`` with *spawned* workers (papermill is not safe to run
  in threads, papermill #578/#473; spawn keeps the run lock out of the workers).
* A kernel that fails to start (papermill #239, #511, #776) is retried once.
* One failing job never stops the others; its notebook and error stay in ``failed/<name>/``.
* ``manifest.json`` (rewritten atomically after every job) records each job's parameters,
  status, attempts, duration, outputs and error; ``--resume`` re-runs only jobs that failed,
  are missing, or whose template/parameters changed.
* ``.iopkit-run.lock`` refuses a second overlapping run on the same folder.
* ``index.html`` links every report of the run.

The exit status of a run is non-zero when any job failed (:attr:`RunSummary.exit_code`).
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import random
import signal
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from iopkit import __version__
from iopkit.errors import IopkitError
from iopkit.reports.engine import atomic
from iopkit.reports.engine.index import write_index
from iopkit.reports.engine.lock import RunLock
from iopkit.reports.engine.params import refuse_url_passwords
from iopkit.reports.engine.schedule import Job, load_schedule

MANIFEST = "manifest.json"
#: Attempts for a job whose kernel did not start (1 retry).
KERNEL_START_ATTEMPTS = 2


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def execute_job(job: Job, out_dir: str) -> dict[str, Any]:
    """Run one job to completion or failure and return its manifest record (never raises).

    This is the unit any executor runs; it is a plain top-level function of plain data.
    """
    from iopkit.reports.engine.runner import KernelStartError, ReportError, run_report

    started = _now()
    t0 = time.perf_counter()
    record: dict[str, Any] = {
        "name": job.name,
        "template": job.template,
        "params": job.params,
        "status": "failed",
        "attempts": 0,
        "started": started,
        "outputs": {},
        "figures": {},
        "error": None,
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
            )
        except KernelStartError as exc:
            if record["attempts"] < KERNEL_START_ATTEMPTS:
                time.sleep(0.5 + random.random())  # stagger the retry
                continue
            _failed(record, exc.result.error, exc.result.path, out_dir)
        except ReportError as exc:
            _failed(record, exc.result.error, exc.result.path, out_dir)
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
                outputs={
                    "html": f"{rel.as_posix()}/report.html",
                    "notebook": f"{rel.as_posix()}/report.ipynb",
                    "figures": f"{rel.as_posix()}/figures.json",
                },
            )
        break
    record["duration_s"] = round(time.perf_counter() - t0, 3)
    record["finished"] = _now()
    return record


def _failed(
    record: dict[str, Any], error: Mapping[str, Any] | None, path: str | None, out_dir: str
) -> None:
    record["status"] = "failed"
    record["error"] = dict(error or {})
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
    finished: str
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
    path = Path(out_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _reusable(job: Job, previous: Mapping[str, Any] | None, out: Path) -> dict[str, Any] | None:
    if not previous:
        return None
    rec = previous.get(job.name)
    if not rec or rec.get("status") != "ok":
        return None
    if rec.get("template") != job.template or rec.get("params") != job.params:
        return None
    html = rec.get("outputs", {}).get("html")
    if not html or not (out / html).is_file():
        return None
    return {**rec, "reused": True}


ExecutorFactory = Callable[[int], Executor]


def process_pool(workers: int) -> Executor:
    """The default executor: ``workers`` spawned processes."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


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
) -> RunSummary:
    """Run ``jobs`` into ``out_dir``; returns a :class:`RunSummary` (never raises for job failures).

    Raises :class:`iopkit.reports.engine.lock.RunLockedError` when another run holds the folder,
    and :class:`iopkit.errors.InputError` (nothing written) when a job's parameters hold a URL
    password.
    """
    for job in jobs:  # before anything is written: no password reaches the manifest
        refuse_url_passwords(job.params)
    console = console or Console(stderr=True)
    out = atomic.ensure_private_dir(Path(out_dir).absolute())
    with RunLock(out) as lock:
        notes = []
        if lock.stale:
            notes.append(
                f"previous run (pid {lock.stale.get('pid')}, started "
                f"{lock.stale.get('started')}) ended without releasing its lock record"
            )
        notes += atomic.recover(out) + atomic.recover(out / "failed")
        previous_manifest = read_manifest(out) if resume else None
        previous = {r["name"]: r for r in (previous_manifest or {}).get("jobs", [])}
        started = _now()
        records: dict[str, dict[str, Any]] = {}
        todo: list[Job] = []
        for job in jobs:
            kept = _reusable(job, previous, out) if resume else None
            if kept is not None:
                records[job.name] = kept
            else:
                records[job.name] = {
                    "name": job.name,
                    "template": job.template,
                    "params": job.params,
                    "status": "pending",
                    "attempts": 0,
                    "outputs": {},
                    "figures": {},
                    "error": None,
                }
                todo.append(job)
        reused = len(jobs) - len(todo)
        meta = {
            "schedule": schedule_path,
            "title": title,
            "workers": workers,
            "resume": resume,
            "started": started,
            "iopkit": __version__,
        }

        def save(finished: str | None = None) -> None:
            ordered = [records[j.name] for j in jobs]
            counts = _counts(ordered)
            atomic.write_private_text(
                out / MANIFEST,
                json.dumps(
                    {**meta, "finished": finished, "counts": counts, "jobs": ordered},
                    indent=2,
                    default=str,
                )
                + "\n",
            )

        save()
        if reused:
            console.print(f"resume: {reused} report(s) already complete, {len(todo)} to run")
        if todo:
            _execute(todo, out, workers, records, save, console, progress, executor_factory)
        finished = _now()
        for rec in records.values():
            if rec["status"] == "pending":
                rec["status"] = "not_run"
        save(finished)
        ordered = [records[j.name] for j in jobs]
        counts = _counts(ordered)
        index = write_index(
            out, title, ordered, {"started": started, "finished": finished, **counts}
        )
    return RunSummary(
        out, ordered, index, out / MANIFEST, started, finished, reused=reused, notes=notes
    )


def _counts(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts = {"ok": 0, "failed": 0, "pending": 0, "not_run": 0}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def _execute(
    todo: Sequence[Job],
    out: Path,
    workers: int,
    records: dict[str, dict[str, Any]],
    save: Callable[[], None],
    console: Console,
    show_progress: bool,
    executor_factory: ExecutorFactory,
) -> None:
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
                pool.submit(execute_job, job, str(out)): job for job in todo
            }
            try:
                for fut in as_completed(futures):
                    job = futures[fut]
                    try:
                        rec = fut.result()
                    except BrokenProcessPool as exc:
                        rec = {
                            **records[job.name],
                            "status": "failed",
                            "error": {"ename": "BrokenProcessPool", "evalue": str(exc)},
                        }
                    records[job.name] = rec
                    save()
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
    )
