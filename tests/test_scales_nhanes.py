"""Real data: NHANES 2017–March 2020 PHQ-9 items (validation-data.md §A1).

Columns DPQ010…DPQ090 are PHQ-9 items 1–9; codes 7 (refused) and 9 (don't know) are
non-responses, blank = missing (CDC codebook ``nhanes_codebooks/P_DPQ.md``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from iopkit.scales import score

ITEMS = [f"DPQ0{i}0" for i in range(1, 10)]
FILE = "nhanes_2017_2020_P_DPQ_items_with_demo.csv"


@pytest.fixture(scope="module")
def nhanes(reference_data):
    raw = pd.read_csv(reference_data / FILE)
    return raw, score(raw, "phq9", items={"phq9": ITEMS}, missing_codes={7, 9})


def _codebook_counts(path) -> dict[str, dict[str, int]]:
    """Per-code counts from the CDC codebook tables ('0 | Not at all | 6166 | …')."""
    text = path.read_text()
    counts: dict[str, dict[str, int]] = {}
    for block in re.split(r"^### ", text, flags=re.M)[1:]:
        var = block.split(" ", 1)[0]
        rows = re.findall(r"^([0-9.]+) \| [^|]+\| (\d+) \|", block, flags=re.M)
        if rows:
            counts[var] = {code: int(n) for code, n in rows}
    return counts


def test_input_reproduces_cdc_codebook_counts(nhanes, reference_data):
    """Every DPQ010…DPQ090 code count equals the CDC codebook P_DPQ.md (e.g. DPQ010 0 = 6166)."""
    raw, _ = nhanes
    book = _codebook_counts(reference_data / "nhanes_codebooks" / "P_DPQ.md")
    assert book["DPQ010"]["0"] == 6166  # spot check from validation-data.md §A1
    for col in ITEMS:
        got = raw[col].value_counts(dropna=False)
        for code, n in book[col].items():
            key = np.nan if code == "." else float(code)
            assert got.get(key, 0) == n, (col, code)


def test_status_counts_reconcile_with_input_rows(nhanes):
    """Every row accounted for: statuses derived independently from the raw codes."""
    raw, out = nhanes
    assert len(out) == len(raw) == 8965
    valid = raw[ITEMS].isin([0, 1, 2, 3]).to_numpy()
    n_valid = valid.sum(axis=1)
    expect = np.where(
        n_valid == 9, "complete", np.where((n_valid == 8) & valid[:, 8], "prorated", "incomplete")
    )
    counts = out["phq9_status"].value_counts()
    assert counts.sum() == len(raw)
    assert dict(counts[counts > 0]) == dict(pd.Series(expect).value_counts())
    assert counts["complete"] == 8276 and counts["invalid"] == 0  # validation-data.md §A1
    # answered-item distribution from validation-data.md §A1
    assert dict(out["phq9_answered"].value_counts()) == {
        9: 8276, 8: 17, 7: 6, 6: 1, 5: 1, 1: 5, 0: 659
    }  # fmt: skip


def test_totals_equal_item_sums_for_every_complete_row(nhanes):
    raw, out = nhanes
    complete = (out["phq9_status"] == "complete").to_numpy()
    sums = raw.loc[complete, ITEMS].sum(axis=1).to_numpy()
    assert np.array_equal(out.loc[complete, "phq9_total"].to_numpy(), sums)
    assert out.loc[~out["phq9_status"].isin(["complete", "prorated"]), "phq9_total"].isna().all()


def test_item9_flags_reproduce_codebook(nhanes):
    """DPQ090 codebook: 1 = 233, 2 = 51, 3 = 36 → 320 flags (≥ 1) and 87 escalations (≥ 2)."""
    _, out = nhanes
    assert out["phq9_item9_flag"].sum() == 233 + 51 + 36
    assert out["phq9_item9_escalate"].sum() == 51 + 36


@pytest.mark.parametrize(
    ("seqn", "status", "total", "band"),
    [
        (109538, "prorated", 10, "moderate"),  # one refusal: 9 × 9/8 = 10.125 → 10
        (110882, "incomplete", None, None),  # item 9 missing: never prorated
        (109742, "incomplete", None, None),  # two "don't know"
        (114268, "incomplete", None, None),  # two missing incl. item 9
        (115979, "incomplete", None, None),  # high scorer, item 9 unknown
        (121047, "prorated", 5, "mild"),  # 4 × 9/8 = 4.5 → 5 (half up)
        (124372, "incomplete", None, None),  # all answers 0, item 9 unknown
        (113730, "incomplete", None, None),  # three missing
        (119376, "incomplete", None, None),  # four missing
    ],
)
def test_partial_response_rows(nhanes, seqn, status, total, band):
    """The edge cases listed in validation-data.md §A1."""
    _, out = nhanes
    row = out.loc[out["SEQN"] == seqn].iloc[0]
    assert row["phq9_status"] == status
    if total is None:
        assert np.isnan(row["phq9_total"]) and row["phq9_reason"]
    else:
        assert row["phq9_total"] == total and row["phq9_band"] == band
    if seqn == 109742:  # item 9 = 3 is flagged although there is no total
        assert row["phq9_item9_flag"] and row["phq9_item9_escalate"]
    if seqn in (110882, 115979, 124372):
        assert row["phq9_item9_missing"] and not row["phq9_item9_flag"]


def test_weighted_prevalence_soft_check(nhanes):
    """Soft check [3P]: adults ≥ 20, NHANES 2017–2020 pre-pandemic: PHQ-9 ≥ 10 8.5 %, 5–9
    16.5 %, item 9 ≥ 1 3.2 % (abstract, n = 7,917; labels swapped there). MEC weights
    WTMECPRP, complete responses (NHANES analytic note). Our n is 7,888, hence ±0.2 pp."""
    _, out = nhanes
    m = (out["phq9_status"] == "complete") & (out["RIDAGEYR"] >= 20)
    w, t = out.loc[m, "WTMECPRP"], out.loc[m, "phq9_total"]
    pct = lambda x: 100 * float((w * x).sum() / w.sum())  # noqa: E731
    assert abs(pct(t >= 10) - 8.5) < 0.2
    assert abs(pct((t >= 5) & (t < 10)) - 16.5) < 0.2
    assert abs(pct(out.loc[m, "phq9_item9_flag"]) - 3.2) < 0.2


def test_cli_scores_nhanes_file_accounting_for_every_row(reference_data, tmp_path):
    """Issue #2 'done when': `iopkit score` on the NHANES file (read as text) gives totals
    equal to the item sums on every complete row and accounts for every row."""
    from typer.testing import CliRunner

    from iopkit.cli import app

    out_path = tmp_path / "scored.csv"
    result = CliRunner().invoke(
        app,
        ["score", str(reference_data / FILE), "--scale", "phq9", "--items", ",".join(ITEMS),
         "--missing-codes", "7,9", "-o", str(out_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "complete 8276, prorated 14, incomplete 675, invalid 0" in result.output
    assert "safety flags 320" in result.output
    raw = pd.read_csv(reference_data / FILE)
    out = pd.read_csv(out_path)
    assert len(out) == len(raw) and list(out.columns[: raw.shape[1]]) == list(raw.columns)
    complete = (out["phq9_status"] == "complete").to_numpy()
    assert np.array_equal(
        out.loc[complete, "phq9_total"].to_numpy(), raw.loc[complete, ITEMS].sum(axis=1)
    )
