"""The FHIR source's mapping: how references become iopkit ids (read by :mod:`iopkit.yamlio`).

A mapping is optional; without one, patients are known by their reference's id
(``Patient/P00001`` → ``P00001``) and each response goes to that patient's episode whose
stay covers its date. Keys (all optional; docs/sources/fhir.md)::

    tables: companion            # folder of cohorts/patients/episodes CSV, relative to the file
    patient_identifier: urn:…    # take patient_id from Patient.identifier of this system
    patients: {Patient/123: P00001}       # reference -> patient_id
    encounters: {Encounter/9: E00001}     # reference -> episode_id
    questionnaires: {http://…/phq9: phq9} # Questionnaire canonical (no |version) -> scale id
    link_ids: {phq9: {"14363": 1}}        # per scale: QuestionnaireResponse linkId -> item number

An unknown key, a scale id that is not in the registry or an item number outside the scale
raise :class:`~iopkit.errors.InputError` (``rule="mapping"``) naming the file, the line
and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iopkit.errors import InputError, UnknownIdError
from iopkit.scales import get_scale
from iopkit.yamlio import YamlDoc, did_you_mean, load_yaml

__all__ = ["FhirMapping", "load_fhir_mapping"]

_KEYS = ("tables", "patient_identifier", "patients", "encounters", "questionnaires", "link_ids")


@dataclass(frozen=True)
class FhirMapping:
    """A checked mapping (see the module docstring)."""

    tables: Path | None = None
    patient_identifier: str | None = None
    patients: dict[str, str] = field(default_factory=dict)
    encounters: dict[str, str] = field(default_factory=dict)
    questionnaires: dict[str, str] = field(default_factory=dict)
    link_ids: dict[str, dict[str, int]] = field(default_factory=dict)
    file: str = "FHIR mapping"


def load_fhir_mapping(mapping: str | Path | Mapping[str, Any] | None) -> FhirMapping:
    """Read and check a FHIR mapping (YAML path, dict or None for the defaults)."""
    if mapping is None:
        return FhirMapping()
    where, folder, doc = "FHIR mapping", None, None
    if isinstance(mapping, Mapping):
        data: Any = dict(mapping)
    else:
        path = Path(mapping)
        where, folder = str(path), path.parent
        if not path.exists():
            raise InputError("mapping file not found", file=where, rule="missing_source")
        doc = load_yaml(path, what="FHIR mapping", top=None)
        data = doc.data
    fail = _failer(where, doc)
    if data is None:
        return FhirMapping(file=where)
    if not isinstance(data, dict):
        raise fail(f"expected a mapping with some of the keys {', '.join(_KEYS)}")
    for key in data:
        if key not in _KEYS:
            raise fail(f"unknown key {key!r}{did_you_mean(str(key), _KEYS)}", key)

    def text_map(key: str) -> dict[str, str]:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise fail(f"{key}: expected reference: id pairs", key)
        for k, v in value.items():
            if not isinstance(v, str | int) or isinstance(v, bool) or not str(v).strip():
                raise fail(f"{key}.{k}: expected an id, got {v!r}", key, str(k))
        return {str(k).strip(): str(v).strip() for k, v in value.items()}

    questionnaires = text_map("questionnaires")
    for url, scale in questionnaires.items():
        questionnaires[url] = _scale_id(scale, fail, "questionnaires", url)
    link_ids: dict[str, dict[str, int]] = {}
    raw_links = data.get("link_ids") or {}
    if not isinstance(raw_links, dict):
        raise fail("link_ids: expected scale: {linkId: item number}", "link_ids")
    for scale, links in raw_links.items():
        sid = _scale_id(str(scale), fail, "link_ids", str(scale))
        count = get_scale(sid).items.count
        if not isinstance(links, dict):
            raise fail(f"link_ids.{scale}: expected linkId: item number", "link_ids", scale)
        out: dict[str, int] = {}
        for link, item in links.items():
            if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= count:
                raise fail(
                    f"link_ids.{scale}.{link}: item number must be 1..{count}, got {item!r}",
                    "link_ids",
                    scale,
                    str(link),
                )
            out[str(link)] = item
        link_ids[sid] = out
    tables = data.get("tables")
    if tables is not None and not isinstance(tables, str):
        raise fail("tables: expected a folder path", "tables")
    system = data.get("patient_identifier")
    if system is not None and not isinstance(system, str):
        raise fail("patient_identifier: expected an identifier system URI", "patient_identifier")
    return FhirMapping(
        tables=(folder / tables if folder is not None else Path(tables)) if tables else None,
        patient_identifier=system,
        patients=text_map("patients"),
        encounters=text_map("encounters"),
        questionnaires=questionnaires,
        link_ids=link_ids,
        file=where,
    )


def _failer(where: str, doc: YamlDoc | None):
    def fail(message: str, *loc: str | int) -> InputError:
        line = doc.line_of(loc) if doc is not None and loc else None
        return InputError(message, file=where, row=line, rule="mapping")

    return fail


def _scale_id(scale: str, fail, *loc: str) -> str:
    try:
        return get_scale(scale).id
    except UnknownIdError as exc:
        raise fail(f"{'.'.join(loc)}: {exc.message}", *loc) from None
