"""Validated data snapshots a batch hands its reports: the registry and the kernel variable.

A batch (:func:`iopkit.reports.engine.batch.prepare_run`) calls the snapshotter registered for
a job parameter once per distinct value among its jobs, writes the entries to
``<out>/.iopkit-run/snapshots/index.json`` and gives every report kernel that path in
:data:`SNAPSHOT_ENV`; the notebook side reads it (``iopkit.reports.views.source.open_source``).
The engine registers none itself (it knows no data): the report views register
``data_source``. Standard library only, because every report kernel imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: Environment variable naming a batch's snapshot index for the report kernels.
SNAPSHOT_ENV = "IOPKIT_SNAPSHOTS"

#: A snapshotter validates one data source once for a batch: called as ``fn(value, folder)``
#: with a job parameter's value and an empty private folder to write into; returns the index
#: entry (``key``: what the report looks the source up by, plus e.g. ``label``, ``checksum``).
Snapshotter = Callable[[str, Path], Mapping[str, Any]]
#: Snapshotters by the job parameter they apply to.
SNAPSHOTTERS: dict[str, Snapshotter] = {}


def register_snapshotter(param: str) -> Callable[[Snapshotter], Snapshotter]:
    """Decorator registering a snapshotter for job parameter ``param``."""

    def register(fn: Snapshotter) -> Snapshotter:
        if SNAPSHOTTERS.get(param, fn) is not fn:
            raise ValueError(f"a snapshotter for {param!r} is already registered")
        SNAPSHOTTERS[param] = fn
        return fn

    return register
