"""Real public data through the validator (read from ../shared/reference-data, never copied)."""

from __future__ import annotations

import pandas as pd

from iopkit.data import validate_bundle
from iopkit.data.bundle import Bundle


def test_nhanes_refused_and_dont_know_codes_are_rejected_not_scored(reference_data) -> None:
    """Reproduces the NHANES 2017–March 2020 P_DPQ codebook (nhanes_codebooks/P_DPQ.md): DPQ010
    has 4 'Refused' (code 7) and 6 "Don't know" (code 9) answers. Codes 7 and 9 lie outside
    PHQ-9's 0–3 item range (scales.md §0.2: treat them as missing, never as scores), so every
    respondent with such a code is set aside with an item_range problem per cell, and the 657
    respondents with no DPQ answers are kept as administrations with all items blank."""
    raw = pd.read_csv(reference_data / "nhanes_2017_2020_P_DPQ_items_with_demo.csv")
    items = [f"DPQ0{i}0" for i in range(1, 10)]
    ids = raw["SEQN"].astype(str)
    admit = "2017-01-02"  # NHANES gives no interview date; a fixed Monday stands in for it
    tables = {
        "cohorts": pd.DataFrame(
            {"cohort_id": ["C01"], "program_id": ["adult_mood_anxiety_3d"], "name": ["NHANES"]}
        ),
        "patients": pd.DataFrame({"patient_id": "P" + ids, "primary_concern": "other"}),
        "episodes": pd.DataFrame(
            {
                "episode_id": "E" + ids,
                "patient_id": "P" + ids,
                "cohort_id": "C01",
                "admit_date": admit,
            }
        ),
        "assessments": pd.DataFrame(
            {"episode_id": "E" + ids, "date": admit, "scale": "phq9"}
            | {f"item_{i + 1}": raw[c].astype("Int64") for i, c in enumerate(items)}
        ),
    }
    result = validate_bundle(Bundle(tables=tables))
    p = result.problems
    assert set(p["rule"]) == {"item_range"}
    per_item = p.groupby("column").size()
    assert per_item["item_1"] == 4 + 6
    assert len(p) == int(raw[items].isin([7, 9]).sum().sum())
    assert set(p["value"]) == {"7", "9"}
    counts = result.counts.set_index("table").loc["assessments"]
    assert counts["rejected"] == int(raw[items].isin([7, 9]).any(axis=1).sum())
    accepted = result.tables["assessments"]
    assert accepted[[f"item_{i}" for i in range(1, 10)]].isin([7, 9]).sum().sum() == 0
    assert accepted[[f"item_{i}" for i in range(1, 10)]].isna().all(axis=1).sum() == 657
