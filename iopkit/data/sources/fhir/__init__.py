"""FHIR R4 in and out: QuestionnaireResponse/Observation resources → ``assessments``, and
scored results → Observations (docs/sources/fhir.md).

Source kind ``fhir`` (``fhir:PATH`` for a file or folder, or any ``.ndjson`` file): a Bundle, a
folder of JSON files or a Bulk Data NDJSON export, read by :func:`read_fhir` with an
optional mapping (:mod:`.mapping`) and companion CSV tables. Modules: :mod:`.parse`
(files → validated resources), :mod:`.codes` (LOINC index of the scale registry),
:mod:`.mapping`, :mod:`.reader`, :mod:`.writer` (scored Observations).
"""

from __future__ import annotations

from pathlib import Path

from iopkit.data.bundle import Bundle
from iopkit.data.sources.fhir.reader import FHIR_COLUMNS, read_fhir
from iopkit.data.sources.fhir.writer import scored_observations, write_resources
from iopkit.data.sources.registry import ReadOptions, SourceHandler

__all__ = [
    "FHIR_COLUMNS",
    "HANDLER",
    "read_fhir",
    "scored_observations",
    "write_resources",
]


def _read(location: str, options: ReadOptions) -> Bundle:
    return read_fhir(
        Path(location), options.mapping, encoding=options.encoding, strict=options.strict
    )


HANDLER = SourceHandler(
    kind="fhir",
    keys=("fhir:", ".ndjson"),
    read=_read,
    label="a FHIR export (fhir:PATH or .ndjson)",
    takes_mapping=True,
)
