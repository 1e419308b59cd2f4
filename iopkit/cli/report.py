"""`iopkit report`, `iopkit run` and `iopkit demo`: notebooks to HTML reports."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from iopkit.cli._common import (
    alias_option,
    app,
    console,
    emit,
    err_console,
    error,
    friendly_errors,
    mode,
    output_options,
    prefer,
    usage_error,
)
from iopkit.errors import InputError


def _summary_and_exit(summary: object) -> None:
    from iopkit.reports.engine.batch import RunSummary

    assert isinstance(summary, RunSummary)
    emit(
        {
            "ok": summary.exit_code == 0,
            "exit_code": summary.exit_code,
            "counts": summary.counts,
            "reused": summary.reused,
            "out_dir": summary.out_dir,
            "index": summary.index,
            "manifest": summary.manifest,
            "started": summary.started,
            "finished": summary.finished,
            "notes": summary.notes,
            "reports": [
                {
                    "name": rec.get("name"),
                    "status": rec.get("status"),
                    "error": (rec.get("error") or {}).get("ename") or None,
                }
                for rec in summary.records
            ],
        }
    )
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
            error(
                f"failed: {rec['name']}: {err.get('ename', '')}: "
                f"{str(err.get('evalue', ''))[:200]} {where}"
            )
    console.print(f"index: {summary.index}")
    if summary.exit_code:
        raise typer.Exit(code=summary.exit_code)


def require_data_source(template: str | Path, params: dict[str, object], where: str) -> None:
    """Refuse a job without ``data_source`` when its template declares one: from the command
    line a report never falls back to the template's synthetic default silently (issue 12).
    ``data_source=synthetic:demo`` runs on synthetic data on purpose (the report says so)."""
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


def _parse_pairs(pairs: list[str], option: str) -> dict[str, str]:
    """``key=value`` pairs; a pair without ``=`` or a key given twice is a usage error
    (exit 2) naming the option."""
    from iopkit.reports.engine.params import parse_cli_pairs

    try:
        return parse_cli_pairs(pairs, option=option)
    except InputError as exc:
        raise usage_error(exc.message, option) from None


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    return _parse_pairs(pairs, "--var")


def _template_title(path: Path) -> str:
    """The first heading of a template's first markdown cell ('' when none)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.strip():
                    return line.lstrip("# ").strip()
    return ""


def _param_rows(path: Path) -> list[dict[str, object]]:
    from iopkit.reports.engine.params import declared_parameters

    return [
        {"name": s.name, "type": s.type_name, "optional": s.optional, "default": s.default,
         "help": s.help}
        for s in declared_parameters(path).values()
    ]  # fmt: skip


def _list_templates() -> None:
    """``iopkit report --list``: the shipped templates with their titles and parameters."""
    from iopkit.resources import notebooks_dir

    rows = []
    table = Table(title="report templates (iopkit report NAME --help-params)", title_justify="left")
    for col in ("name", "title", "parameters"):
        table.add_column(col, overflow="fold")
    for path in sorted(notebooks_dir().glob("*.ipynb")):
        params = _param_rows(path)
        rows.append({"name": path.stem, "title": _template_title(path), "path": path,
                     "parameters": [p["name"] for p in params]})  # fmt: skip
        table.add_row(path.stem, escape(rows[-1]["title"]), ", ".join(rows[-1]["parameters"]))
    console.print(table)
    emit({"templates": rows}, command="report.list")


def _help_params(template: str, path: Path) -> None:
    """``iopkit report TEMPLATE --help-params``: the declared parameters (papermill's
    ``--help-notebook``), read from the template's ``parameters`` cell."""
    rows = _param_rows(path)
    table = Table(title=f"parameters of {escape(template)}", title_justify="left")
    for col in ("name", "type", "default", "help"):
        table.add_column(col, overflow="fold")
    for r in rows:
        kind = f"{r['type']} or None" if r["optional"] else str(r["type"])
        table.add_row(str(r["name"]), kind, escape(repr(r["default"])), escape(str(r["help"])))
    console.print(table)
    console.print(
        f"give each as -P name=value: iopkit report {template} -P name=value -o DIR",
        highlight=False,
        markup=False,
    )
    emit({"template": template, "path": path, "parameters": rows}, command="report.params")


@app.command("report")
@output_options("report")
@friendly_errors
def report(
    template: str | None = typer.Argument(
        None, help="Notebook template: a path, or a name in notebooks/ (e.g. cohort_outcomes)."
    ),
    param: list[str] = typer.Option(
        [], "--param", "-P", help="Parameter as key=value (repeatable); typed by the template."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder (required to run)."),
    name: str | None = typer.Option(None, help="Report folder name (default: from parameters)."),
    timeout: float = typer.Option(
        600, min=1.0, max=86400.0, help="Per-cell timeout in seconds (1–86400)."
    ),
    kernel: str = typer.Option("python3", help="Kernel name (this environment's kernels only)."),
    list_: bool = typer.Option(False, "--list", help="List the shipped templates and exit."),
    help_params: bool = typer.Option(
        False, "--help-params", help="Show TEMPLATE's parameters (types, defaults) and exit."
    ),
    old_param: list[str] = alias_option("-p", replacement="--param/-P", default=[]),
) -> None:
    """Run one notebook template to an executed notebook + HTML (code hidden) + figures.json.

    `iopkit report --list` lists the templates; `iopkit report NAME --help-params` shows one
    template's parameters.
    """
    from iopkit.reports.engine.runner import ReportError, run_report
    from iopkit.reports.engine.schedule import resolve_template

    if list_:
        _list_templates()
        return
    if template is None:
        raise usage_error("Missing argument 'TEMPLATE' (or --list).")
    path = resolve_template(template, Path.cwd())
    if help_params:
        _help_params(template, path)
        return
    if out is None:
        raise usage_error("Missing option '--out' / '-o'.")
    pairs = prefer(param, old_param, old_name="-p", new_name="--param/-P")
    params = _parse_pairs(pairs, "--param")
    require_data_source(path, params, f"iopkit report {template}")
    try:
        result = run_report(
            path, params, out, name=name, timeout=timeout, kernel=kernel, from_text=True
        )
    except ReportError as exc:
        error(str(exc))
        raise typer.Exit(code=1) from None
    console.print(f"report: {result.html}  ({result.duration_s:.1f} s)")
    emit({"ok": True, "template": template, "html": result.html,
          "duration_s": round(result.duration_s, 3)})  # fmt: skip


@app.command("run")
@output_options("run")
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
            progress=progress and not mode().json,
            executor_factory=factory,
            executor_name=executor,
            check_job=lambda job: require_data_source(
                job.template, job.params, f"{schedule}: job {job.name}"
            ),
        )
    except RunLockedError as exc:
        error(str(exc))
        raise typer.Exit(code=1) from None
    _summary_and_exit(summary)


@app.command("demo")
@output_options("demo")
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
            demo_schedule, workers, out=out, variables={"data": str(data)},
            progress=progress and not mode().json,
        )  # fmt: skip
    except RunLockedError as exc:
        error(str(exc))
        raise typer.Exit(code=1) from None
    console.print(f"demo finished in {time.perf_counter() - t0:.0f} s")
    _summary_and_exit(summary)
