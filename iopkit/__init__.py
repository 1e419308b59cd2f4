"""iopkit — open toolkit for Intensive Outpatient Programs (IOP).

Skill modules and programs as data, any-entry rotation planning, rating-scale scoring,
outcome analytics for measurement-based care, and papermill-run reports.

The public scoring entry point is :func:`iopkit.score`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "score"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import iopkit` stays fast (the CLI and notebooks import it first).
    if name == "score":
        from iopkit.scales.engine import score

        return score
    raise AttributeError(f"module 'iopkit' has no attribute {name!r}")
