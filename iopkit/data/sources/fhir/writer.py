"""Scored assessments → FHIR R4 Observations an EHR can ingest (NDJSON or a transaction Bundle).

Per administration of a scale with LOINC codes (``loinc:`` in the scale registry):

* **panel** Observation (LOINC panel, e.g. 44249-1): one ``component`` per answered item
  (LOINC item code; ``valueCodeableConcept`` with the LOINC answer code and its
  ``ordinalValue`` where the scale has an answer list, else ``valueInteger``);
  ``hasMember`` the two below. Written when the scale has item codes.
* **total** Observation (LOINC total, e.g. 44261-6): ``valueQuantity`` in ``{score}``
  (the example UCUM unit of LOINC's score terms), the severity band as
  ``interpretation.text`` (FHIR R4 Observation.interpretation, CodeableConcept text:
  https://hl7.org/fhir/R4/observation-definitions.html#Observation.interpretation — the
  bands are the registry's, not a standard code system, so no invented coding is sent);
  a prorated total says so in ``note``. Written when the total is known.
* **safety item** Observation (e.g. PHQ-9 item 9, 44260-8) with ``interpretation`` from
  HL7 v3 ObservationInterpretation: ``A`` (abnormal) when the item reaches its flag level,
  ``AA`` (critical abnormal) at its escalation level, ``N`` otherwise — the levels are the
  scale engine's safety rule (:func:`iopkit.scales.engine.safety_screen`; PHQ-9 item 9 ≥ 1,
  ≥ 2, Simon et al. 2013). The same interpretation is set on the panel's component.

All carry ``status: final``, category ``survey``, ``subject`` and ``encounter`` (the
source's references when it was FHIR, else references by identifier: patient and episode
id), ``effectiveDateTime`` (the assessment date), ``derivedFrom`` the source
QuestionnaireResponse (when there is one) and an ``identifier`` ``urn:uuid:…`` derived from
episode, date and scale, so a second export of the same data has the same ids. Every
resource is validated by ``fhir.resources`` (R4B) before it is written.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from iopkit.data.sources.fhir.codes import (
    CATEGORY_SYSTEM,
    INTERPRETATION_SYSTEM,
    LOINC,
    ORDINAL_EXTENSIONS,
    UCUM,
    URI_SYSTEM,
    answer_code,
)
from iopkit.data.sources.fhir.parse import fhir_class
from iopkit.errors import InputError
from iopkit.scales import Scale, get_scale
from iopkit.scales.engine import safety_check, safety_screen

__all__ = ["FORMATS", "scored_observations", "write_resources"]

#: Output formats: Bulk-Data-style NDJSON (one resource per line) or a transaction Bundle.
FORMATS = ("ndjson", "bundle")
#: Namespace of the deterministic Observation ids (uuid5 of episode, date, scale, kind).
_NAMESPACE = uuid.UUID("6f6b1c3e-2a7d-5b8e-9c41-5e0d3f2a1b7c")
_INTERPRETATION = {
    "N": "Normal",
    "A": "Abnormal",
    "AA": "Critical abnormal",
}
_SURVEY = {"coding": [{"system": CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}]}


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join(map(str, parts))))


def _concept(code: str, display: str | None = None) -> dict:
    coding: dict[str, Any] = {"system": LOINC, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": display} if display else {})}


def _interpretation(code: str) -> list[dict]:
    return [
        {
            "coding": [
                {"system": INTERPRETATION_SYSTEM, "code": code, "display": _INTERPRETATION[code]}
            ]
        }
    ]


def _item_value(sc: Scale, value: int) -> dict:
    la = answer_code(sc, value)
    if la is None:
        return {"valueInteger": int(value)}
    label = sc.items.anchors.get(value)
    coding: dict[str, Any] = {
        "extension": [{"url": ORDINAL_EXTENSIONS[0], "valueDecimal": int(value)}],
        "system": LOINC,
        "code": la,
    }
    if label:
        coding["display"] = label[:1].upper() + label[1:]
    return {"valueCodeableConcept": {"coding": [coding]}}


def _ref(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _subject(row: Any, patient: str | None, system: str | None) -> dict:
    ref = _ref(getattr(row, "fhir_subject", None))
    if ref:
        return {"reference": ref}
    if patient is None:
        raise InputError(
            f"episode {row.episode_id} has no patient in the episodes table; cannot name the "
            "Observation's subject",
            column="episode_id",
            rule="reference",
        )
    ident = {"value": str(patient), **({"system": system} if system else {})}
    return {"type": "Patient", "identifier": ident}


def _encounter(row: Any, system: str | None) -> dict:
    ref = _ref(getattr(row, "fhir_encounter", None))
    if ref:
        return {"reference": ref}
    ident = {"value": str(row.episode_id), **({"system": system} if system else {})}
    return {"type": "Encounter", "identifier": ident}


def _validated(resource: dict) -> dict:
    model = fhir_class(resource["resourceType"]).model_validate(resource)
    return json.loads(model.model_dump_json())


def _row_observations(row: Any, sc: Scale, base: dict, safety: str | None) -> list[dict]:
    """Panel, total and safety-item Observations of one scored row (module docstring).

    ``safety``: the row's safety result from the engine (``N``, ``A`` positive, ``AA``
    escalated), set as the interpretation of the scale's critical items; None without one.
    """
    lo = sc.loinc
    assert lo is not None
    day = base["effectiveDateTime"]
    made: list[dict] = []

    def obs(kind: str, **fields: Any) -> dict:
        oid = _uuid(row.episode_id, day, sc.id, kind)
        res = {**base, "id": oid, **fields}
        res["identifier"] = [{"system": URI_SYSTEM, "value": f"urn:uuid:{oid}"}]
        made.append(res)
        return res

    items = {
        i: int(v)
        for i in range(1, sc.items.count + 1)
        if (v := getattr(row, f"item_{i}", None)) is not None and not pd.isna(v)
    }
    members: list[dict] = []
    total = getattr(row, "total", None)
    if lo.total and total is not None and not pd.isna(total):
        fields: dict[str, Any] = {
            "code": _concept(lo.total, f"{sc.short_name} total score"),
            "valueQuantity": {
                "value": int(round(float(total))),
                "unit": "{score}",
                "system": UCUM,
                "code": "{score}",
            },
        }
        band = getattr(row, "band", None)
        if isinstance(band, str) and band:
            fields["interpretation"] = [{"text": f"{sc.short_name} {band}"}]
        if str(row.status) == "prorated":
            missing = sc.items.count - len(items)
            fields["note"] = [
                {"text": f"prorated total ({missing} item(s) missing; docs/scales.md)"}
            ]
        members.append(obs("total", **fields))
    critical = {c.item for c in sc.critical_items}
    if lo.items and safety is not None:
        for i in sorted(critical & set(items)):
            members.append(
                obs(
                    f"item{i}",
                    code=_concept(lo.items[i - 1]),
                    interpretation=_interpretation(safety),
                    **_item_value(sc, items[i]),
                )
            )
    if lo.panel and lo.items and items:
        comps = []
        for i, v in items.items():
            comp = {"code": _concept(lo.items[i - 1]), **_item_value(sc, v)}
            if i in critical and safety is not None:
                comp["interpretation"] = _interpretation(safety)
            comps.append(comp)
        refs = [{"reference": f"Observation/{m['id']}"} for m in members]
        obs("panel", code=_concept(lo.panel, sc.name), component=comps,
            **({"hasMember": refs} if refs else {}))  # fmt: skip
    return made


def scored_observations(
    scored: pd.DataFrame,
    episodes: pd.DataFrame | None = None,
    *,
    patient_system: str | None = None,
    episode_system: str | None = None,
) -> tuple[list[dict], pd.DataFrame]:
    """Observations for scored assessments (output of ``score_assessments``) and counts.

    ``scored``: ``episode_id``, ``date``, ``scale``, ``item_1…``, ``total``, ``band``,
    ``status`` (``safety_flag`` is recomputed by the engine's safety rule); the optional
    ``fhir_resource`` / ``fhir_subject`` / ``fhir_encounter`` columns (a FHIR source) give
    ``derivedFrom``, ``subject`` and ``encounter``; otherwise ``episodes`` (``episode_id``,
    ``patient_id``) names the patient by identifier (``patient_system``, if given).
    Returns (validated resources as JSON dicts, counts per scale as in
    :class:`iopkit.data.fhir_out.ExportSummary`). Each resource's ``id`` is set;
    references between them are ``Observation/<id>``.
    """
    need = [c for c in ("episode_id", "date", "scale", "total", "band", "status")
            if c not in scored.columns]  # fmt: skip
    if need:
        raise InputError(
            f"scored assessments lack column(s) {', '.join(need)} (score them first)",
            rule="required columns",
        )
    patients: dict[str, str] = {}
    if episodes is not None and len(episodes) and "patient_id" in episodes:
        patients = dict(zip(episodes["episode_id"].astype(str),
                            episodes["patient_id"].astype(str), strict=True))  # fmt: skip
    resources: list[dict] = []
    counts: list[dict] = []
    frame = scored.reset_index(drop=True)
    keys = frame["scale"].astype("string").str.strip().str.lower()
    for key in pd.unique(keys.dropna()):
        rows = frame[keys == key]
        sc = get_scale(str(key))
        lo = sc.loinc
        count = {"scale": sc.id, "administrations": len(rows), "exported": 0, "totals": 0,
                 "not_scored": 0, "safety_positive": 0, "no_loinc": 0}  # fmt: skip
        counts.append(count)
        if lo is None or not (lo.panel or lo.total):
            count["no_loinc"] = len(rows)
            continue
        screen = safety_screen(rows, sc) if safety_check(sc) is not None else None
        for pos, row in enumerate(rows.itertuples(index=False)):
            if str(row.status) == "invalid":
                count["not_scored"] += 1
                continue
            safety = None
            if screen is not None:
                s = screen.iloc[pos]
                escalated = not pd.isna(s["escalated"]) and bool(s["escalated"])
                safety = "AA" if escalated else ("A" if bool(s["positive"]) else "N")
                count["safety_positive"] += int(bool(s["positive"]))
            base: dict[str, Any] = {
                "resourceType": "Observation",
                "status": "final",
                "category": [_SURVEY],
                "subject": _subject(row, patients.get(str(row.episode_id)), patient_system),
                "encounter": _encounter(row, episode_system),
                "effectiveDateTime": pd.Timestamp(row.date).date().isoformat(),
            }
            source = _ref(getattr(row, "fhir_resource", None))
            if source and source.startswith("QuestionnaireResponse/"):
                base["derivedFrom"] = [{"reference": source}]
            made = _row_observations(row, sc, base, safety)
            if any(m["code"]["coding"][0]["code"] == lo.total for m in made):
                count["totals"] += 1
            else:
                count["not_scored"] += 1
            if made:
                count["exported"] += 1
                resources += [_validated(r) for r in made]
    return resources, pd.DataFrame(counts)


def write_resources(resources: list[dict], dest: str | Path, format: str = "ndjson") -> Path:
    """Write resources as NDJSON (one per line, UTF-8) or a transaction Bundle (.json).

    NDJSON follows the Bulk Data output format (https://hl7.org/fhir/uv/bulkdata/
    export.html#bulk-data-output-file-format). The transaction Bundle
    (https://hl7.org/fhir/R4/http.html#transaction) gives every entry a ``urn:uuid``
    fullUrl and ``request`` ``PUT Observation/<id>``, so loading it twice updates instead of
    duplicating; references between the entries are rewritten to the fullUrls.
    """
    if format not in FORMATS:
        raise InputError(f"unknown FHIR output format {format!r}; choose {', '.join(FORMATS)}",
                         rule="format")  # fmt: skip
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    if format == "ndjson":
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            for r in resources:
                fh.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    else:
        urls = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:{r['id']}" for r in resources}

        def relink(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: (urls.get(v, v) if k == "reference" else relink(v))
                        for k, v in value.items()}  # fmt: skip
            if isinstance(value, list):
                return [relink(v) for v in value]
            return value

        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": urls[f"{r['resourceType']}/{r['id']}"],
                    "resource": relink(r),
                    "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
                }
                for r in resources
            ],
        }
        _validated(bundle)
        tmp.write_text(json.dumps(bundle, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(dest)
    return dest
