"""Code systems and the LOINC index the FHIR reader and writer share.

The LOINC codes themselves live in the scale registry (``loinc:`` of
``iopkit/scales/data/<id>.yaml``, each with its loinc.org source); this module only indexes
them: panel code → scale, total code → scale, item code → item number, answer code → score.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from iopkit.scales import Scale, list_scales

__all__ = [
    "CATEGORY_SYSTEM",
    "INTERPRETATION_SYSTEM",
    "LOINC",
    "ORDINAL_EXTENSIONS",
    "UCUM",
    "URI_SYSTEM",
    "LoincIndex",
    "answer_code",
    "answer_score",
    "loinc_index",
]

#: LOINC's FHIR system URI (https://loinc.org/fhir/, "http://loinc.org").
LOINC = "http://loinc.org"
#: UCUM, for the ``{score}`` unit LOINC gives as example unit of its score terms
#: (e.g. https://loinc.org/44261-6, "Example UCUM Units {score}").
UCUM = "http://unitsofmeasure.org"
#: Observation category "survey" (http://terminology.hl7.org/CodeSystem/observation-category,
#: FHIR R4 https://hl7.org/fhir/R4/codesystem-observation-category.html).
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
#: HL7 v3 ObservationInterpretation: N normal, A abnormal, AA critical abnormal
#: (https://terminology.hl7.org/CodeSystem-v3-ObservationInterpretation.html).
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#: Identifier system whose value is a URI (urn:uuid:…), FHIR R4 datatypes.html#Identifier.
URI_SYSTEM = "urn:ietf:rfc:3986"
#: Extensions that give a coded answer its score: R4 core ``ordinalValue``
#: (https://hl7.org/fhir/R4/extension-ordinalvalue.html), its STU3 predecessor
#: ``iso21090-CO-value`` and R5's ``itemWeight``.
ORDINAL_EXTENSIONS = (
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
)


@dataclass(frozen=True)
class LoincIndex:
    """LOINC codes of every registered scale, indexed for reading."""

    #: panel code -> scale id
    panels: dict[str, str]
    #: total code -> scale id
    totals: dict[str, str]
    #: scale id -> {item code -> 1-based item number}
    items: dict[str, dict[str, int]]

    def scales_of_item(self, code: str) -> list[str]:
        """Scales that have an item with this LOINC code (PHQ-2 items are PHQ-9 items too)."""
        return [s for s, codes in self.items.items() if code in codes]


@lru_cache(maxsize=1)
def loinc_index() -> LoincIndex:
    """The :class:`LoincIndex` of the scale registry (cached)."""
    panels: dict[str, str] = {}
    totals: dict[str, str] = {}
    items: dict[str, dict[str, int]] = {}
    for sc in list_scales():
        lo = sc.loinc
        if lo is None:
            continue
        if lo.panel:
            panels[lo.panel] = sc.id
        if lo.total:
            totals[lo.total] = sc.id
        items[sc.id] = {code: i for i, code in enumerate(lo.items or [], start=1)}
    return LoincIndex(panels, totals, items)


def answer_score(scale: Scale, code: str) -> int | None:
    """The item score a LOINC answer code stands for on this scale, or None."""
    return scale.loinc.answers.get(code) if scale.loinc else None


def answer_code(scale: Scale, score: int) -> str | None:
    """The LOINC answer code of an item score on this scale, or None."""
    if scale.loinc is None:
        return None
    for code, value in scale.loinc.answers.items():
        if value == score:
            return code
    return None
