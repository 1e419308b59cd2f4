"""Program data: table contracts, sources (CSV/Parquet/Excel/SQL/REDCap), validation.

Typical use::

    from iopkit.data import load_bundle, validate_bundle, write_rejects
    bundle = load_bundle("exports/")            # folder, .xlsx, .sqlite, SQLAlchemy URL
    result = validate_bundle(bundle)            # accepted rows, rejects, problems, counts
    result.tables["episodes"]                   # typed, index = line in the user's file

Sources are registered by scheme/suffix in :mod:`iopkit.data.sources`; validation is
:mod:`iopkit.data.validation`. See ``docs/data.md`` for the contracts and the validation
policy.
"""

from __future__ import annotations

from iopkit.data.bundle import PROBLEM_COLUMNS, Bundle
from iopkit.data.schemas import TABLE_ORDER, TABLES, table_schema
from iopkit.data.sources import FORMATS, load_bundle, write_bundle
from iopkit.data.validation import ValidationResult, validate_bundle, write_rejects
from iopkit.privacy import check_identifiers

__all__ = [
    "Bundle",
    "FORMATS",
    "PROBLEM_COLUMNS",
    "TABLES",
    "TABLE_ORDER",
    "ValidationResult",
    "check_identifiers",
    "load_bundle",
    "table_schema",
    "validate_bundle",
    "write_bundle",
    "write_rejects",
]
