"""Report runner benchmarks (ratios against a baseline measured in the same run).

(a) One cohort report end to end (papermill + HTML export + publish) vs the *floor*: a
    notebook that does the same imports and draws one seaborn figure, run and exported the
    same way in the same process. Goal ≤ 1.5× the floor.
(b) 20 reports with 2 workers vs 1 worker (same jobs, same machine). Goal ≥ 1.7× faster.
    The 20 jobs are the floor notebook, so (b) measures the batch machinery rather than the
    analytics; on a 2-core machine the ceiling is 2×.

Both use the synthetic demo bundle written once to a temporary folder. Timings are medians of
``REPEATS`` runs (interleaved, so a change of machine load hits both sides alike); the machine
may be shared, so read the ratios, not the seconds. The 1-minute load average before and after
is printed and returned (``os.getloadavg``): a load above the core count means other work
competed for the cores and (b) cannot reach its ceiling.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from iopkit.reports.engine.batch import run_jobs
from iopkit.reports.engine.runner import run_report
from iopkit.reports.engine.schedule import Job
from iopkit.resources import notebooks_dir

COHORT = notebooks_dir() / "cohort_outcomes.ipynb"
REPEATS = 3
N_BATCH = 20


def floor_notebook(path: Path, *, load_data: bool = False) -> Path:
    """Same imports as the cohort report, one seaborn figure, nothing else.

    ``load_data=True`` also opens ``data_source`` (load, validate, score: what every report
    must do) — the informational floor (a′) that separates data loading from the analytics.
    """
    params = new_code_cell('data_source: str = "synthetic:demo"  # bundle the floor may open\n')
    params.metadata["tags"] = ["parameters"]
    body = new_code_cell(
        "from iopkit import outcomes, plots\n"
        "from iopkit.reports import record\n"
        "from iopkit.reports.views import checks, tables\n"
        "from iopkit.reports.views.display import figure, note, show\n"
        "from iopkit.reports.views.source import (\n"
        "    episode_flags, open_source, scale_label, severity_bands,\n"
        ")\n\n"
        "import pandas as pd\n"
        + ("data = open_source(data_source)\n" if load_data else "")
        + "figure(plots.modality_balance(pd.DataFrame({'modality': ['cbt', 'dbt'],\n"
        "                                            'sessions': [3, 4]})))"
    )
    nb = new_notebook(
        cells=[new_markdown_cell("# Floor"), params, body],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}},
    )
    nbformat.write(nb, path)
    return path


def _time(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> dict:
    from iopkit.data import write_bundle
    from iopkit.data.sources.synthetic import DEMO_SETTINGS
    from iopkit.synth import synthesize

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="iopkit-bench-") as tmp_:
        tmp = Path(tmp_)
        data = str(write_bundle(synthesize(**DEMO_SETTINGS), tmp / "data"))
        floor = floor_notebook(tmp / "floor.ipynb")
        floor_data = floor_notebook(tmp / "floor_data.ipynb", load_data=True)

        # (a) cohort report vs floor, interleaved so load changes hit both alike
        t_floor, t_floor_data, t_cohort = [], [], []
        for i in range(REPEATS):
            t_floor.append(_time(lambda i=i: run_report(
                floor, {"data_source": data}, tmp / "a", name=f"floor{i}")))
            t_floor_data.append(_time(lambda i=i: run_report(
                floor_data, {"data_source": data}, tmp / "a", name=f"floor_data{i}")))
            t_cohort.append(_time(lambda i=i: run_report(
                COHORT, {"data_source": data, "cohort_id": "C01"}, tmp / "a", name=f"c{i}")))
        floor_s, cohort_s = statistics.median(t_floor), statistics.median(t_cohort)
        floor_data_s = statistics.median(t_floor_data)
        ratio_a = cohort_s / floor_s

        # (b) 20 floor reports, 1 worker vs 2 workers, interleaved
        jobs = [Job(f"r{i:02d}", str(floor), {"data_source": data}) for i in range(N_BATCH)]
        t_1, t_2 = [], []
        for i in range(REPEATS):
            t_1.append(_time(lambda i=i: run_jobs(jobs, tmp / f"b1-{i}", workers=1,
                                                  progress=False)))
            t_2.append(_time(lambda i=i: run_jobs(jobs, tmp / f"b2-{i}", workers=2,
                                                  progress=False)))
        t1, t2 = statistics.median(t_1), statistics.median(t_2)
        speedup = t1 / t2
    load_after = os.getloadavg()[0]

    print(f"(a) cohort report {cohort_s:.2f} s vs floor {floor_s:.2f} s "
          f"(median of {REPEATS}): {ratio_a:.2f}x the floor (goal <= 1.5x)")
    print(f"(a') floor that also opens the data {floor_data_s:.2f} s: cohort report "
          f"{cohort_s / floor_data_s:.2f}x it (informational)")
    print(f"(b) {N_BATCH} reports: 1 worker {t1:.1f} s, 2 workers {t2:.1f} s "
          f"(medians of {REPEATS}): {speedup:.2f}x faster (goal >= 1.7x)")
    runs = f"runs 1 worker {[round(t, 1) for t in t_1]}, 2 workers {[round(t, 1) for t in t_2]}"
    print(f"    {runs}; load average {load_before:.2f} before, {load_after:.2f} after "
          f"({os.cpu_count()} cores)")
    return {
        "cohort_report_s": round(cohort_s, 3),
        "floor_s": round(floor_s, 3),
        "cohort_vs_floor": round(ratio_a, 3),
        "floor_with_data_s": round(floor_data_s, 3),
        "cohort_vs_floor_with_data": round(cohort_s / floor_data_s, 3),
        "batch_1_worker_s": round(t1, 2),
        "batch_2_workers_s": round(t2, 2),
        "speedup_2_workers": round(speedup, 3),
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
    }


if __name__ == "__main__":
    main()
