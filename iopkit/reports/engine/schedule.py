"""Batch schedules: a YAML file of report jobs, expanded into a flat list of :class:`Job`.

A :class:`Job` is plain data (template, parameters, name, timeout). It says nothing about
how it is executed: :mod:`iopkit.reports.engine.batch` runs jobs in a local process pool, and the
same list could be handed to another executor (Airflow's dynamic task mapping,
https://airflow.apache.org/docs/apache-airflow/stable/authoring-and-scheduling/dynamic-task-mapping.html;
a Kubernetes Indexed Job, https://kubernetes.io/docs/concepts/workloads/controllers/job/).

Schedule format (paths are relative to the schedule file; ``{var}`` placeholders are filled
from ``vars``, from ``--var key=value`` on the command line, and from the grid row)::

    name: weekly
    out: ../weekly            # output folder (``iopkit run --out`` overrides)
    workers: 2
    timeout: 600              # seconds per notebook cell
    retries: 1                # orchestrators (Airflow) retry a failed job task once (0–10)
    retry_delay_s: 60         # seconds before such a retry
    job_timeout_s: 3600       # orchestrators stop a job task after this long (optional)
    vars:
      data: /srv/iop/bundle
    jobs:
      - template: program_outcomes          # notebooks/program_outcomes.ipynb
        name: program
        params: {data_source: "{data}"}
      - template: cohort_outcomes
        name: "outcomes-{cohort_id}"
        for_each: {expand: active_cohorts, source: "{data}"}
        params: {data_source: "{data}", cohort_id: "{cohort_id}"}
      - template: cohort_outcomes
        for_each: {grid: {cohort_id: ["C01", "C02"], end_date: ["2026-03-31"]}}
        params: {data_source: "{data}", cohort_id: "{cohort_id}", end_date: "{end_date}"}

``for_each`` is either ``grid`` (a literal parameter grid; the Cartesian product of the
lists) or ``expand`` (rows derived from the data by a registered grid kind, see
:data:`EXPANDERS` and :func:`register_expander`; the data grids are in
:mod:`iopkit.reports.grids`). A parameter value
that is exactly ``"{key}"`` takes the row's value with its type; any other string is
formatted as text and coerced by the template's declared type.
"""

from __future__ import annotations

import itertools
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iopkit.errors import ConfigError, InputError
from iopkit.resources import notebooks_dir
from iopkit.yamlio import did_you_mean, load_yaml, validate_model


@dataclass(frozen=True)
class Job:
    """One report to produce: a template, its parameters and the report's folder name.

    ``text_params`` names the parameters whose values are command-line style text (filled
    from placeholders) and are coerced by the template's declared types (a sorted tuple, so a
    job is plain JSON: :meth:`to_json` / :meth:`from_json` round-trip it, e.g. through
    Airflow's XCom). ``timeout`` is per notebook cell, in seconds.
    """

    name: str
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    timeout: float = 600
    text_params: tuple[str, ...] = ()
    kernel: str = "python3"

    def __post_init__(self) -> None:
        object.__setattr__(self, "text_params", tuple(sorted(set(self.text_params))))

    def key(self) -> dict[str, Any]:
        """What identifies the job's output (used by ``--resume`` to detect changes)."""
        return {"template": self.template, "params": self.params}

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-ready plain data (lists and dicts of scalars)."""
        return {
            "name": self.name,
            "template": self.template,
            "params": dict(self.params),
            "timeout": self.timeout,
            "text_params": list(self.text_params),
            "kernel": self.kernel,
        }

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict` (``Job.from_json(job.to_json()) == job``)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        """A job from :meth:`to_dict` output; unknown keys are an error (no silent drop)."""
        known = {f.name for f in fields(cls)}
        extra = sorted(set(data) - known)
        if extra:
            raise InputError(f"job record has unknown key(s) {extra}", rule="job schema")
        if "name" not in data or "template" not in data:
            raise InputError("job record needs `name` and `template`", rule="job schema")
        values = dict(data)
        values["text_params"] = tuple(values.get("text_params", ()))
        values["params"] = dict(values.get("params") or {})
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> Job:
        """Inverse of :meth:`to_json`."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"job record is not JSON: {exc}", rule="job schema") from None
        if not isinstance(data, dict):
            raise InputError("job record must be a JSON object", rule="job schema")
        return cls.from_dict(data)


@dataclass(frozen=True)
class Schedule:
    """A parsed, expanded schedule.

    ``retries``, ``retry_delay_s`` and ``job_timeout_s`` (whole job, seconds; ``None`` = no
    limit beyond the per-cell timeouts) are for orchestrators that retry or time out a whole
    task (Airflow, :mod:`iopkit.integrations.airflow`); the local and Dask executors retry
    only a kernel that did not start, and ``--resume`` re-runs what failed.
    """

    name: str
    path: str
    out: str
    workers: int
    jobs: list[Job]
    retries: int = 0
    retry_delay_s: float = 60
    job_timeout_s: float | None = None


# --- YAML model ------------------------------------------------------------------------------
class _ForEach(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grid: dict[str, list[Any]] | None = None
    expand: str | None = None
    source: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> _ForEach:
        if (self.grid is None) == (self.expand is None):
            raise ValueError("for_each needs exactly one of `grid` or `expand`")
        if self.expand is not None and self.source is None:
            raise ValueError("for_each.expand needs a data `source`")
        return self


class _JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str
    name: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    for_each: _ForEach | None = None
    timeout: float | None = Field(default=None, gt=0)


class _ScheduleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    out: str | None = None
    workers: int = Field(default=1, ge=1, le=64)
    timeout: float = Field(default=600, gt=0)
    retries: int = Field(default=0, ge=0, le=10)
    retry_delay_s: float = Field(default=60, ge=0, le=86400)
    job_timeout_s: float | None = Field(default=None, gt=0)
    vars: dict[str, Any] = Field(default_factory=dict)
    jobs: list[_JobSpec] = Field(min_length=1)


# --- expander registry -----------------------------------------------------------------------
class Expander(Protocol):
    """A grid kind: rows of placeholder values derived from a data source.

    Called as ``expander(source, options, memo)``: ``source`` is the job's ``for_each.source``
    (placeholders filled), ``options`` its ``for_each.options``, and ``memo`` a dict that lives
    for one :func:`load_schedule` call (expanders keep what they read there, so several jobs
    over one source read it once). Returns one dict per report.
    """

    def __call__(
        self, source: str, options: Mapping[str, Any], memo: dict[str, Any]
    ) -> list[dict[str, Any]]: ...


#: Grid kinds usable as ``for_each: {expand: NAME, source: ...}``, by name. The engine ships
#: none: the data-driven ones (``cohorts``, ``active_cohorts``, ``episodes``,
#: ``flagged_episodes``) are registered by :mod:`iopkit.reports.grids`.
EXPANDERS: dict[str, Expander] = {}


def register_expander(name: str) -> Callable[[Expander], Expander]:
    """Decorator registering a grid kind under ``name`` (a second, different one is an error)."""

    def register(fn: Expander) -> Expander:
        if EXPANDERS.get(name, fn) is not fn:
            raise ValueError(f"an expander named {name!r} is already registered")
        EXPANDERS[name] = fn
        return fn

    return register


# --- loading ---------------------------------------------------------------------------------
def _placeholders(text: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


def _fill(text: str, values: Mapping[str, Any], where: str) -> str:
    missing = [p for p in _placeholders(text) if p not in values]
    if missing:
        raise ConfigError(f"{where}: unknown placeholder(s) {missing} in {text!r}")
    return text.format_map(dict(values))


def resolve_template(template: str, base: Path) -> Path:
    """A template path: absolute; relative to ``base`` (the schedule's folder); or a bare name
    of a shipped template (:func:`iopkit.resources.notebooks_dir`, e.g. ``cohort_outcomes``)."""
    candidates = []
    p = Path(template)
    if p.is_absolute():
        candidates.append(p)
    else:
        candidates.append(base / p)
        if not p.suffix:
            candidates.append(base / p.with_suffix(".ipynb"))
        if len(p.parts) == 1:
            candidates.append(notebooks_dir() / p.with_suffix(".ipynb"))
    for c in candidates:
        if c.is_file():
            return c.resolve()
    raise ConfigError(
        f"report template {template!r} not found (looked in {', '.join(map(str, candidates))})"
    )


def _resolve_path_var(value: Any, base: Path) -> Any:
    """Vars that look like relative paths are made absolute against the schedule folder."""
    if isinstance(value, str) and (value.startswith("./") or value.startswith("../")):
        return str((base / value).resolve())
    return value


def _read_spec(path: str | Path) -> tuple[_ScheduleSpec, Path]:
    """The validated YAML model of a schedule file (nothing expanded yet)."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder; give the schedule YAML file", file=str(path))
    if not path.is_file():
        raise InputError("schedule file not found", file=str(path))
    where = str(path)
    doc = load_yaml(path, what="schedule", top=None)  # dates stay text, duplicate keys refused
    if doc.data is None:
        raise ConfigError(f"{where}: the schedule is empty; it needs at least `name` and `jobs`")
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"{where}: the schedule must be a mapping of keys (name, out, workers, timeout, "
            f"retries, retry_delay_s, job_timeout_s, vars, jobs), not a "
            f"{type(doc.data).__name__}"
        )
    spec, problems = validate_model(_ScheduleSpec, doc)
    if spec is None:
        msgs = "; ".join(
            f"{p.key or 'top level'}" + (f" (line {p.line})" if p.line else "") + f": {p.message}"
            for p in problems
        )
        raise ConfigError(f"{where}: schedule does not match the schema: {msgs}")
    return spec, path


def schedule_settings(path: str | Path) -> dict[str, Any]:
    """A schedule's top-level settings without expanding its jobs (no data is read): ``name``,
    ``workers``, ``timeout``, ``retries``, ``retry_delay_s``, ``job_timeout_s``. An orchestrator
    reads these when it parses its DAG file; the jobs are expanded when the DAG runs."""
    spec, path = _read_spec(path)
    return {
        "name": spec.name or path.stem,
        "workers": spec.workers,
        "timeout": spec.timeout,
        "retries": spec.retries,
        "retry_delay_s": spec.retry_delay_s,
        "job_timeout_s": spec.job_timeout_s,
    }


def load_schedule(
    path: str | Path,
    *,
    variables: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    expanders: Mapping[str, Expander] | None = None,
) -> Schedule:
    """Read and expand a schedule file into jobs.

    ``variables`` override the file's ``vars``; ``out`` overrides its ``out``. Raises
    :class:`ConfigError` naming the file and the problem (schema, unknown placeholder,
    duplicate job name, missing template).
    """
    spec, path = _read_spec(path)
    where = str(path)
    base = path.parent.resolve()
    vars_ = {k: _resolve_path_var(v, base) for k, v in spec.vars.items()}
    vars_.update({k: v for k, v in (variables or {}).items()})
    table = dict(EXPANDERS, **(expanders or {}))
    memo: dict[str, Any] = {}  # what the expanders read, for this call only
    jobs: list[Job] = []
    for i, js in enumerate(spec.jobs, start=1):
        jwhere = f"{where}: job {i} ({js.template})"
        template = resolve_template(js.template, base)
        rows: Iterable[Mapping[str, Any]] = [{}]
        if js.for_each is not None:
            rows = _rows(js.for_each, vars_, table, memo, jwhere)
        for row in rows:
            values = {**vars_, **row}
            params: dict[str, Any] = {}
            text: set[str] = set()
            for key, value in js.params.items():
                if isinstance(value, str):
                    m = re.fullmatch(r"\{(\w+)\}", value)
                    if m and m.group(1) in values and not isinstance(values[m.group(1)], str):
                        params[key] = values[m.group(1)]
                        continue
                    params[key] = _fill(value, values, jwhere)
                    if _placeholders(value):
                        text.add(key)
                else:
                    params[key] = value
            if js.name:
                name = _fill(js.name, values, jwhere)
            else:
                from iopkit.reports.engine.runner import report_name

                name = report_name(template, params)
            from iopkit.reports.engine.runner import safe_name

            jobs.append(
                Job(
                    name=safe_name(name),
                    template=str(template),
                    params=params,
                    timeout=js.timeout or spec.timeout,
                    text_params=tuple(text),
                )
            )
    seen: dict[str, int] = {}
    for job in jobs:
        seen[job.name] = seen.get(job.name, 0) + 1
    dupes = sorted(n for n, c in seen.items() if c > 1)
    if dupes:
        raise ConfigError(f"{where}: several jobs would write the same report folder: {dupes}")
    out_dir = out if out is not None else spec.out
    if out_dir is None:
        raise ConfigError(f"{where}: no `out` folder in the schedule and none given (--out)")
    out_path = Path(_fill(str(out_dir), vars_, where)) if out is None else Path(out_dir)
    if not out_path.is_absolute():
        out_path = (base / out_path) if out is None else out_path.absolute()
    return Schedule(
        name=spec.name or path.stem,
        path=str(path.resolve()),
        out=str(out_path.resolve()),
        workers=spec.workers,
        jobs=jobs,
        retries=spec.retries,
        retry_delay_s=spec.retry_delay_s,
        job_timeout_s=spec.job_timeout_s,
    )


def _rows(
    fe: _ForEach,
    vars_: Mapping[str, Any],
    table: Mapping[str, Expander],
    memo: dict[str, Any],
    where: str,
) -> list[dict[str, Any]]:
    if fe.grid is not None:
        keys = list(fe.grid)
        combos = itertools.product(*fe.grid.values())
        return [dict(zip(keys, combo, strict=True)) for combo in combos]
    assert fe.expand is not None and fe.source is not None
    if fe.expand not in table:
        known = ", ".join(sorted(table)) or "none registered"
        raise ConfigError(
            f"{where}: unknown expander {fe.expand!r}{did_you_mean(fe.expand, table)} "
            f"(known: {known}; the data grids register when iopkit.reports.grids is imported)"
        )
    source = _fill(fe.source, vars_, where)
    options = {
        k: (_fill(v, vars_, where) if isinstance(v, str) else v) for k, v in fe.options.items()
    }
    return table[fe.expand](source, options, memo)
