"""The pandera schemas on their own: types, vocabularies, ranges, keys, date order."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from iopkit.data import TABLES, table_schema, validate_bundle
from iopkit.data.schemas import ATTENDANCE_STATUS, CONCERNS, DISCHARGE_TYPES, EVENT_KINDS
from iopkit.synth import synthesize


@pytest.fixture(scope="module")
def accepted() -> dict[str, pd.DataFrame]:
    result = validate_bundle(synthesize(1, seed=9, episodes_per_cohort=6))
    return {t: f.reset_index(drop=True) for t, f in result.tables.items()}


def _checks(table: str, frame: pd.DataFrame) -> set[str]:
    with pytest.raises(pa.errors.SchemaErrors) as err:
        table_schema(table).validate(frame, lazy=True)
    return set(err.value.failure_cases["check"].astype(str))


def test_vocabularies_follow_the_architecture_contract() -> None:
    """Reproduces the vocabularies of shared/design/architecture.md, 'Data contracts'."""
    assert CONCERNS == (
        "depression",
        "anxiety",
        "panic",
        "ocd",
        "ptsd",
        "adhd",
        "insomnia",
        "other",
    )
    assert DISCHARGE_TYPES == (
        "completed",
        "stepped_up",
        "dropped_out",
        "administrative",
        "transferred",
    )
    assert ATTENDANCE_STATUS == ("present", "late", "absent_excused", "absent_unexcused")
    assert "safety_review" in EVENT_KINDS and "step_up" in EVENT_KINDS
    assert TABLES["attendance"].key == ("episode_id", "date")
    assert TABLES["goals"].key == ("episode_id", "set_date", "goal_no")


def test_accepted_tables_pass_their_schema(accepted) -> None:
    for table, frame in accepted.items():
        table_schema(table).validate(frame, lazy=True)


def test_schema_failures(accepted) -> None:
    ep = accepted["episodes"].copy()
    ep.loc[0, "discharge_type"] = "completd"
    ep.loc[1, "planned_weeks"] = 80
    ep.loc[2, "discharge_date"] = ep.loc[2, "admit_date"] - pd.Timedelta(days=1)
    assert {"discharge_before_admit", "in_range(1, 52)"} <= _checks("episodes", ep)
    assert any(c.startswith("isin(") for c in _checks("episodes", ep))
    dup = pd.concat([accepted["attendance"], accepted["attendance"].iloc[[0]]], ignore_index=True)
    assert "multiple_fields_uniqueness" in _checks("attendance", dup)
    assert table_schema("attendance", keys=False).validate(dup) is not None
    text_dates = accepted["attendance"].assign(date=accepted["attendance"]["date"].astype(str))
    assert "dtype('datetime64[ns]')" in _checks("attendance", text_dates)
    pt = accepted["patients"].assign(other_concerns="anxiety;burnout")
    assert "vocabulary" in _checks("patients", pt)
