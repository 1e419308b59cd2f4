"""Any-entry skills rotation: a CP-SAT planner and an independent coverage analysis.

An IOP with rolling admission teaches one *skill of the day* per session and repeats a
cycle of ``L`` sessions. A patient may join on any admission day and stays at least the
minimum stay (``window`` sessions). The planner chooses the skill for every slot of the
cycle so that every core skill appears in **every** cyclic window of ``window`` consecutive
sessions that starts on an admission slot (optionally within an attendance margin, e.g.
85 % of the stay), then optimises lexicographically (each stage keeps the best value of
the stages before it): (1) the number of (admission slot, hard prerequisite) pairs where
the patient meets the prerequisite before the skill; (2) no skill taught twice within
``min_repeat_gap`` sessions; (3) soft ``after`` orderings of core skills; (4) electives
weighted by the cohort's concern mix (plus a small bonus when an elective follows its
``after`` skill). Background: design pattern B (self-contained topics, cycle ≤ stay ×
attendance) and pattern A (module-boundary entry) in shared/reference/curriculum.md §2.

The coverage analysis (:func:`coverage_table`, :func:`coverage_from_sessions`,
:func:`compare_rotations`) does not use the solver: it recounts coverage from any sequence
of skills — a planned cycle, a baseline, or the sessions actually delivered.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from iopkit.errors import ConfigError

if TYPE_CHECKING:  # the curriculum is only needed by the adapter functions
    from iopkit.curriculum import Curriculum

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# The optimisation is lexicographic (STAGES). These weights only turn the stage values into
# the single reported ``objective``/``bound`` (objective = Σ weight × stage value), and
# weigh electives inside their stage: up to W_ELECTIVE_MAX per distinct elective by concern
# weight, W_ELECTIVE_ORDER per elective session that follows its ``after`` skill.
W_REQUIRES = 1000
W_REPEAT = 200
W_AFTER = 40
W_ELECTIVE_MAX = 30
W_ELECTIVE_ORDER = 5
#: CP-SAT subsolvers, one per worker (see :func:`_solver`).
SUBSOLVERS: tuple[str, ...] = ("max_lp_sym", "default_lp")
#: "chain": recursive per-slot encoding of prerequisite order (fast); "window": one clause
#: per (admission, skill occurrence) — the direct encoding, kept for the benchmark baseline.
PREREQ_ENCODING = "chain"
#: Start a multi-stay cycle from the tiled optimum of a stay-long cycle (see _tiled_hint).
TILE_HINT = True

Status = Literal["optimal", "feasible", "infeasible", "unknown", "invalid"]

#: Lexicographic objective, most important first.
STAGES = ("prerequisites", "repeats", "soft_order", "electives")
COMPONENT_WEIGHTS = {"prerequisites": 1, "repeats": 1, "soft_order": W_AFTER, "electives": 1}
STAGE_WEIGHTS = {
    "prerequisites": W_REQUIRES,
    "repeats": W_REPEAT,
    "soft_order": W_AFTER,
    "electives": 1,
}

CONSTRAINT_GROUPS = (
    "coverage",
    "modality_days",
    "fixed_placements",
    "modality_gap",
    "modality_run",
)


def weekday_name(day: int) -> str:
    """Three-letter English name of a weekday number (Mon = 0)."""
    return WEEKDAY_NAMES[day]


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
            names = [n.lower() for n in WEEKDAY_NAMES]
            if key not in names:
                raise ConfigError(
                    f"unknown weekday {item!r}; use mon, tue, wed, thu, fri, sat or sun"
                )
            day = names.index(key)
        if not 0 <= day <= 6:
            raise ConfigError(f"weekday {day} out of range 0 (Mon) – 6 (Sun)")
        days.add(day)
    return sorted(days)


# --------------------------------------------------------------------------------------
# Problem and plan
# --------------------------------------------------------------------------------------


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
    def length(self) -> int:
        """Cycle length in sessions."""
        if self.cycle_length is not None:
            return self.cycle_length
        spw = self.sessions_per_week
        return max(spw, math.ceil(self.window / spw) * spw)

    @property
    def effective_window(self) -> int:
        """Sessions within which every core skill must be met (window × margin, floored)."""
        return max(1, math.floor(self.window * self.attendance_margin + 1e-9))

    @property
    def repeat_gap(self) -> int:
        return self.sessions_per_week if self.min_repeat_gap is None else self.min_repeat_gap

    def slot_weekday(self, slot: int) -> int:
        return self.weekdays[slot % self.sessions_per_week]

    def coverage_args(
        self, *, attendance_p: float = 0.85, window: int | None = None
    ) -> dict[str, object]:
        """Keyword arguments of :func:`coverage_table` / :func:`compare_rotations` for this
        problem: its core, weekdays, admission days, prerequisites and lags; ``window``
        defaults to the full minimum stay (:attr:`window`, sessions)."""
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

    def lag(self, prerequisite: str, skill: str) -> int:
        """Sessions by which ``prerequisite`` must precede ``skill`` (≥ 1)."""
        return max(1, self.min_sessions_after.get((prerequisite, skill), 1))

    def validate(self) -> None:
        """Raise :class:`ConfigError` for inputs that are malformed (not merely infeasible)."""
        if not self.skills:
            raise ConfigError("the skill pool is empty")
        if len(set(self.skills)) != len(self.skills):
            dup = sorted({s for s in self.skills if self.skills.count(s) > 1})
            raise ConfigError(f"skills listed twice in the pool: {', '.join(dup)}")
        pool = set(self.skills)
        if missing := sorted(self.core - pool):
            raise ConfigError(f"core skills not in the pool: {', '.join(missing)}")
        if missing := sorted(s for s in self.skills if s not in self.modality):
            raise ConfigError(f"no modality given for: {', '.join(missing)}")
        if not self.weekdays or len(set(self.weekdays)) != len(self.weekdays):
            raise ConfigError(f"program weekdays must be distinct and non-empty: {self.weekdays}")
        if self.window < 1:
            raise ConfigError(f"minimum stay must be ≥ 1 session, got {self.window}")
        if not 0 < self.attendance_margin <= 1:
            raise ConfigError(f"attendance margin must be in (0, 1], got {self.attendance_margin}")
        if self.length % self.sessions_per_week:
            raise ConfigError(
                f"cycle length {self.length} is not a whole number of weeks "
                f"({self.sessions_per_week} sessions a week)"
            )
        if self.admit_weekdays is not None:
            if not self.admit_weekdays:
                raise ConfigError("no admission weekday given")
            if bad := sorted(set(self.admit_weekdays) - set(self.weekdays)):
                raise ConfigError(
                    "admission days are not program days: "
                    + ", ".join(weekday_name(d) for d in bad)
                )
        for name, rel in (("requires", self.requires), ("after", self.after)):
            for skill, preds in rel.items():
                for p in preds:
                    if p == skill:
                        raise ConfigError(f"skill {skill} lists itself in {name}")
        for skill in self.fixed:
            if skill not in pool:
                raise ConfigError(f"fixed placement for {skill}, which is not in the pool")
        for key, value in self.weights.items():
            if value < 0 or not math.isfinite(value):
                raise ConfigError(f"elective weight of {key} must be a finite number ≥ 0")
        for label, value in (
            ("max_modality_gap", self.max_modality_gap),
            ("max_modality_run", self.max_modality_run),
            ("min_repeat_gap", self.min_repeat_gap),
        ):
            if value is not None and value < 1:
                raise ConfigError(f"{label} must be ≥ 1, got {value}")


@dataclass
class RotationPlan:
    """Result of :func:`plan_rotation`.

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
        """Relative optimality gap |bound − objective| / max(1, |objective|)."""
        if self.objective is None or self.bound is None:
            return None
        return abs(self.bound - self.objective) / max(1.0, abs(self.objective))

    def coverage(self, attendance_p: float = 0.85) -> pd.DataFrame:
        """:func:`coverage_table` of this plan over the full minimum stay."""
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
        if self.objective is not None:
            gap = self.gap or 0.0
            lines.append(f"objective {self.objective:.0f}, bound {self.bound:.0f} (gap {gap:.2%})")
        if self.stages is not None and len(self.stages):
            lines.append(
                "stages: "
                + "; ".join(
                    f"{r.name} {r.value:g}/{r.bound:g} ({r.status})"
                    for r in self.stages.itertuples()
                )
            )
        lines += [f"  - {e}" for e in self.explanation]
        lines += [f"  ! {w}" for w in self.warnings]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Pre-checks: explain infeasibility before calling the solver
# --------------------------------------------------------------------------------------


def _days_text(days: Iterable[int]) -> str:
    days = sorted(days)
    return "/".join(weekday_name(d) for d in days) if days else "no day"


def _stay_text(problem: RotationProblem) -> str:
    spw = problem.sessions_per_week
    weeks = problem.stay_weeks if problem.stay_weeks is not None else problem.window / spw
    weeks_txt = f"{weeks:g}-week stay" if float(weeks).is_integer() else f"{weeks:.1f}-week stay"
    return f"a {weeks_txt} at {spw} day{'s' if spw != 1 else ''} a week"


def _requires_closure(problem: RotationProblem) -> dict[str, set[str]]:
    """Transitive hard prerequisites of every skill (raises on a cycle)."""
    closure: dict[str, set[str]] = {}
    state: dict[str, int] = {}

    def visit(skill: str, stack: list[str]) -> set[str]:
        if state.get(skill) == 2:
            return closure[skill]
        if state.get(skill) == 1:
            cycle = " -> ".join([*stack[stack.index(skill) :], skill])
            raise ConfigError(f"prerequisite cycle: {cycle}")
        state[skill] = 1
        out: set[str] = set()
        for p in problem.requires.get(skill, []):
            out.add(p)
            out |= visit(p, [*stack, skill])
        state[skill] = 2
        closure[skill] = out
        return out

    for s in problem.skills:
        visit(s, [])
    return closure


def _longest_chain(problem: RotationProblem, skill: str, memo: dict[str, int]) -> int:
    if skill not in memo:
        preds = [p for p in problem.requires.get(skill, []) if p in problem.skills]
        memo[skill] = 1 + max((_longest_chain(problem, p, memo) for p in preds), default=0)
    return memo[skill]


def precheck(problem: RotationProblem) -> tuple[list[str], list[str]]:
    """Cheap necessary conditions; returns (blocking problems, warnings).

    Each blocking problem is a sentence a lead can act on, e.g. "core needs 14 sessions;
    a 4-week stay at 3 days a week has 12".
    """
    problem.validate()
    errors: list[str] = []
    warnings: list[str] = []
    weff = problem.effective_window
    L = problem.length
    core = sorted(problem.core)
    margin_txt = (
        f" ({problem.attendance_margin:.0%} attendance margin: {weff})"
        if problem.attendance_margin < 1
        else ""
    )
    need = len(core)
    if need > min(weff, L):
        if need > weff:
            errors.append(
                f"core needs {need} sessions; {_stay_text(problem)} has {problem.window}"
                f"{margin_txt}. Drop {need - weff} skill(s) from core, lengthen the minimum "
                f"stay, add program days, or lower the attendance margin."
            )
        else:
            errors.append(
                f"core needs {need} sessions but the cycle has only {L}; lengthen the cycle."
            )
    adm = problem.admission_slots()

    # skills that can never be taught
    for s in problem.skills:
        days = problem.allowed_weekdays(s)
        if not days and (s in problem.core or s in problem.fixed):
            mod = problem.modality[s]
            why = []
            if mod in problem.modality_days:
                why.append(f"{mod} only on {_days_text(problem.modality_days[mod])}")
            if s in problem.skill_days:
                why.append(
                    f"a facilitator trained for it works on {_days_text(problem.skill_days[s])}"
                )
            if s in problem.fixed:
                why.append(f"fixed to {_days_text(problem.fixed[s])}")
            why.append(f"program days {_days_text(problem.weekdays)}")
            errors.append(f"{s} can be taught on no day ({'; '.join(why)}).")

    # a program day on which no skill of the pool can be taught
    for d in problem.weekdays:
        if not any(d in problem.allowed_weekdays(sk) for sk in problem.skills):
            errors.append(
                f"no skill of the pool can be taught on {weekday_name(d)} (no facilitator with a "
                f"needed training works that day, or every skill is fixed to other days)."
            )

    # Hall-type check: core skills confined to a set of weekdays must fit that set's slots
    # inside every admission window.
    allowed = {c: frozenset(problem.allowed_weekdays(c)) for c in core}
    for days in sorted(set(allowed.values()), key=sorted):
        if not days or days == frozenset(problem.weekdays):
            continue
        group = [c for c in core if allowed[c] and allowed[c] <= days]
        if not adm:
            break
        slots = min(
            sum(problem.slot_weekday((a + k) % L) in days for k in range(min(weff, L))) for a in adm
        )
        if len(group) > slots:
            errors.append(
                f"{len(group)} core skill(s) can only be taught on {_days_text(days)} "
                f"({', '.join(group)}), but some admission window of {min(weff, L)} sessions "
                f"has only {slots} such day(s); widen facilitator availability or fixed days."
            )

    # fixed placements: more skills pinned to a day set than the cycle has such days
    pinned: dict[frozenset[int], list[str]] = {}
    for s in problem.fixed:
        pinned.setdefault(frozenset(problem.allowed_weekdays(s)), []).append(s)
    for days, group in pinned.items():
        n_slots = sum(problem.slot_weekday(i) in days for i in range(L))
        if days and len(group) > n_slots:
            errors.append(
                f"{len(group)} skills are fixed to {_days_text(days)} but the {L}-session "
                f"cycle has {n_slots} such day(s): {', '.join(sorted(group))}."
            )

    # modality gap vs facilitator availability
    if problem.max_modality_gap is not None:
        pool_mods = {problem.modality[s] for s in problem.skills}
        for m in _balanced(problem):
            if m not in pool_mods:
                errors.append(f"modality {m} is to be balanced but no skill of it is in the pool.")
                continue
            days = set(problem.weekdays)
            if m in problem.modality_days:
                days &= set(problem.modality_days[m])
            ok_slots = [i for i in range(L) if problem.slot_weekday(i) in days]
            if not ok_slots:
                errors.append(f"modality {m} can be taught on no program day.")
                continue
            longest = max(
                (ok_slots[(j + 1) % len(ok_slots)] - ok_slots[j] - 1) % L
                for j in range(len(ok_slots))
            )
            if len(ok_slots) == L:
                longest = 0
            if longest > problem.max_modality_gap:
                errors.append(
                    f"{m} can only be taught on {_days_text(days)}, so it is absent for "
                    f"{longest} sessions in a row, more than the allowed gap of "
                    f"{problem.max_modality_gap}; widen {m} availability or raise the gap."
                )

    # counting: core copies needed per cycle plus modality-balance minimums must fit the cycle
    if not errors and adm:
        copies = _min_copies(adm, weff, L)
        need_by_mod: dict[str, int] = {}
        for c in core:
            need_by_mod[problem.modality[c]] = need_by_mod.get(problem.modality[c], 0) + copies
        extra = []
        if problem.max_modality_gap is not None and problem.max_modality_gap < L:
            per = -(-L // (problem.max_modality_gap + 1))
            for mod in _balanced(problem):
                if need_by_mod.get(mod, 0) < per:
                    extra.append(f"{mod} {per - need_by_mod.get(mod, 0)}")
                    need_by_mod[mod] = per
        # a skill taught once per cycle must sit in a slot common to all admission windows;
        # when there are fewer such slots than core skills, the others need two copies
        twice = 0
        common: set[int] = set()
        if copies == 1 and weff < L:
            common = set(range(L))
            for a in adm:
                common &= {(a + k) % L for k in range(weff)}
            twice = max(0, len(core) - len(common))
        total = sum(need_by_mod.values()) + twice
        if total > L:
            why = (
                f"each of the {len(core)} core skills must be taught {copies}× per cycle so "
                f"that every admission window of {min(weff, L)} sessions{margin_txt} holds it"
            )
            if twice:
                days = _days_text({problem.slot_weekday(i) for i in common})
                why += (
                    f"; a skill taught once must sit in one of the {len(common)} slot(s) "
                    f"common to every admission window ({days}), so {twice} of them need 2 "
                    "copies"
                )
            if extra:
                why += (
                    f", plus extra sessions so no modality is absent > "
                    f"{problem.max_modality_gap} sessions ({', '.join(extra)})"
                )
            errors.append(
                f"the {L}-session cycle needs at least {total} sessions: {why}. Lengthen the "
                "cycle or the stay, admit on fewer days, bring the attendance margin closer "
                "to 1, raise the modality gap, or drop core skills."
            )

    # prerequisite chains (warnings: prerequisites are maximised, not required)
    _requires_closure(problem)
    memo: dict[str, int] = {}
    for c in core:
        chain = _longest_chain(problem, c, memo)
        if chain > weff:
            warnings.append(
                f"the prerequisite chain ending at {c} has {chain} skills, longer than the "
                f"{weff}-session window: it cannot be honoured for every admission."
            )
    for s, preds in problem.requires.items():
        if s in problem.core:
            for p in preds:
                if p not in problem.skills:
                    warnings.append(
                        f"{s} requires {p}, which the program does not teach: the prerequisite "
                        f"cannot be met in the group."
                    )
    return errors, warnings


def _balanced(problem: RotationProblem) -> list[str]:
    if problem.balanced_modalities is not None:
        return list(problem.balanced_modalities)
    return sorted({problem.modality[c] for c in problem.core})


# --------------------------------------------------------------------------------------
# The CP-SAT model
# --------------------------------------------------------------------------------------


@dataclass
class _Model:
    model: cp_model.CpModel
    x: dict[tuple[str, int], cp_model.IntVar]
    req_sat: list[cp_model.IntVar]
    components: dict[str, list]


def _pairs(rel: Mapping[str, Sequence[str]], pool: set[str]) -> list[tuple[str, str]]:
    return sorted((c, p) for c, preds in rel.items() if c in pool for p in preds if p in pool)


def _build(problem: RotationProblem, relax: frozenset[str] = frozenset()) -> _Model:
    L = problem.length
    pool = problem.skills
    pool_set = set(pool)
    weff = problem.effective_window
    m = cp_model.CpModel()
    x: dict[tuple[str, int], cp_model.IntVar] = {}

    def allowed_days(s: str) -> set[int]:
        days = set(problem.weekdays)
        mod = problem.modality[s]
        if "modality_days" not in relax and mod in problem.modality_days:
            days &= set(problem.modality_days[mod])
        if "fixed_placements" not in relax and s in problem.fixed:
            days &= set(problem.fixed[s])
        if "modality_days" not in relax and s in problem.skill_days:
            days &= set(problem.skill_days[s])
        return days

    allowed = {s: allowed_days(s) for s in pool}
    for i in range(L):
        wd = problem.slot_weekday(i)
        for s in pool:
            if wd in allowed[s]:
                x[s, i] = m.new_bool_var(f"x[{s},{i}]")
        m.add_exactly_one([x[s, i] for s in pool if (s, i) in x])

    def occ(s: str, slots: Iterable[int]) -> list[cp_model.IntVar]:
        return [x[s, j % L] for j in slots if (s, j % L) in x]

    # fixed placements: taught at least once per cycle (only on the fixed days: domain)
    if "fixed_placements" not in relax:
        for s in problem.fixed:
            m.add_bool_or(occ(s, range(L)) or [m.new_constant(0)])

    adm = problem.admission_slots()
    span = min(weff, L)
    if "coverage" not in relax:
        for c in sorted(problem.core):
            if weff >= L:
                m.add(sum(occ(c, range(L))) >= 1)
                continue
            for a in adm:
                m.add(sum(occ(c, range(a, a + weff))) >= 1)
            # redundant cut for the LP: the fewest copies that meet every admission window
            m.add(sum(occ(c, range(L))) >= _min_copies(adm, weff, L))

    # modality balance
    mod_of_slot: dict[str, list[list[cp_model.IntVar]]] = {}
    for mod in sorted({problem.modality[s] for s in pool}):
        mod_of_slot[mod] = [
            [x[s, i] for s in pool if problem.modality[s] == mod and (s, i) in x] for i in range(L)
        ]
    gap = problem.max_modality_gap
    if gap is not None and "modality_gap" not in relax and gap < L:
        for mod in _balanced(problem):
            if mod not in mod_of_slot:
                m.add_bool_or([m.new_constant(0)])
                continue
            for i in range(L):
                lits = [v for k in range(gap + 1) for v in mod_of_slot[mod][(i + k) % L]]
                m.add_bool_or(lits or [m.new_constant(0)])
            # redundant cut: at least ceil(L / (gap + 1)) sessions of the modality per cycle
            m.add(sum(v for per in mod_of_slot[mod] for v in per) >= -(-L // (gap + 1)))
    run = problem.max_modality_run
    if run is not None and "modality_run" not in relax and run < L:
        for _mod, per_slot in mod_of_slot.items():
            for i in range(L):
                lits = [v for k in range(run + 1) for v in per_slot[(i + k) % L]]
                if len(lits) > run:
                    m.add(sum(lits) <= run)

    comps: dict[str, list] = {name: [] for name in COMPONENT_WEIGHTS}
    # prerequisites per admission slot: sat(a, c, p) => every occurrence of c in the window
    # is preceded, inside the window, by an occurrence of p.
    req_sat: list[cp_model.IntVar] = []

    def ordering(pairs: list[tuple[str, str]], stage: str, store: list | None) -> None:
        for c, p in pairs:
            lag = problem.lag(p, c)
            exact_chain = c in problem.core and "coverage" not in relax
            if stage == "soft_order" and c not in problem.core:
                # a soft preference must never stop an elective from being taught: reward
                # each occurrence of c that has p in the ``span`` sessions before it.
                for i in range(L):
                    if (c, i) not in x:
                        continue
                    y = m.new_bool_var(f"after[{c}<{p},{i}]")
                    m.add_implication(y, x[c, i])
                    m.add_bool_or([y.Not(), *occ(p, range(i - span + 1, i - lag + 1))])
                    comps["electives"].append(W_ELECTIVE_ORDER * y)
                continue
            if PREREQ_ENCODING == "chain" and (stage == "soft_order" or exact_chain):
                sats = _chain(c, p, lag)
            else:
                sats = _windowed(c, p, lag)
            for sat in sats:
                comps[stage].append(sat)
                if store is not None:
                    store.append(sat)
            # linear cut (sum of sat + x[c, a] <= 1): a patient admitted on a day that
            # teaches c meets c before anything else, so that admission cannot honour p.
            on_adm = [x[c, a] for a in adm if (c, a) in x]
            if on_adm:
                m.add(sum(sats) + sum(on_adm) <= len(adm))

    def _windowed(c: str, p: str, lag: int) -> list[cp_model.IntVar]:
        """sat(a) => every c in a's window is preceded (by >= lag) by p in the window."""
        sats = []
        for a in adm:
            sat = m.new_bool_var(f"ord[{c}<{p},{a}]")
            for k in range(span):
                pos = (a + k) % L
                if (c, pos) not in x:
                    continue
                before = occ(p, range(a, a + k - lag + 1))
                m.add_bool_or([sat.Not(), x[c, pos].Not(), *before])
            sats.append(sat)
        return sats

    def _chain(c: str, p: str, lag: int) -> list[cp_model.IntVar]:
        """Recursive form along the cycle, exact when c is in every window (core).

        ok(i) = "the next p (at least ``lag`` before the next c) comes before the next c,
        scanning from slot i" = [p at i and no c in (i, i + lag)] or [no c at i and ok(i+1)].
        Only the upper bounds are needed because ok is maximised.
        """
        ok = [m.new_bool_var(f"ok[{c}<{p},{i}]") for i in range(L)]
        for i in range(L):
            nxt = ok[(i + 1) % L]
            if (c, i) in x:
                m.add_implication(ok[i], x[c, i].Not())
            if (p, i) in x:
                m.add_bool_or([ok[i].Not(), nxt, x[p, i]])
                for v in occ(c, range(i + 1, i + lag)):
                    m.add_bool_or([ok[i].Not(), nxt, v.Not()])
            else:
                m.add_implication(ok[i], nxt)
        return [ok[a] for a in adm]

    ordering(_pairs(problem.requires, pool_set), "prerequisites", req_sat)
    ordering(_pairs(problem.after, pool_set), "soft_order", None)

    # no repeat within the minimum gap (soft)
    g = problem.repeat_gap
    if g > 1:
        for s in pool:
            for i in range(L):
                lits = occ(s, range(i, i + min(g, L)))
                if len(lits) > 1:
                    v = m.new_int_var(0, len(lits) - 1, f"rep[{s},{i}]")
                    m.add(sum(lits) <= 1 + v)
                    comps["repeats"].append(-v)

    # electives: reward each distinct elective taught, by weight
    electives = [s for s in pool if s not in problem.core]
    wmax = max((problem.weights.get(s, 1.0) for s in electives), default=1.0) or 1.0
    for s in electives:
        w = round(W_ELECTIVE_MAX * problem.weights.get(s, 1.0) / wmax)
        if w <= 0:
            continue
        lits = occ(s, range(L))
        if not lits:
            continue
        used = m.new_bool_var(f"used[{s}]")
        m.add(sum(lits) >= used)
        comps["electives"].append(w * used)

    # symmetry: shifting the cycle by whole weeks maps solutions to solutions; pin the
    # first occurrence of one core skill into the first week.
    spw = problem.sessions_per_week
    core_sorted = sorted(problem.core)
    if core_sorted and spw < L:
        anchor = core_sorted[0]
        lits = occ(anchor, range(spw))
        if lits and "coverage" not in relax:
            m.add_bool_or(lits)

    return _Model(m, x, req_sat, comps)


def _min_copies(adm: Sequence[int], weff: int, L: int) -> int:
    """Fewest sessions of one skill per cycle that fall inside every admission window.

    Windows are the cyclic intervals [a, a + weff) for a in ``adm``. Minimum stabbing of
    circular-arc intervals: some optimal set of points contains the last slot of a window,
    so try each window's end as the first point, then stab the rest greedily (earliest end
    first), and keep the best.
    """
    if not adm:
        return 0
    if weff >= L:
        return 1
    best = len(adm)
    for a0 in adm:
        p0 = a0 + weff - 1  # first point: the end of window a0
        # remaining windows, as start offsets after p0, that do not contain p0
        rest = sorted((a - p0 - 1) % L for a in adm if not (0 <= (p0 - a) % L < weff))
        count, last = 1, None
        for start in rest:
            if last is not None and start <= last:
                continue  # already stabbed
            last = start + weff - 1
            count += 1
        best = min(best, count)
    return best


def _tiled_hint(
    problem: RotationProblem, time_limit: float, num_workers: int, seed: int
) -> dict[int, str] | None:
    """For a cycle spanning several stays: plan one stay-long cycle and repeat it.

    The repeated short cycle meets every hard constraint of the long one (the same
    windows, weekdays and runs recur), so it is a feasible, usually near-optimal start.
    """
    spw = problem.sessions_per_week
    base = max(spw, math.ceil(problem.window / spw) * spw)
    L = problem.length
    if not TILE_HINT or base >= L or L % base:
        return None
    from dataclasses import replace

    short = plan_rotation(
        replace(problem, cycle_length=base),
        time_limit=time_limit,
        num_workers=num_workers,
        seed=seed,
        diagnose=False,
    )
    if not short.ok:
        return None
    seq = short.sequence
    return {i: seq[i % base] for i in range(L)}


def _greedy_hint(problem: RotationProblem) -> dict[int, str] | None:
    """A cheap starting sequence: core skills in prerequisite order, repeated."""
    closure = _requires_closure(problem)
    order = sorted(problem.core, key=lambda c: (len(closure[c] & problem.core), c))
    if not order:
        return None
    L = problem.length
    return {i: order[i % len(order)] for i in range(L)}


def _solver(time_limit: float, num_workers: int, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, float(time_limit))
    solver.parameters.num_workers = max(1, int(num_workers))
    solver.parameters.random_seed = int(seed)
    # With 2 workers CP-SAT's default portfolio is [default_lp, fj] whose LP never
    # tightens this model's bound; a worker with the full LP relaxation plus symmetry
    # ("max_lp_sym") proves bounds, the default one finds solutions.
    for name in SUBSOLVERS[: max(1, int(num_workers))]:
        solver.parameters.subsolvers.append(name)
    return solver


def _solve(
    problem: RotationProblem,
    relax: frozenset[str],
    time_limit: float,
    num_workers: int,
    seed: int,
) -> tuple[int, cp_model.CpSolver, _Model]:
    """Feasibility only (used by the diagnosis)."""
    built = _build(problem, relax)
    solver = _solver(time_limit, num_workers, seed)
    return solver.solve(built.model), solver, built


@dataclass
class _Stage:
    name: str
    status: str
    value: float
    bound: float
    seconds: float


def _solve_lex(
    problem: RotationProblem, time_limit: float, num_workers: int, seed: int
) -> tuple[int, cp_model.CpSolver | None, _Model, list[_Stage], dict]:
    """Lexicographic optimisation: each stage keeps the previous stages' values.

    Stages (:data:`STAGES`): prerequisites honoured per admission slot, then repeats
    avoided, then soft orderings, then the concern-weighted electives. Each stage starts
    from the previous solution (hint) and gets the time left divided by the stages left.
    """
    t_start = time.perf_counter()
    built = _build(problem, frozenset())
    m = built.model
    seq = _tiled_hint(problem, 0.3 * time_limit, num_workers, seed) or _greedy_hint(problem)
    if seq:
        for (s, i), var in built.x.items():
            m.add_hint(var, seq[i] == s)
    t_end = t_start + time_limit
    stages: list[_Stage] = []
    solution: dict | None = None
    last_status = cp_model.UNKNOWN
    last_solver = None
    active = [name for name in STAGES if _stage_terms(built, name)]
    if not active:
        active = ["feasibility"]
    for k, name in enumerate(active):
        left = t_end - time.perf_counter()
        # each stage may use most of what is left; later stages keep a share in reserve
        budget = left if k == len(active) - 1 else left * 0.6 / (len(active) - k - 1) ** 0.5
        expr = sum(_stage_terms(built, name)) if name != "feasibility" else 0
        m.clear_objective()
        if name != "feasibility":
            m.maximize(expr)
        if solution is not None:
            m.clear_hints()
            for var, val in solution.items():
                m.add_hint(var, val)
        solver = _solver(budget, num_workers, seed)
        t0 = time.perf_counter()
        status = solver.solve(m)
        secs = time.perf_counter() - t0
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if solution is None:  # first stage: the model itself is infeasible / unknown
                return status, solver, built, stages, {}
            stages.append(_Stage(name, "unknown", float("nan"), float("nan"), secs))
            break  # keep the previous stage's solution
        value = float(solver.objective_value) if name != "feasibility" else 0.0
        bound = float(solver.best_objective_bound) if name != "feasibility" else 0.0
        stages.append(
            _Stage(
                name, "optimal" if status == cp_model.OPTIMAL else "feasible", value, bound, secs
            )
        )
        solution = {var: int(solver.value(var)) for var in built.x.values()}
        solution.update(
            {
                v: int(solver.value(v))
                for comp in built.components.values()
                for term in comp
                for v in _vars_of(term)
            }
        )
        last_status, last_solver = status, solver
        if name != "feasibility":
            m.add(expr >= int(round(value)))
    return last_status, last_solver, built, stages, solution or {}


def _stage_terms(built: _Model, stage: str) -> list:
    """Objective terms of a stage; ``"a+b"`` combines components with COMPONENT_WEIGHTS."""
    parts = stage.split("+")
    if len(parts) == 1:
        return list(built.components.get(stage, []))
    return [COMPONENT_WEIGHTS[p] * t for p in parts for t in built.components.get(p, [])]


def _vars_of(term) -> list:
    """The variable(s) inside an objective term such as ``w * var`` or ``-var``."""
    from ortools.sat.python import cp_model_helper

    return list(cp_model_helper.FlatIntExpr(term).vars)


def _diagnose(
    problem: RotationProblem, time_limit: float, num_workers: int, seed: int
) -> list[str]:
    """Relax one constraint group at a time and report which relaxation restores a plan."""
    groups = [g for g in CONSTRAINT_GROUPS if _group_present(problem, g)]
    lines: list[str] = []
    budget = max(0.2, time_limit / max(1, len(groups)))
    fixes = []
    for g in groups:
        status, _, _ = _solve(problem, frozenset({g}), budget, num_workers, seed)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            fixes.append(g)
    labels = {
        "coverage": "the coverage guarantee (every core skill in every admission window)",
        "modality_days": "facilitator availability (skills only on days a trained "
        "facilitator works)",
        "fixed_placements": "fixed placements (skill X on weekday Y)",
        "modality_gap": f"the modality gap (no modality absent > {problem.max_modality_gap})",
        "modality_run": f"the modality run limit (≤ {problem.max_modality_run} in a row)",
    }
    if fixes:
        lines.append(
            "the request becomes feasible when relaxing any one of: "
            + "; ".join(labels[g] for g in fixes)
            + "."
        )
        if fixes == ["coverage"]:
            lines.append(
                "the core skills cannot be placed so that every admission window holds them "
                "all (with the other constraints in force); lengthen the stay or the cycle "
                "(--cycle-weeks), admit on fewer days, bring the attendance margin closer to "
                "1, or drop core skills."
            )
        elif len(groups) > 1:
            lines.append("the constraints named conflict with the rest of the request.")
    else:
        lines.append(
            "no single constraint group explains it (relaxing each alone did not help); "
            "several conflict together — try fewer core skills or a longer stay first."
        )
    return lines


def _group_present(problem: RotationProblem, group: str) -> bool:
    return {
        "coverage": bool(problem.core),
        "modality_days": bool(problem.modality_days or problem.skill_days),
        "fixed_placements": bool(problem.fixed),
        "modality_gap": problem.max_modality_gap is not None,
        "modality_run": problem.max_modality_run is not None,
    }[group]


def plan_rotation(
    problem: RotationProblem,
    *,
    time_limit: float = 10.0,
    num_workers: int = 2,
    seed: int = 0,
    diagnose: bool = True,
) -> RotationPlan:
    """Plan a cycle with CP-SAT; never runs longer than about ``2 × time_limit`` seconds.

    Pre-checks first (cheap, with actionable messages); then one solve bounded by
    ``time_limit``; for an infeasible model, a diagnosis that re-solves with one constraint
    group relaxed at a time (sharing a second ``time_limit`` budget). ``num_workers=2``
    suits a 2-core machine.
    """
    t0 = time.perf_counter()
    errors, warnings = precheck(problem)
    empty = pd.DataFrame(
        columns=["slot", "weekday", "weekday_name", "skill_id", "modality", "core"]
    )
    if errors:
        return RotationPlan(
            "infeasible", empty, None, None, time.perf_counter() - t0, errors, warnings, problem
        )
    status, solver, built, stages, solution = _solve_lex(problem, time_limit, num_workers, seed)
    name = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
        cp_model.MODEL_INVALID: "invalid",
    }.get(status, "unknown")
    if not solution:
        if name == "infeasible":
            expl = ["the solver proved that no rotation meets all hard constraints."]
            if diagnose:
                expl += _diagnose(problem, time_limit, num_workers, seed)
        elif name == "invalid":
            expl = [f"internal model error: {built.model.validate()}"]
        else:
            name = "unknown"
            expl = [
                f"no rotation found within the {time_limit:g} s time limit (neither found nor "
                f"proved impossible); raise --time-limit or simplify the request."
            ]
        return RotationPlan(
            name,  # type: ignore[arg-type]
            empty,
            None,
            None,
            time.perf_counter() - t0,
            expl,
            warnings,
            problem,
        )
    rows = []
    for i in range(problem.length):
        skill = next(s for s in problem.skills if (s, i) in built.x and solution[built.x[s, i]])
        rows.append(
            {
                "slot": i,
                "weekday": problem.slot_weekday(i),
                "weekday_name": weekday_name(problem.slot_weekday(i)),
                "skill_id": skill,
                "modality": problem.modality[skill],
                "core": skill in problem.core,
            }
        )
    rotation = pd.DataFrame(rows)
    sat = sum(solution[v] for v in built.req_sat)
    proved = all(st.status == "optimal" for st in stages) and len(stages) == len(
        [n for n in STAGES if _stage_terms(built, n)] or ["feasibility"]
    )
    name = "optimal" if proved else "feasible"
    done = [st for st in stages if st.status != "unknown"]
    objective = sum(STAGE_WEIGHTS.get(st.name, 1) * st.value for st in done)
    bound = sum(STAGE_WEIGHTS.get(st.name, 1) * st.bound for st in done)
    stage_frame = pd.DataFrame([st.__dict__ for st in stages])
    expl = []
    if name == "feasible":
        open_stages = [st.name for st in stages if st.status != "optimal"]
        skipped = [
            n for n in STAGES if _stage_terms(built, n) and n not in {st.name for st in done}
        ]
        expl.append(
            "time limit reached: the rotation meets every hard constraint (coverage is "
            "guaranteed) but is not proved best for: "
            + ", ".join(dict.fromkeys(open_stages + skipped))
            + "."
        )
    return RotationPlan(
        name,  # type: ignore[arg-type]
        rotation,
        objective,
        bound,
        time.perf_counter() - t0,
        expl,
        warnings,
        problem,
        prereq_satisfied=int(sat),
        prereq_pairs=len(built.req_sat),
        stages=stage_frame,
    )


# --------------------------------------------------------------------------------------
# Coverage analysis (independent of the solver)
# --------------------------------------------------------------------------------------


def _window_rows(
    seq: Sequence[str],
    starts: Sequence[int],
    window: int,
    core: set[str],
    requires: Mapping[str, Sequence[str]],
    attendance_p: float,
    cyclic: bool,
    lags: Mapping[tuple[str, str], int] | None = None,
) -> list[dict]:
    lags = lags or {}
    n = len(seq)
    core_sorted = sorted(core)
    rows = []
    search = n + window if cyclic else n
    for a in starts:
        if cyclic:
            win = [seq[(a + k) % n] for k in range(window)]
            complete = True
        else:
            win = list(seq[a : a + window])
            complete = len(win) == window
        # sessions until every core skill is met (counting the admission session as 1)
        remaining = set(core)
        to_full: float = np.nan
        if not remaining:
            to_full = 0
        for k in range(search if remaining else 0):
            idx = a + k
            if not cyclic and idx >= n:
                break
            remaining.discard(seq[idx % n])
            if not remaining:
                to_full = k + 1
                break
        counts = pd.Series(win, dtype=object).value_counts()
        missed = [c for c in core_sorted if c not in counts.index]
        first = {}
        for k, s in enumerate(win):
            first.setdefault(s, k)
        applicable = 0
        violations = []
        for c, preds in sorted(requires.items()):
            if c not in first:
                continue
            for p in preds:
                applicable += 1
                if p not in first or first[p] > first[c] - lags.get((p, c), 1):
                    violations.append(f"{c}<-{p}")
        if core_sorted:
            exp = float(
                np.mean([1 - (1 - attendance_p) ** int(counts.get(c, 0)) for c in core_sorted])
            )
        else:
            exp = 1.0
        rows.append(
            {
                "admission_slot": a,
                "window_complete": complete,
                "sessions_to_full_coverage": to_full,
                "core_met": len(core_sorted) - len(missed),
                "core_missed": len(missed),
                "missed_skills": ";".join(missed),
                "fully_covered": not missed,
                "prereq_applicable": applicable,
                "prereq_violations": len(violations),
                "violated": ";".join(violations),
                "expected_coverage": exp,
            }
        )
    return rows


def coverage_table(
    sequence: Sequence[str],
    *,
    core: Iterable[str],
    window: int,
    weekdays: Sequence[int],
    admit_weekdays: Sequence[int] | None = None,
    requires: Mapping[str, Sequence[str]] | None = None,
    attendance_p: float = 0.85,
    lags: Mapping[tuple[str, str], int] | None = None,
) -> pd.DataFrame:
    """Coverage for every admission slot of a repeating sequence of skills.

    ``sequence[i]`` is taught at slot ``i`` on ``weekdays[i % len(weekdays)]`` and the
    sequence repeats. Because a sequence whose length is not a whole number of weeks
    meets each weekday at different positions, the analysis runs over one joint period
    (lcm of the sequence length and the week). Columns: admission_slot, weekday,
    sessions_to_full_coverage (sessions from admission, admission day = 1, until every
    core skill has been taught; NaN if never), core_met, core_missed, missed_skills,
    fully_covered (every core skill within ``window`` sessions), prereq_applicable,
    prereq_violations, violated (``skill<-prerequisite`` where the skill's first session
    in the window is not preceded by its prerequisite), expected_coverage (mean over core
    skills of 1 − (1 − p)^k, k = times the skill is taught in the window, each session
    attended independently with probability ``attendance_p``).
    """
    seq = list(sequence)
    if not seq:
        raise ConfigError("empty rotation: nothing to analyse")
    if not 0 <= attendance_p <= 1:
        raise ConfigError(f"attendance probability must be in [0, 1], got {attendance_p}")
    spw = len(weekdays)
    period = math.lcm(len(seq), spw)
    unrolled = [seq[i % len(seq)] for i in range(period)]
    admit = set(weekdays if admit_weekdays is None else admit_weekdays)
    starts = [i for i in range(period) if weekdays[i % spw] in admit]
    rows = _window_rows(
        unrolled, starts, window, set(core), dict(requires or {}), attendance_p, True, lags
    )
    out = pd.DataFrame(rows)
    if len(out):
        out.insert(1, "weekday", [weekday_name(weekdays[a % spw]) for a in starts])
        out.insert(2, "skill_on_admission", [unrolled[a] for a in starts])
    return out


def coverage_from_sessions(
    sessions: pd.DataFrame,
    *,
    core: Iterable[str],
    window: int,
    admit_weekdays: Sequence[int] | None = None,
    requires: Mapping[str, Sequence[str]] | None = None,
    attendance_p: float = 0.85,
    lags: Mapping[tuple[str, str], int] | None = None,
    date_col: str = "date",
    skill_col: str = "skill_id",
    group_col: str | None = "cohort_id",
) -> pd.DataFrame:
    """Coverage of the sessions actually delivered (one row per session: date, skill).

    Each delivered session date (on an admission weekday) is an admission point; its window
    is the next ``window`` sessions of the same group (cohort). Windows that run past the
    last recorded session are marked ``window_complete = False`` (censored) — they are
    kept in the table and left out of the summary's denominators.
    """
    for col in (date_col, skill_col):
        if col not in sessions.columns:
            raise ConfigError(f"sessions table has no column {col!r}")
    df = sessions.copy()
    df[date_col] = pd.to_datetime(df[date_col])
    groups = (
        [(None, df)]
        if not group_col or group_col not in df.columns
        else list(df.groupby(group_col, sort=True))
    )
    frames = []
    for key, g in groups:
        g = g.sort_values(date_col, kind="stable")
        seq = g[skill_col].astype(str).tolist()
        dates = list(g[date_col])
        admit = None if admit_weekdays is None else set(admit_weekdays)
        starts = [i for i, d in enumerate(dates) if admit is None or d.weekday() in admit]
        rows = _window_rows(
            seq, starts, window, set(core), dict(requires or {}), attendance_p, False, lags
        )
        out = pd.DataFrame(rows)
        if not len(out):
            continue
        out.insert(0, "admission_date", [dates[a].date() for a in starts])
        out.insert(1, "weekday", [weekday_name(dates[a].weekday()) for a in starts])
        if key is not None:
            out.insert(0, group_col, key)
        frames.append(out)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def coverage_summary(table: pd.DataFrame) -> pd.Series:
    """Summary of a coverage table: worst case, mean, share of admission slots covered.

    Only complete windows count (censored windows of delivered data are reported as
    ``n_censored``). ``prereq_fraction`` = honoured / applicable (admission, skill,
    prerequisite) triples; 1.0 when none apply.
    """
    if not len(table):
        raise ConfigError("coverage table is empty: no admission slot to summarise")
    full = table[table["window_complete"]]
    applicable = int(full["prereq_applicable"].sum())
    viol = int(full["prereq_violations"].sum())
    stc = full["sessions_to_full_coverage"].astype(float)
    return pd.Series(
        {
            "n_admission_slots": len(full),
            "n_censored": int((~table["window_complete"]).sum()),
            "share_fully_covered": float(full["fully_covered"].mean()) if len(full) else np.nan,
            "worst_sessions_to_cover": float(stc.max()) if stc.notna().all() else np.inf,
            "mean_sessions_to_cover": float(stc.mean()) if stc.notna().all() else np.inf,
            "worst_core_missed": int(full["core_missed"].max()) if len(full) else 0,
            "mean_core_missed": float(full["core_missed"].mean()) if len(full) else np.nan,
            "prereq_fraction": 1.0 if applicable == 0 else 1 - viol / applicable,
            "expected_coverage_mean": float(full["expected_coverage"].mean()),
            "expected_coverage_worst": float(full["expected_coverage"].min()),
        }
    )


# --------------------------------------------------------------------------------------
# Baselines and comparison
# --------------------------------------------------------------------------------------


def round_robin(skills: Sequence[str]) -> list[str]:
    """Baseline: every skill of the pool once, in catalog (module) order, repeated."""
    return list(skills)


def module_blocks(
    skills: Sequence[str], module: Mapping[str, str], *, opening_module: str | None = None
) -> list[str]:
    """Baseline: DBT-style blocks — skills grouped by module, modules in sequence.

    With ``opening_module`` (e.g. the mindfulness module), that module's block is repeated
    before every other module, as in Linehan's cycle (2 weeks of core mindfulness before
    each of DT, ER and IE; shared/reference/curriculum.md §1.1).
    """
    order: list[str] = []
    blocks: dict[str, list[str]] = {}
    for s in skills:
        mod = module[s]
        if mod not in blocks:
            order.append(mod)
            blocks[mod] = []
        blocks[mod].append(s)
    out: list[str] = []
    others = [m for m in order if m != opening_module]
    for mod in others:
        if opening_module in blocks:
            out += blocks[opening_module]
        out += blocks[mod]
    if not others and opening_module in blocks:
        out = list(blocks[opening_module])
    return out


def compare_rotations(
    rotations: Mapping[str, Sequence[str]],
    *,
    core: Iterable[str],
    window: int,
    weekdays: Sequence[int],
    admit_weekdays: Sequence[int] | None = None,
    requires: Mapping[str, Sequence[str]] | None = None,
    attendance_p: float = 0.85,
    lags: Mapping[tuple[str, str], int] | None = None,
) -> pd.DataFrame:
    """One row per named rotation with its :func:`coverage_summary` (same window, same core)."""
    core = set(core)
    rows = {}
    for name, seq in rotations.items():
        table = coverage_table(
            seq,
            core=core,
            window=window,
            weekdays=weekdays,
            admit_weekdays=admit_weekdays,
            requires=requires,
            attendance_p=attendance_p,
            lags=lags,
        )
        summary = coverage_summary(table)
        summary["cycle_length"] = len(seq)
        rows[name] = summary
    out = pd.DataFrame(rows).T
    out.index.name = "rotation"
    return out.reset_index()


# --------------------------------------------------------------------------------------
# Adapter: plan a curriculum program
# --------------------------------------------------------------------------------------


def parse_mix(text: str | Mapping[str, float] | None) -> dict[str, float] | None:
    """Parse ``"depression=0.5,anxiety=0.3"`` into shares that sum to 1.

    Shares may be given as counts (``depression=12,anxiety=8``); they are divided by
    their total. Concerns follow the patients-table vocabulary (docs/architecture.md).
    """
    if text is None:
        return None
    from iopkit.curriculum import PATIENT_CONCERNS

    if isinstance(text, Mapping):
        items = list(text.items())
    else:
        items = []
        for part in str(text).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ConfigError(
                    f"concern mix entry {part.strip()!r} is not concern=share "
                    "(e.g. depression=0.5,anxiety=0.3,insomnia=0.2)"
                )
            k, v = part.split("=", 1)
            try:
                items.append((k.strip(), float(v)))
            except ValueError:
                raise ConfigError(f"concern mix share {v.strip()!r} is not a number") from None
    mix: dict[str, float] = {}
    for k, v in items:
        if k not in PATIENT_CONCERNS:
            raise ConfigError(
                f"unknown concern {k!r} in the mix; use {', '.join(PATIENT_CONCERNS)}"
            )
        if not math.isfinite(v) or v < 0:
            raise ConfigError(f"share of {k} must be a finite number ≥ 0, got {v}")
        if k in mix:
            raise ConfigError(f"concern {k!r} is given twice in the mix; give each concern once")
        mix[k] = float(v)
    total = sum(mix.values())
    if total <= 0:
        raise ConfigError("the concern mix has no positive share")
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
    skill_days: dict[str, list[int]] = {}
    if prog.facilitators:
        from iopkit.curriculum import WEEKDAYS

        for s in pool:
            need = curriculum.training_for(s)
            if need:
                days = {
                    WEEKDAYS.index(d)
                    for f in prog.facilitators
                    if need in f.trainings
                    for d in f.days
                }
                skill_days[s] = sorted(days)
    pool_set = set(pool)
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


def baselines(curriculum: Curriculum, problem: RotationProblem) -> dict[str, list[str]]:
    """The two comparison rotations over the same skill pool.

    ``round_robin``: every pool skill once, in catalog (module) order. ``module_blocks``:
    DBT-style — the pool grouped by module, modules in sequence, the mindfulness module
    (``dbt.mf``) repeated before every other module when the pool has it (Linehan 2015,
    curriculum.md §1.1).
    """
    module = {s: curriculum.skill(s).module_id for s in problem.skills}
    opening = "dbt.mf" if "dbt.mf" in module.values() else None
    return {
        "round_robin": round_robin(problem.skills),
        "module_blocks": module_blocks(problem.skills, module, opening_module=opening),
    }


def compare_with_baselines(
    plan: RotationPlan,
    curriculum: Curriculum | None = None,
    *,
    attendance_p: float = 0.85,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """:func:`compare_rotations` of the plan against the two baselines (same window/core).

    The window is the full minimum stay (not the attendance margin), so every design is
    judged on the same footing; ``prereq_fraction`` counts each baseline's own order.
    """
    prob = plan.problem
    rotations: dict[str, Sequence[str]] = {}
    if plan.ok:
        rotations["planned"] = plan.sequence
    if curriculum is not None:
        rotations.update(baselines(curriculum, prob))
    else:
        rotations["round_robin"] = round_robin(prob.skills)
    rotations.update(extra or {})
    args = prob.coverage_args(attendance_p=attendance_p)
    args["requires"] = {k: v for k, v in prob.requires.items() if k in set(prob.skills)}
    return compare_rotations(rotations, **args)


def plan_program(
    curriculum: Curriculum,
    program_id: str,
    *,
    time_limit: float = 10.0,
    num_workers: int = 1,
    seed: int = 0,
    **options,
) -> RotationPlan:
    """:func:`problem_from_program` then :func:`plan_rotation` (options are passed on).

    One worker by default: the same request gives the same rotation (each shipped program
    solves to optimality in well under a second). ``num_workers=2`` adds a bound-proving
    worker that helps long cycles, but equally good rotations may then differ between runs.
    """
    return plan_rotation(
        problem_from_program(curriculum, program_id, **options),
        time_limit=time_limit,
        num_workers=num_workers,
        seed=seed,
    )
