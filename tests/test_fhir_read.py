"""FHIR in: QuestionnaireResponse / Observation from a Bundle, a folder and Bulk NDJSON.

Fixtures in tests/fixtures/fhir are hand-built from LOINC's panels and answer list
(https://loinc.org/44249-1, https://loinc.org/69737-5, https://loinc.org/LL358-3), not by
iopkit's writer (tests/fixtures/fhir/README.md).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from iopkit.data import load_bundle, validate_bundle
from iopkit.data.sources.fhir import read_fhir
from iopkit.errors import ConfigError, InputError

FIX = Path(__file__).parent / "fixtures" / "fhir"
PSEUDO = "urn:example:iop-pseudonym"
LA = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
PHQ = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3",
       "44260-8"]  # fmt: skip


def mapping(**extra) -> dict:
    return {"tables": str(FIX / "companion"), "patient_identifier": PSEUDO, **extra}


def items(frame, row: int, n: int) -> list:
    return [frame[f"item_{i}"].iloc[row] for i in range(1, n + 1)]


def phq9_response(rid: str = "qr-1", answers=(1, 0, 2, 1, 0, 0, 1, 0, 0), **fields) -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "status": "completed",
        "questionnaire": "http://loinc.org/q/44249-1",
        "subject": {"reference": "Patient/pt-1"},
        "authored": "2025-01-08T10:00:00+01:00",
        "item": [
            {"linkId": code, "answer": [{"valueCoding": {"system": "http://loinc.org",
                                                         "code": LA[v]}}]}  # fmt: skip
            for code, v in zip(PHQ, answers, strict=True)
        ],
        **fields,
    }


PATIENT = {
    "resourceType": "Patient",
    "id": "pt-1",
    "identifier": [{"system": PSEUDO, "value": "P00001"}],
}


def ndjson(path: Path, *resources: dict | str) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in resources),
        encoding="utf-8",
    )
    return path


def test_bundle_loinc_answer_codes_and_ordinals() -> None:
    b = read_fhir(FIX / "bundle.json", mapping())
    a = b.tables["assessments"]
    assert list(a["scale"]) == ["phq9", "gad7", "gad7"]
    # LA6568-5 = 0 … LA6571-9 = 3 (LL358-3), linkIds "/44250-9" (LHC-Forms style)
    assert items(a, 0, 9) == [2, 2, 1, 3, 1, 2, 1, 0, 1]
    # nested group, ordinalValue codings of a local system and valueInteger, by item number
    assert items(a, 1, 7) == [1, 2, 2, 1, 0, 1, 3]
    # Observation panel with components, dateTime in UTC → its own date
    assert items(a, 2, 7) == [3, 3, 2, 2, 1, 1, 0]
    assert list(a["date"]) == ["2025-01-06", "2025-01-06", "2025-01-15"]
    assert list(a["episode_id"]) == ["E00001", "E00001", "E00002"]
    assert a["fhir_resource"].iloc[0] == "QuestionnaireResponse/qr-phq9-1"
    assert b.lines["assessments"].tolist() == [3, 4, 5]  # entry index + 1
    result = validate_bundle(b)
    assert result.ok, result.problems
    assert len(b.load_problems) == 0  # the reported total 13 equals the item sum


def test_bulk_ndjson_has_member_encounter_mapping_and_total_only() -> None:
    b = load_bundle(f"fhir:{FIX / 'bulk'}", mapping=FIX / "mapping.yaml")
    a = b.tables["assessments"]
    phq = a[a["scale"] == "phq9"].reset_index(drop=True)
    assert items(phq, 0, 9) == [1, 1, 1, 1, 0, 0, 1, 0, 2]  # from hasMember Observations
    assert phq["episode_id"].iloc[0] == "E00002"  # Encounter/enc-77 through the mapping
    result = validate_bundle(b)
    counts = result.counts.set_index("table").loc["assessments"]
    assert (counts.rows_in, counts.accepted, counts.rejected) == (3, 2, 1)
    total_only = result.problems[result.problems["rule"] == "total_only"].iloc[0]
    assert "Observation.ndjson line 11" in total_only["message"]
    assert "Observation/obs-phq9-total-1" in total_only["message"]
    assert "PHQ-9 total 9" in total_only["message"]
    assert int(total_only["source_line"]) == 11
    assert len(result.rejects["assessments"]) == 1


def test_folder_of_json_needs_a_patient_id() -> None:
    src = f"fhir:{FIX / 'folder'}"
    refused = validate_bundle(load_bundle(src, mapping=mapping()))
    # no Patient resource in the folder: the pseudonym cannot be found, nothing is guessed
    assert refused.n_rejected == 2
    assert set(refused.problems["rule"]) >= {"reference"}
    ok = validate_bundle(
        load_bundle(src, mapping={"tables": str(FIX / "companion"),
                                  "patients": {"Patient/pt-1": "P00001"}})  # fmt: skip
    )
    assert ok.ok and len(ok.tables["assessments"]) == 2


def test_invalid_resource_names_file_line_id_and_element(tmp_path: Path) -> None:
    bad = phq9_response("qr-bad")
    bad["item"][0]["answer"][0] = {"valueInteger": "two"}
    path = ndjson(tmp_path / "QuestionnaireResponse.ndjson", phq9_response(), bad, bad)
    with pytest.raises(InputError) as exc:
        read_fhir(path, mapping())
    e = exc.value
    assert e.file == str(path) and e.row == 2 and e.rule == "fhir_resource"
    text = str(e)
    assert "QuestionnaireResponse/qr-bad" in text
    assert "QuestionnaireResponse.item[0].answer[0].valueInteger" in text
    assert "2 more invalid" not in text and "(1 more invalid resource(s) in all)" in text


def test_invalid_bundle_entry_names_the_entry(tmp_path: Path) -> None:
    bundle = json.loads((FIX / "bundle.json").read_text())
    bundle["entry"][4]["resource"]["component"][0]["code"] = "69725-0"  # not a CodeableConcept
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    with pytest.raises(InputError) as exc:
        read_fhir(path, mapping())
    assert "entry[4]" in str(exc.value) and "Observation/obs-gad7-2" in str(exc.value)
    assert "Observation.component[0].code" in str(exc.value)


def test_not_json_and_unknown_resource_type(tmp_path: Path) -> None:
    path = ndjson(tmp_path / "x.ndjson", phq9_response(), '{"resourceType": "Questionnai')
    with pytest.raises(InputError) as exc:
        read_fhir(path, mapping())
    assert exc.value.row == 2 and exc.value.rule == "json"
    path = ndjson(tmp_path / "y.ndjson", {"resourceType": "Pasient", "id": "p"})
    with pytest.raises(InputError, match="not a FHIR R4 resource type"):
        read_fhir(path, mapping())


def test_unknown_answer_codes_are_problems_not_guesses(tmp_path: Path) -> None:
    bad_la = phq9_response("qr-la")
    bad_la["item"][3]["answer"][0]["valueCoding"]["code"] = "LA9999-9"
    local = phq9_response("qr-local")
    local["item"][0]["answer"][0] = {"valueCoding": {"system": "urn:local", "code": "2"}}
    clash = phq9_response("qr-clash")
    clash["item"][1]["answer"][0]["valueCoding"]["extension"] = [
        {"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 3}
    ]
    ok = phq9_response("qr-ok", authored="2025-01-10")
    path = ndjson(tmp_path / "qr.ndjson", PATIENT, bad_la, local, clash, ok)
    result = validate_bundle(read_fhir(path, mapping()))
    counts = result.counts.set_index("table").loc["assessments"]
    assert (counts.rows_in, counts.accepted, counts.rejected) == (4, 1, 3)
    p = result.problems[result.problems["rule"] == "answer_code"]
    by_line = {int(r.source_line): r for r in p.itertuples()}
    assert set(by_line) == {2, 3, 4}
    assert by_line[2].value == "LA9999-9" and by_line[2].column == "item_4"
    assert "LL358-3" in by_line[2].message and "not guessed" in by_line[2].message
    assert "urn:local" in by_line[3].message
    assert "ordinalValue says 3" in by_line[4].message
    rej = result.rejects["assessments"]
    assert len(rej) == 3 and rej["reasons"].str.contains("qr.ndjson line").all()


def test_patient_with_direct_identifiers_is_refused(tmp_path: Path) -> None:
    named = {**PATIENT, "name": [{"family": "Doe"}], "birthDate": "1990-02-03"}
    path = ndjson(tmp_path / "p.ndjson", named, phq9_response())
    with pytest.raises(InputError) as exc:
        read_fhir(path, mapping())
    assert exc.value.rule == "direct_identifier" and "birthDate" in str(exc.value)
    phone = {**PATIENT, "telecom": [{"system": "phone", "value": "555-867-5309"}]}
    with pytest.raises(InputError, match="telecom"):
        read_fhir(ndjson(tmp_path / "q.ndjson", phone), mapping())
    located = {**PATIENT, "id": "p1", "address": [{"city": "Springfield"}]}
    contained = phq9_response("qr-c", contained=[located])
    with pytest.raises(InputError, match="qr-c contained Patient #p1 carries element.s. address"):
        read_fhir(ndjson(tmp_path / "c.ndjson", contained), mapping())
    mrn = {**PATIENT, "identifier": [{"type": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
        "system": "https://ehr.example.org/mrn", "value": "12345"}]}  # fmt: skip
    with pytest.raises(InputError, match="direct identifier"):
        read_fhir(ndjson(tmp_path / "r.ndjson", mrn), mapping())


def test_status_derived_observations_and_questionnaire_links(tmp_path: Path) -> None:
    draft = phq9_response("qr-draft", status="in-progress", authored="2025-01-09")
    gone = phq9_response("qr-gone", status="entered-in-error", authored="2025-01-11")
    derived = {
        "resourceType": "Observation", "id": "obs-from-qr", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44249-1"}]},
        "subject": {"reference": "Patient/pt-1"}, "effectiveDateTime": "2025-01-08",
        "derivedFrom": [{"reference": "QuestionnaireResponse/qr-1"}],
        "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": PHQ[0]}]},
                       "valueInteger": 1}],
    }  # fmt: skip
    questionnaire = {
        "resourceType": "Questionnaire", "id": "phq9-local", "status": "active",
        "url": "https://forms.example.org/q/phq9-local",
        "code": [{"system": "http://loinc.org", "code": "44249-1"}],
        "item": [{"linkId": str(14363 + i), "type": "choice",
                  "code": [{"system": "http://loinc.org", "code": c}]}
                 for i, c in enumerate(PHQ)],
    }  # fmt: skip
    local = phq9_response("qr-local", authored="2025-01-12",
                          questionnaire="https://forms.example.org/q/phq9-local|3")  # fmt: skip
    for i, it in enumerate(local["item"]):
        it["linkId"] = str(14363 + i)
    path = ndjson(tmp_path / "x.ndjson", PATIENT, questionnaire, phq9_response(), draft, gone,
                  derived, local)  # fmt: skip
    b = read_fhir(path, mapping())
    a = b.tables["assessments"]
    assert list(a["fhir_resource"]) == [
        "QuestionnaireResponse/qr-1", "QuestionnaireResponse/qr-draft",
        "QuestionnaireResponse/qr-local",
    ]  # fmt: skip
    assert items(a, 2, 9) == [1, 0, 2, 1, 0, 0, 1, 0, 0]  # linkIds through the Questionnaire
    assert any("entered-in-error not read" in n for n in b.notes)
    assert any("read once" in n for n in b.notes)
    result = validate_bundle(b)
    assert result.problems.loc[result.problems["rule"] == "status", "source_line"].tolist() == [4]
    assert result.n_rejected == 1


def test_episode_placement_by_date_and_its_problems(tmp_path: Path) -> None:
    comp = tmp_path / "companion"
    shutil.copytree(FIX / "companion", comp)
    (comp / "episodes.csv").write_text(
        "episode_id,patient_id,cohort_id,admit_date,discharge_date\n"
        "E00001,P00001,C01,2025-01-06,2025-02-14\n"
        "E00009,P00001,C01,2025-02-10,\n"
        "E00002,P00002,C01,2025-01-13,\n",
        encoding="utf-8",
    )
    rs = [
        phq9_response("in-stay", authored="2025-01-20"),
        phq9_response("overlap", authored="2025-02-12"),
        phq9_response("before", authored="2024-12-01"),
        phq9_response("intake", authored="2025-01-02"),
        phq9_response("stranger", authored="2025-01-20", subject={"reference": "Patient/zz"}),
    ]
    path = ndjson(tmp_path / "qr.ndjson", PATIENT, *rs)
    b = read_fhir(path, {"tables": str(comp), "patient_identifier": PSEUDO})
    a = b.tables["assessments"]
    assert a["episode_id"].tolist()[0] == "E00001"
    assert a["episode_id"].tolist()[3] == "E00001"  # 4 days before admission: the only one near
    rules = {int(p.source_line): p.rule for p in b.load_problems.itertuples()}
    assert rules == {3: "ambiguous_episode", 4: "reference", 6: "reference"}


def test_absent_component_is_a_missing_item(tmp_path: Path) -> None:
    obs = {
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44249-1"}]},
        "subject": {"reference": "Patient/pt-1"}, "effectiveDateTime": "2025-01-08",
        "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": c}]},
                       "valueInteger": 1} for c in PHQ[:8]]
        + [{"code": {"coding": [{"system": "http://loinc.org", "code": PHQ[8]}]},
            "dataAbsentReason": {"coding": [{"code": "asked-declined"}]}}],
    }  # fmt: skip
    b = read_fhir(ndjson(tmp_path / "o.ndjson", PATIENT, obs), mapping())
    a = b.tables["assessments"]
    assert items(a, 0, 9) == [1] * 8 + [None] and len(b.load_problems) == 0


def test_strict_raises_the_first_problem(tmp_path: Path) -> None:
    bad = phq9_response("qr-la")
    bad["item"][0]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    path = ndjson(tmp_path / "qr.ndjson", PATIENT, bad)
    with pytest.raises(InputError) as exc:
        read_fhir(path, mapping(), strict=True)
    assert exc.value.rule == "answer_code" and exc.value.row == 2


def test_mapping_errors_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("tables: x\npatient_identifer: urn:a\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_fhir(FIX / "bundle.json", path)
    assert exc.value.row == 2 and "did you mean 'patient_identifier'" in str(exc.value)
    path.write_text("link_ids:\n  phq9:\n    '14363': 12\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"1\.\.9") as exc:
        read_fhir(FIX / "bundle.json", path)
    assert exc.value.row == 3
    path.write_text("questionnaires: {x: phq99}\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown scale"):
        read_fhir(FIX / "bundle.json", path)
    path.write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        read_fhir(FIX / "bundle.json", path)


def test_no_companion_tables_is_a_clear_error(tmp_path: Path) -> None:
    path = ndjson(tmp_path / "qr.ndjson", phq9_response())
    with pytest.raises(InputError, match="carries no cohorts, patients or episodes"):
        load_bundle(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .json or .ndjson files"):
        load_bundle(f"fhir:{tmp_path / 'empty'}")
