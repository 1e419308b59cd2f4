"""The plan helpers still in ``iopkit.reports.tables`` (on their way to ``iopkit.rotation``).

Moved here unchanged from ``tests/test_reports_tables.py``; they go with the functions when
the rotation package takes them over.
"""

from __future__ import annotations

import numpy as np
import pytest

from iopkit.data.sources.synthetic import DEMO_SOURCE
from iopkit.reports import tables
from iopkit.reports.views.source import ReportData, open_source


@pytest.fixture(scope="module")
def demo() -> ReportData:
    return open_source(DEMO_SOURCE)


def test_coverage_matrix_agrees_with_rotation_coverage_table() -> None:
    """Independent re-count of core-skill exposures vs iopkit.rotation.coverage_table."""
    from iopkit.rotation import coverage_table, round_robin

    core = ["a", "b", "c", "d"]
    good = ["a", "b", "x", "c", "d", "y"]  # every 6-session window holds all core skills
    bad = round_robin(["a", "b", "c", "d", "x", "y", "z", "w"])  # 8-cycle, window 6 misses some
    for seq in (good, bad):
        m = tables.coverage_matrix(seq, core=core, window=6, weekdays=[0, 2, 4])
        ref = coverage_table(seq, core=core, window=6, weekdays=[0, 2, 4])
        covered = m.groupby("admission_slot", sort=False)["exposures"].min() > 0
        assert len(covered) == len(ref)
        assert covered.to_numpy().tolist() == ref["fully_covered"].astype(bool).tolist()
        missed = (m["exposures"] == 0).groupby(m["admission_slot"], sort=False).sum()
        assert missed.to_numpy().tolist() == ref["core_missed"].astype(int).tolist()


def test_coverage_matrix_admission_days_only() -> None:
    m = tables.coverage_matrix(["a", "b"], core=["a"], window=2, weekdays=[0, 2, 4],
                               admit_weekdays=[0])
    assert set(m["weekday"]) == {"Mon"} and len(m) == 2  # lcm(2, 3) = 6 sessions, 2 Mondays


def test_stay_sessions_projects_future_sessions_for_active_episodes(demo: ReportData) -> None:
    eps = demo["episodes"]
    active = eps[eps["discharge_date"].isna()].iloc[-1]
    s = tables.stay_sessions(demo, cohort_id=active["cohort_id"],
                             program_id="adult_mood_anxiety_3d",
                             admit_date=active["admit_date"], min_sessions=12)
    after = s[s["date"] >= active["admit_date"]]
    assert len(after) >= 12 and s["planned"].any()
    assert s.loc[s["planned"], "date"].min() > s.loc[~s["planned"], "date"].max()
    assert np.all(np.diff(s["date"].to_numpy().astype("int64")) > 0)

