"""What every benchmark shares: per-pair ratios against a baseline run in the same process,
peak memory, the machine's load, and the quick mode.

A ratio is taken per pair — the candidate and its baseline run back to back, alternating
which goes first — and reported as min/median/max over the pairs, so a burst of load on a
shared machine shows up as spread instead of hiding in a ratio of medians (issue 17).
"""

from __future__ import annotations

import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

#: ``python -m benchmarks --quick`` (or IOPKIT_BENCH_QUICK=1): smaller sizes, fewer pairs.
QUICK = os.environ.get("IOPKIT_BENCH_QUICK", "") not in ("", "0")


def load() -> dict[str, float]:
    """The 1/5/15-minute load averages (``os.getloadavg``) and the core count."""
    one, five, fifteen = os.getloadavg()
    return {"load_1m": round(one, 2), "load_5m": round(five, 2), "load_15m": round(fifteen, 2),
            "cores": os.cpu_count() or 0}  # fmt: skip


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of ``fn`` takes (``time.perf_counter``) and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def pairs(
    candidate: Callable[[], Any], baseline: Callable[[], Any], n_pairs: int
) -> dict[str, Any]:
    """Run ``candidate`` and ``baseline`` ``n_pairs`` times, alternating the order; the
    per-pair ratios candidate/baseline with min/median/max and both sets of seconds."""
    cand, base, ratios = [], [], []
    for i in range(n_pairs):
        if i % 2 == 0:
            tc, _ = timed(candidate)
            tb, _ = timed(baseline)
        else:
            tb, _ = timed(baseline)
            tc, _ = timed(candidate)
        cand.append(tc)
        base.append(tb)
        ratios.append(tc / tb if tb > 0 else float("nan"))
    return {
        "pairs": n_pairs,
        "candidate_s": [round(t, 4) for t in cand],
        "baseline_s": [round(t, 4) for t in base],
        "ratio_min": round(min(ratios), 3),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_max": round(max(ratios), 3),
    }


def peak_bytes(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated above the start while ``fn`` runs (``tracemalloc``; numpy and
    pandas buffers are traced), and its result."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    return peak, out


def ratio_text(p: dict[str, Any]) -> str:
    """``1.23× (min 1.10, max 1.40, 5 pairs)``."""
    return (f"{p['ratio_median']:.2f}× (min {p['ratio_min']:.2f}, max {p['ratio_max']:.2f}, "
            f"{p['pairs']} pairs)")  # fmt: skip
