"""Scaling table: each hot path of a report run at 1×, 10× and 100× the demo bundle
(4 cohorts of 48 admissions, ``iopkit.data.sources.synthetic.DEMO_SETTINGS``), with time,
peak memory and the growth exponent between sizes (log t₂/t₁ ÷ log 10: 1.0 is linear).

Writes the table into ``docs/performance.md`` between its ``scaling`` markers, so the page
always shows the last full run. ``--quick`` runs 1× and 10× only and leaves the page alone.
Time is one run without tracing (the best of three at 1×); memory is a second run under
``tracemalloc`` (peak bytes above the start; numpy and pandas buffers are traced).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from benchmarks.common import QUICK, load, peak_bytes, timed

SIZES = (1, 10) if QUICK else (1, 10, 100)
DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
START, END = "<!-- scaling:start -->", "<!-- scaling:end -->"


def _paths(bundle):  # noqa: ANN001, ANN202 - a Bundle in, named thunks out
    from iopkit.data import validate_bundle
    from iopkit.outcomes import cohort_summary, episode_outcomes, mbc_flags, weekly_trajectory
    from iopkit.scales.engine import score_assessments

    state: dict = {}

    def validate():  # noqa: ANN202
        state["v"] = validate_bundle(bundle)
        return state["v"]

    def score():  # noqa: ANN202
        state["s"] = score_assessments(state["v"].tables["assessments"])
        return state["s"]

    def outcomes():  # noqa: ANN202
        s = state["s"]
        phq = s[s["scale"] == "phq9"]
        state["o"] = episode_outcomes(
            phq, state["v"].tables["episodes"], scale="phq9", sd_by="cohort_id"
        )
        return state["o"]

    def summary():  # noqa: ANN202
        return cohort_summary(state["o"])

    def trajectory():  # noqa: ANN202
        s = state["s"]
        return weekly_trajectory(
            s[s["scale"] == "phq9"], state["v"].tables["episodes"], scale="phq9", by="cohort_id"
        )

    def flags():  # noqa: ANN202
        t = state["v"].tables
        return mbc_flags(state["s"], t["episodes"], t.get("attendance"))

    return [
        ("validate_bundle", validate),
        ("score_assessments", score),
        ("episode_outcomes", outcomes),
        ("cohort_summary", summary),
        ("weekly_trajectory", trajectory),
        ("mbc_flags", flags),
    ]


def main() -> dict:
    from iopkit.data.sources.synthetic import DEMO_SETTINGS
    from iopkit.synth import synthesize

    rows = []
    for k in SIZES:
        settings = {**DEMO_SETTINGS, "n_cohorts": DEMO_SETTINGS["n_cohorts"] * k}
        settings.pop("as_of")  # a cut-off date would drop the later cohorts of a large run
        settings["rotation"] = "catalog"
        bundle = synthesize(**settings)
        n_eps, n_ass = len(bundle.tables["episodes"]), len(bundle.tables["assessments"])
        for name, fn in _paths(bundle):
            reps = 3 if k == 1 else 1
            seconds = min(timed(fn)[0] for _ in range(reps))
            peak, _ = peak_bytes(fn)
            rows.append(
                {
                    "path": name,
                    "size": f"{k}×",
                    "episodes": n_eps,
                    "assessments": n_ass,
                    "seconds": seconds,
                    "peak_mib": peak / 2**20,
                }
            )
            print(f"{k:>3}× {name:<18} {seconds:8.3f} s  {peak / 2**20:8.1f} MiB", flush=True)
    table = pd.DataFrame(rows)
    growth = {}
    for name, g in table.groupby("path", sort=False):
        t = g["seconds"].to_numpy()
        growth[name] = [
            round(math.log(t[i + 1] / t[i]) / math.log(10), 2) for i in range(len(t) - 1)
        ]
    figures = {"load": load(), "rows": table.round(4).to_dict("records"), "growth": growth}
    if not QUICK:
        _write_doc(table, growth, figures["load"])
    return figures


def _write_doc(table: pd.DataFrame, growth: dict[str, list[float]], machine_load: dict) -> None:
    lines = [
        "| hot path | size | episodes | assessments | time (s) | peak memory (MiB) | "
        "growth exponent from the size before |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, g in table.groupby("path", sort=False):
        for i, r in enumerate(g.itertuples()):
            exp = "" if i == 0 else f"{growth[name][i - 1]:.2f}"
            lines.append(
                f"| `{name}` | {r.size} | {r.episodes:,} | {r.assessments:,} | "
                f"{r.seconds:.3f} | {r.peak_mib:.1f} | {exp} |"
            )
    lines.append("")
    lines.append(
        f"Load averages during the run: {machine_load['load_1m']} (1 min), "
        f"{machine_load['load_5m']} (5 min) on {machine_load['cores']} cores."
    )
    text = DOC.read_text()
    block = f"{START}\n" + "\n".join(lines) + f"\n{END}"
    DOC.write_text(
        re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    )


if __name__ == "__main__":
    main()
