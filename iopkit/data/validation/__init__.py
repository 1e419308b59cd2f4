"""Row-level validation of a data bundle (see :mod:`iopkit.data.validation.pipeline`).

``cells`` parses cells, ``tables`` runs the per-table pass, ``rules`` holds the cross-table
rules registered by table, ``result`` assembles the outcome and writes rejects, ``pipeline``
runs them in order.
"""

from __future__ import annotations

from iopkit.data.validation.cells import parse_dates, parse_ints
from iopkit.data.validation.pipeline import validate_bundle
from iopkit.data.validation.result import ValidationResult, write_rejects

__all__ = ["ValidationResult", "parse_dates", "parse_ints", "validate_bundle", "write_rejects"]
