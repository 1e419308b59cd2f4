"""`iopkit report`, `iopkit run` and `iopkit demo`: notebooks to HTML reports."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import typer

from iopkit.cli._common import app, console, err_console, friendly_errors


def _summary_and_exit(summary: object) -> None:
    from iopkit.reports.engine.batch import RunSummary

    assert isinstance(summary, RunSummary)
    for note in summary.notes:
        err_console.print(f"[yellow]note:[/] {note}")
    c = summary.counts
    line = f"{c['ok']} ok, {c['failed']} failed"
    if c["not_run"]:
        line += f", {c['not_run']} not run"
    if summary.reused:
        line += f" ({summary.reused} kept from the previous run)"
    console.print(line)
    for rec in summary.records:
        if rec["status"] != "ok":
            err = rec.get("error") or {}
            where = rec.get("outputs", {}).get("error", "")
            err_console.print(
                f"[red]failed:[/] {rec['name']}: {err.get('ename', '')}: "
                f"{str(err.get('evalue', ''))[:200]} {where}",
                highlight=False,
            )
    console.print(f"index: {summary.index}")
    if summary.exit_code:
        raise typer.Exit(code=summary.exit_code)


def require_data_source(template: str | Path, params: dict[str, object], where: str) -> None:
    """Refuse a job without ``data_source`` when its template declares one: from the command
    line a report never falls back to the template's synthetic default silently (issue 12).
    ``data_source=synthetic:demo`` runs on synthetic data on purpose (the report says so)."""
    from iopkit.errors import InputError

    path = Path(template)
    stamp = path.stat().st_mtime_ns if path.is_file() else 0
    if not params.get("data_source") and "data_source" in _declared(str(template), stamp):
        raise InputError(
            f"{where}: parameter data_source is required (a bundle folder, .xlsx, .sqlite, "
            "database URL, or synthetic:demo to run on synthetic data on purpose)",
            column="data_source",
            rule="data_source required",
        )


@functools.cache
def _declared(template: str, stamp: int) -> frozenset[str]:
    """Parameter names a template declares, read once per template version (``stamp``:
    its modification time) — a schedule's jobs mostly share a few templates."""
    from iopkit.reports.engine.params import declared_parameters

    return frozenset(declared_parameters(template))


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    from iopkit.reports.engine.params import parse_cli_pairs

    return parse_cli_pairs(pairs, option="--var")


@app.command("report")
@friendly_errors
def report(
    template: str = typer.Argument(
        ..., help="Notebook template: a path, or a name in notebooks/ (e.g. cohort_outcomes)."
    ),
    param: list[str] = typer.Option(
        [], "-p", "--param", help="Parameter as key=value (repeatable); typed by the template."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    name: str | None = typer.Option(None, help="Report folder name (default: from parameters)."),
    timeout: float = typer.Option(
        600, min=1.0, max=86400.0, help="Per-cell timeout in seconds (1–86400)."
    ),
    kernel: str = typer.Option("python3", help="Kernel name (this environment's kernels only)."),
) -> None:
    """Run one notebook template to an executed notebook + HTML (code hidden) + figures.json."""
    from iopkit.reports.engine.params import parse_cli_pairs
    from iopkit.reports.engine.runner import ReportError, run_report
    from iopkit.reports.engine.schedule import resolve_template

    path = resolve_template(template, Path.cwd())
    params = parse_cli_pairs(param)
    require_data_source(path, params, f"iopkit report {template}")
    try:
        result = run_report(
            path, params, out, name=name, timeout=timeout, kernel=kernel, from_text=True
        )
    except ReportError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    console.print(f"report: {result.html}  ({result.duration_s:.1f} s)")


@app.command("run")
@friendly_errors
def run(
    schedule: Path = typer.Argument(..., help="Schedule YAML file."),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Parallel jobs."),
    resume: bool = typer.Option(False, "--resume", help="Re-run only failed or missing reports."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder (overrides file)."),
    var: list[str] = typer.Option([], "--var", help="Schedule variable key=value (repeatable)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    executor: str = typer.Option(
        "local",
        "--executor",
        help="Where jobs run: local (spawned processes) or dask://HOST:PORT (a Dask scheduler).",
    ),
) -> None:
    """Run a batch of reports from a schedule: parallel, resumable, with manifest and index."""
    import iopkit.reports.grids  # noqa: F401 - registers the data-driven schedule grids
    import iopkit.reports.views.source  # noqa: F401 - registers the data_source snapshotter
    from iopkit.reports.engine.batch import process_pool, run_schedule
    from iopkit.reports.engine.lock import RunLockedError

    if executor == "local":
        factory = process_pool
    elif executor.startswith("dask://"):
        from iopkit.errors import InputError
        from iopkit.integrations.dask import executor as dask_executor

        try:
            factory = dask_executor(executor)
        except InputError as exc:
            raise typer.BadParameter(str(exc), param_hint="--executor") from None
    else:
        raise typer.BadParameter(
            f"{executor!r}: use local or dask://HOST:PORT", param_hint="--executor"
        )
    try:
        summary = run_schedule(
            schedule,
            workers,
            resume,
            out=out,
            variables=_parse_vars(var),
            progress=progress,
            executor_factory=factory,
            executor_name=executor,
            check_job=lambda job: require_data_source(
                job.template, job.params, f"{schedule}: job {job.name}"
            ),
        )
    except RunLockedError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    _summary_and_exit(summary)


@app.command("demo")
@friendly_errors
def demo(
    out: Path = typer.Option(Path("reports/demo"), "--out", "-o", help="Output folder."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Parallel jobs."),
    cohorts: int = typer.Option(4, min=1, max=26, help="Synthetic cohorts."),
    seed: int = typer.Option(0, min=0, help="Random seed (≥ 0) of the synthetic bundle."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """The main job on synthetic data: bundle → plans, outcome reports, program report, index."""
    import iopkit.reports.grids  # noqa: F401 - registers the data-driven schedule grids
    import iopkit.reports.views.source  # noqa: F401 - registers the data_source snapshotter
    from iopkit.data.sources import write_bundle
    from iopkit.data.sources.synthetic import DEMO_SETTINGS
    from iopkit.reports.engine.batch import run_schedule
    from iopkit.reports.engine.lock import RunLockedError
    from iopkit.resources import schedules_dir
    from iopkit.synth import synthesize

    demo_schedule = schedules_dir() / "demo.yaml"
    t0 = time.perf_counter()
    out = out.absolute()
    data = out / "data"
    bundle = synthesize(**{**DEMO_SETTINGS, "n_cohorts": cohorts, "seed": seed})
    write_bundle(bundle, data)
    console.print(
        f"synthetic bundle ({cohorts} cohorts, seed {seed}, as of {DEMO_SETTINGS['as_of']}): {data}"
    )
    try:
        summary = run_schedule(
            demo_schedule, workers, out=out, variables={"data": str(data)}, progress=progress
        )
    except RunLockedError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    console.print(f"demo finished in {time.perf_counter() - t0:.0f} s")
    _summary_and_exit(summary)
