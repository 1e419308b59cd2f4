"""Skill catalog and program models: load, query and validate ``curriculum/``, build agendas.

The clinical content lives in YAML (``curriculum/modules/*.yaml``: one file per modality;
``curriculum/programs/*.yaml``: one file per program). This module turns it into typed,
validated objects. Nothing here writes files.

Public API (used by rotation, calendar, synth, data and reports):

``load_curriculum(path=None) -> Curriculum``
    Load and validate a curriculum directory. ``path`` defaults to ``$IOPKIT_CURRICULUM`` or
    else the repository's ``curriculum/`` (``Path(iopkit.__file__).parents[1] / "curriculum"``).
    Raises :class:`~iopkit.errors.ConfigError` listing every problem (file, line, key path).
    Results are cached per directory and file modification times.
``validate_curriculum(path=None) -> list[Problem]``
    Every problem found, never raises for bad content; ``Problem.severity`` is "error" or
    "warning". Empty list = valid.
``Curriculum``
    ``.skills`` (id → :class:`Skill`, catalog order), ``.programs`` (id → :class:`Program`),
    ``.modules`` (``"dbt.mf"`` → :class:`Module`), ``.modalities`` (id → :class:`Modality`);
    ``skill(id)``, ``program(id)``, ``query(modality=, module=, target=, core=, program=)``
    → ``list[Skill]``, ``skills_frame(skills=None)`` → DataFrame (one row per skill),
    ``rotating_skills()`` (group skills only; individual tasks such as the safety plan are
    excluded), ``core_skills(program_id)`` and ``elective_skills(program_id)`` → skill ids,
    ``prerequisites()`` (id → hard ``requires``), ``soft_prerequisites()`` (id → ``after``),
    ``min_gaps()`` ((prerequisite, skill) → minimum days between them),
    ``core_sessions_needed(program_id)``, ``skill_weekdays(program_id)`` (skill → weekdays
    a facilitator trained for it works), ``training_for(skill_id)``, ``module_skills(id)``,
    ``individual_tasks()``, ``programs_frame()``, ``targets_frame(skills=None)`` (long
    ``skill_id, concern`` table, e.g. to weight electives by a cohort's concern mix),
    ``agenda(program_id, date, skill_id, start=None)``.
``Program``
    ``weekdays`` (ints, Mon=0), ``sessions_per_week``, ``min_sessions``, ``max_sessions``,
    ``start_time``, ``segment_minutes(kind)``, ``closures(start, end) -> set[date]``
    (public holidays from the ``holidays`` package + listed dates),
    ``closure_reasons(start, end) -> dict[date, str]``, ``session_dates(start, end)``,
    ``is_program_day(d)``,
    ``is_admission_day(d)``; ``measurement.scales_for(occasion, concerns)``.
``agenda(program, day, skill, start=None) -> DataFrame``
    Timed plan of one program day: columns ``segment, title, start, end, minutes, content``
    (``start``/``end`` are pandas Timestamps on ``day``).
``SEGMENT_RULES``
    The daily block's segment kinds, their order and allowed minutes.

Sources for the clinical facts are cited inside the YAML files, skill by skill.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from iopkit.errors import ConfigError, InputError
from iopkit.vocab import (
    OCCASIONS,
    PATIENT_CONCERNS,
    WEEKDAYS,
    Occasion,
    PatientConcern,
    SkillConcern,
    Weekday,
)
from iopkit.vocab import SKILL_CONCERNS as CONCERNS

__all__ = [
    "CONCERNS",
    "PATIENT_CONCERNS",
    "SEGMENT_RULES",
    "WEEKDAYS",
    "BlockSegment",
    "ClosureDate",
    "ClosureRules",
    "ConcernScales",
    "CoreRequirements",
    "Curriculum",
    "ElectivePool",
    "Facilitator",
    "MeasurementSchedule",
    "Modality",
    "ModalityFile",
    "Module",
    "Problem",
    "Program",
    "SafetyScreen",
    "SegmentRule",
    "Skill",
    "agenda",
    "default_curriculum_dir",
    "known_scale_ids",
    "load_curriculum",
    "validate_curriculum",
]

# --------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------

# Defined once in iopkit.vocab and re-exported here: WEEKDAYS/Weekday (curriculum files'
# day names), CONCERNS/Concern (skill targets; "general" = transdiagnostic) and
# PATIENT_CONCERNS/PatientConcern (the patients-table vocabulary, docs/architecture.md).
Concern = SkillConcern

SegmentKind = Literal["check_in", "mindfulness", "skill", "break", "application", "wrap_up"]

SNAKE = r"^[a-z][a-z0-9_]*$"
SKILL_ID = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"


@dataclass(frozen=True)
class SegmentRule:
    """One kind of block segment: display title, allowed minutes, whether a block needs it."""

    kind: str
    title: str
    min_minutes: int
    max_minutes: int
    required: bool
    description: str


#: The daily block, in order. Ranges from the iopkit design brief (../shared/design/
#: architecture.md, "What the product is"): check-in & safety scan 20–30, skill of the day
#: 45–60, break 10, application & coaching 45–60, wrap-up with home-practice plan 10–15.
#: Those five add up to at most 175 min, so a 180-min session needs a sixth segment: the
#: optional opening mindfulness practice (5–15 min) that DBT groups start with
#: (curriculum.md §1.1 "each module opens with mindfulness"; §2 "daily mindfulness
#: check-in"; UCSF day "opening with mindfulness").
SEGMENT_RULES: dict[str, SegmentRule] = {
    r.kind: r
    for r in (
        SegmentRule(
            "check_in",
            "Check-in & safety scan",
            20,
            30,
            True,
            "Each member rates mood and urges, reviews home practice, and is screened for "
            "safety; anyone flagged is seen individually the same day.",
        ),
        SegmentRule(
            "mindfulness",
            "Opening mindfulness",
            5,
            15,
            False,
            "A short guided mindfulness exercise to settle attention before new material.",
        ),
        SegmentRule("skill", "Skill of the day", 45, 60, True, ""),
        SegmentRule("break", "Break", 10, 10, True, "Break."),
        SegmentRule("application", "Application & coaching", 45, 60, True, ""),
        SegmentRule("wrap_up", "Wrap-up & home-practice plan", 10, 15, True, ""),
    )
}
_SEGMENT_ORDER = list(SEGMENT_RULES)

#: Scale ids used only when ``iopkit.scales`` cannot be imported (the registry's ids as of
#: this writing; ../shared/reference/scales.md §1.12). Validation says when it fell back.
FALLBACK_SCALE_IDS: frozenset[str] = frozenset(
    {
        "aaq2",
        "asq",
        "asrs",
        "ders16",
        "gad2",
        "gad7",
        "isi",
        "ocir",
        "pcl5",
        "pdss",
        "phq2",
        "phq9",
        "wsas",
    }
)


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NonEmpty = Annotated[str, Field(min_length=1)]


class Skill(_Model):
    """One teachable skill (or an individual task such as the safety plan).

    ``minutes`` is the teaching time the skill needs in the skill-of-the-day segment.
    ``requires`` are hard prerequisites (must be taught first); ``after`` soft ordering
    preferences; ``min_days_after`` maps a required skill to the minimum number of days that
    must pass between it and this skill (e.g. 7 nights of sleep diary before the sleep window).
    """

    id: Annotated[str, Field(pattern=SKILL_ID)]
    title: NonEmpty
    modality: Annotated[str, Field(pattern=SNAKE)]
    module: Annotated[str, Field(pattern=SNAKE)]
    kind: Literal["group_skill", "individual_task"] = "group_skill"
    tier: Literal["core", "elective"]
    summary: NonEmpty
    objectives: Annotated[list[NonEmpty], Field(min_length=2, max_length=4)]
    teaching_points: Annotated[list[NonEmpty], Field(min_length=2)]
    practice: NonEmpty
    home_practice: NonEmpty
    minutes: Annotated[int, Field(ge=15, le=90)]
    requires: list[str] = []
    after: list[str] = []
    min_days_after: dict[str, Annotated[int, Field(ge=1, le=60)]] = {}
    targets: Annotated[list[Concern], Field(min_length=1)]
    cautions: list[NonEmpty] = []
    contraindications: list[Annotated[str, Field(pattern=SNAKE)]] = []
    clinician_approval: bool = False
    training: Annotated[str, Field(pattern=SNAKE)] | None = None
    related_scales: list[str] = []
    source: NonEmpty

    @property
    def module_id(self) -> str:
        """``modality.module``, e.g. ``"dbt.dt"``."""
        return f"{self.modality}.{self.module}"

    @property
    def rotating(self) -> bool:
        """True for group skills (taught in the rotation), False for individual tasks."""
        return self.kind == "group_skill"


class Module(_Model):
    """A module within a modality (e.g. DBT distress tolerance)."""

    title: NonEmpty
    summary: NonEmpty
    training: Annotated[str, Field(pattern=SNAKE)] | None = None


class Modality(_Model):
    """Modality-level facts of one catalog file (without the skills)."""

    modality: Annotated[str, Field(pattern=SNAKE)]
    title: NonEmpty
    summary: NonEmpty
    source: NonEmpty
    training: Annotated[str, Field(pattern=SNAKE)] | None = None


class _ModalityHeader(Modality):
    modules: dict[Annotated[str, Field(pattern=SNAKE)], Module]


class ModalityFile(_ModalityHeader):
    """Schema of one ``curriculum/modules/*.yaml`` file."""

    skills: Annotated[list[Skill], Field(min_length=1)]


class BlockSegment(_Model):
    """One timed segment of the daily block (minutes are checked against SEGMENT_RULES)."""

    segment: SegmentKind
    minutes: Annotated[int, Field(ge=1, le=240)]


@functools.lru_cache(maxsize=256)
def _public_holidays(
    country: str, subdivision: str | None, year: int, open_on: tuple[str, ...]
) -> dict[date, str]:
    """Public holidays of one year from the ``holidays`` package, minus names kept open."""
    import holidays

    cal = holidays.country_holidays(country, subdiv=subdivision, years=year)
    skip = {n.casefold() for n in open_on}
    return {d: name for d, name in sorted(cal.items()) if name.casefold() not in skip}


class ClosureDate(_Model):
    """A listed closure (staff training, local event) on top of public holidays."""

    date: date
    reason: NonEmpty


class ClosureRules(_Model):
    """Public holidays (``holidays`` package, country + optional subdivision) + listed dates."""

    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    subdivision: str | None = None
    dates: list[ClosureDate] = []
    open_on: list[NonEmpty] = []

    def _calendar(self, years: Iterable[int]) -> dict[date, str]:
        if not self.country:
            return {}
        out: dict[date, str] = {}
        for y in years:
            out.update(_public_holidays(self.country, self.subdivision, y, tuple(self.open_on)))
        return out

    def closure_reasons(self, start: date, end: date) -> dict[date, str]:
        """Closed dates between ``start`` and ``end`` inclusive, with the reason."""
        out = {
            d: name
            for d, name in self._calendar(range(start.year, end.year + 1)).items()
            if start <= d <= end
        }
        for c in self.dates:
            if start <= c.date <= end:
                out[c.date] = c.reason
        return dict(sorted(out.items()))


class Facilitator(_Model):
    """A facilitator (pseudonymous id) with trainings and the program days they lead."""

    id: Annotated[str, Field(pattern=SNAKE)]
    role: NonEmpty
    trainings: list[Annotated[str, Field(pattern=SNAKE)]] = []
    days: Annotated[list[Weekday], Field(min_length=1)]


class CoreRequirements(_Model):
    """Skills every patient must meet: listed skill ids and/or whole modules (``dbt.mf``)."""

    skills: list[str] = []
    modules: list[str] = []


class ElectivePool(_Model):
    """Which non-core skills may fill the remaining sessions (empty = every group skill)."""

    modalities: list[str] = []
    modules: list[str] = []
    skills: list[str] = []
    exclude: list[str] = []


class ConcernScales(_Model):
    """Extra scales for patients with a given concern."""

    admission: list[str] = []
    weekly: list[str] = []
    discharge: list[str] = []


class SafetyScreen(_Model):
    """A safety item or screener and its thresholds (flag = same-day review)."""

    scale: str
    item: Annotated[int, Field(ge=1)] | None = None
    when: Literal["admission", "weekly", "every_session"]
    flag_at: Annotated[int, Field(ge=0)]
    escalate_at: Annotated[int, Field(ge=0)] | None = None
    source: NonEmpty


class MeasurementSchedule(_Model):
    """Which scales are given when; ``by_concern`` adds scales for a patient's concerns."""

    admission: list[str]
    weekly: list[str] = []
    discharge: list[str]
    by_concern: dict[PatientConcern, ConcernScales] = {}
    safety: list[SafetyScreen] = []
    source: NonEmpty

    def scales_for(self, occasion: Occasion, concerns: Iterable[str] = ()) -> list[str]:
        """Scale ids for an occasion and a patient's concerns (base scales first, no repeats)."""
        if occasion not in OCCASIONS:
            raise InputError(
                f"unknown occasion {occasion!r}; use admission, weekly or discharge",
                rule="measurement occasion",
            )
        out = list(getattr(self, occasion))
        for c in concerns:
            extra = self.by_concern.get(c)  # type: ignore[call-overload]
            if extra is not None:
                out.extend(getattr(extra, occasion))
        return list(dict.fromkeys(out))

    def all_scales(self) -> set[str]:
        """Every scale id mentioned anywhere in the schedule."""
        ids = set(self.admission) | set(self.weekly) | set(self.discharge)
        for cs in self.by_concern.values():
            ids |= set(cs.admission) | set(cs.weekly) | set(cs.discharge)
        ids |= {s.scale for s in self.safety}
        return ids


class Program(_Model):
    """An IOP program: days, block template, stay, admission days, core, measurement, closures."""

    id: Annotated[str, Field(pattern=SNAKE)]
    name: NonEmpty
    description: NonEmpty
    population: Literal["adult", "adolescent"]
    concerns: Annotated[list[Concern], Field(min_length=1)]
    days: Annotated[list[Weekday], Field(min_length=1)]
    session_minutes: Annotated[int, Field(ge=60, le=480)] = 180
    default_start: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    block: Annotated[list[BlockSegment], Field(min_length=1)]
    min_weeks: Annotated[int, Field(ge=4, le=8)]
    max_weeks: Annotated[int, Field(ge=4, le=8)]
    admission_days: Annotated[list[Weekday], Field(min_length=1)]
    core: CoreRequirements
    electives: ElectivePool = ElectivePool()
    admission_tasks: list[str] = []
    measurement: MeasurementSchedule
    closure_rules: ClosureRules = ClosureRules()
    facilitators: list[Facilitator] = []
    source: NonEmpty

    @field_validator("days", "admission_days")
    @classmethod
    def _weekday_order(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            dup = sorted({d for d in v if v.count(d) > 1}, key=WEEKDAYS.index)
            raise ValueError(f"weekday listed twice: {', '.join(dup)}")
        return sorted(v, key=WEEKDAYS.index)

    @property
    def weekdays(self) -> list[int]:
        """Program days as ints, Monday = 0 (``date.weekday()`` convention)."""
        return [WEEKDAYS.index(d) for d in self.days]

    @property
    def admission_weekdays(self) -> list[int]:
        """Admission days as ints, Monday = 0."""
        return [WEEKDAYS.index(d) for d in self.admission_days]

    @property
    def sessions_per_week(self) -> int:
        """Program days per week."""
        return len(self.days)

    @property
    def min_sessions(self) -> int:
        """Sessions in the shortest stay (min_weeks × days per week, before closures)."""
        return self.min_weeks * self.sessions_per_week

    @property
    def max_sessions(self) -> int:
        """Sessions in the longest stay (max_weeks × days per week, before closures)."""
        return self.max_weeks * self.sessions_per_week

    @property
    def start_time(self) -> time:
        """``default_start`` as a :class:`datetime.time`."""
        return _parse_hhmm(self.default_start, "default_start")

    @property
    def block_minutes(self) -> int:
        """Sum of the block's segment minutes."""
        return sum(s.minutes for s in self.block)

    def segment_minutes(self, kind: str) -> int:
        """Minutes of a segment kind in this program's block (0 when absent)."""
        return sum(s.minutes for s in self.block if s.segment == kind)

    def closures(self, start: date, end: date) -> set[date]:
        """Closed dates in [start, end] (public holidays + listed dates), any weekday."""
        return set(self.closure_rules.closure_reasons(start, end))

    def closure_reasons(self, start: date, end: date) -> dict[date, str]:
        """Closed dates in [start, end] with the reason (holiday name or listed reason)."""
        return self.closure_rules.closure_reasons(start, end)

    def session_dates(self, start: date, end: date) -> list[date]:
        """Program days in [start, end] that are not closures, in order."""
        closed = self.closures(start, end)
        days = set(self.weekdays)
        n = (end - start).days + 1
        return [
            d
            for d in (start + timedelta(days=i) for i in range(max(n, 0)))
            if d.weekday() in days and d not in closed
        ]

    def is_program_day(self, d: date) -> bool:
        """True when ``d`` is a program weekday and not a closure."""
        return d.weekday() in self.weekdays and d not in self.closures(d, d)

    def is_admission_day(self, d: date) -> bool:
        """True when new patients can start on ``d`` (admission weekday, program open)."""
        return d.weekday() in self.admission_weekdays and self.is_program_day(d)


# --------------------------------------------------------------------------------------
# Problems and YAML reading
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One validation finding: file, key path (``skills[3].requires[0]``), message, line."""

    file: str
    key: str
    message: str
    line: int | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        key = f" {self.key}" if self.key else ""
        tag = "" if self.severity == "error" else " (warning)"
        return f"{where}{key}{tag}: {self.message}"


Loc = tuple[str | int, ...]


def _key_path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    child = v
                    line = k.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            return line
        node = child
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return node.start_mark.line + 1
    return line


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class _Doc:
    path: Path
    shown: str
    data: Any
    node: yaml.Node | None

    def problem(
        self,
        loc: Sequence[str | int],
        message: str,
        severity: Literal["error", "warning"] = "error",
    ) -> Problem:
        return Problem(self.shown, _key_path(loc), message, _line_of(self.node, loc), severity)


def _read_yaml(path: Path, shown: str) -> tuple[_Doc | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(shown, "", f"cannot read file: {exc}")]
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        ctx = getattr(exc, "context", None)
        msg = f"YAML syntax error: {what}" + (f" ({ctx})" if ctx else "")
        return None, [Problem(shown, "", msg, line)]
    if not isinstance(data, dict):
        return None, [Problem(shown, "", "expected a mapping of keys at the top of the file", 1)]
    dups = [
        Problem(
            shown,
            _key_path((*loc, key)),
            f"key {key!r} appears twice in the same block (lines {first} and {second}); "
            "YAML would silently keep only the last one — merge them",
            second,
        )
        for loc, key, first, second in _duplicate_keys(node, ())
    ]
    return _Doc(path, shown, data, node), dups


def _duplicate_keys(node: yaml.Node | None, loc: Loc) -> Iterable[tuple[Loc, str, int, int]]:
    """(parent path, key, first line, repeated line) for every key repeated in a mapping."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k, v in node.value:
            key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
            line = k.start_mark.line + 1
            if key in seen:
                yield loc, key, seen[key], line
            else:
                seen[key] = line
            yield from _duplicate_keys(v, (*loc, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, i))


def _unwrap(tp: Any) -> Any:
    """Strip Annotated / Optional wrappers from a type annotation."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the model found by following ``loc`` from ``model``."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return []
            tp = tp.model_fields[part].annotation
            continue
        origin = typing.get_origin(tp)
        if origin is list:
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _pydantic_problems(
    doc: _Doc, model: type[BaseModel], exc: ValidationError, prefix: Loc = ()
) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *err["loc"])
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = _fields_at(model, loc[:-1])
            msg = f"unknown key {key!r}{_did_you_mean(key, allowed)}"
            if allowed:
                msg += f"; allowed keys: {', '.join(allowed)}"
        elif err["type"] == "missing":
            msg = f"required key {str(loc[-1])!r} is missing"
        else:
            msg = err["msg"]
            got = err.get("input")
            if err["type"] == "string_type" and isinstance(got, dict) and len(got) == 1:
                msg += (
                    " — YAML read this text as 'key: value' because it contains ': '; "
                    "put the whole text in double quotes"
                )
            elif got is not None and not isinstance(got, dict | list):
                msg += f" (got {got!r})"
        out.append(doc.problem(loc, msg))
    return out


# --------------------------------------------------------------------------------------
# Scale registry
# --------------------------------------------------------------------------------------


def known_scale_ids() -> tuple[frozenset[str], str]:
    """Scale ids from ``iopkit.scales.list_scales()``, or the fallback list; and where from."""
    ids, _, note = _scale_registry()
    return ids, note


def _scale_registry() -> tuple[frozenset[str], dict[str, str], str]:
    """(registry ids, alias → id, note saying where the ids came from)."""
    try:
        from iopkit.scales import list_scales  # type: ignore[attr-defined]

        listed = list(list_scales())
    except Exception as exc:  # noqa: BLE001 - any failure means: use the fallback list
        return (
            FALLBACK_SCALE_IDS,
            {},
            f"iopkit.scales.list_scales() unavailable ({type(exc).__name__}); "
            "checked against the built-in list of scale ids",
        )
    ids = frozenset(str(getattr(s, "id", s)) for s in listed)
    aliases = {str(a): str(s.id) for s in listed for a in getattr(s, "aliases", None) or []}
    return ids, aliases, "checked against iopkit.scales"


# --------------------------------------------------------------------------------------
# Curriculum
# --------------------------------------------------------------------------------------


class Curriculum(BaseModel):
    """The whole catalog and every program, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    root: Path | None = None
    modalities: dict[str, Modality]
    modules: dict[str, Module]
    skills: dict[str, Skill]
    programs: dict[str, Program]
    skill_files: dict[str, str] = {}

    # -- lookups ------------------------------------------------------------------------
    def skill(self, skill_id: str) -> Skill:
        """The skill with this id; InputError with a suggestion if unknown."""
        try:
            return self.skills[skill_id]
        except KeyError:
            raise InputError(
                f"unknown skill {skill_id!r}{_did_you_mean(skill_id, self.skills)}",
                rule="skill id must exist in curriculum/modules",
            ) from None

    def program(self, program_id: str) -> Program:
        """The program with this id; InputError with a suggestion if unknown."""
        try:
            return self.programs[program_id]
        except KeyError:
            known = ", ".join(self.programs) or "none"
            raise InputError(
                f"unknown program {program_id!r}{_did_you_mean(program_id, self.programs)}; "
                f"known programs: {known}",
                rule="program id must exist in curriculum/programs",
            ) from None

    def training_for(self, skill_id: str) -> str | None:
        """Facilitator training a skill needs (skill, else module, else modality setting)."""
        s = self.skill(skill_id)
        mod = self.modules.get(s.module_id)
        modality = self.modalities.get(s.modality)
        return (
            s.training
            or (mod.training if mod else None)
            or (modality.training if modality else None)
        )

    # -- queries -------------------------------------------------------------------------
    def query(
        self,
        modality: str | None = None,
        module: str | None = None,
        target: str | None = None,
        core: bool | None = None,
        program: str | None = None,
        kind: str | None = None,
    ) -> list[Skill]:
        """Skills matching every given filter, in catalog order.

        ``module`` accepts ``"dbt.mf"`` or, with ``modality``, just ``"mf"``. ``target`` is a
        concern (skills tagged ``general`` are NOT included unless ``target="general"``).
        ``core`` means the program's core list when ``program`` is given, else the catalog
        tier. With ``program`` only skills the program can teach (core + electives) are kept.
        """
        for name, value, vocab in (
            ("modality", modality, self.modalities),
            ("target", target, CONCERNS),
        ):
            if value is not None and value not in vocab:
                raise InputError(
                    f"unknown {name} {value!r}{_did_you_mean(value, vocab)}; "
                    f"choose from {', '.join(vocab)}",
                    rule=f"{name} vocabulary",
                )
        if module is not None and "." not in module and modality is not None:
            module = f"{modality}.{module}"
        if module is not None and module not in self.modules:
            raise InputError(
                f"unknown module {module!r}{_did_you_mean(module, self.modules)}; "
                f"choose from {', '.join(self.modules)}",
                rule="module vocabulary",
            )
        core_ids: set[str] | None = None
        allowed: set[str] | None = None
        if program is not None:
            core_ids = set(self.core_skills(program))
            allowed = core_ids | set(self.elective_skills(program))
        out = []
        for s in self.skills.values():
            if modality is not None and s.modality != modality:
                continue
            if module is not None and s.module_id != module:
                continue
            if target is not None and target not in s.targets:
                continue
            if kind is not None and s.kind != kind:
                continue
            if allowed is not None and s.id not in allowed and s.rotating:
                continue
            if core is not None:
                is_core = (s.id in core_ids) if core_ids is not None else s.tier == "core"
                if is_core != core:
                    continue
            out.append(s)
        return out

    def rotating_skills(self) -> list[Skill]:
        """Group skills (the rotation's menu); individual tasks are excluded."""
        return [s for s in self.skills.values() if s.rotating]

    def individual_tasks(self) -> list[Skill]:
        """Individual tasks (e.g. the Stanley–Brown safety plan at admission)."""
        return [s for s in self.skills.values() if not s.rotating]

    def module_skills(self, module_id: str) -> list[str]:
        """Ids of the group skills of a module (``"dbt.mf"``), in catalog order."""
        return [s.id for s in self.skills.values() if s.module_id == module_id and s.rotating]

    def core_skills(self, program_id: str) -> list[str]:
        """Skill ids every patient of the program must meet: listed skills, then modules."""
        prog = self.program(program_id)
        ids = list(prog.core.skills)
        for m in prog.core.modules:
            ids.extend(self.module_skills(m))
        return list(dict.fromkeys(ids))

    def elective_skills(self, program_id: str) -> list[str]:
        """Non-core group skills the program may teach in its remaining sessions."""
        return self.electives_of(self.program(program_id))

    def electives_of(self, prog: Program) -> list[str]:
        """:meth:`elective_skills` for a program object (loaded into this catalog or not)."""
        core = set(prog.core.skills)
        for m in prog.core.modules:
            core.update(self.module_skills(m))
        pool = prog.electives
        wide = not (pool.modalities or pool.modules or pool.skills)
        out = []
        for s in self.rotating_skills():
            if s.id in core or s.id in pool.exclude:
                continue
            if (
                wide
                or s.modality in pool.modalities
                or s.module_id in pool.modules
                or s.id in pool.skills
            ):
                out.append(s.id)
        return out

    def skill_weekdays(self, program_id: str) -> dict[str, list[int]]:
        """Skill id → weekdays (Mon = 0) on which a facilitator trained for it works.

        Covers the program's core and elective skills. A skill needing no training, or a
        program listing no facilitators, gets every program day.
        """
        prog = self.program(program_id)
        out: dict[str, list[int]] = {}
        for sid in [*self.core_skills(program_id), *self.elective_skills(program_id)]:
            need = self.training_for(sid)
            if need is None or not prog.facilitators:
                out[sid] = list(prog.weekdays)
                continue
            days = {
                WEEKDAYS.index(d) for f in prog.facilitators if need in f.trainings for d in f.days
            }
            out[sid] = sorted(days)
        return out

    def prerequisites(self) -> dict[str, list[str]]:
        """Skill id → hard prerequisites (``requires``), for every skill."""
        return {k: list(s.requires) for k, s in self.skills.items()}

    def soft_prerequisites(self) -> dict[str, list[str]]:
        """Skill id → soft ordering preferences (``after``), for every skill."""
        return {k: list(s.after) for k, s in self.skills.items()}

    def min_gaps(self) -> dict[tuple[str, str], int]:
        """(prerequisite, skill) → minimum days between them (e.g. diary → sleep window: 7)."""
        return {
            (pre, k): days for k, s in self.skills.items() for pre, days in s.min_days_after.items()
        }

    def core_sessions_needed(self, program_id: str) -> int:
        """Lower bound on sessions a stay needs so that any admission day meets every core skill.

        One session per core skill, plus one when any core skill requires another core skill:
        if every window of the stay held each core skill exactly once, the window that opens
        on a dependent skill would meet it before its prerequisite. (With that extra session
        the bound is reachable when each prerequisite is taught right before its dependent.)
        """
        core = self.core_skills(program_id)
        core_set = set(core)
        chained = any(p in core_set for k in core for p in self.skills[k].requires)
        return len(core) + (1 if chained else 0)

    # -- tables --------------------------------------------------------------------------
    def skills_frame(self, skills: Iterable[Skill] | None = None) -> pd.DataFrame:
        """One row per skill (list-valued fields stay lists; ``file`` = source YAML)."""
        rows = []
        for s in self.skills.values() if skills is None else skills:
            row = s.model_dump()
            row["module_id"] = s.module_id
            row["training_needed"] = self.training_for(s.id)
            row["file"] = self.skill_files.get(s.id)
            rows.append(row)
        cols = list(Skill.model_fields) + ["module_id", "training_needed", "file"]
        return pd.DataFrame(rows, columns=cols)

    def targets_frame(self, skills: Iterable[str] | None = None) -> pd.DataFrame:
        """Long table ``skill_id, concern`` (one row per target concern of each skill)."""
        ids = list(self.skills) if skills is None else list(skills)
        rows = [(sid, c) for sid in ids for c in self.skill(sid).targets]
        return pd.DataFrame(rows, columns=["skill_id", "concern"])

    def programs_frame(self) -> pd.DataFrame:
        """One row per program: days, stay, sessions and core size."""
        rows = [
            {
                "id": p.id,
                "name": p.name,
                "population": p.population,
                "days": ",".join(p.days),
                "sessions_per_week": p.sessions_per_week,
                "min_weeks": p.min_weeks,
                "max_weeks": p.max_weeks,
                "min_sessions": p.min_sessions,
                "core_skills": len(self.core_skills(p.id)),
                "core_sessions_needed": self.core_sessions_needed(p.id),
                "default_start": p.default_start,
            }
            for p in self.programs.values()
        ]
        return pd.DataFrame(rows)

    def agenda(
        self, program_id: str, day: date, skill_id: str, start: str | time | None = None
    ) -> pd.DataFrame:
        """Timed agenda of one program day (see :func:`agenda`)."""
        return agenda(self.program(program_id), day, self.skill(skill_id), start)


# --------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------


def default_curriculum_dir() -> Path:
    """``$IOPKIT_CURRICULUM`` if set, else the repository's ``curriculum/`` directory."""
    env = os.environ.get("IOPKIT_CURRICULUM")
    if env:
        return Path(env).expanduser()
    import iopkit

    return Path(iopkit.__file__).resolve().parents[1] / "curriculum"


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _yaml_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Elementary cycles reachable by DFS (each reported once), as [a, b, …, a]."""
    seen_sets: set[frozenset[str]] = set()
    cycles: list[list[str]] = []
    color: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        color[n] = 1
        stack.append(n)
        for m in graph.get(n, []):
            if m not in graph:
                continue
            if color.get(m) == 1:
                cyc = stack[stack.index(m) :] + [m]
                key = frozenset(cyc)
                if key not in seen_sets:
                    seen_sets.add(key)
                    cycles.append(cyc)
            elif color.get(m) is None:
                visit(m)
        stack.pop()
        color[n] = 2

    for n in graph:
        if color.get(n) is None:
            visit(n)
    return cycles


def _check_block(doc: _Doc, prog: Program, i_loc: Loc) -> list[Problem]:
    out: list[Problem] = []
    kinds = [s.segment for s in prog.block]
    for j, seg in enumerate(prog.block):
        rule = SEGMENT_RULES[seg.segment]
        if not rule.min_minutes <= seg.minutes <= rule.max_minutes:
            rng = (
                f"{rule.min_minutes}"
                if rule.min_minutes == rule.max_minutes
                else f"{rule.min_minutes}–{rule.max_minutes}"
            )
            out.append(
                doc.problem(
                    (*i_loc, "block", j, "minutes"),
                    f"{rule.title} lasts {seg.minutes} min; allowed {rng} min",
                )
            )
    for kind, rule in SEGMENT_RULES.items():
        n = kinds.count(kind)
        if rule.required and n == 0:
            out.append(doc.problem((*i_loc, "block"), f"block has no {kind!r} segment"))
        if n > 1:
            out.append(doc.problem((*i_loc, "block"), f"block has {n} {kind!r} segments; use one"))
    ordered = [k for k in _SEGMENT_ORDER if k in kinds]
    if len(set(kinds)) == len(kinds) and kinds != ordered:
        out.append(
            doc.problem(
                (*i_loc, "block"),
                f"segments out of order: {' → '.join(kinds)}; expected {' → '.join(ordered)}",
            )
        )
    total = prog.block_minutes
    if total != prog.session_minutes:
        parts = " + ".join(f"{s.segment} {s.minutes}" for s in prog.block)
        hint = ""
        max_five = sum(r.max_minutes for r in SEGMENT_RULES.values() if r.required)
        if "mindfulness" not in kinds and prog.session_minutes > max_five:
            hint = (
                f"; the five required segments reach at most {max_five} min, add a "
                f"'mindfulness' opener (5–15 min)"
            )
        out.append(
            doc.problem(
                (*i_loc, "block"),
                f"block adds up to {total} min ({parts}) but session_minutes is "
                f"{prog.session_minutes}{hint}",
            )
        )
    return out


def _parse_modality_file(
    doc: _Doc,
) -> tuple[tuple[_ModalityHeader, list[tuple[int, Skill]]] | None, list[Problem], set[str]]:
    """Validate a modality file skill by skill, so one bad skill does not hide the others."""
    data = doc.data
    probs: list[Problem] = []
    broken: set[str] = set()
    header_raw = {k: v for k, v in data.items() if k != "skills"}
    header: _ModalityHeader | None = None
    try:
        header = _ModalityHeader.model_validate(header_raw)
    except ValidationError as exc:
        probs += _pydantic_problems(doc, ModalityFile, exc)
        if isinstance(data.get("modality"), str):
            broken.add(data["modality"])
            if isinstance(data.get("modules"), dict):
                broken |= {f"{data['modality']}.{m}" for m in data["modules"]}
    raw_skills = data.get("skills")
    if raw_skills is None:
        probs.append(doc.problem(("skills",), "required key 'skills' is missing"))
        raw_skills = []
    elif not isinstance(raw_skills, list) or not raw_skills:
        probs.append(doc.problem(("skills",), "'skills' must be a non-empty list of skills"))
        raw_skills = []
    indexed: list[tuple[int, Skill]] = []
    for i, raw in enumerate(raw_skills):
        try:
            indexed.append((i, Skill.model_validate(raw)))
        except ValidationError as exc:
            probs += _pydantic_problems(doc, ModalityFile, exc, prefix=("skills", i))
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                broken.add(raw["id"])
    if header is None:
        broken |= {s.id for _, s in indexed}
        return None, probs, broken
    return (header, indexed), probs, broken


def _collect(root: Path) -> tuple[Curriculum | None, list[Problem]]:
    problems: list[Problem] = []
    root_shown = str(root)
    if not root.is_dir():
        what = "is a file, not a curriculum folder" if root.exists() else "not found"
        return None, [Problem(root_shown, "", f"curriculum directory {what}")]
    mod_dir, prog_dir = root / "modules", root / "programs"
    for d in (mod_dir, prog_dir):
        if not d.is_dir():
            problems.append(Problem(_shown(d, root), "", "folder missing (expected *.yaml files)"))
    if problems:
        return None, problems

    modality_files: list[tuple[_Doc, _ModalityHeader, list[tuple[int, Skill]]]] = []
    broken: set[str] = set()  # ids of skills/modalities/modules that failed their schema
    for path in _yaml_files(mod_dir):
        doc, probs = _read_yaml(path, _shown(path, root))
        problems += probs
        if doc is None:
            continue
        parsed, probs, bad = _parse_modality_file(doc)
        problems += probs
        broken |= bad
        if parsed is not None:
            modality_files.append((doc, *parsed))
    if not modality_files and not problems:
        problems.append(Problem(_shown(mod_dir, root), "", "no modality files (*.yaml) found"))

    program_files: list[tuple[_Doc, Program]] = []
    for path in _yaml_files(prog_dir):
        doc, probs = _read_yaml(path, _shown(path, root))
        problems += probs
        if doc is None:
            continue
        try:
            program_files.append((doc, Program.model_validate(doc.data)))
        except ValidationError as exc:
            problems += _pydantic_problems(doc, Program, exc)

    # ---- catalog-level checks -------------------------------------------------------
    modalities: dict[str, Modality] = {}
    modules: dict[str, Module] = {}
    skills: dict[str, Skill] = {}
    where: dict[str, tuple[_Doc, Loc]] = {}
    modality_doc: dict[str, _Doc] = {}
    for doc, mf, indexed in modality_files:
        if mf.modality in modalities:
            problems.append(
                doc.problem(
                    ("modality",),
                    f"modality {mf.modality!r} is also defined in "
                    f"{modality_doc[mf.modality].shown}",
                )
            )
            continue
        modality_doc[mf.modality] = doc
        modalities[mf.modality] = Modality.model_validate(
            mf.model_dump(include=set(Modality.model_fields))
        )
        for mid, mod in mf.modules.items():
            modules[f"{mf.modality}.{mid}"] = mod
        for i, s in indexed:
            loc: Loc = ("skills", i)
            if s.id in skills:
                first_doc, first_loc = where[s.id]
                problems.append(
                    doc.problem(
                        (*loc, "id"),
                        f"duplicate skill id {s.id!r}; first defined in {first_doc.shown} "
                        f"at {_key_path(first_loc)}",
                    )
                )
                continue
            if s.modality != mf.modality:
                problems.append(
                    doc.problem(
                        (*loc, "modality"),
                        f"skill {s.id}: modality {s.modality!r} differs from the file's "
                        f"modality {mf.modality!r}",
                    )
                )
            if s.module not in mf.modules:
                problems.append(
                    doc.problem(
                        (*loc, "module"),
                        f"skill {s.id}: module {s.module!r} is not declared under 'modules'"
                        f"{_did_you_mean(s.module, mf.modules)}; declared: "
                        f"{', '.join(mf.modules)}",
                    )
                )
            if not s.id.startswith(f"{s.modality}.{s.module}."):
                problems.append(
                    doc.problem(
                        (*loc, "id"),
                        f"skill id {s.id!r} must start with '{s.modality}.{s.module}.' "
                        "(modality.module.name)",
                    )
                )
            skills[s.id] = s
            where[s.id] = (doc, loc)

    scale_ids, scale_aliases, scale_note = _scale_registry()
    fallback = scale_note.startswith("iopkit.scales.list_scales() unavailable")

    def scale_problem(doc: _Doc, loc: Loc, sid: str, who: str) -> Problem | None:
        if sid in scale_ids:
            return None
        if sid in scale_aliases:
            return doc.problem(
                loc,
                f"{who}: {sid!r} is an alias; write the registry id {scale_aliases[sid]!r}",
                "warning",
            )
        msg = f"{who}: unknown scale id {sid!r}{_did_you_mean(sid, scale_ids)}"
        msg += f"; known: {', '.join(sorted(scale_ids))}"
        if fallback:
            msg += f" [{scale_note}]"
        return doc.problem(loc, msg)

    for sid, s in skills.items():
        doc, loc = where[sid]
        for field in ("requires", "after"):
            for j, ref in enumerate(getattr(s, field)):
                if ref == sid:
                    problems.append(
                        doc.problem((*loc, field, j), f"skill {sid} lists itself in {field}")
                    )
                elif ref not in skills and ref not in broken:
                    problems.append(
                        doc.problem(
                            (*loc, field, j),
                            f"skill {sid}: unknown prerequisite {ref!r}"
                            f"{_did_you_mean(ref, [*skills, *broken])}",
                        )
                    )
        for ref in s.min_days_after:
            if ref not in s.requires:
                problems.append(
                    doc.problem(
                        (*loc, "min_days_after", ref),
                        f"skill {sid}: min_days_after names {ref!r}, which is not in its "
                        "requires list",
                    )
                )
        for j, sc in enumerate(s.related_scales):
            p = scale_problem(doc, (*loc, "related_scales", j), sc, f"skill {sid}")
            if p:
                problems.append(p)
        if s.contraindications and not s.cautions:
            problems.append(
                doc.problem(
                    (*loc, "cautions"),
                    f"skill {sid} lists contraindications but no cautions explaining them",
                )
            )

    graph = {k: [p for p in s.requires + s.after if p in skills] for k, s in skills.items()}
    for cyc in _find_cycles(graph):
        doc, loc = where[cyc[0]]
        steps = [
            f"{a} {'requires' if b in skills[a].requires else 'comes after'} {b}"
            for a, b in zip(cyc, cyc[1:], strict=False)
        ]
        problems.append(
            doc.problem(
                (*loc, "requires" if cyc[1] in skills[cyc[0]].requires else "after"),
                f"prerequisite cycle: {' → '.join(cyc)} ({'; '.join(steps)}); no teaching "
                "order can satisfy it — remove one of these links",
            )
        )

    # ---- program-level checks ---------------------------------------------------------
    programs: dict[str, Program] = {}
    prog_doc: dict[str, _Doc] = {}
    cur = Curriculum(
        root=root,
        modalities=modalities,
        modules=modules,
        skills=skills,
        programs={},
        skill_files={k: where[k][0].shown for k in skills},
    )
    for doc, prog in program_files:
        if prog.id in programs:
            problems.append(
                doc.problem(
                    ("id",), f"duplicate program id {prog.id!r}; first in {prog_doc[prog.id].shown}"
                )
            )
            continue
        programs[prog.id] = prog
        prog_doc[prog.id] = doc
        problems += _check_program(doc, prog, cur, scale_problem, broken)

    if any(p.severity == "error" for p in problems):
        return None, problems
    cur = Curriculum(
        root=root,
        modalities=modalities,
        modules=modules,
        skills=skills,
        programs=programs,
        skill_files={k: where[k][0].shown for k in skills},
    )
    return cur, problems


def _check_program(
    doc: _Doc, prog: Program, cur: Curriculum, scale_problem: Any, broken: set[str]
) -> list[Problem]:
    out: list[Problem] = []
    who = f"program {prog.id}"
    if prog.min_weeks > prog.max_weeks:
        out.append(
            doc.problem(("min_weeks",), f"min_weeks {prog.min_weeks} > max_weeks {prog.max_weeks}")
        )
    extra_adm = [d for d in prog.admission_days if d not in prog.days]
    if extra_adm:
        out.append(
            doc.problem(
                ("admission_days",),
                f"admission day(s) {', '.join(extra_adm)} are not program days "
                f"({', '.join(prog.days)})",
            )
        )
    out += _check_block(doc, prog, ())
    end = datetime.combine(date(2000, 1, 1), prog.start_time) + timedelta(
        minutes=prog.session_minutes
    )
    if end.date() != date(2000, 1, 1):
        out.append(doc.problem(("default_start",), "session would run past midnight"))

    # core requirements
    for j, sid in enumerate(prog.core.skills):
        if sid in broken:
            continue
        if sid not in cur.skills:
            out.append(
                doc.problem(
                    ("core", "skills", j),
                    f"{who}: unknown core skill {sid!r}"
                    f"{_did_you_mean(sid, [*cur.skills, *broken])}",
                )
            )
        elif not cur.skills[sid].rotating:
            out.append(
                doc.problem(
                    ("core", "skills", j),
                    f"{who}: {sid} is an individual task, not a group skill; list it under "
                    "admission_tasks instead",
                )
            )
    for j, mid in enumerate(prog.core.modules):
        if mid not in cur.modules and mid not in broken:
            out.append(
                doc.problem(
                    ("core", "modules", j),
                    f"{who}: unknown module {mid!r}{_did_you_mean(mid, cur.modules)} "
                    "(write modality.module, e.g. dbt.mf)",
                )
            )
    for key in ("modalities", "modules", "skills", "exclude"):
        vocab = {"modalities": cur.modalities, "modules": cur.modules}.get(key, cur.skills)
        for j, ref in enumerate(getattr(prog.electives, key)):
            if ref not in vocab and ref not in broken:
                out.append(
                    doc.problem(
                        ("electives", key, j),
                        f"{who}: unknown {key[:-1] if key != 'modalities' else 'modality'} "
                        f"{ref!r}{_did_you_mean(ref, vocab)}",
                    )
                )
    for j, sid in enumerate(prog.admission_tasks):
        if sid in broken:
            continue
        if sid not in cur.skills:
            out.append(
                doc.problem(
                    ("admission_tasks", j),
                    f"{who}: unknown task {sid!r}{_did_you_mean(sid, [*cur.skills, *broken])}",
                )
            )
        elif cur.skills[sid].rotating:
            out.append(
                doc.problem(
                    ("admission_tasks", j),
                    f"{who}: {sid} is a group skill; admission_tasks takes individual tasks",
                )
            )

    def core_loc(sid: str) -> Loc:
        if sid in prog.core.skills:
            return ("core", "skills", prog.core.skills.index(sid))
        mid = cur.skills[sid].module_id
        return ("core", "modules", prog.core.modules.index(mid))

    core = [sid for sid in dict.fromkeys(prog.core.skills) if sid in cur.skills] + [
        s for m in prog.core.modules for s in cur.module_skills(m)
    ]
    core = list(dict.fromkeys(core))
    core_set = set(core) | {sid for sid in prog.core.skills if sid in broken}
    for sid in core:
        for pre in cur.skills[sid].requires:
            if pre not in core_set and pre in cur.skills:
                out.append(
                    doc.problem(
                        core_loc(sid),
                        f"{who}: core skill {sid} requires {pre}, which is not core; a patient "
                        f"could be due {sid} without ever meeting {pre}. Add {pre} to core or "
                        "drop the requirement",
                    )
                )
        teach = cur.skills[sid].minutes
        seg = prog.segment_minutes("skill")
        if teach > seg:
            out.append(
                doc.problem(
                    core_loc(sid),
                    f"{who}: core skill {sid} needs {teach} min of teaching; the skill-of-the-day "
                    f"segment is {seg} min",
                )
            )
    chained = any(p in core_set for k in core for p in cur.skills[k].requires)
    n_core = len(core_set)  # skills with schema errors still count as core
    needed = n_core + (1 if chained else 0)
    have = prog.min_sessions
    if needed > have:
        why = f"{n_core} core skills"
        if chained:
            why += " + 1 repeat so a patient admitted between a prerequisite and its dependent "
            why += "still meets the prerequisite first"
        out.append(
            doc.problem(
                ("core",),
                f"{who}: core needs at least {needed} sessions ({why}); a {prog.min_weeks}-week "
                f"stay at {prog.sessions_per_week} days a week has {have}",
            )
        )
    elif needed == have:
        out.append(
            doc.problem(
                ("core",),
                f"{who}: core needs {needed} sessions and the shortest stay has exactly {have}; "
                "one closure or absence leaves a patient short",
                "warning",
            )
        )

    # facilitators and trainings
    for j, f in enumerate(prog.facilitators):
        bad = [d for d in f.days if d not in prog.days]
        if bad:
            out.append(
                doc.problem(
                    ("facilitators", j, "days"),
                    f"{who}: facilitator {f.id} works {', '.join(bad)}, not a program day",
                )
            )
    if prog.facilitators:
        trained = {t for f in prog.facilitators for t in f.trainings}
        for sid in core:
            need = cur.training_for(sid)
            if need and need not in trained:
                out.append(
                    doc.problem(
                        ("facilitators",),
                        f"{who}: core skill {sid} needs a facilitator trained in {need!r}; "
                        f"none is listed (trainings: {', '.join(sorted(trained)) or 'none'})",
                    )
                )
        untaught: dict[str, list[str]] = {}
        for sid in cur.electives_of(prog):
            need = cur.training_for(sid)
            if need and need not in trained:
                untaught.setdefault(need, []).append(sid)
        for need, sids in sorted(untaught.items()):
            out.append(
                doc.problem(
                    ("electives",),
                    f"{who}: {len(sids)} elective skill(s) need a facilitator trained in "
                    f"{need!r} and none is listed, so the planner can never place them "
                    f"({', '.join(sids[:4])}{', ...' if len(sids) > 4 else ''})",
                    "warning",
                )
            )

    # measurement
    m = prog.measurement
    for occ in OCCASIONS:
        for j, sc in enumerate(getattr(m, occ)):
            p = scale_problem(doc, ("measurement", occ, j), sc, who)
            if p:
                out.append(p)
    for concern, cs in m.by_concern.items():
        for occ in OCCASIONS:
            for j, sc in enumerate(getattr(cs, occ)):
                p = scale_problem(doc, ("measurement", "by_concern", concern, occ, j), sc, who)
                if p:
                    out.append(p)
    for j, sf in enumerate(m.safety):
        p = scale_problem(doc, ("measurement", "safety", j, "scale"), sf.scale, who)
        if p:
            out.append(p)
        if sf.escalate_at is not None and sf.escalate_at < sf.flag_at:
            out.append(
                doc.problem(
                    ("measurement", "safety", j),
                    f"{who}: escalate_at {sf.escalate_at} is below flag_at {sf.flag_at}",
                )
            )

    # closures
    cr = prog.closure_rules
    if cr.subdivision and not cr.country:
        out.append(doc.problem(("closure_rules", "subdivision"), "subdivision needs a country"))
    elif cr.country:
        import holidays

        supported = holidays.list_supported_countries()
        if cr.country not in supported:
            out.append(
                doc.problem(
                    ("closure_rules", "country"),
                    f"{who}: the holidays package has no country {cr.country!r}"
                    f"{_did_you_mean(cr.country, supported)}",
                )
            )
        elif cr.subdivision and cr.subdivision not in supported[cr.country]:
            out.append(
                doc.problem(
                    ("closure_rules", "subdivision"),
                    f"{who}: holidays rejects subdivision {cr.subdivision!r} of {cr.country}; "
                    f"known: {', '.join(supported[cr.country])}",
                )
            )
    seen: dict[date, int] = {}
    for j, c in enumerate(cr.dates):
        if c.date in seen:
            out.append(
                doc.problem(
                    ("closure_rules", "dates", j, "date"),
                    f"{who}: closure {c.date} listed twice (also dates[{seen[c.date]}])",
                )
            )
        seen[c.date] = j
    return out


def _resolve(path: str | os.PathLike[str] | None) -> Path:
    return Path(path).expanduser() if path is not None else default_curriculum_dir()


def validate_curriculum(path: str | os.PathLike[str] | None = None) -> list[Problem]:
    """Every problem in a curriculum directory (errors and warnings); [] when valid."""
    _, problems = _collect(_resolve(path).resolve())
    return problems


@functools.lru_cache(maxsize=16)
def _load_cached(root: str, stamp: tuple[tuple[str, float], ...]) -> Curriculum:
    cur, problems = _collect(Path(root))
    errors = [p for p in problems if p.severity == "error"]
    if cur is None or errors:
        shown = "\n".join(f"  {p}" for p in errors[:25])
        more = f"\n  … and {len(errors) - 25} more" if len(errors) > 25 else ""
        raise ConfigError(
            f"curriculum at {root} has {len(errors)} problem(s):\n{shown}{more}\n"
            "Run `iopkit curriculum validate` for the full list."
        )
    return cur


def load_curriculum(path: str | os.PathLike[str] | None = None) -> Curriculum:
    """Load and validate a curriculum directory (default: see :func:`default_curriculum_dir`).

    Raises :class:`ConfigError` naming every problem; cached until a file changes.
    """
    root = _resolve(path).resolve()
    if not root.is_dir():
        what = "is a file, not a curriculum folder" if root.exists() else "not found"
        raise ConfigError(
            f"curriculum directory {what}: {root} (set IOPKIT_CURRICULUM or pass a path)"
        )
    stamp = tuple(
        (str(p), p.stat().st_mtime)
        for sub in ("modules", "programs")
        if (root / sub).is_dir()
        for p in _yaml_files(root / sub)
    )
    return _load_cached(str(root), stamp)


# --------------------------------------------------------------------------------------
# Agenda
# --------------------------------------------------------------------------------------


def _parse_hhmm(value: str | time, what: str = "start") -> time:
    if isinstance(value, time):
        return value
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", str(value).strip()):
        raise InputError(f"{what} {value!r} is not a time of day HH:MM (e.g. 09:00)", rule="HH:MM")
    return datetime.strptime(str(value).strip(), "%H:%M").time()


def _segment_content(kind: str, skill: Skill, minutes: int) -> str:
    if kind == "skill":
        text = f"{skill.title} — " + " ".join(skill.teaching_points)
        if skill.minutes > minutes:
            text += (
                f" (Note: this skill needs {skill.minutes} min of teaching and the segment has "
                f"{minutes}; finish it in the application block.)"
            )
        return text
    if kind == "application":
        return skill.practice
    if kind == "wrap_up":
        return f"Home practice: {skill.home_practice}"
    if kind == "mindfulness" and skill.modality == "dbt" and skill.module == "mf":
        return f"{SEGMENT_RULES[kind].description} Today's practice previews {skill.title}."
    return SEGMENT_RULES[kind].description


def agenda(
    program: Program,
    day: date,
    skill: Skill,
    start: str | time | None = None,
) -> pd.DataFrame:
    """Timed agenda of one program day.

    Returns one row per block segment: ``segment`` (kind), ``title``, ``start`` and ``end``
    (pandas Timestamps on ``day``), ``minutes`` and ``content`` (skill of the day = the
    skill's title and teaching points; application = its in-group practice; wrap-up = its
    home practice). Segments are contiguous and sum to ``program.session_minutes``.
    Raises InputError when ``day`` is not a program day, is a closure, or ``skill`` is an
    individual task.
    """
    if isinstance(day, datetime):
        day = day.date()
    if day.weekday() not in program.weekdays:
        raise InputError(
            f"{day} is a {WEEKDAYS[day.weekday()]}; program {program.id} meets on "
            f"{', '.join(program.days)}",
            rule="agenda date must be a program day",
        )
    closed = program.closure_reasons(day, day)
    if closed:
        raise InputError(
            f"program {program.id} is closed on {day} ({closed[day]})",
            rule="agenda date must not be a closure",
        )
    if not skill.rotating:
        raise InputError(
            f"{skill.id} is an individual task ({skill.title}), not a group skill of the day",
            rule="agenda skill must be a group skill",
        )
    t0 = datetime.combine(day, _parse_hhmm(start or program.default_start))
    rows = []
    for seg in program.block:
        t1 = t0 + timedelta(minutes=seg.minutes)
        rows.append(
            {
                "segment": seg.segment,
                "title": SEGMENT_RULES[seg.segment].title,
                "start": pd.Timestamp(t0),
                "end": pd.Timestamp(t1),
                "minutes": seg.minutes,
                "content": _segment_content(seg.segment, skill, seg.minutes),
            }
        )
        t0 = t1
    if rows[-1]["end"].date() != day:
        raise InputError(
            f"a {program.session_minutes}-min session starting at {rows[0]['start']:%H:%M} "
            "would end after midnight",
            rule="session must end the same day",
        )
    return pd.DataFrame(rows)
