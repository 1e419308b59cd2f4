"""``iopkit fhir export``: load a source, validate, score, write the scores as FHIR Observations.

The Observations themselves (panel, total with band, safety item) are built by
:func:`iopkit.data.sources.fhir.writer.scored_observations` (docs/sources/fhir.md); this
module chains the steps every report takes too (load → :func:`~iopkit.data.validate_bundle`
→ :func:`~iopkit.scales.engine.score_assessments`), so an export scores exactly what a
report shows. Rejected assessment rows are counted, never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from iopkit.data.schemas import is_long_assessments
from iopkit.data.sources import load_bundle
from iopkit.data.sources.fhir.writer import scored_observations, write_resources
from iopkit.data.validation import validate_bundle
from iopkit.scales.engine import score_assessments, score_long

__all__ = ["ExportSummary", "export_observations"]


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: the file, resources written and a count table per scale.

    ``counts`` columns: ``scale``, ``administrations`` (accepted rows of that scale),
    ``exported`` (with at least one Observation), ``totals``, ``not_scored`` (no total:
    incomplete or invalid), ``safety_positive``, ``no_loinc`` (scale without LOINC codes:
    nothing written). ``rejected``: assessment rows the validator set aside (not written).
    """

    path: Path
    resources: int
    counts: pd.DataFrame
    rejected: int = 0


def export_observations(
    source: str | Path,
    out: str | Path,
    *,
    mapping: Any = None,
    format: str | None = None,
    patient_system: str | None = None,
    episode_system: str | None = None,
) -> ExportSummary:
    """Load and validate ``source``, score its assessments, write Observations to ``out``.

    ``out``: ``FILE.ndjson``, ``FILE.json`` (a transaction Bundle) or a folder (written as
    ``Observation.ndjson`` inside, as Bulk Data names its files). ``format`` (``ndjson`` or
    ``bundle``) overrides the choice by suffix. ``patient_system`` / ``episode_system``:
    identifier systems for subject/encounter references of non-FHIR sources.
    """
    out = Path(out)
    if out.is_dir() or not out.suffix:
        out = out / "Observation.ndjson"
    if format is None:
        format = "bundle" if out.suffix.lower() == ".json" else "ndjson"
    result = validate_bundle(load_bundle(source, mapping=mapping))
    counts = result.counts
    rejected = int(counts.loc[counts["table"] == "assessments", "rejected"].sum())
    assessments = result.tables.get("assessments")
    if assessments is None or not len(assessments):
        resources: list[dict] = []
        per_scale = pd.DataFrame(columns=["scale", "administrations"])
    else:
        frame = assessments.reset_index(drop=True)
        if is_long_assessments(frame):
            scored = score_long(frame, ["episode_id", "date"])
        else:
            scored = score_assessments(frame)
        resources, per_scale = scored_observations(
            scored,
            result.tables.get("episodes"),
            patient_system=patient_system,
            episode_system=episode_system,
        )
    path = write_resources(resources, out, format)
    return ExportSummary(path, len(resources), per_scale, rejected)
