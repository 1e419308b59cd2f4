"""Rating-scale registry and vectorised scoring.

* :func:`get_scale` / :func:`list_scales` — validated scale entries (:class:`Scale`), one
  YAML file per scale in ``iopkit/scales/data/``; every number carries its source.
* :func:`score` — score a wide DataFrame of item responses; :func:`score_assessments` the
  mixed ``assessments`` table; :func:`score_long` long format (see
  :mod:`iopkit.scales.engine`). Loaded lazily so the registry imports fast.
"""

from __future__ import annotations

from typing import Any

from iopkit.scales.registry import get_scale, list_scales, load_scale_file
from iopkit.scales.schema import Norm, Reliability, Scale, Threshold

__all__ = [
    "Norm",
    "Reliability",
    "Scale",
    "Threshold",
    "get_scale",
    "list_scales",
    "load_scale_file",
    "find_item_columns",
    "score",
    "score_assessments",
    "score_long",
]


def __getattr__(name: str) -> Any:
    if name in ("score", "score_assessments", "score_long", "find_item_columns"):
        from iopkit.scales import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'iopkit.scales' has no attribute {name!r}")
