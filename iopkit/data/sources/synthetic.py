"""Synthetic bundles by name: ``synthetic:demo`` is the deterministic demo bundle.

So every report notebook runs from JupyterLab without any file, and a test or a tutorial can
name the same data as a real export would be named. The bundle comes from
:func:`iopkit.synth.synthesize` (no real patient; pseudonymous ids).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from iopkit.data.bundle import Bundle
from iopkit.data.sources.registry import ReadOptions, SourceHandler
from iopkit.errors import InputError

__all__ = ["DEMO_SETTINGS", "DEMO_SOURCE", "HANDLER", "PRESETS", "read_synthetic"]

#: The source that stands for the synthetic demo bundle.
DEMO_SOURCE = "synthetic:demo"
#: Settings of the demo bundle (the same as ``iopkit demo``'s defaults): 4 cohorts of 48
#: admissions, so the cohort reports show real figures under the k = 11 small-cell rule
#: (a cohort of ~20 hides almost every cell); ``as_of`` cuts the data while the last two
#: cohorts are still admitting, so some episodes are active and carry flags (C01–C03 48
#: episodes, C04 40). ``rotation="plan"``: delivered sessions follow the CP-SAT planned
#: cycle (solved to optimality in < 1 s; see :func:`iopkit.synth.synthesize`).
DEMO_SETTINGS: dict[str, Any] = {
    "n_cohorts": 4,
    "seed": 0,
    "episodes_per_cohort": 48,
    "as_of": "2025-04-25",
    "rotation": "plan",
}
#: Named synthetic bundles: ``synthetic:<name>`` -> keyword arguments of ``synthesize``.
PRESETS = MappingProxyType({"demo": DEMO_SETTINGS})


def read_synthetic(name: str) -> Bundle:
    """The synthetic bundle ``name`` (a key of :data:`PRESETS`)."""
    if name not in PRESETS:
        raise InputError(
            f"unknown synthetic bundle {name!r}; choose one of "
            + ", ".join(f"synthetic:{p}" for p in PRESETS),
            file=f"synthetic:{name}",
            rule="source_kind",
        )
    from iopkit.synth import synthesize  # synth builds on iopkit.data: imported when used

    return synthesize(**PRESETS[name])


def _read(location: str, options: ReadOptions) -> Bundle:
    return read_synthetic(location)


HANDLER = SourceHandler(kind="synthetic", keys=("synthetic:",), read=_read, label="synthetic:demo")
