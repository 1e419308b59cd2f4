"""The timed agenda of one program day: the block's segments filled from the skill of the day.

Titles and descriptions of the segments come from ``segments.yaml``
(:data:`iopkit.curriculum.segments.SEGMENT_RULES`); what each segment holds comes from the
skill (teaching points, in-group practice, home practice).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd

from iopkit.curriculum.models import Program, Skill, parse_hhmm
from iopkit.curriculum.segments import SEGMENT_RULES
from iopkit.errors import InputError
from iopkit.vocab import WEEKDAYS

__all__ = ["AGENDA_COLUMNS", "agenda", "segment_content"]

#: Columns of :func:`agenda` (``start``/``end`` are pandas Timestamps on the day).
AGENDA_COLUMNS = ["segment", "title", "start", "end", "minutes", "content"]


def segment_content(kind: str, skill: Skill, minutes: int) -> str:
    """What a segment of ``minutes`` holds on a day whose skill is ``skill``."""
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
    if kind == "mindfulness" and skill.module_id == "dbt.mf":
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
    t0 = datetime.combine(day, parse_hhmm(start or program.default_start))
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
                "content": segment_content(seg.segment, skill, seg.minutes),
            }
        )
        t0 = t1
    if rows[-1]["end"].date() != day:
        raise InputError(
            f"a {program.session_minutes}-min session starting at {rows[0]['start']:%H:%M} "
            "would end after midnight",
            rule="session must end the same day",
        )
    return pd.DataFrame(rows, columns=AGENDA_COLUMNS)
