"""Data sources behind one registry: read and write bundles (see :mod:`.registry`).

Source kinds, one module each: ``folder`` (CSV/Parquet files), ``excel`` (.xlsx), ``sql``
(SQLAlchemy URLs and SQLite files), ``redcap`` (flat export + mapping), ``synthetic``
(``synthetic:demo``), ``fhir`` (a package: FHIR R4 Bundle, folder or Bulk NDJSON);
``text`` holds the decoding and CSV parsing they share. A new kind is a new module with a
:class:`~.registry.SourceHandler`, registered below.

Readers do no type conversion: values arrive as text (CSV) or as the source's own types
(Excel cells, Parquet, SQL); :func:`iopkit.data.validate_bundle` converts and reports.
Direct identifiers are refused before anything else (:func:`iopkit.privacy.check_identifiers`).
"""

from __future__ import annotations

from iopkit.data.sources import excel, fhir, folder, redcap, sql, synthetic
from iopkit.data.sources.registry import SOURCES, load_bundle, write_bundle

for _handler in (
    folder.HANDLER,
    excel.HANDLER,
    sql.SQLITE_HANDLER,
    sql.URL_HANDLER,
    redcap.HANDLER,
    synthetic.HANDLER,
    fhir.HANDLER,
    sql.CONNECTION_HANDLER,
):
    SOURCES.register(_handler)
for _writer in (folder.CSV_WRITER, folder.PARQUET_WRITER, excel.WRITER, sql.WRITER):
    SOURCES.register_writer(_writer)
SOURCES.register_writer(sql.URL_WRITER)  # any SQLAlchemy URL or connection:NAME

#: Formats :func:`write_bundle` writes.
FORMATS: tuple[str, ...] = SOURCES.formats

__all__ = ["FORMATS", "SOURCES", "load_bundle", "write_bundle"]
