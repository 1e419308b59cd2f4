"""FHIR QuestionnaireResponse and Observation resources → the contract's ``assessments`` table.

What is read (docs/sources/fhir.md):

* **QuestionnaireResponse** (status ``completed`` or ``amended``): the scale comes from
  ``questionnaire`` (a LOINC panel code such as ``http://loinc.org/q/44249-1``, a
  Questionnaire in the export whose ``code`` is a LOINC panel, a canonical named in the
  mapping, or a scale id such as ``…/Questionnaire/phq9``); each item by ``linkId`` — the
  mapping's ``link_ids``, the Questionnaire's item ``code``, a LOINC item code
  (``44250-9``, ``/44250-9``) or an item number (``1``, ``item1``, ``phq9_1``); nested
  groups are walked. Answers: ``valueCoding`` with a LOINC answer code of the scale's
  answer list (https://loinc.org/LL358-3: LA6568-5 = 0 … LA6571-9 = 3) or with an
  ``ordinalValue`` extension, ``valueInteger``, whole ``valueDecimal``, ``valueString`` and
  ``valueBoolean`` (passed on as text for the validator).
* **Observation** (status ``final``, ``amended`` or ``corrected``) coded with a LOINC
  panel: items from ``component`` and from ``hasMember`` Observations; a LOINC total
  alone (no items) is set aside as ``total_only`` — the contract stores item answers. An
  Observation ``derivedFrom`` a QuestionnaireResponse of the same export is the same
  administration and is not read twice.

Episodes: the mapping's ``encounters``, else an Encounter reference or identifier that is
an episode id, else the patient's (mapping ``patients``, ``patient_identifier``, subject
identifier or reference id) episode whose stay covers the date — or, when none covers it,
the only one within :data:`GRACE_DAYS`. Companion tables (cohorts, patients, episodes …)
come from the mapping's ``tables`` folder or CSV files beside the FHIR files.

Every administration becomes one row (kept whole); what is wrong with it (unknown answer
code, no episode, status in progress) is a load problem on that row, so the validator
sets it aside with the reason and the counts reconcile. Included or contained Patient
resources may carry only pseudonymous elements (:data:`PATIENT_ELEMENTS`); any other element
is refused, named with its Safe Harbor category (:func:`iopkit.privacy.identifier_category`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iopkit.data.bundle import Bundle
from iopkit.data.schemas import TABLE_ORDER
from iopkit.data.sources.fhir.codes import (
    LOINC,
    ORDINAL_EXTENSIONS,
    answer_score,
    loinc_index,
)
from iopkit.data.sources.fhir.mapping import FhirMapping, load_fhir_mapping
from iopkit.data.sources.fhir.parse import Parsed, read_resources
from iopkit.data.sources.folder import read_folder
from iopkit.data.sources.registry import MappingSource, finish_bundle
from iopkit.errors import InputError, UnknownIdError
from iopkit.privacy import identifier_category
from iopkit.scales import Scale, get_scale

__all__ = ["FHIR_COLUMNS", "GRACE_DAYS", "PATIENT_ELEMENTS", "read_fhir"]

#: Days before admission / after discharge within which a response still finds its only
#: episode (the default ``grace_days`` of ``iopkit validate``, docs/data.md).
GRACE_DAYS = 7
#: Extra assessments columns that lead back to the source (used by the FHIR writer).
FHIR_COLUMNS = ("fhir_resource", "fhir_subject", "fhir_encounter")
#: Patient elements accepted in an export: none of them names or locates the person.
PATIENT_ELEMENTS = frozenset(
    {"resourceType", "id", "meta", "identifier", "active", "gender", "managingOrganization"}
)
_OK_QR = {"completed", "amended"}
_OK_OBS = {"final", "amended", "corrected"}
_SKIP = {"entered-in-error", "cancelled"}
#: HL7 v2 table 0203 identifier types that are direct identifiers (MR medical record number,
#: SS social security, DL driver's licence, PPN passport; 45 CFR 164.514(b)(2) A-R).
_DIRECT_ID_TYPES = {"MR", "SS", "DL", "PPN", "SB", "MA", "MC", "DR"}


@dataclass
class _Row:
    scale: str | None
    date: str | None
    origin: Parsed
    items: dict[int, Any] = field(default_factory=dict)
    problems: list[dict] = field(default_factory=list)
    subject: str | None = None
    subject_identifier: tuple[str | None, str] | None = None
    encounter: str | None = None
    encounter_identifier: str | None = None
    episode_id: str | None = None
    reported_total: float | None = None

    def problem(self, rule: str, message: str, column: str | None = None, value: Any = None,
                severity: str = "error") -> None:  # fmt: skip
        where = self.origin.origin.where
        self.problems.append(
            {
                "column": column,
                "value": None if value is None else str(value),
                "rule": rule,
                "severity": severity,
                "message": f"{where} {self.origin.ref}: {message}",
            }
        )


class _Context:
    """Everything the reader looks up: resources by reference, the mapping, episodes."""

    def __init__(self, parsed: list[Parsed], mapping: FhirMapping) -> None:
        self.mapping = mapping
        self.by_ref: dict[str, Parsed] = {}
        for p in parsed:
            self.by_ref[p.ref] = p
            if p.full_url:
                self.by_ref[p.full_url] = p
        self.questionnaires: dict[str, Parsed] = {}
        for p in parsed:
            if p.type == "Questionnaire":
                for key in (p.raw.get("url"), p.ref):
                    if isinstance(key, str):
                        self.questionnaires[key] = p
        self.episodes = pd.DataFrame()
        self.notes: Counter[str] = Counter()

    def resolve(self, ref: str | None) -> Parsed | None:
        if not ref:
            return None
        if ref in self.by_ref:
            return self.by_ref[ref]
        m = re.search(r"([A-Za-z]+/[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$", ref)
        return self.by_ref.get(m.group(1)) if m else None


# --- small readers of FHIR elements ------------------------------------------------------
def _date_text(value: Any) -> str | None:
    """The calendar date of a FHIR date/dateTime as written (its own time zone), ISO text."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", value):
        return value[:10]
    return None


def _loinc_codes(concept: Any) -> list[str]:
    if concept is None:
        return []
    return [c.code for c in (concept.coding or []) if c.system == LOINC and c.code]


def _ordinal(element: Any) -> float | None:
    for ext in getattr(element, "extension", None) or []:
        if ext.url in ORDINAL_EXTENSIONS:
            for attr in ("valueDecimal", "valueInteger"):
                v = getattr(ext, attr, None)
                if v is not None:
                    return float(v)
    return None


def _coded_value(row: _Row, sc: Scale, coding: Any, ordinal: float | None, col: str) -> Any:
    """Score of a coded answer (LOINC answer list or ordinal extension), else a problem."""
    code, system = coding.code, coding.system
    listed = answer_score(sc, code) if system == LOINC and code else None
    if ordinal is None:
        ordinal = _ordinal(coding)
    if listed is not None and ordinal is not None and float(listed) != ordinal:
        row.problem(
            "answer_code",
            f"answer {code} is {listed} on the LOINC answer list of {sc.short_name} but "
            f"its ordinalValue says {ordinal:g}",
            col,
            code,
        )
        return None
    if listed is not None:
        return listed
    if ordinal is not None:
        if ordinal != int(ordinal):
            row.problem("answer_code", f"ordinalValue {ordinal:g} is not a whole score", col, code)
            return None
        return int(ordinal)
    answers = sc.loinc.answers if sc.loinc else {}
    listing = (
        f" (answer list {sc.loinc.answer_list}: "
        + ", ".join(f"{k} = {v}" for k, v in answers.items())
        + ")"
        if sc.loinc and sc.loinc.answer_list
        else f" ({sc.short_name} has no LOINC answer list in the registry)"
    )
    row.problem(
        "answer_code",
        f"answer code {code!r} (system {system or 'none'}) is not a known answer of "
        f"{sc.short_name}{listing} and carries no ordinalValue extension; not guessed",
        col,
        code,
    )
    return None


def _answer_value(row: _Row, sc: Scale, answer: Any, col: str) -> Any:
    """The item value of one QuestionnaireResponse answer or Observation value[x]; None
    (missing, no problem) for an Observation or component with a ``dataAbsentReason``."""
    if getattr(answer, "dataAbsentReason", None) is not None:
        return None
    if getattr(answer, "valueCoding", None) is not None:
        return _coded_value(row, sc, answer.valueCoding, _ordinal(answer), col)
    if getattr(answer, "valueCodeableConcept", None) is not None:
        cc = answer.valueCodeableConcept
        codings = cc.coding or []
        if len(codings) >= 1:
            loinc = [c for c in codings if c.system == LOINC]
            return _coded_value(row, sc, (loinc or codings)[0], _ordinal(cc), col)
        row.problem("answer_code", "valueCodeableConcept has no coding", col, cc.text)
        return None
    if getattr(answer, "valueInteger", None) is not None:
        return int(answer.valueInteger)
    if getattr(answer, "valueQuantity", None) is not None:
        return _whole(row, answer.valueQuantity.value, col)
    if getattr(answer, "valueDecimal", None) is not None:
        return _whole(row, answer.valueDecimal, col)
    if getattr(answer, "valueString", None) is not None:
        return str(answer.valueString)
    if getattr(answer, "valueBoolean", None) is not None:
        return "yes" if answer.valueBoolean else "no"
    kinds = [k for k, v in answer.model_dump(exclude_none=True).items() if k.startswith("value")]
    row.problem(
        "answer_type",
        f"answer of type {kinds[0] if kinds else 'none'} cannot be a scale score",
        col,
    )
    return None


def _whole(row: _Row, value: Any, col: str) -> Any:
    if value is None:
        return None
    f = float(value)
    if f != int(f):
        row.problem("whole_number", f"answer {value} is not a whole score", col, value)
        return None
    return int(f)


def _set_item(row: _Row, sc: Scale, n: int, value: Any, col_source: str) -> None:
    if value is None:
        return
    if n in row.items and row.items[n] != value:
        row.problem(
            "one_answer_per_item",
            f"item {n} of {sc.short_name} answered twice ({row.items[n]!r} and {value!r}, "
            f"{col_source})",
            f"item_{n}",
            value,
        )
        return
    row.items[n] = value


# --- scale and item identification --------------------------------------------------------
def _scale_from_canonical(ctx: _Context, canonical: str | None) -> tuple[str | None, Parsed | None]:
    if not canonical:
        return None, None
    url = canonical.split("|")[0]
    if url in ctx.mapping.questionnaires:
        return ctx.mapping.questionnaires[url], ctx.questionnaires.get(url)
    q = ctx.questionnaires.get(url) or ctx.resolve(url)
    if q is not None and q.type == "Questionnaire":
        for code in _loinc_codes_raw(q.raw.get("code")):
            if code in loinc_index().panels:
                return loinc_index().panels[code], q
    last = url.rstrip("/").rsplit("/", 1)[-1]
    if last in loinc_index().panels:
        return loinc_index().panels[last], q
    try:
        return get_scale(last).id, q
    except UnknownIdError:
        return None, q


def _loinc_codes_raw(codes: Any) -> list[str]:
    if not isinstance(codes, list):
        return []
    return [c.get("code") for c in codes if isinstance(c, dict) and c.get("system") == LOINC]


def _questionnaire_links(q: Parsed | None) -> dict[str, str]:
    """linkId -> LOINC code of a Questionnaire's items (nested groups included)."""
    out: dict[str, str] = {}

    def walk(items: Any) -> None:
        for it in items or []:
            if not isinstance(it, dict):
                continue
            codes = _loinc_codes_raw(it.get("code"))
            if codes and isinstance(it.get("linkId"), str):
                out[it["linkId"]] = codes[0]
            walk(it.get("item"))

    if q is not None:
        walk(q.raw.get("item"))
    return out


def _item_number(ctx: _Context, sc: Scale, link: str, qlinks: dict[str, str]) -> int | str | None:
    """Item number of a linkId; ``"total"`` for the scale's LOINC total; None if unknown."""
    mapped = ctx.mapping.link_ids.get(sc.id, {})
    if link in mapped:
        return mapped[link]
    codes = loinc_index().items.get(sc.id, {})
    code = qlinks.get(link) or link.strip().strip("/").rsplit("/", 1)[-1]
    if code in codes:
        return codes[code]
    if sc.loinc and code == sc.loinc.total:
        return "total"
    prefixes = {sc.id, *sc.aliases, re.sub(r"[^a-z0-9]", "", sc.short_name.lower())}
    pat = r"(?:(?:{})[ _.-]*)?(?:item|q|question)?[ _.-]*(\d{{1,2}})".format(
        "|".join(map(re.escape, sorted(prefixes, key=len, reverse=True)))
    )
    m = re.fullmatch(pat, link.strip(), flags=re.I)
    if m and 1 <= int(m.group(1)) <= sc.items.count:
        return int(m.group(1))
    return None


# --- subjects and episodes ----------------------------------------------------------------
def _reference(ref: Any) -> tuple[str | None, tuple[str | None, str] | None]:
    if ref is None:
        return None, None
    ident = None
    if ref.identifier is not None and ref.identifier.value:
        ident = (ref.identifier.system, str(ref.identifier.value))
    return ref.reference, ident


def _patient_id(ctx: _Context, row: _Row) -> str | None:
    m = ctx.mapping
    target = ctx.resolve(row.subject)
    keys = [k for k in (row.subject, target.ref if target else None) if k]
    for k in keys:
        if k in m.patients:
            return m.patients[k]
    if m.patient_identifier:
        if row.subject_identifier and row.subject_identifier[0] == m.patient_identifier:
            return row.subject_identifier[1]
        if target is not None:
            for ident in target.raw.get("identifier") or []:
                if ident.get("system") == m.patient_identifier and ident.get("value"):
                    return str(ident["value"])
        return None
    if row.subject_identifier:
        return row.subject_identifier[1]
    if target is not None and target.raw.get("id"):
        return str(target.raw["id"])
    if row.subject:
        mm = re.search(r"Patient/([A-Za-z0-9\-.]{1,64})$", row.subject)
        return mm.group(1) if mm else None
    return None


def _episode(ctx: _Context, row: _Row) -> None:
    """Set ``row.episode_id`` or add a ``reference`` problem (see the module docstring)."""
    m, eps = ctx.mapping, ctx.episodes
    known = set(eps["episode_id"].astype(str)) if "episode_id" in eps else set()
    enc = ctx.resolve(row.encounter)
    for key in (row.encounter, enc.ref if enc else None):
        if key and key in m.encounters:
            row.episode_id = m.encounters[key]
            return
    candidates = [row.encounter_identifier]
    if enc is not None:
        candidates += [i.get("value") for i in enc.raw.get("identifier") or []]
        candidates.append(enc.raw.get("id"))
    elif row.encounter:
        candidates.append(row.encounter.rsplit("/", 1)[-1])
    for c in candidates:
        if c is not None and str(c) in known:
            row.episode_id = str(c)
            return
    pid = _patient_id(ctx, row)
    who = row.subject or (row.subject_identifier[1] if row.subject_identifier else None)
    if pid is None:
        row.problem(
            "reference",
            f"subject {who or '(none)'} cannot be matched to a patient id"
            + (
                f" (no identifier of system {m.patient_identifier})"
                if m.patient_identifier
                else " (give the mapping's patients or patient_identifier)"
            ),
            "episode_id",
            who,
        )
        return
    if not len(eps) or "patient_id" not in eps:
        row.problem("reference", "no episodes table to place the response in", "episode_id")
        return
    if row.date is None:
        return  # the date problem is reported already
    mine = eps[eps["patient_id"].astype(str) == pid]
    if not len(mine):
        row.problem(
            "reference", f"patient {pid} ({who}) has no episode in the episodes table",
            "episode_id", pid,
        )  # fmt: skip
        return
    day = pd.Timestamp(row.date)
    admit, discharge = mine["_admit"], mine["_discharge"]
    still = discharge.isna()  # blank discharge = the stay goes on
    covers = mine[(admit <= day) & (still | (day <= discharge))]
    if len(covers) == 1:
        row.episode_id = str(covers["episode_id"].iloc[0])
        return
    if len(covers) > 1:
        row.problem(
            "ambiguous_episode",
            f"patient {pid} has {len(covers)} episodes covering {row.date} "
            f"({', '.join(covers['episode_id'].astype(str))}); map the encounter",
            "episode_id",
            pid,
        )
        return
    grace = pd.Timedelta(days=GRACE_DAYS)
    near = mine[(admit - grace <= day) & (still | (day <= discharge + grace))]
    if len(near) == 1:
        row.episode_id = str(near["episode_id"].iloc[0])
        ctx.notes[
            f"response(s) dated within {GRACE_DAYS} days of a stay (not during it) placed in "
            "the patient's only nearby episode"
        ] += 1
        return
    row.problem(
        "reference",
        f"patient {pid} has no episode whose stay covers {row.date}",
        "episode_id",
        pid,
    )


# --- the two resource kinds -----------------------------------------------------------------
def _from_response(ctx: _Context, p: Parsed) -> _Row | None:
    qr = p.resource
    status = str(qr.status or "")
    if status in _SKIP:
        ctx.notes[f"QuestionnaireResponse with status {status} not read"] += 1
        return None
    scale_id, q = _scale_from_canonical(ctx, qr.questionnaire)
    row = _Row(scale_id, _date_text(qr.authored), p)
    row.subject, row.subject_identifier = _reference(qr.subject)
    row.encounter, enc_ident = _reference(qr.encounter)
    row.encounter_identifier = enc_ident[1] if enc_ident else None
    if row.date is None:
        row.problem("date", "no authored date (a full date is needed)", "date", qr.authored)
    if status not in _OK_QR:
        row.problem("status", f"status {status!r}: the response is not completed", "scale", status)
    if scale_id is None:
        row.problem(
            "scale",
            f"questionnaire {qr.questionnaire or '(none)'} is not a scale iopkit knows "
            "(a LOINC panel code, a scale id, or the mapping's questionnaires)",
            "scale",
            qr.questionnaire,
        )
        return row
    sc = get_scale(scale_id)
    qlinks = _questionnaire_links(q)
    unknown: list[str] = []

    def walk(items: Any) -> None:
        for it in items or []:
            link = str(it.linkId)
            n = _item_number(ctx, sc, link, qlinks)
            answers = it.answer or []
            if n is None:
                if answers:
                    unknown.append(link)
            elif answers:
                col = "total" if n == "total" else f"item_{n}"
                if len(answers) > 1:
                    row.problem("one_answer_per_item", f"linkId {link} has {len(answers)} answers",
                                col)  # fmt: skip
                else:
                    value = _answer_value(row, sc, answers[0], col)
                    if n == "total":
                        row.reported_total = _number(value)
                    else:
                        _set_item(row, sc, int(n), value, f"linkId {link}")
            walk(it.item)
            for a in answers:
                walk(a.item)

    walk(qr.item)
    if unknown:
        row.problem(
            "unknown_item",
            f"answers to linkId(s) {', '.join(unknown[:5])} are not items of {sc.short_name}; "
            "not read (map them under link_ids if they are)",
            severity="warning",
        )
    return row


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _item_or_total(row: _Row, sc: Scale, codes: dict, element_codes: list[str], element: Any,
                   where: str) -> bool:  # fmt: skip
    """Read ``element`` (a component or a member Observation) when its LOINC code is one of
    the scale's items or its total; False when it is neither."""
    hit = [c for c in element_codes if c in codes]
    if hit:
        item = codes[hit[0]]
        _set_item(row, sc, item, _answer_value(row, sc, element, f"item_{item}"), where)
        return True
    if sc.loinc and sc.loinc.total in element_codes:
        row.reported_total = _number(_answer_value(row, sc, element, "total"))
        return True
    return False


def _observation_values(ctx: _Context, row: _Row, sc: Scale, obs: Any, consumed: set[str],
                        origin: str) -> None:  # fmt: skip
    codes = loinc_index().items.get(sc.id, {})
    for i, comp in enumerate(obs.component or []):
        col_codes = _loinc_codes(comp.code)
        if not _item_or_total(row, sc, codes, col_codes, comp, f"{origin}.component[{i}]"):
            row.problem(
                "unknown_item",
                f"component[{i}] code {col_codes or '(not LOINC)'} is not an item of "
                f"{sc.short_name}; not read",
                severity="warning",
            )
    for j, member in enumerate(obs.hasMember or []):
        target = ctx.resolve(member.reference)
        if target is None or target.type != "Observation":
            row.problem(
                "reference",
                f"hasMember[{j}] {member.reference} is not an Observation in this export",
                "scale",
                member.reference,
            )
            continue
        consumed.add(target.ref)
        m = target.resource
        if str(m.status or "") in _SKIP:
            continue
        mcodes = _loinc_codes(m.code)
        if _item_or_total(row, sc, codes, mcodes, m, f"hasMember {target.ref}"):
            continue
        if mcodes and mcodes[0] in loinc_index().panels:
            _observation_values(ctx, row, sc, m, consumed, target.ref)
        else:
            row.problem(
                "unknown_item",
                f"hasMember {target.ref} code {mcodes or '(not LOINC)'} is not an item of "
                f"{sc.short_name}; not read",
                severity="warning",
            )


def _observation_date(obs: Any) -> str | None:
    for value in (
        obs.effectiveDateTime,
        obs.effectivePeriod.start if obs.effectivePeriod else None,
        obs.effectiveInstant,
        obs.issued,
    ):
        if value is not None:
            return _date_text(value)
    return None


def _from_observations(ctx: _Context, obs_list: list[Parsed], read_qrs: set[str]) -> list[_Row]:
    idx = loinc_index()
    rows: list[_Row] = []
    consumed: set[str] = set()
    panels = [p for p in obs_list if any(c in idx.panels for c in _loinc_codes(p.resource.code))]
    totals = [p for p in obs_list if any(c in idx.totals for c in _loinc_codes(p.resource.code))]

    def start(p: Parsed, scale_id: str) -> _Row | None:
        o = p.resource
        status = str(o.status or "")
        if status in _SKIP:
            ctx.notes[f"Observation with status {status} not read"] += 1
            return None
        for d in o.derivedFrom or []:
            src = ctx.resolve(d.reference)
            if src is not None and src.ref in read_qrs:
                ctx.notes["Observation(s) derived from a QuestionnaireResponse read too: the same "
                          "administration, read once (from the response)"] += 1  # fmt: skip
                return None
        row = _Row(scale_id, _observation_date(o), p)
        row.subject, row.subject_identifier = _reference(o.subject)
        row.encounter, enc = _reference(o.encounter)
        row.encounter_identifier = enc[1] if enc else None
        if row.date is None:
            row.problem("date", "no effective date (a full date is needed)", "date")
        if status not in _OK_OBS:
            row.problem("status", f"status {status!r}: not a final result", "scale", status)
        return row

    for p in panels:
        if p.ref in consumed:
            continue
        scale_id = next(idx.panels[c] for c in _loinc_codes(p.resource.code) if c in idx.panels)
        row = start(p, scale_id)
        if row is None:
            for member in p.resource.hasMember or []:
                t = ctx.resolve(member.reference)
                if t is not None:
                    consumed.add(t.ref)
            continue
        _observation_values(ctx, row, get_scale(scale_id), p.resource, consumed, p.ref)
        if not row.items and not any(pr["severity"] == "error" for pr in row.problems):
            row.problem("no_items", "panel Observation without item answers", "scale")
        rows.append(row)
    for p in totals:
        if p.ref in consumed:
            continue
        scale_id = next(idx.totals[c] for c in _loinc_codes(p.resource.code) if c in idx.totals)
        row = start(p, scale_id)
        if row is None:
            continue
        sc = get_scale(scale_id)
        total = _number(_answer_value(row, sc, p.resource, "total"))
        row.reported_total = total
        row.problem(
            "total_only",
            f"{sc.short_name} total {total if total is None else f'{total:g}'} without item "
            "answers: the assessments table stores items, so this total is set aside",
            "scale",
            None if total is None else f"{total:g}",
        )
        rows.append(row)
    item_codes = {c for codes in idx.items.values() for c in codes}
    loose = [
        p for p in obs_list
        if p.ref not in consumed and p not in panels and p not in totals
        and any(c in item_codes for c in _loinc_codes(p.resource.code))
    ]  # fmt: skip
    if loose:
        ctx.notes["item Observation(s) outside any panel (no hasMember) not read"] += len(loose)
    seen = {p.ref for p in panels + totals + loose} | consumed
    other = sum(1 for p in obs_list if p.ref not in seen)
    if other:
        ctx.notes["Observation(s) with codes that are not scale panels/totals/items ignored"] += (
            other
        )
    return rows


# --- privacy of included Patient resources ---------------------------------------------------
def _patients(parsed: list[Parsed]) -> list[tuple[Parsed, dict, str]]:
    """Every Patient of the export, included or contained: (resource it came with, JSON, name)."""
    out = []
    for p in parsed:
        if p.type == "Patient":
            out.append((p, p.raw, p.ref))
        for c in p.raw.get("contained") or []:
            if isinstance(c, dict) and c.get("resourceType") == "Patient":
                out.append((p, c, f"{p.ref} contained Patient #{c.get('id', '?')}"))
    return out


def _check_patients(parsed: list[Parsed]) -> None:
    for p, raw, name in _patients(parsed):
        extra = sorted(k for k in raw if k not in PATIENT_ELEMENTS and not k.startswith("_"))
        if extra:
            shown = []
            for k in extra:  # the Safe Harbor category from the one identifier rule
                rule = identifier_category(k, "patients")
                shown.append(f"{k} ({rule.what.split(' (')[0]})" if rule else k)
            raise InputError(
                f"{name} carries element(s) {', '.join(shown)}; a Patient in the export may "
                f"carry only {', '.join(sorted(PATIENT_ELEMENTS))} (direct identifiers such "
                "as name, telecom, address or birthDate are not accepted, HIPAA Safe Harbor "
                "45 CFR 164.514(b)(2)); export pseudonymous Patient resources",
                file=p.origin.file,
                row=p.origin.line if p.origin.line is not None else p.origin.entry,
                column=extra[0],
                rule="direct_identifier",
            )
        for i, ident in enumerate(raw.get("identifier") or []):
            types = {
                c.get("code")
                for c in ((ident.get("type") or {}).get("coding") or [])
                if isinstance(c, dict)
            }
            system = str(ident.get("system") or "")
            bad = types & _DIRECT_ID_TYPES
            if bad or identifier_category(system.rsplit("/", 1)[-1]) is not None:
                raise InputError(
                    f"{name} identifier[{i}] ({system or 'no system'}, type "
                    f"{', '.join(sorted(bad)) or '-'}) is a direct identifier (medical record, "
                    "social security, licence or passport number); export only a "
                    "pseudonymous identifier",
                    file=p.origin.file,
                    row=p.origin.line if p.origin.line is not None else p.origin.entry,
                    column=f"identifier[{i}]",
                    rule="direct_identifier",
                )


# --- the source ---------------------------------------------------------------------------------
def _companion(location: Path, mapping: FhirMapping, encoding: str | None) -> Bundle | None:
    folder = mapping.tables
    beside = location.is_dir() and any(
        (location / f"{t}.{s}").exists() for t in TABLE_ORDER for s in ("csv", "parquet")
    )
    if folder is None and beside:
        folder = location
    if folder is None:
        return None
    if not folder.is_dir():
        raise InputError("companion tables folder not found", file=str(folder),
                         rule="missing_source")  # fmt: skip
    return read_folder(folder, encoding=encoding)


def read_fhir(
    location: str | Path,
    mapping: MappingSource | None = None,
    *,
    encoding: str | None = None,
    strict: bool = False,
) -> Bundle:
    """A bundle whose ``assessments`` come from FHIR resources (see the module docstring).

    ``location``: a Bundle or resource ``.json`` file, a Bulk Data ``.ndjson`` file or a
    folder of them (CSV companion tables may sit beside them). ``mapping``: a YAML path or
    dict (:mod:`.mapping`). Wide assessments: ``episode_id, date, scale, item_1…`` plus
    :data:`FHIR_COLUMNS`. ``bundle.lines["assessments"]`` holds the NDJSON line or the
    Bundle entry index + 1 of each row (1 for a single-resource file); the file, line and
    resource are named in every problem message and in ``fhir_resource``.
    """
    location = Path(location)
    fmap = load_fhir_mapping(mapping)
    parsed = read_resources(location)
    _check_patients(parsed)
    companion = _companion(location, fmap, encoding)
    if companion is None:
        raise InputError(
            "a FHIR export carries no cohorts, patients or episodes tables; give them as CSV "
            "files beside the FHIR files or as a folder named by the mapping's 'tables' key "
            "(docs/sources/fhir.md)",
            file=str(location),
            rule="missing_table",
        )
    ctx = _Context(parsed, fmap)
    tables: dict[str, pd.DataFrame] = dict(companion.tables)
    files, lines = dict(companion.files), dict(companion.lines)
    problems: list[dict] = companion.load_problems.to_dict("records")
    notes = list(companion.notes)
    if "assessments" in tables:
        raise InputError(
            "the companion tables include an assessments table; assessments come from the "
            "FHIR resources — remove assessments.csv or read the folder on its own",
            file=files["assessments"],
            rule="ambiguous_source",
        )
    if "episodes" in tables:
        eps = tables["episodes"].copy()
        eps["_admit"] = pd.to_datetime(eps.get("admit_date"), errors="coerce", format="ISO8601")
        eps["_discharge"] = pd.to_datetime(eps.get("discharge_date"), errors="coerce",
                                           format="ISO8601")  # fmt: skip
        ctx.episodes = eps
    rows: list[_Row] = []
    read_qrs: set[str] = set()
    for p in parsed:
        if p.type == "QuestionnaireResponse":
            row = _from_response(ctx, p)
            if row is not None:
                rows.append(row)
                read_qrs.add(p.ref)
                if p.full_url:
                    read_qrs.add(p.full_url)
    rows += _from_observations(ctx, [p for p in parsed if p.type == "Observation"], read_qrs)
    for row in rows:
        if row.scale is not None:
            _episode(ctx, row)
        _total_check(row)
    frame, row_lines = _frame(rows)
    tables["assessments"] = frame
    files["assessments"] = str(location)
    lines["assessments"] = row_lines
    for pos, row in enumerate(rows):
        for pr in row.problems:
            problems.append(
                {**pr, "table": "assessments", "file": row.origin.origin.file,
                 "source_line": int(row_lines[pos]), "row": pos}
            )  # fmt: skip
    counts = Counter(p.type for p in parsed)
    notes.append(
        f"{location}: read {len(parsed)} FHIR resource(s) ("
        + ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
        + f") with fhir.resources R4B; {len(rows)} administration(s)"
    )
    notes += [f"{location}: {n} {what}" for what, n in ctx.notes.items()]
    return finish_bundle(tables, files, lines, problems, notes, str(location), strict)


def _total_check(row: _Row) -> None:
    if row.reported_total is None or row.scale is None or not row.items:
        return
    sc = get_scale(row.scale)
    values = [row.items.get(i) for i in range(1, sc.items.count + 1)]
    if sc.items.reverse or any(not isinstance(v, int) for v in values):
        return
    if sum(values) != row.reported_total:
        row.problem(
            "reported_total",
            f"the reported total {row.reported_total:g} differs from the sum of the items "
            f"{sum(values)}; iopkit scores the items",
            "scale",
            row.reported_total,
            severity="warning",
        )


def _frame(rows: list[_Row]) -> tuple[pd.DataFrame, np.ndarray]:
    width = max([get_scale(r.scale).items.count for r in rows if r.scale] + [0])
    data: dict[str, list] = {"episode_id": [], "date": [], "scale": []}
    for i in range(1, width + 1):
        data[f"item_{i}"] = []
    for c in FHIR_COLUMNS:
        data[c] = []
    for r in rows:
        data["episode_id"].append(r.episode_id)
        data["date"].append(r.date)
        data["scale"].append(r.scale)
        for i in range(1, width + 1):
            data[f"item_{i}"].append(r.items.get(i))
        data["fhir_resource"].append(r.origin.ref)
        data["fhir_subject"].append(r.subject)
        data["fhir_encounter"].append(r.encounter)
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    return frame, np.array([r.origin.origin.position for r in rows], dtype=np.int64)
