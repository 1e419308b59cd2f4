"""Scoring engine: worked examples (scales.md §5), rules, missing data, input handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import iopkit
from iopkit.errors import InputError
from iopkit.scales import get_scale, list_scales
from iopkit.scales.engine import find_item_columns, score, score_assessments, score_long


def frame(scale_id: str, rows, prefix: str | None = None) -> pd.DataFrame:
    k = get_scale(scale_id).items.count
    return pd.DataFrame(rows, columns=[f"{prefix or scale_id}_{i}" for i in range(1, k + 1)])


def one(scale_id: str, items, **kw) -> pd.Series:
    return score(frame(scale_id, [items]), scale_id, **kw).iloc[0]


# --- the README contract --------------------------------------------------------------
def test_readme_contract_phq9():
    """awell-score __testdata__: [3,0,1,2,0,0,1,0,3] → 10 moderate; item 9 = 3 fires the flag."""
    out = iopkit.score(frame("phq9", [[3, 0, 1, 2, 0, 0, 1, 0, 3]]), ["phq9"])
    assert out["phq9_total"].dtype == np.float64
    row = out.iloc[0]
    assert row["phq9_total"] == 10.0
    assert row["phq9_band"] == "moderate"
    assert row["phq9_status"] == "complete" and row["phq9_reason"] == ""
    assert row["phq9_item9_flag"] is np.True_ and row["phq9_item9_escalate"]


@pytest.mark.parametrize(
    ("items", "total", "band"),
    [([0] * 9, 0, "none/minimal"), ([3] * 9, 27, "severe")],
)
def test_awell_phq9_best_worst(items, total, band):
    """awell-score __testdata__ best/worst PHQ-9 responses."""
    row = one("phq9", items)
    assert (row["phq9_total"], row["phq9_band"]) == (total, band)


def test_gad7_hl7_example():
    """HL7 PHR example QuestionnaireResponse-ScoredAssessment-GAD7: [0,0,1,1,0,1,0] → 3."""
    row = one("gad7", [0, 0, 1, 1, 0, 1, 0])
    assert row["gad7_total"] == 3 and row["gad7_band"] == "minimal"
    assert row["gad7_gad2"] == 0


@pytest.mark.parametrize(
    ("items", "total", "mds", "ods"),
    [
        ([2, 2, 2, 2, 2, 0, 0, 0, 0], 10, True, False),
        ([2, 0, 0, 0, 0, 0, 0, 0, 1], 3, False, True),
        ([1, 1, 1, 1, 1, 1, 1, 1, 3], 11, False, False),
        ([0, 0, 2, 2, 2, 2, 2, 2, 1], 13, False, False),
    ],
)
def test_phq9_symptom_count_table(items, total, mds, ods):
    """Reproduces the scales.md §5 symptom-count table (CamCOPS phq9.py lines 221–247)."""
    row = one("phq9", items)
    assert row["phq9_total"] == total
    assert bool(row["phq9_mds"]) is mds and bool(row["phq9_ods"]) is ods


def test_pcl5_awell_examples():
    """awell-score: all 2 → 40; the mixed vector → 35, clusters B 11 C 7 D 7 E 10, provisional."""
    items = [4, 3, 1, 0, 3, 3, 4, 1, 2, 0, 3, 1, 0, 0, 1, 2, 4, 0, 0, 3]
    out = score(frame("pcl5", [[2] * 20, items, [4] * 20]), "pcl5")
    assert out["pcl5_total"].tolist() == [40, 35, 80]
    row = out.iloc[1]
    clusters = [row[f"pcl5_cluster_{c}"] for c in "bcde"]
    assert clusters == [11, 7, 7, 10]
    assert [row[f"pcl5_cluster_{c}_endorsed"] for c in "bcde"] == [3, 2, 2, 3]
    assert bool(row["pcl5_provisional_ptsd"]) is True
    assert [out.iloc[2][f"pcl5_cluster_{c}"] for c in "bcde"] == [20, 8, 28, 24]
    assert out.iloc[1]["pcl5_band"] == "at or above provisional cut-off"


def test_pcl5_provisional_needs_every_cluster():
    """DSM-5 rule: only one D item endorsed → not provisional, even with a high total."""
    items = [4] * 7 + [4, 0, 0, 0, 0, 0, 0] + [4] * 6
    row = one("pcl5", items)
    assert row["pcl5_total"] >= 33 and bool(row["pcl5_provisional_ptsd"]) is False


def test_asrs_shaded_and_summed_rules():
    """awell ASRS Part A [N,VO,O,R,S,R] → shaded count 2 (negative); sum 11 → high negative."""
    row = one("asrs", [0, 4, 3, 1, 2, 1])
    assert row["asrs_shaded_count"] == 2 and bool(row["asrs_shaded_positive"]) is False
    assert row["asrs_sum"] == 11 and row["asrs_sum_band"] == "high negative"
    assert row["asrs_total"] == 11
    row = one("asrs", [2, 2, 2, 3, 0, 0])  # Kessler: items 1–3 at ≥2, 4–6 at ≥3; 4 of 6
    assert bool(row["asrs_shaded_positive"]) is True and row["asrs_sum_band"] == "low negative"


# --- band boundaries ------------------------------------------------------------------
def _items_for_total(scale, total: int) -> list[int]:
    lo, hi, k = scale.items.min, scale.items.max, scale.items.count
    rest, out = total - lo * k, []
    for _ in range(k):
        step = min(hi - lo, rest)
        out.append(lo + step)
        rest -= step
    assert rest == 0
    return out


BANDED = [s for s in list_scales() if s.bands is not None]


@pytest.mark.parametrize("scale", BANDED, ids=lambda s: s.id)
def test_band_boundaries_of_every_banded_scale(scale):
    """Each band's first and last total gets that band (scales.md §5 boundaries, e.g. PHQ-9
    4/5, 9/10, 14/15, 19/20; GAD-7 4/5, 9/10, 14/15; ISI 7/8, 14/15, 21/22; OCI-R 20/21;
    PCL-5 32/33)."""
    totals, labels = [], []
    for level in scale.bands.levels:
        for t in (level.min, level.max):
            totals.append(t)
            labels.append(level.label)
    rows = [_items_for_total(scale, t) for t in totals]
    out = score(frame(scale.id, rows), scale.id)
    assert out[f"{scale.id}_total"].tolist() == totals
    assert out[f"{scale.id}_band"].astype(str).tolist() == labels


@pytest.mark.parametrize(
    ("scale_id", "below", "above"),
    [("phq9", 4, 5), ("phq9", 9, 10), ("phq9", 14, 15), ("phq9", 19, 20), ("gad7", 4, 5),
     ("gad7", 9, 10), ("gad7", 14, 15), ("isi", 7, 8), ("isi", 14, 15), ("isi", 21, 22),
     ("ocir", 20, 21), ("pcl5", 32, 33), ("wsas", 9, 10), ("wsas", 20, 21)],
)  # fmt: skip
def test_named_boundaries_change_band(scale_id, below, above):
    """scales.md §5 band boundaries: the band changes exactly between these totals."""
    sc = get_scale(scale_id)
    out = score(frame(scale_id, [_items_for_total(sc, below), _items_for_total(sc, above)]),
                scale_id)  # fmt: skip
    b = out[f"{scale_id}_band"].astype(str).tolist()
    assert b[0] != b[1] and b[0] == sc.band_for(below) and b[1] == sc.band_for(above)


# --- missing data, proration, rounding ------------------------------------------------
def test_prorated_half_rounds_up_at_boundary():
    """NHANES SEQN 121047 pattern: 8 items summing to 4 → 4 × 9/8 = 4.5 → 5 'mild' (half up).

    Python's round(4.5) == 4 would give 'none/minimal' (scales.md §0.2 rounding pitfall).
    """
    row = one("phq9", [0, 0, 0, 2, 0, 0, 2, np.nan, 0])
    assert round(4.5) == 4  # the trap we avoid
    assert row["phq9_total"] == 5 and row["phq9_band"] == "mild"
    assert row["phq9_status"] == "prorated" and "phq9_8" in row["phq9_reason"]
    row = one("phq9", [2, 2, 2, 2, 2, 2, np.nan, 0, 0])  # 12 × 9/8 = 13.5 → 14
    assert row["phq9_total"] == 14


def test_phq9_item9_never_prorated_and_two_missing_refused():
    row = one("phq9", [3, 1, 2, 3, 0, 0, 0, 0, np.nan])  # NHANES SEQN 110882
    assert row["phq9_status"] == "incomplete" and np.isnan(row["phq9_total"])
    assert "never prorated" in row["phq9_reason"] and row["phq9_item9_missing"]
    assert not row["phq9_item9_flag"]
    row = one("phq9", [3, 3, 3, 0, 3, np.nan, 2, np.nan, 3])  # two missing
    assert row["phq9_status"] == "incomplete" and "at most 1" in row["phq9_reason"]
    assert row["phq9_item9_flag"] and row["phq9_item9_escalate"]  # flagged without a total
    assert pd.isna(row["phq9_band"])


def test_gad7_prorates_one_and_pcl5_none():
    row = one("gad7", [1, 1, 1, 1, 0, 0, np.nan])  # 4 × 7/6 = 4.67 → 5
    assert (row["gad7_total"], row["gad7_status"], row["gad7_band"]) == (5, "prorated", "mild")
    row = one("pcl5", [2] * 19 + [np.nan])
    assert row["pcl5_status"] == "incomplete" and np.isnan(row["pcl5_total"])
    # rule still decidable: B, C, D, E already met by answered items
    assert bool(row["pcl5_provisional_ptsd"]) is True


def test_ders16_prorates_up_to_three_subscales_need_all_items():
    """NDCLab 80 % threshold: ≤ 3 of 16 missing prorated; subscales need all their items."""
    row = one("ders16", [2] * 13 + [np.nan] * 3)
    assert row["ders16_status"] == "prorated" and row["ders16_total"] == 32
    assert np.isnan(row["ders16_strategies"]) and row["ders16_clarity"] == 4
    row = one("ders16", [2] * 12 + [np.nan] * 4)
    assert row["ders16_status"] == "incomplete"


def test_missing_codes_are_missing_not_scores():
    rows = [[1, 2, 2, 2, 2, 7, 0, 0, 0], [1, 9, 9, 9, 0, 0, 0, 0, 0]]  # SEQN 109538, 113730
    out = score(frame("phq9", rows), "phq9", missing_codes={7, 9})
    assert out["phq9_status"].tolist() == ["prorated", "incomplete"]
    assert out["phq9_total"].iloc[0] == 10  # 9 × 9/8 = 10.125 → 10
    out = score(frame("phq9", rows), "phq9")  # without the declaration 7 and 9 are invalid
    assert out["phq9_status"].tolist() == ["invalid", "invalid"]
    assert "phq9_6=7" in out["phq9_reason"].iloc[0]


def test_invalid_values_named_never_clipped_and_flag_still_fires():
    rows = [
        [4, 0, 0, 0, 0, 0, 0, 0, 2],
        ["abc", 0, 0, 0, 0, 0, 0, 0, 0],
        [1.5, 0, 0, 0, 0, 0, 0, 0, 0],
        [-1, 0, 0, 0, 0, 0, 0, 0, 0],
        [" 2 ", "1", 0, 0, 0, 0, 0, 0, 0],
        ["", "NA", 0, 0, 0, 0, 0, 0, 0],
    ]
    out = score(frame("phq9", rows), "phq9")
    assert out["phq9_status"].tolist()[:4] == ["invalid"] * 4
    assert out["phq9_total"].iloc[:4].isna().all()
    assert "phq9_1=4" in out["phq9_reason"].iloc[0] and "0–3" in out["phq9_reason"].iloc[0]
    assert out["phq9_reason"].iloc[1] == "phq9_1=abc is not a number"  # reported once
    assert "phq9_1=1.5" in out["phq9_reason"].iloc[2]
    assert out["phq9_item9_flag"].iloc[0] and out["phq9_item9_escalate"].iloc[0]
    assert pd.isna(out["phq9_mds"].iloc[0])  # non-safety rule not reported on invalid rows
    assert out["phq9_total"].iloc[4] == 3 and out["phq9_status"].iloc[4] == "complete"
    assert out["phq9_status"].iloc[5] == "incomplete"  # blank + "NA" = two missing


def test_wsas_item1_not_applicable_range():
    """CamCOPS wsas.py / Mundt 2002: item 1 N/A → total of items 2–5 on 0–32."""
    df = pd.DataFrame({"wsas_1": ["not applicable", "3"], "wsas_2": [8, 1],
                       "wsas_3": [8, 1], "wsas_4": [8, 1], "wsas_5": [8, 1]})  # fmt: skip
    out = score(df, "wsas")
    assert out["wsas_total"].tolist() == [32, 7]
    assert out["wsas_range"].tolist() == ["0-32", "0-40"]
    assert out["wsas_status"].tolist() == ["complete", "complete"]


def test_asq_positive_and_acute():
    """NIMH ASQ: yes to any of 1–4 = positive; plus yes to item 5 = acute positive."""
    df = pd.DataFrame(
        {
            "asq_1": ["no", "yes", "No", None, "no"],
            "asq_2": ["no", "no", "no", "yes", "no"],
            "asq_3": ["no", "no", "no", "no", "no"],
            "asq_4": ["no", "no", "no", "no", None],
            "asq_5": [None, "yes", None, None, None],
        }  # fmt: skip
    )
    out = score(df, "asq")
    assert "asq_total" not in out.columns
    assert out["asq_positive"].tolist() == [False, True, False, True, pd.NA]
    assert out["asq_acute_positive"].tolist() == [False, True, False, pd.NA, pd.NA]
    assert out["asq_status"].tolist() == ["complete", "complete", "complete", "incomplete",
                                          "incomplete"]  # fmt: skip


# --- column discovery and arguments ---------------------------------------------------
@pytest.mark.parametrize(
    "names",
    [[f"PHQ9_{i}" for i in range(1, 10)], [f"PHQ{i}" for i in range(1, 10)],
     [f"phq9_item{i}" for i in range(1, 10)], [f"item_{i}" for i in range(1, 10)],
     [f"Phq9_Q{i:02d}" for i in range(1, 10)]],
)  # fmt: skip
def test_conventional_column_names(names):
    df = pd.DataFrame([[3, 0, 1, 2, 0, 0, 1, 0, 3]], columns=names)
    assert find_item_columns(df, "phq9", generic=True) == names
    assert score(df, "phq9")["phq9_total"].iloc[0] == 10


def test_generic_names_not_used_for_two_scales_and_error_lists_names():
    df = pd.DataFrame([[0] * 9], columns=[f"item_{i}" for i in range(1, 10)])
    with pytest.raises(InputError) as exc:
        score(df, ["phq9", "gad7"])
    msg = str(exc.value)
    assert "phq9_1…phq9_9" in msg and "phq1…phq9" in msg and "items=" in msg


def test_partial_match_reports_missing_columns():
    df = pd.DataFrame([[0] * 8], columns=[f"phq9_{i}" for i in range(1, 9)])
    with pytest.raises(InputError, match="lacks: phq9_9"):
        score(df, "phq9")


def test_explicit_items_and_errors():
    cols = [f"DPQ0{i}0" for i in range(1, 10)]
    df = pd.DataFrame([[3, 0, 1, 2, 0, 0, 1, 0, 3]], columns=cols)
    assert score(df, "phq9", items={"phq9": cols})["phq9_total"].iloc[0] == 10
    assert score(df, "phq9", items=cols)["phq9_total"].iloc[0] == 10
    with pytest.raises(InputError, match="expected 9"):
        score(df, "phq9", items=cols[:8])
    with pytest.raises(InputError, match="not in the input: nope"):
        score(df, "phq9", items=[*cols[:8], "nope"])


def test_two_scales_and_input_untouched():
    df = pd.concat([frame("phq9", [[1] * 9]), frame("gad7", [[2] * 7])], axis=1)
    df.index = ["a"]
    before = df.copy(deep=True)
    out = score(df, ["phq9", "gad7"])
    pd.testing.assert_frame_equal(df, before)
    assert list(out.columns[: df.shape[1]]) == list(df.columns) and out.index.tolist() == ["a"]
    assert (out["phq9_total"].iloc[0], out["gad7_total"].iloc[0]) == (9, 14)


def test_existing_score_column_is_an_error():
    df = frame("phq9", [[0] * 9]).assign(phq9_total=1)
    with pytest.raises(InputError, match="already has score columns"):
        score(df, "phq9")


def test_empty_frame():
    out = score(frame("phq9", []), "phq9")
    assert len(out) == 0 and "phq9_status" in out.columns


# --- assessments table and long format ------------------------------------------------
def test_score_assessments_mixed_scales_keeps_every_row():
    df = pd.DataFrame(
        {
            "episode_id": ["e1", "e2", "e3"],
            "scale": ["phq9", "gad7", "beck"],
            **{f"item_{i}": [3 if i == 9 else 1, 1, 1] for i in range(1, 10)},
        }
    )
    df.loc[1, ["item_8", "item_9"]] = np.nan  # GAD-7 has 7 items
    out = score_assessments(df)
    assert len(out) == 3
    assert out["total"].tolist()[:2] == [11, 7]
    assert out["safety_flag"].tolist() == [True, False, False]
    assert out["status"].tolist() == ["complete", "complete", "invalid"]
    assert "unknown scale" in out["reason"].iloc[2]


def test_score_long_matches_wide_and_rejects_duplicates():
    items = [3, 0, 1, 2, 0, 0, 1, 0, 3]
    long = pd.DataFrame({"pid": "p1", "scale": "phq9", "item": range(1, 10), "response": items})
    out = score_long(long, ["pid"])
    assert out["total"].iloc[0] == 10 and out["band"].iloc[0] == "moderate"
    dup = pd.concat([long, long.iloc[[0]]])
    with pytest.raises(InputError, match="answered twice"):
        score_long(dup, ["pid"])


# --- property-based -------------------------------------------------------------------
SCALES_WITH_TOTAL = [s for s in list_scales() if s.has_total]


@st.composite
def responses(draw):
    sc = draw(st.sampled_from(SCALES_WITH_TOTAL))
    n = draw(st.integers(1, 30))
    elements = st.integers(sc.items.min, sc.items.max).map(float)
    vals = draw(hnp.arrays(np.float64, (n, sc.items.count), elements=elements))
    holes = draw(hnp.arrays(bool, (n, sc.items.count), elements=st.booleans()))
    vals[holes & (draw(st.floats(0, 1)) < 0.7)] = np.nan
    return sc, vals


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses())
def test_property_totals_in_range_and_proration_per_policy(case):
    sc, vals = case
    out = score(frame(sc.id, vals), sc.id)
    total = out[f"{sc.id}_total"]
    ok = total.notna()
    assert ((total[ok] >= sc.total_min) & (total[ok] <= sc.total_max)).all()
    assert (total[ok] == np.floor(total[ok])).all()
    n_missing = np.isnan(vals).sum(axis=1)
    status = out[f"{sc.id}_status"].astype(str).to_numpy()
    assert (status[n_missing == 0] == "complete").all()
    prorated = status == "prorated"
    assert (n_missing[prorated] <= sc.missing.max_prorated).all()
    for item in sc.missing.never_prorate:
        assert not (prorated & np.isnan(vals[:, item - 1])).any()
    assert (ok.to_numpy() == np.isin(status, ["complete", "prorated"])).all()
    complete = status == "complete"
    assert np.array_equal(total.to_numpy()[complete], vals[complete].sum(axis=1))
    counts = pd.Series(status).value_counts()
    assert counts.sum() == len(vals)
    # independent per-row expectation (Python arithmetic, half-up rounding by Decimal)
    from decimal import ROUND_HALF_UP, Decimal

    k = sc.items.count
    for row, st_, tot in zip(vals, status, total.to_numpy(), strict=True):
        miss = [i + 1 for i in range(k) if np.isnan(row[i])]
        answered = [v for v in row if not np.isnan(v)]
        if not miss:
            assert (st_, tot) == ("complete", sum(answered))
        elif len(miss) <= sc.missing.max_prorated and not set(miss) & set(sc.missing.never_prorate):
            exact = Decimal(int(sum(answered))) * k / len(answered)
            assert st_ == "prorated"
            assert tot == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        else:
            assert st_ == "incomplete" and np.isnan(tot)


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(9))), st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_property_column_order_irrelevant(order, items):
    df = frame("phq9", [items])
    shuffled = df[[df.columns[i] for i in order]]
    a = score(df, "phq9").iloc[:, 9:]
    b = score(shuffled, "phq9").iloc[:, 9:]
    pd.testing.assert_frame_equal(a, b)


junk = st.one_of(
    st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), st.booleans(), st.just("7"), st.just(" 3 "),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(junk, min_size=7, max_size=7), min_size=1, max_size=8))
def test_property_arbitrary_junk_never_crashes(rows):
    df = frame("gad7", rows)
    out = score(df, "gad7", missing_codes={9})
    assert len(out) == len(df)
    status = out["gad7_status"].astype(str)
    assert set(status) <= {"complete", "prorated", "incomplete", "invalid"}
    assert (out.loc[status == "invalid", "gad7_reason"].str.len() > 0).all()
    assert (out.loc[status == "complete", "gad7_reason"] == "").all()
    tot = out["gad7_total"].dropna()
    assert ((tot >= 0) & (tot <= 21)).all()


def test_score_assessments_spill_and_blank_scale():
    """A GAD-7 row with an answer in item_8 is invalid (answers to items it does not have)."""
    df = pd.DataFrame({"scale": ["gad7", ""], **{f"item_{i}": [1, 1] for i in range(1, 9)}})
    out = score_assessments(df)
    assert out["status"].tolist() == ["invalid", "invalid"]
    assert "later item columns" in out["reason"].iloc[0] and np.isnan(out["total"].iloc[0])
    assert "no scale" in out["reason"].iloc[1]
    with pytest.raises(InputError, match="item_9"):
        score_assessments(df.assign(scale="phq9"))


def test_score_long_mixed_widths():
    """PHQ-9 (9 items), GAD-7 (7) and ASQ (yes/no, item 5 skipped) in one long table."""
    rows = [("p1", "phq9", i, v) for i, v in enumerate([0, 0, 0, 2, 0, 0, 2, 9, 0], 1)]
    rows += [("p1", "gad7", i, 3) for i in range(1, 8)]
    rows += [("p2", "asq", i, "no") for i in range(1, 5)]
    long = pd.DataFrame(rows, columns=["pid", "scale", "item", "response"])
    out = score_long(long, ["pid"], missing_codes={9}).set_index("scale")
    assert out.loc["phq9", "total"] == 5 and out.loc["phq9", "status"] == "prorated"
    assert out.loc["gad7", "total"] == 21 and out.loc["gad7", "band"] == "severe"
    assert out.loc["asq", "status"] == "complete" and not out.loc["asq", "safety_flag"]
    assert len(out) == 3


def test_missing_code_that_is_a_valid_answer_is_refused():
    """7 = 'always true' on AAQ-II (1–7): declaring 7 missing for every scale would hide it."""
    df = pd.concat([frame("phq9", [[1] * 8 + [7]]), frame("aaq2", [[7] * 7])], axis=1)
    with pytest.raises(InputError, match="valid answers on AAQ-II"):
        score(df, ["phq9", "aaq2"], missing_codes={7, 9})
    out = score(df, ["phq9", "aaq2"], missing_codes={"phq9": {7, 9}})
    assert out["phq9_status"].iloc[0] == "incomplete"  # item 9 = 7 → missing, never prorated
    assert out["aaq2_total"].iloc[0] == 49


def test_duplicate_index_and_non_string_column_labels():
    """Rows are matched by position: a repeated index label or integer column labels work."""
    df = pd.DataFrame([[1] * 9, [2] * 9, [3] * 8 + ["x"]], index=[5, 5, 1])
    out = score(df, "phq9", items=list(range(9)))
    assert out.index.tolist() == [5, 5, 1]
    assert out["phq9_total"].tolist()[:2] == [9, 18]
    assert out["phq9_reason"].iloc[2] == "8=x is not a number"


def test_scoring_in_row_chunks_equals_scoring_at_once(monkeypatch) -> None:
    """Large inputs are scored in chunks of rows (bounded memory); the joined result equals
    one pass, categoricals (band, status, reason with chunk-specific texts) included."""
    import iopkit.scales.engine as engine

    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, size=(53, 9)).astype(object)
    x[rng.random((53, 9)) < 0.08] = None
    x[5, 2], x[40, 0], x[41, 8] = "n/a", 9, "x"
    frame = pd.DataFrame(x, columns=[f"phq9_{i}" for i in range(1, 10)])
    whole = engine.score(frame, "phq9")
    monkeypatch.setattr(engine, "SCORE_CHUNK_ROWS", 7)
    chunked = engine.score(frame, "phq9")
    pd.testing.assert_frame_equal(chunked, whole, check_categorical=False)
    for col in ("phq9_band", "phq9_status", "phq9_reason"):
        assert chunked[col].astype(object).equals(whole[col].astype(object))
    assert chunked["phq9_band"].cat.ordered
