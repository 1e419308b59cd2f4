"""Report benchmarks: ratios against a baseline measured in the same run, per pair.

(a) **Cohort report vs the floor, in a batch.** The floor is a notebook doing the cohort
    report's imports and drawing one seaborn figure, run and exported to HTML the same way.
    Pairs (floor_i, cohort_i) run back to back in one batch on one worker (after one
    uncounted warm-up floor job; the order inside a pair alternates), so the batch
    validates the data once and hands both its snapshot (issue 17 §1); each pair's ratio is
    ``cohort_i / floor_i`` of the job durations *including the HTML export*, reported as
    min / median / max (never a ratio of medians). Goal ≤ 1.5×.
(b) **Executors.** The same N floor jobs (4, also with ``--quick``) on 2 local
    workers and a Dask cluster of 2 single-thread worker processes on this machine
    (``distributed.LocalCluster``): wall time, and overhead per job = wall × workers / N −
    mean job duration (what the batch machinery adds to each job). The floor notebook is
    used so the figure measures the machinery, not the analytics.

The machine and its 1-minute load average before and after are printed: on a shared machine
a load above the core count means other work competed, so read the ratios, not the seconds.
Run alone: ``python -m benchmarks.bench_reports [--quick]``; ``make bench`` runs it with the
others (``IOPKIT_BENCH_QUICK=1`` = quick).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from iopkit.reports.engine.batch import run_jobs
from iopkit.reports.engine.schedule import Job
from iopkit.resources import notebooks_dir

COHORT = notebooks_dir() / "cohort_outcomes.ipynb"


def quick() -> bool:
    """Quick mode (development): fewer pairs and jobs."""
    return os.environ.get("IOPKIT_BENCH_QUICK") == "1" or "--quick" in sys.argv[1:]


def floor_notebook(path: Path) -> Path:
    """Same imports as the cohort report, one seaborn figure, nothing else."""
    params = new_code_cell(
        'data_source: str = "synthetic:demo"  # unused: the floor opens no data\n'
        'cohort_id: str = "C01"  # unused\n'
    )
    params.metadata["tags"] = ["parameters"]
    body = new_code_cell(
        "from iopkit import outcomes, plots\n"
        "from iopkit.reports import record\n"
        "from iopkit.reports.views import checks, display, header, summary, tables\n"
        "from iopkit.reports.views.display import figure, note, section, show\n"
        "from iopkit.reports.views.source import (\n"
        "    episode_flags, open_source, scale_label, severity_bands,\n"
        ")\n\n"
        "import pandas as pd\n"
        "figure(plots.modality_balance(pd.DataFrame({'modality': ['cbt', 'dbt'],\n"
        "                                            'sessions': [3, 4]})))"
    )
    nb = new_notebook(
        cells=[new_markdown_cell("# Floor"), params, body],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}},
    )
    nbformat.write(nb, path)
    return path


def _spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}


def _batch(jobs: list[Job], out: Path, workers: int, factory=None) -> tuple[float, list]:  # noqa: ANN001
    kwargs = {"executor_factory": factory} if factory is not None else {}
    t0 = time.perf_counter()
    summary = run_jobs(jobs, out, workers=workers, progress=False, **kwargs)
    wall = time.perf_counter() - t0
    bad = [r["name"] for r in summary.records if r["status"] != "ok"]
    if bad:
        raise RuntimeError(f"benchmark jobs failed: {bad} (see {summary.index})")
    return wall, summary.records


def main() -> dict:
    import iopkit.reports.views.source  # noqa: F401 - the batch snapshots data_source
    from benchmarks.__main__ import machine
    from iopkit.data import write_bundle
    from iopkit.data.sources.synthetic import DEMO_SETTINGS
    from iopkit.synth import synthesize

    print(f"machine: {machine()}")
    pairs, n_jobs = (2, 4) if quick() else (5, 4)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="iopkit-bench-") as tmp_:
        tmp = Path(tmp_)
        data = str(write_bundle(synthesize(**DEMO_SETTINGS), tmp / "data"))
        floor = floor_notebook(tmp / "floor.ipynb")

        # (a) per-pair ratios in one batch, one worker, alternating floor / cohort
        # a first floor job warms the worker (the exporter's templates compile once per
        # process) and is not counted, so every pair compares reports in a warm worker;
        # the order inside a pair alternates, as in common.pairs
        jobs = [Job("warmup", str(floor), {"data_source": data})]
        for i in range(pairs):
            pair = [Job(f"floor{i}", str(floor), {"data_source": data}),
                    Job(f"cohort{i}", str(COHORT), {"data_source": data, "cohort_id": "C01"})]
            jobs += pair if i % 2 == 0 else pair[::-1]
        _, records = _batch(jobs, tmp / "a", workers=1)
        dur = {r["name"]: float(r["duration_s"]) for r in records}
        export = {r["name"]: float(r["timings_s"]["export"]) for r in records}
        ratios = [dur[f"cohort{i}"] / dur[f"floor{i}"] for i in range(pairs)]

        # (b) N floor jobs on three executors
        batch_jobs = [Job(f"r{i:02d}", str(floor), {"data_source": data})
                      for i in range(n_jobs)]
        runs: dict[str, dict[str, float]] = {}
        for label, workers in (("local, 2 workers", 2),):
            wall, recs = _batch(batch_jobs, tmp / f"b-{workers}", workers)
            mean = statistics.mean(float(r["duration_s"]) for r in recs)
            runs[label] = {"wall_s": round(wall, 2), "mean_job_s": round(mean, 3),
                           "overhead_per_job_s": round(wall * workers / n_jobs - mean, 3)}
        try:
            from distributed import LocalCluster

            from iopkit.integrations.dask import executor
        except ImportError:
            runs["dask, 2 workers"] = {"skipped": "dask[distributed] not installed"}
        else:
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                spec = cluster.scheduler_address.replace("tcp://", "dask://")
                wall, recs = _batch(batch_jobs, tmp / "b-dask", 2, executor(spec))
            mean = statistics.mean(float(r["duration_s"]) for r in recs)
            runs["dask, 2 workers"] = {"wall_s": round(wall, 2), "mean_job_s": round(mean, 3),
                                       "overhead_per_job_s": round(wall * 2 / n_jobs - mean, 3)}
    load_after = os.getloadavg()[0]

    spread = _spread(ratios)
    print(f"(a) cohort report / floor, per pair in one batch ({pairs} pairs, export "
          f"included): min {spread['min']:.2f}x, median {spread['median']:.2f}x, "
          f"max {spread['max']:.2f}x (goal <= 1.5x)")
    print(f"    pairs {[round(r, 2) for r in ratios]}; cohort "
          f"{[dur[f'cohort{i}'] for i in range(pairs)]} s (export "
          f"{[export[f'cohort{i}'] for i in range(pairs)]} s), floor "
          f"{[dur[f'floor{i}'] for i in range(pairs)]} s")
    for label, r in runs.items():
        if "skipped" in r:
            print(f"(b) {n_jobs} jobs, {label}: skipped ({r['skipped']})")
        else:
            print(f"(b) {n_jobs} jobs, {label}: {r['wall_s']:.1f} s wall, mean job "
                  f"{r['mean_job_s']:.2f} s, overhead {r['overhead_per_job_s']:.2f} s/job")
    print(f"    load average {load_before:.2f} before, {load_after:.2f} after "
          f"({os.cpu_count()} cores){' — quick mode' if quick() else ''}")
    return {
        "quick": quick(),
        "cohort_vs_floor_per_pair": [round(r, 3) for r in ratios],
        "cohort_vs_floor": spread,
        "executors": runs,
        "n_jobs": n_jobs,
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
    }


if __name__ == "__main__":
    main()
