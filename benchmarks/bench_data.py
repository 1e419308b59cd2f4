"""Generate and validate 10,000 synthetic episodes; goal: each step ≤ 10 s on this machine.

Then health-system size (issue 17): 100,000 episodes with about 1.5 M assessment rows,
exported as Parquet and validated by a fresh process (:func:`validate_export`); goal ≤ 8 s
with the process's peak resident memory ≤ 1.5 GiB (``VmHWM``: the loaded bundle, the
imports and the validation together).

Also writes and re-reads the bundle as CSV (the common coordinator export) and reports the
ratio of validation time to generation time, so runs on different machines compare.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import QUICK, load


def validate_export(folder: str) -> None:
    """In a fresh process: load the bundle exported to ``folder``, validate it, and print
    one JSON line (seconds, resident memory before validating, peak of the process)."""
    from iopkit.data import load_bundle, validate_bundle

    t0 = time.perf_counter()
    bundle = load_bundle(Path(folder))
    t_load = time.perf_counter() - t0
    before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    result = validate_bundle(bundle)
    t_val = time.perf_counter() - t0
    assert result.ok
    print(json.dumps({
        "load_s": round(t_load, 2),
        "validate_s": round(t_val, 2),
        "before_gib": round(before / 2**20, 2),
        "process_peak_gib": round(_status_kib("VmHWM") / 2**20, 2),
    }))  # fmt: skip


def _status_kib(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status`` (KiB; Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


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

    # health-system size (issue 17): 100,000 episodes, ~1.5 M assessment rows, exported as
    # Parquet and validated by a fresh process, as `iopkit validate` would: goal ≤ 8 s and a
    # process peak ≤ 1.5 GiB (the loaded bundle and the imports included)
    n_big = 20_000 if QUICK else 100_000
    big = synthesize(n_cohorts=-(-n_big // per), seed=seed + 1, episodes_per_cohort=per)
    big_rows = {t: len(big.tables[t]) for t in big.table_names}
    with tempfile.TemporaryDirectory() as tmp:
        write_bundle(big, Path(tmp), format="parquet")
        del big
        gc.collect()
        child = subprocess.run(
            [sys.executable, "-c", f"from benchmarks.bench_data import validate_export; "
             f"validate_export({tmp!r})"],
            capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent,
        )  # fmt: skip
    big_run = json.loads(child.stdout.strip().splitlines()[-1])
    t_val_big, peak_gib = big_run["validate_s"], big_run["process_peak_gib"]

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
        "big_episodes": big_rows["episodes"],
        "big_assessment_rows": big_rows["assessments"],
        "big_load_parquet_s": big_run["load_s"],
        "big_validate_s": t_val_big,
        "big_process_peak_gib": peak_gib,
        "big_process_before_validation_gib": big_run["before_gib"],
        "goal_s": 10,
        "big_goal": "≤ 8 s and ≤ 1.5 GiB process peak at 100,000 episodes",
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
    )
    slow = [s for s in steps if out[s] > 10]
    print("goal met (each step ≤ 10 s)" if not slow else f"goal missed: {', '.join(slow)}")
    big_met = t_val_big <= 8 and (peak_gib is not None and peak_gib <= 1.5)
    out["big_goal_met"] = big_met and not QUICK
    print(
        f"{out['big_episodes']:,} episodes / {out['big_assessment_rows']:,} assessments: "
        f"validated in {t_val_big:.2f} s, process peak {peak_gib} GiB — goal "
        + ("met" if out["big_goal_met"] else "not met" if not QUICK else "(quick: not judged)")
    )
    out["load"] = load()
    return out


if __name__ == "__main__":
    main()
