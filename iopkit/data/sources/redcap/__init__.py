"""REDCap flat exports as REDCap writes them: read into a bundle through a mapping, and write.

A REDCap export is a source kind of its own (``redcap:PATH``, or a single ``.csv`` file) and
needs a mapping (``load_bundle(export, mapping=…)``), documented in ``docs/sources/redcap.md``
and shown by the shipped :func:`example_mapping`. Modules, one concern each:

* :mod:`.dictionary` — the project's data dictionary (fields, forms, choices, export columns);
* :mod:`.mapping` — reading a mapping and checking it against the dictionary;
* :mod:`.labels` — label exports recognised and translated back to names and codes;
* :mod:`.export` — :func:`read_redcap`, the reader (checkboxes, form status, events, repeat
  instances, survey timestamps);
* :mod:`.writer` — :func:`to_redcap` / :func:`write_redcap`, iopkit's own layout for round trips.
"""

from __future__ import annotations

from iopkit.data.bundle import Bundle
from iopkit.data.sources.redcap.dictionary import DataDictionary, read_dictionary
from iopkit.data.sources.redcap.export import read_redcap
from iopkit.data.sources.redcap.mapping import example_mapping, load_mapping, read_mapping
from iopkit.data.sources.redcap.writer import to_redcap, write_redcap
from iopkit.data.sources.registry import ReadOptions, SourceHandler
from iopkit.errors import InputError

__all__ = [
    "HANDLER",
    "DataDictionary",
    "example_mapping",
    "load_mapping",
    "read_dictionary",
    "read_mapping",
    "read_redcap",
    "to_redcap",
    "write_redcap",
]


def read_source(location: str, options: ReadOptions) -> Bundle:
    """The registry's reader: a REDCap export needs a mapping."""
    if options.mapping is None:
        raise InputError(
            "a single CSV file is read as a REDCap export and needs a mapping file "
            "(--mapping); for a bundle of CSV files pass their folder",
            file=location,
            rule="source_kind",
        )
    return read_redcap(location, options.mapping, encoding=options.encoding, strict=options.strict)


HANDLER = SourceHandler(
    kind="redcap",
    keys=("redcap:", ".csv"),
    read=read_source,
    label="a REDCap .csv with a mapping",
    takes_mapping=True,
)
