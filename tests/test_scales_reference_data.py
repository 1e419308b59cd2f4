"""Real item-level data sets other than NHANES (validation-data.md §A4–A6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iopkit.data.readers import read_table
from iopkit.scales import score

PCL5_COLS = (
    [f"B{i}" for i in range(1, 6)]
    + ["C1", "C2"]
    + [f"D{i}" for i in range(1, 8)]
    + [f"E{i}" for i in range(1, 7)]
)


def test_bggm_phq9_gad7_found_by_conventional_names(reference_data):
    """§A4 (Forbes 2016, n = 403): columns PHQ1…PHQ9 and GAD1…GAD7 are found without an
    items mapping; every row complete; totals equal the item sums."""
    for wave in ("t1", "t2"):
        raw = pd.read_csv(reference_data / f"BGGM_depression_anxiety_{wave}_PHQ9_GAD7_items.csv")
        out = score(raw, ["phq9", "gad7"])
        assert len(out) == 403
        assert (out["phq9_status"] == "complete").all() and (out["gad7_status"] == "complete").all()
        phq = raw[[f"PHQ{i}" for i in range(1, 10)]]
        gad = raw[[f"GAD{i}" for i in range(1, 8)]]
        assert np.array_equal(out["phq9_total"], phq.sum(axis=1))
        assert np.array_equal(out["gad7_total"], gad.sum(axis=1))
        assert np.array_equal(out["phq9_phq2"], phq.iloc[:, :2].sum(axis=1))
        assert np.array_equal(out["phq9_item9_flag"], raw["PHQ9"] >= 1)


def test_bggm_pcl5_clusters_and_dsm5_rule(reference_data):
    """§A5 (Armour 2017 veterans, n = 221): cluster sums and the DSM-5 provisional rule
    recomputed independently from the B/C/D/E columns."""
    raw = pd.read_csv(reference_data / "BGGM_ptsd_PCL5_items.csv")
    out = score(raw, "pcl5", items={"pcl5": PCL5_COLS})
    assert (out["pcl5_status"] == "complete").all() and len(out) == 221
    expect = True
    for letter, need in zip("BCDE", (1, 1, 2, 2), strict=True):
        cols = [c for c in PCL5_COLS if c.startswith(letter)]
        cluster = f"pcl5_cluster_{letter.lower()}"
        assert np.array_equal(out[cluster], raw[cols].sum(axis=1))
        expect = expect & ((raw[cols] >= 2).sum(axis=1) >= need)
    assert np.array_equal(out["pcl5_provisional_ptsd"].astype(bool), expect)
    assert np.array_equal(out["pcl5_total"], raw[PCL5_COLS].sum(axis=1))
    assert (out["pcl5_band"] == "at or above provisional cut-off").sum() == (
        raw[PCL5_COLS].sum(axis=1) >= 33
    ).sum()


def test_shamiri_bom_header_and_gad7(reference_data):
    """§A6: the header starts with a UTF-8 BOM; GAD1…GAD7 score; ParticipantID kept."""
    raw = read_table(reference_data / "shamiri_imputed_PHQ8_GAD7_items.csv")
    assert raw.columns[0] == "ParticipantID"
    out = score(raw, "gad7")
    assert len(out) == 658 and out["ParticipantID"].iloc[0] == "SR_001"
    gad = raw[[f"GAD{i}" for i in range(1, 8)]].astype(int)
    ok = out["gad7_status"] == "complete"
    assert ok.all()
    assert np.array_equal(out["gad7_total"], gad.sum(axis=1))
