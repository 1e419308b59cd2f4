"""Benchmark: how a report figure is drawn — the measurement behind ``iopkit.plots.FIGURE_SAVE``.

The same figure (``plots.trajectories`` of 48 episodes × 9 weeks, constrained layout) drawn
per pair by the report's renderer (:func:`iopkit.plots.render`) and by the baseline that
does the same work the way a notebook does by default — matplotlib-inline's PNG at 100 dpi
with ``bbox_inches="tight"`` — plus PNG without the tight box, which tells the cost of the
box from the cost of the format (PNG at 80 dpi was measured once, 0.88–0.98×, and dropped:
blurrier, no faster than SVG). Each variant draws a fresh figure (a drawn figure caches
its layout). Output size is printed too: it is what the HTML report carries.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
import pandas as pd

from benchmarks.common import QUICK, load, pairs, ratio_text

matplotlib.use("agg")


def _scores() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for e in range(48):
        b0, b1 = rng.normal(16, 4), rng.normal(-0.8, 0.4)
        rows += [(f"E{e:03d}", w, float(np.clip(b0 + b1 * w + rng.normal(0, 2), 0, 27)))
                 for w in range(9)]  # fmt: skip
    return pd.DataFrame(rows, columns=["episode_id", "week", "score"])


def main() -> dict:
    from iopkit import plots

    scores = _scores()

    def fig() -> Any:
        return plots.trajectories(scores, title="PHQ-9 by week", scale_label="PHQ-9 total",
                                  caption="Thin lines: one episode each")  # fmt: skip

    def savefig(**kw: Any) -> Callable[[], int]:
        def draw() -> int:
            buf = io.BytesIO()
            fig().savefig(buf, **kw)
            return len(buf.getvalue())

        return draw

    def report() -> int:
        data, _ = plots.render(fig())
        return len(data[plots.FIGURE_MIMETYPE])

    baseline = savefig(format="png", dpi=100, bbox_inches="tight")
    variants = {
        f"iopkit.plots.render ({plots.FIGURE_SAVE['format']}, no tight box)": report,
        "png 100 dpi, no tight box": savefig(format="png", dpi=100),
    }
    n = 3 if QUICK else 5
    out: dict[str, Any] = {"load": load(), "baseline": "png 100 dpi, bbox_inches='tight'",
                           "baseline_bytes": baseline(), "variants": {}}  # fmt: skip
    print(f"baseline: {out['baseline']}, {out['baseline_bytes'] / 1024:.0f} KiB")
    for name, draw in variants.items():
        p = pairs(draw, baseline, n)
        p["bytes"] = draw()
        out["variants"][name] = p
        print(f"  {name:45s} {ratio_text(p)}  {p['bytes'] / 1024:.0f} KiB")
    out["load_end"] = load()
    return out


if __name__ == "__main__":
    main()
