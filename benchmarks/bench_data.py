"""Generate and validate 10,000 synthetic episodes; goal: each step ≤ 10 s on this machine.

Also writes and re-reads the bundle as CSV (the common coordinator export) and reports the
ratio of validation time to generation time, so runs on different machines compare.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def main(n_episodes: int = 10_000, seed: int = 1) -> dict:
    from iopkit.data import load_bundle, validate_bundle, write_bundle
    from iopkit.synth import synthesize

    per = 24
    n_cohorts = -(-n_episodes // per)
    t0 = time.perf_counter()
    bundle = synthesize(n_cohorts=n_cohorts, seed=seed, episodes_per_cohort=per)
    t_gen = time.perf_counter() - t0
    rows = {t: len(bundle.tables[t]) for t in bundle.table_names}

    t0 = time.perf_counter()
    result = validate_bundle(bundle)
    t_val = time.perf_counter() - t0
    assert result.ok, result.problems.head()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_bundle(bundle, Path(tmp), format="csv")
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        loaded = load_bundle(Path(tmp))
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        result_csv = validate_bundle(loaded)
        t_val_csv = time.perf_counter() - t0
        assert result_csv.ok

    defect_bundle = synthesize(
        n_cohorts=n_cohorts, seed=seed, episodes_per_cohort=per, defects=True
    )
    t0 = time.perf_counter()
    result_def = validate_bundle(defect_bundle)
    t_val_def = time.perf_counter() - t0

    # the 3-day program measures PHQ-9/GAD-7 weekly, so 10,000 episodes give ~150,000 wide
    # assessment rows; twice the episodes reach the ~300,000 rows of the estimate
    big = synthesize(n_cohorts=2 * n_cohorts, seed=seed + 1, episodes_per_cohort=per)
    t0 = time.perf_counter()
    result_big = validate_bundle(big)
    t_val_big = time.perf_counter() - t0
    assert result_big.ok

    out = {
        "episodes": rows["episodes"],
        "assessment_rows": rows["assessments"],
        "attendance_rows": rows["attendance"],
        "total_rows": sum(rows.values()),
        "generate_s": round(t_gen, 2),
        "validate_s": round(t_val, 2),
        "write_csv_s": round(t_write, 2),
        "load_csv_s": round(t_load, 2),
        "validate_csv_s": round(t_val_csv, 2),
        "validate_with_defects_s": round(t_val_def, 2),
        "defects_injected": len(defect_bundle.defects),
        "rows_rejected_with_defects": result_def.n_rejected,
        "validate_over_generate": round(t_val / t_gen, 2),
        "x2_episodes": len(big.tables["episodes"]),
        "x2_assessment_rows": len(big.tables["assessments"]),
        "x2_validate_s": round(t_val_big, 2),
        "goal_s": 10,
    }
    width = max(map(len, out))
    for k, v in out.items():
        print(f"{k:<{width}}  {v}")
    steps = (
        "generate_s",
        "validate_s",
        "load_csv_s",
        "validate_csv_s",
        "validate_with_defects_s",
        "x2_validate_s",
    )
    slow = [s for s in steps if out[s] > 10]
    print("goal met (each step ≤ 10 s)" if not slow else f"goal missed: {', '.join(slow)}")
    return out


if __name__ == "__main__":
    main()
