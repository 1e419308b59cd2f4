"""Checks a report notebook runs in its first cell, after the parameters cell.

The runner already checks names and types (:mod:`iopkit.reports.engine.params`), but a notebook
opened in JupyterLab is edited by hand, and some rules need the data (does the cohort
exist?). Each check raises :class:`~iopkit.errors.InputError` with a message a clinical lead
can act on — the report stops at the first cell instead of failing deep inside a plot.
"""

from __future__ import annotations

import datetime as dt

from iopkit.errors import InputError
from iopkit.reports.views.source import ReportData


def iso_dates(**dates: str) -> None:
    """Every given date is blank or ``YYYY-MM-DD``; ``start_date`` ≤ ``end_date`` if both."""
    parsed = {}
    for name, value in dates.items():
        if value in ("", None):
            continue
        try:
            parsed[name] = dt.date.fromisoformat(str(value))
        except ValueError:
            raise InputError(
                f"parameter {name} must be an ISO date YYYY-MM-DD (or blank), got {value!r}",
                rule="ISO date",
            ) from None
    both = "start_date" in parsed and "end_date" in parsed
    if both and parsed["start_date"] > parsed["end_date"]:
        raise InputError(
            f"start_date {parsed['start_date']} is after end_date {parsed['end_date']}",
            rule="period",
        )


def positive(**values: float) -> None:
    """Every given number is > 0."""
    for name, value in values.items():
        if not value > 0:
            raise InputError(f"parameter {name} must be > 0, got {value!r}", rule="positive")


def suppression(suppress_below: int) -> int:
    """The small-cell ``k`` of a report: an integer ≥ 0 (0 or 1 = suppression off).

    Returns ``max(suppress_below, 1)``, the ``k`` that :func:`iopkit.outcomes.suppress`
    accepts (k = 1 hides nothing).
    """
    if isinstance(suppress_below, bool) or not isinstance(suppress_below, int) or (
        suppress_below < 0
    ):
        raise InputError(
            "parameter suppress_below must be a whole number ≥ 0 (11 = CMS/ResDAC rule; "
            f"0 or 1 shows every cell), got {suppress_below!r}",
            rule="suppression k",
        )
    return max(suppress_below, 1)


#: Who a report is for (issue 12 §3). ``care_team``: the clinicians who own the data —
#: pseudonymous IDs, individual episodes, no small-cell suppression, marked confidential.
#: ``aggregate``: boards, payers, publication — counts 1 … k−1 hidden with their
#: complementary cells, no figure of individual episodes.
AUDIENCES = ("care_team", "aggregate")


def audience(audience: str, suppress_below: int) -> int:
    """The small-cell ``k`` of a report for ``audience`` (one of :data:`AUDIENCES`).

    ``care_team`` → 1 (nothing hidden: the care team owns the data); ``aggregate`` →
    :func:`suppression` of ``suppress_below``, which must then be ≥ 2 (an aggregate report
    without suppression is refused: use ``care_team`` to see every cell).
    """
    if audience not in AUDIENCES:
        raise InputError(
            f"parameter audience must be one of {', '.join(AUDIENCES)}, got {audience!r}",
            rule="audience",
        )
    k = suppression(suppress_below)
    if audience == "care_team":
        return 1
    if k < 2:
        raise InputError(
            "an aggregate report suppresses small cells: suppress_below must be ≥ 2 "
            f"(11 = CMS/ResDAC rule), got {suppress_below!r}; use audience 'care_team' "
            "to see every cell",
            rule="aggregate reports suppress small cells",
        )
    return k


def care_team_only(audience: str, report: str) -> None:
    """A report about one person (``report``) is for the care team only: ``audience`` must be
    ``care_team`` (an aggregate version of one patient cannot protect anyone)."""
    if audience not in AUDIENCES:
        raise InputError(
            f"parameter audience must be one of {', '.join(AUDIENCES)}, got {audience!r}",
            rule="audience",
        )
    if audience != "care_team":
        raise InputError(
            f"{report} is about one person and is for the care team only (audience "
            f"'care_team'), got {audience!r}",
            rule="one-person reports are for the care team",
        )


def cohort(data: ReportData, cohort_id: str) -> None:
    """``cohort_id`` is a cohort of the data (lists the known ones otherwise)."""
    known = sorted(map(str, data["cohorts"]["cohort_id"]))
    if str(cohort_id) not in known:
        raise InputError(
            f"cohort {cohort_id!r} is not in {data.source} (cohorts: {', '.join(known)})",
            column="cohort_id",
            rule="cohort must exist",
        )


def episode(data: ReportData, episode_id: str) -> None:
    """``episode_id`` is an episode of the data."""
    eps = data["episodes"]["episode_id"].astype(str)
    if str(episode_id) not in set(eps):
        sample = ", ".join(sorted(eps)[:5])
        raise InputError(
            f"episode {episode_id!r} is not in {data.source} (e.g. {sample}, …)",
            column="episode_id",
            rule="episode must exist",
        )


def scale(scale_id: str, *, data: ReportData | None = None) -> None:
    """``scale_id`` is in the scale registry (and, with ``data``, has scores there)."""
    from iopkit.scales.registry import scale_ids

    known = scale_ids()
    if scale_id not in known:
        raise InputError(
            f"scale {scale_id!r} is not in the registry (known: {', '.join(known)})",
            rule="scale must exist",
        )
    if data is not None and not (data.scores["scale"] == scale_id).any():
        raise InputError(f"no {scale_id} scores in {data.source}", rule="scale must have scores")


def program(program_id: str) -> None:
    """``program_id`` is a program of ``curriculum/programs``."""
    from iopkit.curriculum import load_curriculum

    known = sorted(load_curriculum().programs)
    if program_id not in known:
        raise InputError(
            f"program {program_id!r} is not in curriculum/programs (known: {', '.join(known)})",
            rule="program must exist",
        )
