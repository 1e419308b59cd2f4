"""Benchmark: score 10,000,000 PHQ-9 administrations (5 % missing one item) against the
numpy floor.

The floor (:func:`floor_score`) is a plain numpy implementation of the same work on the same
float input — the same output columns: total, proration with half-up rounding, band,
answered, status, reason text per missing pattern, PHQ-2, item-9 flag/escalation/missing,
MDS/ODS, range checks of every item — written for PHQ-9 only, with nothing generic. Its
results are checked equal to :func:`iopkit.score` before anything is timed. The ratio is
per pair (alternating order), min/median/max; peak memory (``tracemalloc``) is compared with
the input plus the output.

Goal (issue 17): ≤ 1.5× the floor on 10 M rows; peak memory ≤ (input + output) × 1.2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import iopkit
from benchmarks.common import QUICK, load, pairs, peak_bytes, ratio_text, timed
from iopkit.scales import get_scale

N_ROWS = 1_000_000 if QUICK else 10_000_000
N_PAIRS = 2 if QUICK else 3
MISSING_SHARE = 0.05
COLS = [f"phq9_{i}" for i in range(1, 10)]
GOAL_RATIO = 1.5
GOAL_MEMORY = 1.2


def make_frame(n: int, seed: int = 2026) -> pd.DataFrame:
    """n PHQ-9 administrations, items uniform 0–3; 5 % of rows miss one random item."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(n, 9)).astype(np.float64)
    rows = np.flatnonzero(rng.random(n) < MISSING_SHARE)
    x[rows, rng.integers(0, 9, size=rows.size)] = np.nan
    return pd.DataFrame(x, columns=COLS)


def floor_score(frame: pd.DataFrame) -> pd.DataFrame:
    """The same scoring as ``iopkit.score(frame, "phq9")`` in plain numpy (PHQ-9 only)."""
    scale = get_scale("phq9")
    levels = scale.bands.levels
    x = frame[COLS].to_numpy(np.float64)
    miss = np.isnan(x)
    bad = ~miss & ((x < 0) | (x > 3) | (np.floor(x) != x))
    xv = np.where(miss | bad, 0.0, x)
    answered = (~miss & ~bad).sum(axis=1)
    n_miss = miss.sum(axis=1)
    s = xv.sum(axis=1)
    invalid = bad.any(axis=1)
    complete = (n_miss == 0) & ~invalid
    prorated = (n_miss == 1) & ~miss[:, 8] & ~invalid
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.where(complete, s, np.where(prorated, np.floor(s * 9 / answered + 0.5), np.nan))
    lut = np.full(29, -1, dtype=np.int8)
    for code, lv in enumerate(levels):
        lut[lv.min : lv.max + 1] = code
    band = pd.Categorical.from_codes(
        lut[np.where(np.isnan(total), 28, total).astype(np.intp)],
        categories=[lv.label for lv in levels],
        ordered=True,
    )
    status = np.where(invalid, 3, np.where(complete, 0, np.where(prorated, 1, 2)))
    pattern = (miss * (1 << np.arange(9))).sum(axis=1)
    todo = np.flatnonzero((status == 1) | (status == 2))
    uniq, inv = np.unique(pattern[todo], return_inverse=True)
    codes = np.zeros(len(frame), dtype=np.int32)
    codes[todo] = 1 + inv.ravel()
    reason = pd.Categorical.from_codes(codes, categories=["", *map(_reason_text, uniq.tolist())])
    item9 = xv[:, 8]
    ok9 = ~miss[:, 8] & ~bad[:, 8]
    # symptom counts as bounds: known endorsements, plus the unanswered items that might be
    unknown = miss | bad
    endorsed = np.concatenate([xv[:, :8] >= 2, (ok9 & (item9 >= 1))[:, None]], axis=1)
    core_lo, core_unk = endorsed[:, :2].sum(axis=1), unknown[:, :2].sum(axis=1)
    sym_lo, sym_unk = endorsed.sum(axis=1), unknown.sum(axis=1)
    core_hi, sym_hi = core_lo + core_unk, sym_lo + sym_unk
    mds_true = (core_lo >= 1) & (sym_lo >= 5)
    mds_false = (core_hi < 1) | (sym_hi < 5)
    ods_true = (core_lo >= 1) & (sym_lo >= 2) & (sym_hi <= 4)
    ods_false = (core_hi < 1) | (sym_hi < 2) | (sym_lo > 4)
    mds_na = (~mds_true & ~mds_false) | invalid
    ods_na = (~ods_true & ~ods_false) | invalid
    phq2 = np.where(miss[:, 0] | miss[:, 1], np.nan, xv[:, 0] + xv[:, 1])
    out = {
        "phq9_total": total,
        "phq9_band": band,
        "phq9_answered": answered.astype(np.int64),
        "phq9_status": pd.Categorical.from_codes(
            status, categories=["complete", "prorated", "incomplete", "invalid"]
        ),
        "phq9_reason": reason,
        "phq9_phq2": phq2,
        "phq9_item9_flag": ok9 & (item9 >= 1),
        "phq9_item9_escalate": ok9 & (item9 >= 2),
        "phq9_item9_missing": ~ok9,
        "phq9_mds": pd.arrays.BooleanArray(mds_true & ~mds_na, mds_na),
        "phq9_ods": pd.arrays.BooleanArray(ods_true & ~ods_na, ods_na),
    }
    return pd.concat([frame, pd.DataFrame(out, index=frame.index)], axis=1)


def _reason_text(pattern: int) -> str:
    """PHQ-9's reason text for one missing pattern (bit j = item j + 1 missing)."""
    miss = [j for j in range(9) if pattern >> j & 1]
    names = ", ".join(COLS[j] for j in miss)
    if not miss:
        return ""
    if 8 in miss:
        return f"{len(miss)} missing ({names}); item 9 is never prorated — no total"
    if len(miss) == 1:
        return f"prorated: 1 missing ({names})"
    return f"{len(miss)} missing ({names}); policy allows at most 1 — no total"


def _check_same(engine: pd.DataFrame, floor: pd.DataFrame) -> None:
    """The floor computes what the engine computes (every column, row by row)."""
    for col in floor.columns:
        a, b = engine[col], floor[col]
        if isinstance(b.dtype, pd.CategoricalDtype):
            a, b = a.astype(object), b.astype(object)
        pd.testing.assert_series_equal(a, b, check_names=False, check_dtype=False)


def _nbytes(frame: pd.DataFrame) -> int:
    return int(frame.memory_usage(index=True, deep=True).sum())


def main() -> dict:
    frame = make_frame(N_ROWS)
    iopkit.score(frame.iloc[:1000], "phq9")  # imports, registry load
    sub = frame.iloc[:200_000]
    _check_same(iopkit.score(sub, "phq9"), floor_score(sub))
    ratio = pairs(lambda: iopkit.score(frame, "phq9"), lambda: floor_score(frame), N_PAIRS)
    peak_engine, result = peak_bytes(lambda: iopkit.score(frame, "phq9"))
    peak_floor, _ = peak_bytes(lambda: floor_score(frame))
    out_bytes = _nbytes(result) - _nbytes(frame)
    budget = (_nbytes(frame) + out_bytes) * GOAL_MEMORY
    # growth: the same work on a tenth of the rows
    small = frame.iloc[: N_ROWS // 10]
    t_small = min(timed(lambda: iopkit.score(small, "phq9"))[0] for _ in range(3))
    t_big = min(ratio["candidate_s"])
    exponent = float(np.log(t_big / t_small) / np.log(10))
    counts = result["phq9_status"].value_counts()
    figures = {
        "rows": N_ROWS,
        "load": load(),
        "ratio_to_numpy_floor": ratio,
        "growth_exponent_rows_x10": round(exponent, 2),
        "input_mib": round(_nbytes(frame) / 2**20, 1),
        "output_added_mib": round(out_bytes / 2**20, 1),
        "peak_engine_mib": round(peak_engine / 2**20, 1),
        "peak_floor_mib": round(peak_floor / 2**20, 1),
        "memory_budget_mib": round(budget / 2**20, 1),
        "status_counts": {k: int(v) for k, v in counts.items()},
        "goal_ratio_met": ratio["ratio_median"] <= GOAL_RATIO,
        "goal_memory_met": peak_engine <= budget,
    }
    met = {True: "met", False: "MISSED"}
    print(f"iopkit.score vs the numpy floor, {N_ROWS:,} PHQ-9 rows: {ratio_text(ratio)}; "
          f"engine {ratio['candidate_s']} s, floor {ratio['baseline_s']} s; "
          f"goal ≤ {GOAL_RATIO}×: {met[figures['goal_ratio_met']]}")  # fmt: skip
    print(f"growth exponent (rows ×10): {exponent:.2f}; peak memory engine "
          f"{figures['peak_engine_mib']} MiB, floor {figures['peak_floor_mib']} MiB, input "
          f"{figures['input_mib']} MiB + output {figures['output_added_mib']} MiB (budget "
          f"{figures['memory_budget_mib']} MiB: {met[figures['goal_memory_met']]})")  # fmt: skip
    return figures


if __name__ == "__main__":
    main()
