"""Plan helpers on their way to :mod:`iopkit.rotation` (the rotation redesign moves them).

Only ``coverage_matrix``, ``plan_inputs`` and ``stay_sessions`` live here, unchanged, until
the rotation package takes them over; ``rotation_modalities`` is re-exported from
:mod:`iopkit.reports.views.tables` for ``notebooks/curriculum_plan.ipynb`` meanwhile. Every
other report arrangement is in :mod:`iopkit.reports.views.tables`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from iopkit.errors import InputError
from iopkit.reports.views.source import ReportData
from iopkit.reports.views.tables import rotation_modalities

__all__ = ["coverage_matrix", "plan_inputs", "rotation_modalities", "stay_sessions"]


def coverage_matrix(
    sequence: Sequence[str],
    *,
    core: Iterable[str],
    window: int,
    weekdays: Sequence[int],
    admit_weekdays: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Times each core skill is taught in the first ``window`` sessions after each admission.

    The rotation ``sequence`` repeats; session ``i`` falls on ``weekdays[i % len(weekdays)]``,
    so the pattern repeats every lcm(len(sequence), len(weekdays)) sessions — one row per
    admission slot in that super-cycle (admission = a session on an admission weekday).
    Returns long rows ``admission_slot, weekday, skill, exposures``; a skill with 0 exposures
    is missed by patients admitted in that slot who stay the minimum ``window`` sessions.
    Cross-checked against :func:`iopkit.rotation.coverage_table` in the tests.
    """
    from iopkit.rotation import weekday_name

    seq = list(sequence)
    if not seq or window < 1:
        raise InputError("coverage needs a non-empty rotation and a window of ≥ 1 session")
    n = len(seq) * len(weekdays) // math.gcd(len(seq), len(weekdays))
    admit = set(admit_weekdays if admit_weekdays is not None else weekdays)
    core = list(core)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        wd = weekdays[i % len(weekdays)]
        if wd not in admit:
            continue
        taught = [seq[(i + j) % len(seq)] for j in range(window)]
        label = f"{i + 1:02d} {weekday_name(wd)}"
        for skill in core:
            rows.append(
                {
                    "admission_slot": label,
                    "weekday": weekday_name(wd),
                    "skill": skill,
                    "exposures": taught.count(skill),
                }
            )
    return pd.DataFrame(rows)


def plan_inputs(
    data: ReportData | None,
    *,
    cohort_id: str = "",
    program_id: str = "",
    start_date: str = "",
    concern_mix: str = "",
) -> dict[str, Any]:
    """Resolve the plan's program, start date and concern mix from parameters and the cohort.

    Explicit parameters win; otherwise the cohort's program and start date, and the mix of
    its patients' primary concerns (counts → shares, :func:`iopkit.rotation.parse_mix`).
    ``concern_mix`` is written ``depression:0.6,anxiety:0.4`` (``=`` also accepted).
    """
    from iopkit.data.catalog import get_program
    from iopkit.rotation import parse_mix

    cohort = None
    if data is not None and cohort_id:
        cohorts = data["cohorts"].set_index("cohort_id")
        if cohort_id not in cohorts.index:
            raise InputError(f"cohort {cohort_id!r} is not in {data.source}", rule="cohort")
        cohort = cohorts.loc[cohort_id]
    pid = program_id or (str(cohort["program_id"]) if cohort is not None else "")
    program = get_program(pid or None)
    if start_date:
        start = pd.Timestamp(start_date).date()
    elif cohort is not None and pd.notna(cohort.get("start_date")):
        start = pd.Timestamp(cohort["start_date"]).date()
    else:
        start = getattr(program, "default_start", None)
        if start is None:
            raise InputError("no start_date given and the cohort has none", rule="start date")
    if concern_mix:
        mix = parse_mix(concern_mix.replace(":", "="))
        mix_text = concern_mix
    elif data is not None and cohort is not None:
        eps = data["episodes"][data["episodes"]["cohort_id"].astype(str) == cohort_id]
        concerns = data["patients"].set_index("patient_id").reindex(eps["patient_id"])
        counts = concerns["primary_concern"].value_counts()
        mix = parse_mix({str(k): float(v) for k, v in counts.items()}) if len(counts) else None
        mix_text = ", ".join(f"{k} {v:.0%}" for k, v in (mix or {}).items()) + " (cohort)"
    else:
        mix, mix_text = None, "not given"
    return {"program_id": program.id, "start": start, "mix": mix, "mix_text": mix_text}


def stay_sessions(
    data: ReportData,
    *,
    cohort_id: str,
    program_id: str,
    admit_date: Any,
    min_sessions: int,
    time_limit: float = 5.0,
) -> pd.DataFrame:
    """Sessions a patient of ``cohort_id`` admitted on ``admit_date`` can attend.

    The cohort's delivered sessions (``date, skill_id``, ``planned`` false); when fewer than
    ``min_sessions`` of them fall on or after admission (an active episode), the program's
    planned rotation (:func:`iopkit.rotation.plan_program` → :func:`iopkit.calendar.build_calendar`)
    continues from the day after the last delivered session (``planned`` true), so the
    make-up list can name future dates.
    """
    from iopkit.calendar import build_calendar
    from iopkit.curriculum import load_curriculum
    from iopkit.rotation import plan_program

    s = data["sessions"]
    s = s[s["cohort_id"].astype(str) == str(cohort_id)]
    delivered = pd.DataFrame(
        {"date": pd.to_datetime(s["date"]), "skill_id": s["skill_id"], "planned": False}
    ).sort_values("date")
    admit = pd.Timestamp(admit_date)
    have = int((delivered["date"] >= admit).sum())
    if have >= min_sessions:
        return delivered.reset_index(drop=True)
    cur = load_curriculum()
    plan = plan_program(cur, program_id, time_limit=time_limit, num_workers=1)
    if plan.rotation.empty:
        raise InputError(f"program {program_id!r} has no feasible rotation to project sessions")
    start = (delivered["date"].max() if len(delivered) else admit - pd.Timedelta(days=1))
    per_week = max(len(cur.programs[program_id].weekdays), 1)
    weeks = math.ceil((min_sessions - have) / per_week) + 2
    cal = build_calendar(plan.rotation, curriculum=cur, program_id=program_id,
                         start=(start + pd.Timedelta(days=1)).date(), weeks=weeks)
    planned = pd.DataFrame(
        {"date": pd.to_datetime(cal.sessions["date"]), "skill_id": cal.sessions["skill_id"],
         "planned": True}
    )
    return pd.concat([delivered, planned], ignore_index=True)
