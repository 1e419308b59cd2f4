"""A cohort's dated plan in one call: what ``iopkit plan`` and the ``curriculum_plan``
notebook both run.

:func:`make_plan` plans the program's rotation (:func:`~iopkit.rotation.program.plan_program`),
recounts its coverage per admission slot, compares it with the baselines, lays it on the
calendar (:func:`iopkit.calendar.build_calendar`), recounts coverage on the dated sessions,
and optionally shows one patient's stay (:func:`iopkit.calendar.patient_view`).
:func:`plan_inputs` resolves program, start date and concern mix from a cohort of a data
bundle; :func:`stay_sessions` gives the sessions a patient of a cohort can attend.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from iopkit.calendar import (
    ProgramCalendar,
    build_calendar,
    check_cohort_id,
    file_stem,
    patient_view,
    to_csv,
    to_ics,
    to_xlsx,
)
from iopkit.errors import InputError
from iopkit.rotation.baselines import compare_with_baselines
from iopkit.rotation.coverage import coverage_from_sessions, coverage_matrix, coverage_summary
from iopkit.rotation.problem import RotationPlan, RotationProblem, SolverOptions
from iopkit.rotation.program import parse_mix, plan_program

if TYPE_CHECKING:
    from iopkit.curriculum import Curriculum


@dataclass
class CohortPlan:
    """Everything :func:`make_plan` computed; the dated parts are ``None`` when no rotation
    was planned (``plan.explanation`` says why).

    Attributes:
        plan: the rotation (one cycle), its status and the solver's stages.
        mix: the concern shares the electives were weighted by (``None``: the program's
            concerns in equal shares).
        calendar: dated sessions, agendas and skipped closures over the horizon.
        coverage: one row per admission slot of the cycle
            (:func:`~iopkit.rotation.coverage.coverage_table`, full minimum stay).
        comparison: planned rotation vs the baselines
            (:func:`~iopkit.rotation.baselines.compare_with_baselines`).
        exposures: times each core skill is taught in the minimum stay after each
            admission slot (:func:`~iopkit.rotation.coverage.coverage_matrix`).
        dated_coverage: coverage of the dated sessions, one row per admission date
            (:func:`~iopkit.rotation.coverage.coverage_from_sessions`).
        patient: one patient's view of the dated plan, admitted on ``patient_admit``.
    """

    plan: RotationPlan
    mix: dict[str, float] | None
    calendar: ProgramCalendar | None = None
    coverage: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    exposures: pd.DataFrame | None = None
    dated_coverage: pd.DataFrame | None = None
    patient: pd.DataFrame | None = None
    patient_admit: date | None = None

    @property
    def ok(self) -> bool:
        return self.plan.ok

    @property
    def problem(self) -> RotationProblem:
        return self.plan.problem

    def dated(self) -> ProgramCalendar:
        """The dated calendar; InputError with the planner's reasons when there is none."""
        if self.calendar is None:
            raise InputError(
                f"no rotation planned ({self.plan.status}): " + " ".join(self.plan.explanation),
                rule="a feasible rotation",
            )
        return self.calendar

    def coverage_summary(self) -> pd.Series:
        """:func:`~iopkit.rotation.coverage.coverage_summary` of the cycle's coverage
        (InputError, as :meth:`dated`, when no rotation was planned)."""
        self.dated()
        assert self.coverage is not None  # set together with the calendar
        return coverage_summary(self.coverage)

    def dated_summary(self) -> pd.Series | None:
        """Summary of the dated coverage; ``None`` when no admission date has a full
        minimum stay inside the horizon."""
        cov = self.dated_coverage
        if cov is None or not len(cov) or not cov["window_complete"].any():
            return None
        return coverage_summary(cov)

    def write(
        self,
        out: str | Path,
        *,
        tz: str | None = None,
        floating: bool = False,
        per_facilitator: bool = False,
    ) -> list[Path]:
        """Write the plan's files into folder ``out`` (created); their paths, in order.

        ``rotation.csv``, ``coverage.csv`` (one row per admission slot), ``baselines.csv``,
        the calendar CSVs (sessions, agendas, closures), ``calendar.ics``, ``calendar.xlsx``
        and, with a patient view, ``patient_<admit date>.csv``. With a cohort
        (``make_plan(cohort_id=...)``) every name carries it (``calendar_C01.ics`` …), so
        several cohorts' plans share a folder. The ``.ics`` is in ``tz`` or the program's
        zone (``floating``: floating local times) and continues the SEQUENCE numbers of
        the file it replaces (:func:`iopkit.calendar.to_ics`). ``per_facilitator``: also
        one ``calendar_<cohort>_<facilitator>.ics`` per facilitator with the sessions they
        can lead. ``iopkit plan`` and the plan report both call this.
        """
        cal, cov, comparison = self.dated(), self.coverage, self.comparison
        if cov is None or comparison is None:
            raise InputError("no rotation was planned, so there is nothing to write",
                             rule="plan infeasible")  # fmt: skip
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        cohort = cal.cohort_id

        def name(stem: str, suffix: str, facilitator: str = "") -> Path:
            return folder / f"{file_stem(stem, cohort, facilitator)}{suffix}"

        paths = [name("rotation", ".csv"), name("coverage", ".csv"), name("baselines", ".csv")]
        self.plan.rotation.to_csv(paths[0], index=False)
        cov.to_csv(paths[1], index=False)
        comparison.to_csv(paths[2], index=False)
        paths += to_csv(cal, folder)
        paths.append(to_ics(cal, name("calendar", ".ics"), tz=tz, floating=floating))
        paths.append(to_xlsx(cal, name("calendar", ".xlsx"), coverage=cov, comparison=comparison))
        if per_facilitator:
            for fid in self.facilitators():
                paths.append(
                    to_ics(cal, name("calendar", ".ics", fid), tz=tz, floating=floating,
                           facilitator=fid)
                )  # fmt: skip
        if self.patient is not None:
            paths.append(name(f"patient_{self.patient_admit}", ".csv"))
            self.patient.to_csv(paths[-1], index=False)
        return paths

    def facilitators(self) -> list[str]:
        """Facilitator ids who can lead at least one dated session, in first-seen order."""
        cal = self.dated()
        ids: dict[str, None] = {}
        for cell in cal.sessions.get("facilitators", []):
            for fid in str(cell).split(";"):
                if fid:
                    ids.setdefault(fid, None)
        return list(ids)


def make_plan(
    curriculum: Curriculum,
    program_id: str,
    start: date,
    weeks: int,
    *,
    options: SolverOptions | None = None,
    closures: Mapping[date, str] | Iterable[date] = (),
    on_closure: str = "realign",
    attendance_p: float = 0.85,
    patient_admit: date | None = None,
    patient_discharge: date | None = None,
    cohort_id: str = "",
    **request: Any,
) -> CohortPlan:
    """Plan ``program_id``, date it from ``start`` over ``weeks`` weeks and prove coverage.

    ``request``: keyword arguments of :func:`~iopkit.rotation.program.problem_from_program`
    (``mix``, ``admit_days``, ``attendance_margin``, ``cycle_weeks``, ``max_modality_gap``,
    ``max_modality_run``, ``min_repeat_gap``, ``fixed``). ``closures``: dates (or date →
    reason) closed on top of the program's own; ``on_closure``: see
    :func:`iopkit.calendar.build_calendar`. ``attendance_p``: per-session attendance
    probability of the expected-coverage columns. ``patient_admit`` (on or after
    ``start``) and ``patient_discharge``: one patient's stay to show. The patient dates
    are checked before the solver runs. ``cohort_id``: the cohort named in the calendar's
    titles, file names and UIDs (checked before the solver runs too).
    """
    check_cohort_id(cohort_id)
    if patient_discharge is not None and patient_admit is None:
        raise InputError(
            "a patient discharge date needs the admission date of that patient",
            rule="discharge with admission",
        )
    if patient_admit is not None and patient_admit < start:
        raise InputError(
            f"the patient admission {patient_admit} is before the calendar starts ({start}); "
            "the sessions before the start are not planned, so that patient's view would be "
            "wrong",
            rule="admission inside the calendar",
        )
    plan = plan_program(curriculum, program_id, options=options, **request)
    mix = request.get("mix")
    out = CohortPlan(plan, parse_mix(mix) if mix is not None else None)
    if not plan.ok:
        return out
    prob = plan.problem
    out.coverage = plan.coverage(attendance_p)
    out.comparison = compare_with_baselines(plan, curriculum, attendance_p=attendance_p)
    out.exposures = coverage_matrix(
        plan.sequence,
        core=prob.core,
        window=prob.window,
        weekdays=prob.weekdays,
        admit_weekdays=prob.admit_weekdays,
    )
    out.calendar = build_calendar(
        plan.rotation,
        curriculum=curriculum,
        program_id=program_id,
        start=start,
        weeks=weeks,
        extra_closures=closures,
        on_closure=on_closure,
        allowed=prob.restricted_weekdays(),
        cohort_id=cohort_id,
    )
    out.dated_coverage = coverage_from_sessions(
        out.calendar.sessions,
        core=prob.core,
        window=prob.window,
        admit_weekdays=prob.admit_weekdays,
        requires=prob.requires,
        attendance_p=attendance_p,
        group_col=None,
        lags=prob.min_sessions_after,
    )
    if patient_admit is not None:
        out.patient_admit = patient_admit
        out.patient = patient_view(
            out.calendar.sessions,
            admit_date=patient_admit,
            core=prob.core,
            min_sessions=prob.window,
            discharge_date=patient_discharge,
        )
    return out


LAB_OUTPUT_ENV = "IOPKIT_LAB_OUTPUT"  # set by `make lab` to <project>/reports/lab


def export_folder(output_dir: str | Path, name: str) -> Path:
    """Where a notebook run writes its exports (``.ics``, ``.xlsx``, ``.csv``).

    ``output_dir`` when given (the report runner always sets it); otherwise — an
    interactive run in JupyterLab — ``$IOPKIT_LAB_OUTPUT/<name>`` (``make lab`` sets it to
    ``reports/lab``), else ``reports/lab/<name>`` under the project (the nearest folder
    up from the working folder holding ``pyproject.toml``), else under the working folder.
    So exports never land beside the templates in ``notebooks/``.
    """
    if str(output_dir):
        return Path(output_dir)
    env = os.environ.get(LAB_OUTPUT_ENV, "")
    if env:
        return Path(env) / name
    here = Path.cwd().resolve()
    root = next((p for p in (here, *here.parents) if (p / "pyproject.toml").is_file()), here)
    return root / "reports" / "lab" / name


@dataclass(frozen=True)
class PlanInputs:
    """Program, first day and concern mix of a plan (:func:`plan_inputs`)."""

    program_id: str
    start: date
    mix: dict[str, float] | None
    mix_text: str


def plan_inputs(
    curriculum: Curriculum,
    tables: Mapping[str, pd.DataFrame] | None = None,
    *,
    cohort_id: str = "",
    program_id: str = "",
    start_date: str = "",
    concern_mix: str = "",
) -> PlanInputs:
    """Resolve the plan's program, start date and concern mix from parameters and a cohort.

    Explicit parameters win; otherwise the cohort's program and start date (``tables``:
    a bundle's ``cohorts``, ``episodes`` and ``patients``), and the mix of its patients'
    primary concerns (counts → shares, :func:`~iopkit.rotation.program.parse_mix`). With
    neither a program nor a cohort: the curriculum's default program
    (:meth:`iopkit.curriculum.Curriculum.default_program`). ``concern_mix`` is written
    ``depression:0.6,anxiety:0.4`` (``=`` also accepted).
    """
    cohort = None
    if tables is not None and cohort_id:
        cohorts = tables["cohorts"].set_index("cohort_id")
        if cohort_id not in cohorts.index:
            raise InputError(f"cohort {cohort_id!r} is not in the cohorts table", rule="cohort")
        cohort = cohorts.loc[cohort_id]
    pid = program_id or (str(cohort["program_id"]) if cohort is not None else "")
    program = curriculum.program(pid) if pid else curriculum.default_program()
    if start_date:
        start = pd.Timestamp(start_date).date()
    elif cohort is not None and pd.notna(cohort.get("start_date")):
        start = pd.Timestamp(cohort["start_date"]).date()
    else:
        raise InputError("no start_date given and the cohort has none", rule="start date")
    if concern_mix:
        mix = parse_mix(concern_mix.replace(":", "="))
        mix_text = concern_mix
    elif tables is not None and cohort is not None:
        eps = tables["episodes"][tables["episodes"]["cohort_id"].astype(str) == cohort_id]
        concerns = tables["patients"].set_index("patient_id").reindex(eps["patient_id"])
        counts = concerns["primary_concern"].value_counts()
        mix = parse_mix({str(k): float(v) for k, v in counts.items()}) if len(counts) else None
        mix_text = ", ".join(f"{k} {v:.0%}" for k, v in (mix or {}).items()) + " (cohort)"
    else:
        mix, mix_text = None, "not given"
    return PlanInputs(program.id, start, mix, mix_text)


def stay_sessions(
    curriculum: Curriculum,
    sessions: pd.DataFrame,
    *,
    cohort_id: str,
    program_id: str,
    admit_date: Any,
    min_sessions: int,
    options: SolverOptions | None = None,
) -> pd.DataFrame:
    """Sessions a patient of ``cohort_id`` admitted on ``admit_date`` can attend.

    ``sessions``: the delivered sessions of a bundle (``cohort_id, date, skill_id``). The
    cohort's delivered sessions come first (``planned`` false); when fewer than
    ``min_sessions`` of them fall on or after admission (an active episode), the program's
    planned rotation (:func:`~iopkit.rotation.program.plan_program`, default options:
    one worker, 5 s) continues from the day after the last delivered session (``planned``
    true), so a make-up list can name future dates.
    """
    s = sessions[sessions["cohort_id"].astype(str) == str(cohort_id)]
    delivered = pd.DataFrame(
        {"date": pd.to_datetime(s["date"]), "skill_id": s["skill_id"], "planned": False}
    ).sort_values("date")
    admit = pd.Timestamp(admit_date)
    have = int((delivered["date"] >= admit).sum())
    if have >= min_sessions:
        return delivered.reset_index(drop=True)
    opts = SolverOptions(time_limit=5.0) if options is None else options
    plan = plan_program(curriculum, program_id, options=opts)
    if plan.rotation.empty:
        raise InputError(f"program {program_id!r} has no feasible rotation to project sessions")
    last = delivered["date"].max() if len(delivered) else admit - pd.Timedelta(days=1)
    per_week = curriculum.program(program_id).sessions_per_week
    weeks = math.ceil((min_sessions - have) / per_week) + 2
    cal = build_calendar(
        plan.rotation,
        curriculum=curriculum,
        program_id=program_id,
        start=(last + pd.Timedelta(days=1)).date(),
        weeks=weeks,
    )
    planned = pd.DataFrame(
        {
            "date": pd.to_datetime(cal.sessions["date"]),
            "skill_id": cal.sessions["skill_id"],
            "planned": True,
        }
    )
    return pd.concat([delivered, planned], ignore_index=True)
