"""Run one report: check parameters, execute with papermill, export HTML, publish atomically.

Layout of ``out_dir`` after :func:`run_report` (``<name>`` defaults to the template stem plus
the parameter values, e.g. ``cohort_outcomes--cohort_id=C01``)::

    <out_dir>/<name>/report.html     the report, code hidden
    <out_dir>/<name>/report.ipynb    the executed notebook (the audit trail)
    <out_dir>/<name>/figures.json    key figures recorded with iopkit.reports.record(...)
    <out_dir>/<name>/...             files the notebook wrote into its ``output_dir``
    <out_dir>/failed/<name>/         a failed run: executed notebook, error.json, report.html

A template that declares an ``output_dir`` parameter gets the (temporary) report folder
there, so its exports (.ics, .xlsx, …) are published together with the report.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
import traceback
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

import nbformat
import papermill as pm
from papermill.exceptions import PapermillExecutionError

from iopkit import __version__
from iopkit.errors import InputError, IopkitError
from iopkit.privacy import is_direct_identifier, redact_url
from iopkit.reports.engine import atomic
from iopkit.reports.engine.export import strip_ansi, to_html
from iopkit.reports.engine.figures import read_figures
from iopkit.reports.engine.kernel import kernel_argv, kernel_manager_class
from iopkit.reports.engine.params import (
    declared_parameters,
    validate_parameters,
)

#: Parameter the runner fills in itself (the folder the report is being built in).
OUTPUT_DIR_PARAM = "output_dir"
#: Default per-cell timeout in seconds.
DEFAULT_TIMEOUT = 600
FAILED_DIR = "failed"

Status = Literal["ok", "failed"]


@dataclass
class ReportResult:
    """What one run produced. ``path`` is the published folder (``failed/<name>`` on failure)."""

    name: str
    template: str
    params: dict[str, Any]
    status: Status
    path: str
    duration_s: float
    figures: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    #: seconds per step: ``execute`` (papermill, kernel start included), ``export`` (HTML),
    #: ``publish`` (figures.json, rename); ``duration_s`` is their sum
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def html(self) -> Path:
        return Path(self.path) / "report.html"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReportError(IopkitError):
    """A report failed; ``result`` points at the kept notebook and error summary.

    The message names the template cell and line that raised (see :func:`failure_location`),
    e.g. ``report 'c9' failed in cell 3 (id 'tiny-02'), line 7: raise RuntimeError(...)``.
    """

    def __init__(self, result: ReportResult) -> None:
        self.result = result
        err = result.error or {}
        where = f" in {err['where']}" if err.get("where") else ""
        super().__init__(
            f"report {result.name!r} failed{where}: {err.get('ename', 'error')}: "
            f"{err.get('evalue', '')} — notebook and error kept in {result.path}"
        )


class KernelStartError(ReportError):
    """The kernel did not start (no cell ran); worth one retry (papermill #239, #511, #776)."""


_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def report_name(template: str | Path, params: Mapping[str, Any]) -> str:
    """Default folder name: template stem + ``--key=value`` for ID-like parameters.

    Paths (values containing a ``/``) are left out so names stay short and free of
    directory structure.
    """
    parts = [Path(template).stem]
    for key in sorted(params):
        value = params[key]
        if key == OUTPUT_DIR_PARAM or value is None or isinstance(value, list | dict):
            continue
        text = str(value)
        if "/" in text or "\\" in text or len(text) > 40:
            continue
        parts.append(f"{key}={text}")
    return safe_name("--".join(parts))


def safe_name(name: str) -> str:
    """A folder name made of ``[A-Za-z0-9._=-]`` only (no separators, no leading dot)."""
    clean = _SAFE.sub("_", name).strip("._") or "report"
    return clean[:120]


def _read_executed(path: Path) -> nbformat.NotebookNode | None:
    """The notebook papermill wrote for a failed run; None when there is none, or when the
    run died while writing it (a half-written notebook counts as "no cell ran")."""
    if not path.is_file():
        return None
    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - JSON, Unicode and schema errors of a torn write
        return None


def _cells_started(nb: nbformat.NotebookNode | None) -> bool:
    return nb is not None and any(
        c.get("metadata", {}).get("papermill", {}).get("status") not in (None, "pending")
        for c in nb.cells
    )


def _error_summary(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, PapermillExecutionError):
        return {
            "ename": exc.ename,
            "evalue": str(exc.evalue)[:2000],
            "cell_index": exc.cell_index,
            "exec_count": exc.exec_count,
            "traceback": "\n".join(exc.traceback)[-8000:],
        }
    return {
        "ename": type(exc).__name__,
        "evalue": str(exc)[:2000],
        "cell_index": None,
        "exec_count": None,
        "traceback": "".join(traceback.format_exception(exc))[-8000:],
    }


#: IPython names the cell a frame runs in "Cell In[<execution count>], line <n>" (IPython ≥ 8,
#: ``IPython.core.ultratb``); the first such frame of a traceback is the failing cell's line.
_CELL_LINE = re.compile(r"Cell In\[\d*\], line (\d+)")


#: Cells papermill adds to an executed notebook (not the template's): the injected parameters,
#: and on failure an error banner on top and an anchor before the failing cell
#: (``papermill.execute.raise_for_execution_errors``, ``ERROR_MARKER_TAG``).
_ADDED_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def failure_location(nb: nbformat.NotebookNode, traceback_text: str) -> dict[str, Any]:
    """Where an executed notebook failed, in the template's terms.

    The failing cell is the one papermill marked (``metadata.papermill.exception``, or left
    ``running`` on a timeout or a dead kernel); its number counts the template's cells from
    the top, markdown included, without the cells papermill added. The line is the first
    ``Cell In[n], line m`` frame of the traceback. Returns ``cell``, ``cell_id``, ``line``,
    ``source_line`` and ``where`` (a phrase for messages); ``{}`` when no cell is marked.
    """
    template_cells = [c for c in nb.cells if not _ADDED_TAGS & set(c.metadata.get("tags", []))]
    marked = [
        i for i, c in enumerate(template_cells)
        if c.metadata.get("papermill", {}).get("exception") is True
        or c.metadata.get("papermill", {}).get("status") == "running"
    ]
    if not marked:
        return {}
    cell = template_cells[marked[0]]
    found = _CELL_LINE.search(strip_ansi(traceback_text))
    line = int(found.group(1)) if found else None
    lines = cell.source.splitlines()
    source_line = lines[line - 1].strip() if line and line <= len(lines) else None
    where = f"cell {marked[0] + 1}" + (f" (id {cell['id']!r})" if cell.get("id") else "")
    if line:
        where += f", line {line}" + (f": {source_line[:120]}" if source_line else "")
    return {
        "cell": marked[0] + 1,
        "cell_id": cell.get("id"),
        "line": line,
        "source_line": source_line,
        "where": where,
    }


class _HeaderCells(HTMLParser):
    """Collect the text of every ``<th>`` in an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self._in = False
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "th":
            self._in, self._buf = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" and self._in:
            self._in = False
            self.headers.append("".join(self._buf).strip())

    def handle_data(self, data: str) -> None:
        if self._in:
            self._buf.append(data)


def identifier_columns(nb: nbformat.NotebookNode) -> list[str]:
    """Table headers in a notebook's HTML outputs that look like direct identifiers.

    A report must show pseudonymous IDs only; the runner fails a report whose tables have a
    column such as ``patient_name``, ``mrn`` or ``date_of_birth``
    (:func:`iopkit.privacy.is_direct_identifier`, which splits "Patient Name" into words).
    """
    found: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html")
            if not html:
                continue
            parser = _HeaderCells()
            parser.feed(html if isinstance(html, str) else "".join(html))
            found += [h for h in parser.headers if is_direct_identifier(h)]
    return sorted(set(found))


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    atomic.write_private_text(path, json.dumps(data, indent=2, default=str) + "\n")


class IdentifierColumnError(RuntimeError):
    """A report table shows a column that looks like a direct identifier."""


def _execute(template: str, nb_path: str, **kwargs: Any) -> nbformat.NotebookNode:
    """papermill execution followed by the direct-identifier check of the output tables;
    returns the executed notebook papermill wrote to ``nb_path`` (not read back)."""
    nb = pm.execute_notebook(template, nb_path, **kwargs)
    bad = identifier_columns(nb)
    if bad:
        raise IdentifierColumnError(
            f"report shows column(s) that look like direct identifiers: {bad}; reports may "
            "show pseudonymous IDs only"
        )
    return nb


def run_report(
    template: str | Path,
    params: Mapping[str, Any] | None,
    out_dir: str | Path,
    *,
    name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    kernel: str = "python3",
    start_timeout: float = 60,
    from_text: bool | Collection[str] = False,
    env: Mapping[str, str] | None = None,
) -> ReportResult:
    """Execute ``template`` with ``params`` and publish the report under ``out_dir/<name>``.

    ``timeout`` is per cell (seconds); ``from_text=True`` coerces command-line text by the
    declared types (a collection of names: those parameters only); ``env`` adds variables to
    the kernel's environment (a batch passes ``IOPKIT_SNAPSHOTS`` there). Raises
    :class:`InputError` for bad parameters (nothing is run),
    :class:`KernelStartError` when the kernel never started, and :class:`ReportError` when the
    notebook failed — in both failure cases after keeping the executed notebook and an
    ``error.json`` in ``out_dir/failed/<name>/``. An existing good report is never touched by
    a failed run.
    """
    template = Path(template).absolute()
    specs = declared_parameters(template)
    params = dict(params or {})
    if OUTPUT_DIR_PARAM in params:
        raise InputError(
            f"parameter {OUTPUT_DIR_PARAM!r} is set by the runner (the report folder)",
            column=OUTPUT_DIR_PARAM,
            rule="reserved parameter",
        )
    checked = validate_parameters(template, params, specs=specs, from_text=from_text)
    kernel_argv(kernel)  # fail early, with a clear message, on a foreign kernel
    out = atomic.ensure_private_dir(Path(out_dir).absolute())
    name = safe_name(name) if name else report_name(template, checked)
    if name == FAILED_DIR:
        raise InputError(f"report name {FAILED_DIR!r} is reserved", rule="reserved name")
    atomic.recover(out)
    failed_parent = out / FAILED_DIR
    atomic.recover(failed_parent)

    tmp = atomic.new_temp_dir(out, name)
    nb_path = tmp / "report.ipynb"
    run_params = dict(checked)
    if OUTPUT_DIR_PARAM in specs:
        run_params[OUTPUT_DIR_PARAM] = str(tmp)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    meta = {
        "template": str(template),
        "name": name,
        "parameters": redact_params(checked),
        "started": started.isoformat(timespec="seconds"),
        "iopkit": __version__,
    }
    try:
        nb = _execute(
            str(template),
            str(nb_path),
            parameters=run_params,
            kernel_name=kernel,
            progress_bar=False,
            request_save_on_cell_execute=False,
            start_timeout=start_timeout,
            execution_timeout=timeout,
            kernel_manager_class=kernel_manager_class(tmp / "kernel.log", env),
            # every output has arrived when the last cell returns and the notebook writes its
            # files synchronously, so the kernel is stopped at once: a graceful shutdown
            # waits ~0.5 s for ipykernel to exit (2.5 s, then SIGTERM, when it hangs) — a
            # quarter of a small report's time (nbclient ``shutdown_kernel``)
            shutdown_kernel="immediate",
        )
    except BaseException as exc:  # noqa: BLE001 - every failure is recorded, then re-raised
        duration = time.perf_counter() - t0
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        error = _error_summary(exc)
        executed = _read_executed(nb_path)
        error.update(_locate(executed, error["traceback"]))
        kernel_start = not isinstance(exc, PapermillExecutionError) and not _cells_started(
            executed
        )
        error["kernel_start"] = kernel_start
        result = ReportResult(
            name, str(template), checked, "failed", str(failed_parent / name), duration,
            error=error, timings={"execute": round(duration, 3)},
        )
        _keep_failure(tmp, nb_path, template, meta, error, duration)
        atomic.ensure_private_dir(failed_parent)
        atomic.publish(tmp, failed_parent / name)
        raise (KernelStartError if kernel_start else ReportError)(result) from None

    t_executed = time.perf_counter()
    (tmp / "kernel.log").unlink(missing_ok=True)  # kept only with failed reports
    figures = read_figures(nb)
    atomic.write_private_text(tmp / "report.html", to_html(nb, title=name))
    t_exported = time.perf_counter()
    timings = {"execute": round(t_executed - t0, 3), "export": round(t_exported - t_executed, 3)}
    _write_json(
        tmp / "figures.json",
        {
            **meta,
            "status": "ok",
            "duration_s": round(t_exported - t0, 3),
            "timings_s": timings,
            "figures": figures,
        },
    )
    final = out / name
    atomic.publish(tmp, final)
    stale = failed_parent / name
    if stale.exists():
        shutil.rmtree(stale, ignore_errors=True)
    duration = time.perf_counter() - t0
    timings["publish"] = round(duration - timings["execute"] - timings["export"], 3)
    return ReportResult(
        name, str(template), checked, "ok", str(final), duration, figures, timings=timings
    )


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with the password of every URL in a string value (or a list item) hidden
    (:func:`iopkit.privacy.redact_url`): what manifests, records and sidecars store."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return redact_url(value)
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return {k: clean(v) for k, v in params.items()}


def _locate(nb: nbformat.NotebookNode | None, traceback_text: str) -> dict[str, Any]:
    """:func:`failure_location` of a failed run (``{}`` when no cell ran)."""
    return {} if nb is None else failure_location(nb, traceback_text)


def _keep_failure(
    tmp: Path,
    nb_path: Path,
    template: Path,
    meta: Mapping[str, Any],
    error: Mapping[str, Any],
    duration: float,
) -> None:
    """Fill ``tmp`` with what a person needs to debug: notebook, HTML, error.json."""
    if not nb_path.is_file():  # the kernel never started: keep the template for reference
        shutil.copyfile(template, nb_path)
    try:
        nb = nbformat.read(nb_path, as_version=4)
        # a clean error summary on top (no terminal colour codes: export.strip_ansi)
        page = to_html(nb, title=f"FAILED {meta['name']}", failure=error)
        atomic.write_private_text(tmp / "report.html", page)
    except Exception as exc:  # noqa: BLE001 - the error summary matters more than the HTML
        error = {**error, "html_export_error": f"{type(exc).__name__}: {exc}"}
    _write_json(
        tmp / "error.json",
        {**meta, "status": "failed", "duration_s": round(duration, 3), "error": dict(error)},
    )
