"""What the planner is asked (:class:`RotationProblem`), how it solves (:class:`SolverOptions`)
and what it answers (:class:`RotationPlan`).

The problem holds plain data only (no curriculum objects); :mod:`iopkit.rotation.program`
builds one from a program of ``curriculum/``. Design background: pattern B (self-contained
topics, cycle ≤ stay × attendance) and pattern A (module-boundary entry): iopkit design
decision [D], docs/rotation.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from iopkit.errors import InputError
from iopkit.rotation.coverage import coverage_summary, coverage_table
from iopkit.vocab import WEEKDAYS

Status = Literal["optimal", "feasible", "infeasible", "unknown", "invalid"]

#: Lexicographic objective, most important first (see :mod:`iopkit.rotation.solve`).
STAGES = ("prerequisites", "repeats", "soft_order", "electives")


@dataclass(frozen=True)
class SolverOptions:
    """How CP-SAT solves a :class:`RotationProblem` (not what is asked).

    Attributes:
        deterministic: count ``time_limit`` in CP-SAT's deterministic time units
            (``max_deterministic_time``, about a second of work each) instead of wall-clock
            seconds, so a one-worker plan is the same on a busy or a quiet machine (the
            synthetic generator uses it); a wall-clock cap of 20 × the limit stays as a guard.
        time_limit: solver seconds; a plan never takes much longer than 2 × this (the
            diagnosis of an infeasible request gets a second budget).
        num_workers: CP-SAT workers. 1 (default) gives the same rotation for the same
            request; 2 adds a bound-proving worker that helps long cycles, but equally good
            rotations may then differ between runs.
        seed: CP-SAT random seed.
        diagnose: for an infeasible model, re-solve with one constraint group relaxed at a
            time to say which one is to blame.
        subsolvers: CP-SAT subsolvers, one per worker. With 2 workers CP-SAT's default
            portfolio is [default_lp, fj] whose LP never tightens this model's bound; a
            worker with the full LP relaxation plus symmetry (``max_lp_sym``) proves bounds,
            the default one finds solutions. ``()`` keeps CP-SAT's own portfolio.
        elective_subsolvers: the same for the electives stage, whose objective (a weight
            per distinct elective) the reduced-cost-guided search proves faster (24-week
            cycle: proved in 4–9 s, against 15–25 s or no proof within a 30 s plan with
            ``max_lp_sym``; docs/performance.md).
        prereq_encoding: ``"chain"``: recursive per-slot encoding of prerequisite order
            (fast); ``"window"``: one clause per (admission, skill occurrence) — the direct
            encoding, kept as the benchmark's baseline.
        tile_hint: start a multi-stay cycle from the tiled optimum of a stay-long cycle.
        w_requires, w_repeat, w_after: weights that turn the lexicographic stage values into
            the single reported ``objective``/``bound`` (objective = Σ weight × stage value;
            the electives stage has weight 1). They do not change the rotation found.
        w_elective_max: weight of a distinct elective taught, scaled by its concern weight
            (the heaviest elective gets this much).
        w_elective_order: bonus per elective session that follows its ``after`` skill.
    """

    time_limit: float = 10.0
    deterministic: bool = False
    num_workers: int = 1
    seed: int = 0
    diagnose: bool = True
    subsolvers: tuple[str, ...] = ("max_lp_sym", "default_lp")
    elective_subsolvers: tuple[str, ...] = ("reduced_costs", "default_lp")
    prereq_encoding: Literal["chain", "window"] = "chain"
    tile_hint: bool = True
    w_requires: int = 1000
    w_repeat: int = 200
    w_after: int = 40
    w_elective_max: int = 30
    w_elective_order: int = 5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise InputError(
                f"time limit must be a finite number of seconds > 0, got {self.time_limit}"
            )
        if self.num_workers < 1:
            raise InputError(f"CP-SAT needs at least 1 worker, got {self.num_workers}")
        if self.prereq_encoding not in ("chain", "window"):
            raise InputError(
                f"prerequisite encoding must be 'chain' or 'window', got {self.prereq_encoding!r}"
            )

    @property
    def stage_weights(self) -> dict[str, int]:
        """Weight of each stage of :data:`STAGES` in the reported objective."""
        return {
            "prerequisites": self.w_requires,
            "repeats": self.w_repeat,
            "soft_order": self.w_after,
            "electives": 1,
        }


@dataclass
class RotationProblem:
    """Plain inputs of the planner (no curriculum objects needed).

    Attributes:
        skills: skill ids the program may teach (the pool), in catalog (module) order.
        core: skill ids every patient must meet within the minimum stay.
        modality: skill id -> modality (e.g. ``"DBT"``, ``"CBT"``).
        weekdays: program days, Mon = 0 (e.g. ``[0, 2, 4]``); slot ``i`` of the cycle falls
            on ``weekdays[i % len(weekdays)]``.
        window: minimum stay in sessions (e.g. 4 weeks × 3 days = 12).
        cycle_length: sessions in the repeating cycle (a multiple of ``len(weekdays)``);
            default = ``window`` rounded up to whole weeks.
        attendance_margin: require coverage within ``floor(margin × window)`` sessions.
        admit_weekdays: weekdays on which patients may start (default: every program day).
        requires: skill -> hard prerequisites (met before the skill).
        after: skill -> soft predecessors (preferred before the skill).
        weights: skill -> elective weight ≥ 0 (e.g. from the cohort's concern mix).
        fixed: skill -> weekdays it must be taught on (it is taught at least once per cycle,
            and only on those days), e.g. sleep education on Mondays.
        modality_days: modality -> weekdays it can be taught (facilitator availability).
        max_modality_gap: no balanced modality absent for more than this many sessions.
        max_modality_run: no more than this many sessions of one modality in a row.
        balanced_modalities: modalities the gap rule applies to (default: those of the
            core skills).
        min_repeat_gap: a skill is not taught twice within this many consecutive sessions
            unless needed (soft; default one week = ``len(weekdays)``).
        stay_weeks: minimum stay in weeks, only used to word messages.
        skill_days: skill -> weekdays a facilitator able to teach it works.
        min_sessions_after: (prerequisite, skill) -> sessions that must separate them
            (e.g. 7 nights of sleep diary before sleep restriction); default 1.
    """

    skills: list[str]
    core: set[str]
    modality: dict[str, str]
    weekdays: list[int]
    window: int
    cycle_length: int | None = None
    attendance_margin: float = 1.0
    admit_weekdays: list[int] | None = None
    requires: dict[str, list[str]] = field(default_factory=dict)
    after: dict[str, list[str]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    fixed: dict[str, list[int]] = field(default_factory=dict)
    modality_days: dict[str, list[int]] = field(default_factory=dict)
    max_modality_gap: int | None = None
    max_modality_run: int | None = None
    balanced_modalities: list[str] | None = None
    min_repeat_gap: int | None = None
    stay_weeks: float | None = None
    skill_days: dict[str, list[int]] = field(default_factory=dict)
    min_sessions_after: dict[tuple[str, str], int] = field(default_factory=dict)

    # -- derived -----------------------------------------------------------------------
    @property
    def sessions_per_week(self) -> int:
        return len(self.weekdays)

    @property
    def stay_cycle_length(self) -> int:
        """The minimum stay rounded up to whole weeks (sessions): the default cycle."""
        spw = self.sessions_per_week
        return max(spw, math.ceil(self.window / spw) * spw)

    @property
    def length(self) -> int:
        """Cycle length in sessions."""
        return self.stay_cycle_length if self.cycle_length is None else self.cycle_length

    @property
    def effective_window(self) -> int:
        """Sessions within which every core skill must be met (window × margin, floored)."""
        return max(1, math.floor(self.window * self.attendance_margin + 1e-9))

    @property
    def repeat_gap(self) -> int:
        return self.sessions_per_week if self.min_repeat_gap is None else self.min_repeat_gap

    @property
    def balanced(self) -> list[str]:
        """Modalities the gap rule applies to (default: the core skills' modalities)."""
        if self.balanced_modalities is not None:
            return list(self.balanced_modalities)
        return sorted({self.modality[c] for c in self.core})

    def slot_weekday(self, slot: int) -> int:
        return self.weekdays[slot % self.sessions_per_week]

    def coverage_args(
        self, *, attendance_p: float = 0.85, window: int | None = None
    ) -> dict[str, object]:
        """Keyword arguments of :func:`~iopkit.rotation.coverage.coverage_table` /
        :func:`~iopkit.rotation.baselines.compare_rotations` for this problem: its core,
        weekdays, admission days, prerequisites and lags; ``window`` defaults to the full
        minimum stay (:attr:`window`, sessions)."""
        return dict(
            core=self.core,
            window=self.window if window is None else window,
            weekdays=self.weekdays,
            admit_weekdays=self.admit_weekdays,
            requires=self.requires,
            attendance_p=attendance_p,
            lags=self.min_sessions_after,
        )

    def admission_slots(self) -> list[int]:
        admit = set(self.weekdays if self.admit_weekdays is None else self.admit_weekdays)
        return [i for i in range(self.length) if self.slot_weekday(i) in admit]

    def allowed_weekdays(self, skill: str) -> set[int]:
        """Weekdays on which ``skill`` may be taught (program days ∩ facilitator ∩ fixed)."""
        days = set(self.weekdays)
        mod = self.modality.get(skill)
        if mod in self.modality_days:
            days &= set(self.modality_days[mod])
        if skill in self.fixed:
            days &= set(self.fixed[skill])
        if skill in self.skill_days:
            days &= set(self.skill_days[skill])
        return days

    def restricted_weekdays(self) -> dict[str, list[int]]:
        """Skill -> the weekdays it may be taught, for skills not allowed on every program
        day (the ``allowed`` argument of :func:`iopkit.calendar.build_calendar`)."""
        out = {}
        for s in self.skills:
            days = self.allowed_weekdays(s)
            if days != set(self.weekdays):
                out[s] = sorted(days)
        return out

    def lag(self, prerequisite: str, skill: str) -> int:
        """Sessions by which ``prerequisite`` must precede ``skill`` (≥ 1)."""
        return max(1, self.min_sessions_after.get((prerequisite, skill), 1))

    def validate(self) -> None:
        """Raise :class:`InputError` for inputs that are malformed (not merely infeasible)."""
        if not self.skills:
            raise InputError("the skill pool is empty")
        if len(set(self.skills)) != len(self.skills):
            dup = sorted({s for s in self.skills if self.skills.count(s) > 1})
            raise InputError(f"skills listed twice in the pool: {', '.join(dup)}")
        pool = set(self.skills)
        if missing := sorted(self.core - pool):
            raise InputError(f"core skills not in the pool: {', '.join(missing)}")
        if missing := sorted(s for s in self.skills if s not in self.modality):
            raise InputError(f"no modality given for: {', '.join(missing)}")
        if not self.weekdays or len(set(self.weekdays)) != len(self.weekdays):
            raise InputError(f"program weekdays must be distinct and non-empty: {self.weekdays}")
        if self.window < 1:
            raise InputError(f"minimum stay must be ≥ 1 session, got {self.window}")
        if not 0 < self.attendance_margin <= 1:
            raise InputError(f"attendance margin must be in (0, 1], got {self.attendance_margin}")
        if self.length % self.sessions_per_week:
            raise InputError(
                f"cycle length {self.length} is not a whole number of weeks "
                f"({self.sessions_per_week} sessions a week)"
            )
        if self.admit_weekdays is not None:
            if not self.admit_weekdays:
                raise InputError("no admission weekday given")
            if bad := sorted(set(self.admit_weekdays) - set(self.weekdays)):
                raise InputError(
                    "admission days are not program days: "
                    + ", ".join(WEEKDAYS[d].title() for d in bad)
                )
        for name, rel in (("requires", self.requires), ("after", self.after)):
            for skill, preds in rel.items():
                for p in preds:
                    if p == skill:
                        raise InputError(f"skill {skill} lists itself in {name}")
        for skill in self.fixed:
            if skill not in pool:
                raise InputError(f"fixed placement for {skill}, which is not in the pool")
        for key, value in self.weights.items():
            if value < 0 or not math.isfinite(value):
                raise InputError(f"elective weight of {key} must be a finite number ≥ 0")
        for label, value in (
            ("max_modality_gap", self.max_modality_gap),
            ("max_modality_run", self.max_modality_run),
            ("min_repeat_gap", self.min_repeat_gap),
        ):
            if value is not None and value < 1:
                raise InputError(f"{label} must be ≥ 1, got {value}")


@dataclass
class RotationPlan:
    """Result of :func:`~iopkit.rotation.solve.plan_rotation`.

    ``rotation`` has one row per slot of the cycle: slot, weekday (Mon = 0), weekday_name,
    skill_id, modality, core. It is empty when no rotation was found; ``explanation`` then
    says why, in words a clinical lead can act on.
    """

    status: Status
    rotation: pd.DataFrame
    objective: float | None
    bound: float | None
    wall_time: float
    explanation: list[str]
    warnings: list[str]
    problem: RotationProblem
    prereq_satisfied: int | None = None
    prereq_pairs: int | None = None
    stages: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("optimal", "feasible")

    @property
    def sequence(self) -> list[str]:
        return list(self.rotation["skill_id"]) if len(self.rotation) else []

    @property
    def gap(self) -> float | None:
        """The worst stage's relative gap |bound − value| / max(1, |value|) — infinite when a
        stage was not solved (``unknown`` or ``not reached``), so an unsolved stage is never
        hidden by the other stages' values (issue 17). Without stages: the objective's gap."""
        if self.stages is not None and len(self.stages):
            solved = self.stages["status"].isin(["optimal", "feasible"])
            if not solved.all():
                return float("inf")
            return float(self.stages["gap"].max())
        if self.objective is None or self.bound is None:
            return None
        return abs(self.bound - self.objective) / max(1.0, abs(self.objective))

    def coverage(self, attendance_p: float = 0.85) -> pd.DataFrame:
        """:func:`~iopkit.rotation.coverage.coverage_table` of this plan over the full
        minimum stay."""
        return coverage_table(
            self.sequence, **self.problem.coverage_args(attendance_p=attendance_p)
        )

    @property
    def prereq_fraction(self) -> float | None:
        """Share of (admission slot, prerequisite) pairs honoured, recounted independently."""
        if not self.ok:
            return None
        return float(coverage_summary(self.coverage())["prereq_fraction"])

    def summary(self) -> str:
        lines = [f"status: {self.status}  (wall time {self.wall_time:.2f} s)"]
        if self.stages is not None and len(self.stages):
            lines.append("stages (each on its own; value/bound, gap):")
            for r in self.stages.itertuples():
                if r.status in ("optimal", "feasible"):
                    lines.append(
                        f"  {r.name}: {r.value:g}/{r.bound:g}, gap {r.gap:.2%} ({r.status})"
                    )
                else:
                    lines.append(f"  {r.name}: {r.status} — not solved within the time limit")
        elif self.objective is not None:
            gap = self.gap or 0.0
            lines.append(f"objective {self.objective:.0f}, bound {self.bound:.0f} (gap {gap:.2%})")
        lines += [f"  - {e}" for e in self.explanation]
        lines += [f"  ! {w}" for w in self.warnings]
        return "\n".join(lines)
