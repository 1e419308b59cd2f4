"""The schema of ``curriculum/``: one pydantic model per thing a clinical lead writes.

``curriculum/modules/*.yaml`` hold a :class:`ModalityFile` each (modality, modules, skills);
``curriculum/programs/*.yaml`` a :class:`Program` each (days, daily block, stay, core,
electives, measurement schedule, closures, facilitators). Every model is frozen and refuses
unknown keys, so a typo is an error, not a silently ignored setting. Cross-file rules
(prerequisites exist, core fits the stay, ...) live in :mod:`iopkit.curriculum.checks`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from iopkit.errors import InputError
from iopkit.vocab import (
    OCCASIONS,
    WEEKDAYS,
    Occasion,
    PatientConcern,
    SkillConcern,
    Weekday,
)

__all__ = [
    "SKILL_ID",
    "SNAKE",
    "BlockSegment",
    "ClosureDate",
    "ClosureRules",
    "ConcernScales",
    "CoreRequirements",
    "ElectivePool",
    "Facilitator",
    "MeasurementSchedule",
    "Modality",
    "ModalityFile",
    "ModalityHeader",
    "Module",
    "Program",
    "SafetyScreen",
    "SegmentKind",
    "Skill",
    "parse_hhmm",
]

#: The kinds of segment a daily block is made of. Their order, minutes and whether a block
#: needs them are data (``iopkit/curriculum/segments.yaml``); the kinds themselves are code,
#: because the agenda fills each kind from a different part of the skill.
SegmentKind = Literal["check_in", "mindfulness", "skill", "break", "application", "wrap_up"]

#: snake_case identifier (modality, module, training, contraindication, facilitator ids).
SNAKE = r"^[a-z][a-z0-9_]*$"
#: ``modality.module.name``, e.g. ``dbt.dt.tip``.
SKILL_ID = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"

NonEmpty = Annotated[str, Field(min_length=1)]


def parse_hhmm(value: str | time, what: str = "start") -> time:
    """``"09:00"`` → ``time(9, 0)`` (24-hour clock); InputError naming ``what`` otherwise."""
    if isinstance(value, time):
        return value
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", str(value).strip()):
        raise InputError(f"{what} {value!r} is not a time of day HH:MM (e.g. 09:00)", rule="HH:MM")
    return datetime.strptime(str(value).strip(), "%H:%M").time()


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
    targets: Annotated[list[SkillConcern], Field(min_length=1)]
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


class ModalityHeader(Modality):
    """A modality file without its skills (validated apart, so one bad skill hides nothing)."""

    modules: dict[Annotated[str, Field(pattern=SNAKE)], Module]


class ModalityFile(ModalityHeader):
    """Schema of one ``curriculum/modules/*.yaml`` file."""

    skills: Annotated[list[Skill], Field(min_length=1)]


class BlockSegment(_Model):
    """One timed segment of the daily block (minutes checked against ``segments.yaml``)."""

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


@functools.lru_cache(maxsize=64)
def region_time_zone(country: str | None) -> str | None:
    """The IANA time zone of a country when it is unambiguous, else ``None``.

    Source: the IANA tz database's ``zone.tab`` (one row per zone, ISO 3166 country code;
    https://data.iana.org/time-zones/tz-link.html), read from the ``tzdata`` package or the
    system's ``/usr/share/zoneinfo``. Unambiguous = every zone of the country has the same
    UTC offsets in January and July of this year (e.g. DE: Europe/Berlin and Europe/Busingen
    agree); a country spanning several (US, CA, AU, BR, RU, MX …) gives ``None``: the program
    file must then name its ``time_zone`` — a zone is never guessed.
    """
    if not country:
        return None
    from importlib import resources
    from pathlib import Path
    from zoneinfo import ZoneInfo

    try:
        text = (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        system = Path("/usr/share/zoneinfo/zone.tab")
        text = system.read_text("utf-8") if system.is_file() else ""
    zones = [
        cols[2]
        for line in text.splitlines()
        if line and not line.startswith("#")
        and len(cols := line.split("\t")) >= 3 and cols[0] == country
    ]  # fmt: skip
    if not zones:
        return None
    year = date.today().year
    offsets = {
        tuple(datetime(year, m, 15, 12, tzinfo=ZoneInfo(z)).utcoffset() for m in (1, 7))
        for z in zones
    }
    return zones[0] if len(offsets) == 1 else None


def _check_time_zone(name: str | None) -> str | None:
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone (e.g. America/New_York, Europe/Berlin)"
        ) from None
    return name


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

    @property
    def weekdays(self) -> list[int]:
        """The days this facilitator works as ints, Monday = 0 (``date.weekday()``)."""
        return sorted(WEEKDAYS.index(d) for d in self.days)


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
    concerns: Annotated[list[SkillConcern], Field(min_length=1)]
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
    #: IANA tz database name (https://www.iana.org/time-zones), e.g. America/New_York;
    #: default: the holiday country's zone when it has only one (:func:`region_time_zone`)
    time_zone: str | None = None
    facilitators: list[Facilitator] = []
    source: NonEmpty

    @field_validator("time_zone")
    @classmethod
    def _iana_zone(cls, v: str | None) -> str | None:
        return _check_time_zone(v)

    @property
    def zone_name(self) -> str | None:
        """The program's IANA time zone: ``time_zone``, else the one zone of its holiday
        country, else ``None`` (calendars then use floating local times)."""
        return self.time_zone or region_time_zone(self.closure_rules.country)

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
        return parse_hhmm(self.default_start, "default_start")

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
