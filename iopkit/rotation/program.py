"""The program adapter: a :class:`~iopkit.rotation.problem.RotationProblem` from a program
of ``curriculum/``, and the parsing of what a lead types (weekdays, concern mix).

Every curriculum fact comes from a :class:`~iopkit.curriculum.Curriculum` query: core and
elective skills, facilitator weekdays per skill, prerequisites, minimum gaps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from iopkit.errors import InputError
from iopkit.rotation.coverage import coverage_from_sessions
from iopkit.rotation.problem import RotationPlan, RotationProblem, SolverOptions
from iopkit.rotation.solve import plan_rotation
from iopkit.vocab import PATIENT_CONCERNS, WEEKDAYS

if TYPE_CHECKING:  # the curriculum object is passed in; only its queries are called
    from iopkit.curriculum import Curriculum


def parse_weekdays(text: str | Iterable[str | int]) -> list[int]:
    """Parse ``"mon,wed"`` / ``["Mon", 2]`` into sorted weekday numbers (Mon = 0)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    days: set[int] = set()
    for item in items:
        if isinstance(item, int):
            day = item
        else:
            key = str(item).strip().lower()[:3]
            if not key:
                continue
            if key not in WEEKDAYS:
                raise InputError(
                    f"unknown weekday {item!r}; use mon, tue, wed, thu, fri, sat or sun"
                )
            day = WEEKDAYS.index(key)
        if not 0 <= day <= 6:
            raise InputError(f"weekday {day} out of range 0 (Mon) – 6 (Sun)")
        days.add(day)
    return sorted(days)


def parse_mix(text: str | Mapping[str, float] | None) -> dict[str, float] | None:
    """Parse ``"depression=0.5,anxiety=0.3"`` into shares that sum to 1.

    Shares may be given as counts (``depression=12,anxiety=8``); they are divided by
    their total. Concerns follow the patients-table vocabulary (docs/architecture.md).
    """
    if text is None:
        return None
    if isinstance(text, Mapping):
        items = list(text.items())
    else:
        items = []
        for part in str(text).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise InputError(
                    f"concern mix entry {part.strip()!r} is not concern=share "
                    "(e.g. depression=0.5,anxiety=0.3,insomnia=0.2)"
                )
            k, v = part.split("=", 1)
            try:
                items.append((k.strip(), float(v)))
            except ValueError:
                raise InputError(f"concern mix share {v.strip()!r} is not a number") from None
    mix: dict[str, float] = {}
    for k, v in items:
        if k not in PATIENT_CONCERNS:
            raise InputError(f"unknown concern {k!r} in the mix; use {', '.join(PATIENT_CONCERNS)}")
        if not math.isfinite(v) or v < 0:
            raise InputError(f"share of {k} must be a finite number ≥ 0, got {v}")
        if k in mix:
            raise InputError(f"concern {k!r} is given twice in the mix; give each concern once")
        mix[k] = float(v)
    total = sum(mix.values())
    if total <= 0:
        raise InputError("the concern mix has no positive share")
    return {k: v / total for k, v in mix.items()}


def elective_weights(targets: Mapping[str, Sequence[str]], mix: Mapping[str, float]) -> dict:
    """Weight of each skill = the share of the cohort whose concern it targets.

    ``weight = Σ mix[t] over the skill's target concerns`` (+ the mean share for
    transdiagnostic ``general`` skills, which serve everyone a little) + 0.05 so that no
    elective is worthless. Example: with 60 % insomnia, sleep skills weigh ~0.65 and a
    panic-only skill 0.05.
    """
    mean_share = sum(mix.values()) / max(1, len(mix))
    out = {}
    for skill, ts in targets.items():
        w = sum(mix.get(t, 0.0) for t in ts if t != "general")
        if "general" in ts:
            w += mean_share
        out[skill] = round(w + 0.05, 4)
    return out


def sessions_for_days(weekdays: Sequence[int], days: int) -> int:
    """Fewest sessions apart that always span at least ``days`` calendar days.

    With Mon/Wed/Fri sessions, 7 days need 3 sessions (Mon→Mon); with Mon–Fri, 5.
    """
    wd = sorted(weekdays)
    n = len(wd)
    gaps = [(wd[(i + 1) % n] - wd[i]) % 7 or 7 for i in range(n)]
    g = 1
    while min(sum(gaps[(i + k) % n] for k in range(g)) for i in range(n)) < days:
        g += 1
    return g


def problem_from_program(
    curriculum: Curriculum,
    program_id: str,
    *,
    mix: Mapping[str, float] | str | None = None,
    admit_days: Sequence[int] | str | None = None,
    attendance_margin: float = 1.0,
    cycle_weeks: int | None = None,
    max_modality_gap: int | None = None,
    max_modality_run: int | None = None,
    min_repeat_gap: int | None = None,
    fixed: Mapping[str, Sequence[int] | str] | None = None,
) -> RotationProblem:
    """Build a :class:`RotationProblem` from a program of ``curriculum/``.

    Pool = the program's core + elective group skills (catalog order); window = the
    shortest stay (``min_weeks`` × days a week); admission days = the program's (or
    ``admit_days``); facilitator availability = the days of facilitators holding each
    skill's training (when the program lists facilitators); ``min_days_after`` turns into
    a session lag (:func:`sessions_for_days`); elective weights from the concern ``mix``
    (default: the program's concerns in equal shares).
    """
    prog = curriculum.program(program_id)
    core = list(curriculum.core_skills(program_id))
    pool = [
        s.id
        for s in curriculum.rotating_skills()
        if s.id in set(core) | set(curriculum.elective_skills(program_id))
    ]
    skills = {s: curriculum.skill(s) for s in pool}
    mix_d = parse_mix(mix) if mix is not None else None
    if mix_d is None:
        concerns = [c for c in prog.concerns if c != "general"] or ["depression"]
        mix_d = {c: 1 / len(concerns) for c in concerns}
    weights = elective_weights({s: list(k.targets) for s, k in skills.items()}, mix_d)
    pool_set = set(pool)
    # only the facilitator days that rule out some program day constrain the plan
    skill_days = {
        s: days
        for s, days in curriculum.skill_weekdays(program_id).items()
        if s in pool_set and not set(prog.weekdays) <= set(days)
    }
    requires = {s: [p for p in k.requires] for s, k in skills.items() if k.requires}
    after = {s: [p for p in k.after if p in pool_set] for s, k in skills.items() if k.after}
    lags = {
        (p, s): sessions_for_days(prog.weekdays, d)
        for (p, s), d in curriculum.min_gaps().items()
        if s in pool_set
    }
    admit = parse_weekdays(admit_days) if admit_days is not None else list(prog.admission_weekdays)
    fixed_d = {k: parse_weekdays(v) for k, v in (fixed or {}).items()}
    for k in fixed_d:
        curriculum.skill(k)  # InputError with a suggestion for an unknown id
    spw = prog.sessions_per_week
    return RotationProblem(
        skills=pool,
        core=set(core),
        modality={s: k.modality for s, k in skills.items()},
        weekdays=list(prog.weekdays),
        window=prog.min_sessions,
        cycle_length=None if cycle_weeks is None else cycle_weeks * spw,
        attendance_margin=attendance_margin,
        admit_weekdays=admit,
        requires=requires,
        after=after,
        weights=weights,
        fixed=fixed_d,
        max_modality_gap=max_modality_gap,
        max_modality_run=max_modality_run,
        min_repeat_gap=min_repeat_gap,
        stay_weeks=prog.min_weeks,
        skill_days=skill_days,
        min_sessions_after=lags,
    )


def plan_program(
    curriculum: Curriculum,
    program_id: str,
    *,
    options: SolverOptions | None = None,
    **request: Any,
) -> RotationPlan:
    """:func:`problem_from_program` (``request`` = its keyword arguments) then
    :func:`~iopkit.rotation.solve.plan_rotation` with ``options``.

    The default :class:`SolverOptions` use one worker: the same request gives the same
    rotation (each shipped program solves to optimality in well under a second).
    """
    return plan_rotation(
        problem_from_program(curriculum, program_id, **request),
        options=options,
    )


def delivered_coverage(
    curriculum: Curriculum,
    program_id: str,
    sessions: pd.DataFrame,
    *,
    admit_days: Sequence[int] | str | None = None,
    attendance_p: float = 0.85,
) -> pd.DataFrame:
    """:func:`~iopkit.rotation.coverage.coverage_from_sessions` of delivered ``sessions``
    (``date, skill_id``, optional ``cohort_id``: one group per cohort) against the
    program's core skills, minimum stay, admission days (or ``admit_days``), every
    skill's prerequisites and minimum gaps (as session lags, :func:`sessions_for_days`).
    """
    prog = curriculum.program(program_id)
    admit = parse_weekdays(admit_days) if admit_days is not None else prog.admission_weekdays
    return coverage_from_sessions(
        sessions,
        core=curriculum.core_skills(program_id),
        window=prog.min_sessions,
        admit_weekdays=admit,
        requires=curriculum.prerequisites(),
        attendance_p=attendance_p,
        group_col="cohort_id" if "cohort_id" in sessions.columns else None,
        lags={k: sessions_for_days(prog.weekdays, d) for k, d in curriculum.min_gaps().items()},
    )
