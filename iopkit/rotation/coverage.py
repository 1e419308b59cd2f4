"""Coverage of a sequence of skills, recounted without the solver.

Works on any sequence — a planned cycle, a baseline, or the sessions actually delivered —
so it proves (or disproves) what the planner claims: for every admission slot, whether each
core skill is met within the minimum stay, how soon, whether prerequisites came first, and
the expected coverage when each session is attended with probability ``attendance_p``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from iopkit.errors import InputError
from iopkit.vocab import WEEKDAYS


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
        raise InputError("empty rotation: nothing to analyse")
    if not 0 <= attendance_p <= 1:
        raise InputError(f"attendance probability must be in [0, 1], got {attendance_p}")
    unrolled, starts = _joint_period(seq, weekdays, admit_weekdays)
    rows = _window_rows(
        unrolled, starts, window, set(core), dict(requires or {}), attendance_p, True, lags
    )
    out = pd.DataFrame(rows)
    if len(out):
        spw = len(weekdays)
        out.insert(1, "weekday", [WEEKDAYS[weekdays[a % spw]].title() for a in starts])
        out.insert(2, "skill_on_admission", [unrolled[a] for a in starts])
    return out


def coverage_matrix(
    sequence: Sequence[str],
    *,
    core: Iterable[str],
    window: int,
    weekdays: Sequence[int],
    admit_weekdays: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Times each core skill is taught in the first ``window`` sessions after each admission.

    The same admission slots as :func:`coverage_table` (one joint period of the sequence
    and the week). Returns long rows ``admission_slot`` (label ``"01 Mon"``: slot number
    from 1 and weekday), ``weekday, skill, exposures``; a skill with 0 exposures is missed
    by patients admitted in that slot who stay the minimum ``window`` sessions. The input
    of :func:`iopkit.plots.coverage_heatmap`.
    """
    seq = list(sequence)
    if not seq or window < 1:
        raise InputError("coverage needs a non-empty rotation and a window of ≥ 1 session")
    unrolled, starts = _joint_period(seq, weekdays, admit_weekdays)
    core = list(core)
    rows: list[dict[str, Any]] = []
    for a in starts:
        day = WEEKDAYS[weekdays[a % len(weekdays)]].title()
        taught = [unrolled[(a + k) % len(unrolled)] for k in range(window)]
        for skill in core:
            rows.append(
                {
                    "admission_slot": f"{a + 1:02d} {day}",
                    "weekday": day,
                    "skill": skill,
                    "exposures": taught.count(skill),
                }
            )
    return pd.DataFrame(rows)


def _joint_period(
    seq: Sequence[str], weekdays: Sequence[int], admit_weekdays: Sequence[int] | None
) -> tuple[list[str], list[int]]:
    """The sequence unrolled over one joint period and the admission slots in it.

    A sequence whose length is not a whole number of weeks meets each weekday at different
    positions; the pattern repeats after lcm(len(seq), sessions a week) sessions. Admission
    slots are the slots on an admission weekday (default: every program day).
    """
    spw = len(weekdays)
    period = math.lcm(len(seq), spw)
    unrolled = [seq[i % len(seq)] for i in range(period)]
    admit = set(weekdays if admit_weekdays is None else admit_weekdays)
    return unrolled, [i for i in range(period) if weekdays[i % spw] in admit]


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
            raise InputError(f"sessions table has no column {col!r}")
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
        out.insert(1, "weekday", [WEEKDAYS[dates[a].weekday()].title() for a in starts])
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
        raise InputError("coverage table is empty: no admission slot to summarise")
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
