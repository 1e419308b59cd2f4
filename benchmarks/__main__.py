"""Run every ``benchmarks/bench_*.py`` module (or those named on the command line);
``--quick`` runs smaller sizes for development (``make bench-quick``).

Each module defines ``main() -> dict`` that prints its own report and returns its figures;
results are collected into ``benchmarks/results.json`` together with a machine description.
Benchmarks report ratios against a baseline measured in the same process, never absolute
timed assertions.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path


def machine() -> dict[str, object]:
    """A short description of the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    quick = "--quick" in argv
    argv = [a for a in argv if a != "--quick"]
    if quick:  # read by benchmarks.common at import: set before any benchmark is imported
        os.environ["IOPKIT_BENCH_QUICK"] = "1"
    names = argv or sorted(p.stem for p in here.glob("bench_*.py"))
    results: dict[str, object] = {
        "machine": machine(),
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "quick": quick,
        "load_at_start": dict(zip(("1m", "5m", "15m"), os.getloadavg(), strict=True)),
    }
    print(f"machine: {results['machine']}; load averages {results['load_at_start']}")
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    for name in names:
        name = name.removesuffix(".py")
        print(f"\n=== {name} ===", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        t0 = time.perf_counter()
        results[name] = module.main()
        took = round(time.perf_counter() - t0, 1)
        seconds[name] = took
        print(f"--- {name}: {took} s", flush=True)
    results["load_at_end"] = dict(zip(("1m", "5m", "15m"), os.getloadavg(), strict=True))
    results["wall_s"] = round(time.perf_counter() - started, 1)
    results["seconds_by_benchmark"] = seconds
    print(f"\nall benchmarks: {results['wall_s']} s; load averages {results['load_at_end']}")
    out = here / ("results.quick.json" if quick else "results.json")
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
