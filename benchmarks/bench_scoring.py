"""Benchmark: score 1,000,000 PHQ-9 administrations (5 % missing one item).

Compares :func:`iopkit.score` with a straightforward per-row reference implementation
(a Python loop over rows doing the same work: total, proration with half-up rounding,
band, status, reason, item-9 flag/escalation, MDS/ODS) run in the same process. The
reference is timed on a 20,000-row subsample (median of 3 runs) and extrapolated linearly
to 1,000,000 rows; its results are checked against the engine's on that subsample. The
engine figure is the median of 5 runs after one cold run (reported separately).

Goal (issue #2): ≤ 1 s for 1M rows and ≥ 30× faster than the per-row reference.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
import pandas as pd

import iopkit
from iopkit.scales import get_scale

N_ROWS = 1_000_000
N_REFERENCE = 20_000
MISSING_SHARE = 0.05
REPEATS = 5
REFERENCE_REPEATS = 3
COLS = [f"phq9_{i}" for i in range(1, 10)]


def make_frame(n: int, seed: int = 2026) -> pd.DataFrame:
    """n PHQ-9 administrations, items uniform 0–3; 5 % of rows miss one random item."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(n, 9)).astype(np.float64)
    rows = np.flatnonzero(rng.random(n) < MISSING_SHARE)
    x[rows, rng.integers(0, 9, size=rows.size)] = np.nan
    return pd.DataFrame(x, columns=COLS)


def reference_score(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-row reference: what a straightforward implementation does, one row at a time."""
    scale = get_scale("phq9")
    bands = [(b.min, b.max, b.label) for b in scale.bands.levels]
    out = []
    for row in frame[COLS].itertuples(index=False):
        answered = [v for v in row if not math.isnan(v)]
        missing = [c for c, v in zip(COLS, row, strict=True) if math.isnan(v)]
        item9 = row[8]
        total = band = None
        if not missing:
            status, reason, total = "complete", "", float(sum(answered))
        elif len(missing) <= 1 and not math.isnan(item9):
            status = "prorated"
            reason = f"prorated: 1 missing ({missing[0]})"
            total = float(math.floor(sum(answered) * 9 / len(answered) + 0.5))
        else:
            status, reason = "incomplete", f"{len(missing)} missing"
        if total is not None:
            band = next(label for lo, hi, label in bands if lo <= total <= hi)
        flag = not math.isnan(item9) and item9 >= 1
        escalate = not math.isnan(item9) and item9 >= 2
        core = sum(1 for v in row[:2] if v >= 2)
        symptoms = sum(1 for v in row[:8] if v >= 2) + (1 if item9 >= 1 else 0)
        mds = ods = None
        if not missing:
            mds = core >= 1 and symptoms >= 5
            ods = core >= 1 and 2 <= symptoms <= 4
        out.append((total, band, len(answered), status, reason, flag, escalate, mds, ods))
    return pd.DataFrame(
        out,
        columns=["total", "band", "answered", "status", "reason", "flag", "escalate", "mds",
                 "ods"],
        index=frame.index,
    )  # fmt: skip


def _check_same(engine: pd.DataFrame, ref: pd.DataFrame) -> None:
    np.testing.assert_array_equal(engine["phq9_total"].to_numpy(), ref["total"].to_numpy(float))
    assert (engine["phq9_status"].astype(str).to_numpy() == ref["status"].to_numpy()).all()
    assert (engine["phq9_item9_flag"].to_numpy() == ref["flag"].to_numpy(bool)).all()
    band = engine["phq9_band"].astype(str).where(engine["phq9_band"].notna(), "")
    assert (band.to_numpy() == ref["band"].fillna("").to_numpy()).all()
    complete = ref["status"] == "complete"
    assert (engine.loc[complete, "phq9_mds"].to_numpy(bool) == ref.loc[complete, "mds"]).all()


def main() -> dict:
    frame = make_frame(N_ROWS)
    t0 = time.perf_counter()
    iopkit.score(frame, "phq9")  # cold run: imports, registry load, first allocations
    cold_s = time.perf_counter() - t0
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = iopkit.score(frame, "phq9")
        times.append(time.perf_counter() - t0)
    engine_s = statistics.median(times)

    sub = frame.iloc[:N_REFERENCE]
    ref_times = []
    for _ in range(REFERENCE_REPEATS):
        t0 = time.perf_counter()
        ref = reference_score(sub)
        ref_times.append(time.perf_counter() - t0)
    ref_sub_s = statistics.median(ref_times)
    _check_same(result.iloc[:N_REFERENCE], ref)
    ref_s = ref_sub_s * N_ROWS / N_REFERENCE
    ratio = ref_s / engine_s

    counts = result["phq9_status"].value_counts()
    figures = {
        "rows": N_ROWS,
        "engine_seconds_median": round(engine_s, 3),
        "engine_seconds_all": [round(t, 3) for t in times],
        "engine_seconds_cold_first_run": round(cold_s, 3),
        "reference_rows_timed": N_REFERENCE,
        "reference_seconds_subsample": round(ref_sub_s, 3),
        "reference_seconds_subsample_all": [round(t, 3) for t in ref_times],
        "reference_seconds_extrapolated": round(ref_s, 2),
        "speedup": round(ratio, 1),
        "status_counts": {k: int(v) for k, v in counts.items()},
        "goal_seconds_met": engine_s <= 1.0,
        "goal_speedup_met": ratio >= 30,
    }
    print(f"iopkit.score, {N_ROWS:,} PHQ-9 rows ({MISSING_SHARE:.0%} missing one item): "
          f"median {engine_s:.3f} s of {REPEATS} runs {figures['engine_seconds_all']} "
          f"(cold first run incl. imports {cold_s:.3f} s)")  # fmt: skip
    print(
        f"per-row reference: {ref_sub_s:.3f} s for {N_REFERENCE:,} rows (median of "
        f"{REFERENCE_REPEATS} runs), extrapolated linearly to {ref_s:.1f} s for {N_ROWS:,} "
        "rows; same results as the engine on the subsample"
    )
    met = {True: "met", False: "MISSED"}
    print(
        f"speed-up {ratio:.0f}x; goal <= 1 s: {met[figures['goal_seconds_met']]}; "
        f"goal >= 30x: {met[figures['goal_speedup_met']]}"
    )
    print(f"status counts: {figures['status_counts']}")
    return figures


if __name__ == "__main__":
    main()
