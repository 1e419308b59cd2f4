"""FHIR out: scored results as Observations, read back for every scale with LOINC codes; the
CLI; and the cohort report's inputs from a FHIR NDJSON export plus episodes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fhir.resources.R4B.bundle import Bundle as FhirBundle
from fhir.resources.R4B.observation import Observation
from typer.testing import CliRunner

from iopkit.cli import app
from iopkit.data import load_bundle, validate_bundle, write_bundle
from iopkit.data.fhir_out import export_observations
from iopkit.scales import get_scale, list_scales

FIX = Path(__file__).parent / "fixtures" / "fhir"
runner = CliRunner()
LOINC_SCALES = [s.id for s in list_scales() if s.loinc and (s.loinc.panel or s.loinc.total)]


def test_scales_with_loinc_codes() -> None:
    assert set(LOINC_SCALES) == {"phq9", "gad7", "phq2", "pcl5"}


def companion(tmp_path: Path) -> Path:
    folder = tmp_path / "companion"
    folder.mkdir()
    for f in (FIX / "companion").iterdir():
        (folder / f.name).write_text(f.read_text())
    return folder


def source_with(tmp_path: Path, rows: list[dict]) -> Path:
    """A CSV bundle: the fixture companion tables plus these assessments."""
    folder = tmp_path / "csv"
    tables = {t: pd.read_csv(FIX / "companion" / f"{t}.csv", dtype=str)
              for t in ("cohorts", "patients", "episodes")}  # fmt: skip
    tables["assessments"] = pd.DataFrame(rows)
    write_bundle(tables, folder)
    return folder


def answers(scale_id: str, shift: int) -> dict:
    sc = get_scale(scale_id)
    span = sc.items.max - sc.items.min + 1
    return {f"item_{i}": sc.items.min + (i + shift) % span for i in range(1, sc.items.count + 1)}


@pytest.mark.parametrize("scale_id", LOINC_SCALES)
@pytest.mark.parametrize("fmt", ["out.ndjson", "out.json"])
def test_round_trip_every_scale_with_loinc(tmp_path: Path, scale_id: str, fmt: str) -> None:
    sc = get_scale(scale_id)
    rows = [
        {"episode_id": "E00001", "date": "2025-01-06", "scale": scale_id, **answers(scale_id, 0)},
        {"episode_id": "E00001", "date": "2025-01-20", "scale": scale_id, **answers(scale_id, 1)},
        {"episode_id": "E00002", "date": "2025-01-20", "scale": scale_id, **answers(scale_id, 2)},
    ]
    if sc.missing.max_prorated:
        rows[1]["item_1"] = None  # prorated: the missing item stays missing
    src = source_with(tmp_path, rows)
    summary = export_observations(src, tmp_path / fmt)
    assert summary.rejected == 0 and summary.path == tmp_path / fmt
    back = validate_bundle(load_bundle(f"fhir:{summary.path}",
                                      mapping={"tables": str(companion(tmp_path))}))
    sent = validate_bundle(load_bundle(src)).tables["assessments"].reset_index(drop=True)
    got = back.tables["assessments"].reset_index(drop=True)
    cols = [f"item_{i}" for i in range(1, sc.items.count + 1)]
    if sc.loinc.items:  # panel with coded items: the items come back exactly
        assert back.ok
        key = ["episode_id", "date", "scale"]
        pd.testing.assert_frame_equal(
            got[key + cols].sort_values(key).reset_index(drop=True),
            sent[key + cols].sort_values(key).reset_index(drop=True),
            check_dtype=False,
        )
    else:  # PCL-5: LOINC has a panel and a score but no item codes — the total travels alone
        from iopkit.scales.engine import score_assessments

        totals = sorted(score_assessments(sent)["total"].astype(int))
        p = back.problems[back.problems["rule"] == "total_only"]
        assert len(p) == 3 and back.counts.set_index("table").loc["assessments"].rejected == 3
        assert sorted(int(v) for v in p["value"]) == totals


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_written_observations_follow_loinc_and_fhir(tmp_path: Path) -> None:
    out = tmp_path / "obs"
    summary = export_observations(f"fhir:{FIX / 'bulk'}", out, mapping=FIX / "mapping.yaml")
    assert summary.path == out / "Observation.ndjson" and summary.rejected == 1
    resources = read_lines(summary.path)
    for r in resources:
        Observation.model_validate(r)  # valid R4 Observations, written one per line
        assert r["status"] == "final" and r["category"][0]["coding"][0]["code"] == "survey"
    by_code = {r["code"]["coding"][0]["code"]: r for r in resources}
    ids = {r["id"] for r in resources}
    total = by_code["44261-6"]  # PHQ-9 total (https://loinc.org/44261-6)
    assert total["valueQuantity"] == {"value": 7, "unit": "{score}", "code": "{score}",
                                      "system": "http://unitsofmeasure.org"}  # fmt: skip
    assert total["interpretation"][0]["text"] == "PHQ-9 mild"
    assert total["subject"] == {"reference": "Patient/pt-2"}
    assert total["encounter"] == {"reference": "Encounter/enc-77"}
    assert total["effectiveDateTime"] == "2025-01-20"
    item9 = by_code["44260-8"]  # item 9 "more than half the days" = 2: escalated (AA)
    assert item9["interpretation"][0]["coding"][0]["code"] == "AA"
    assert item9["valueCodeableConcept"]["coding"][0]["code"] == "LA6570-1"
    panel = by_code["44249-1"]
    assert len(panel["component"]) == 9
    assert {m["reference"].split("/")[1] for m in panel["hasMember"]} <= ids
    gad = by_code["70274-6"]  # from a QuestionnaireResponse: derivedFrom it
    assert gad["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-gad7-2"}]
    assert gad["valueQuantity"]["value"] == 10 and gad["interpretation"][0]["text"].endswith(
        "moderate"
    )
    # the same data exported twice gives the same ids (an EHR can update instead of duplicate)
    again = export_observations(f"fhir:{FIX / 'bulk'}", tmp_path / "again.ndjson",
                                mapping=FIX / "mapping.yaml")  # fmt: skip
    assert [r["id"] for r in read_lines(again.path)] == [r["id"] for r in resources]


def test_transaction_bundle_and_non_fhir_subjects(tmp_path: Path) -> None:
    rows = [{"episode_id": "E00001", "date": "2025-01-06", "scale": "phq9",
             **answers("phq9", 0), "item_9": 1}]  # fmt: skip
    src = source_with(tmp_path, rows)
    path = export_observations(src, tmp_path / "tx.json", patient_system="urn:example:pid").path
    bundle = json.loads(path.read_text())
    FhirBundle.model_validate(bundle)
    assert bundle["type"] == "transaction"
    urls = {e["fullUrl"] for e in bundle["entry"]}
    for e in bundle["entry"]:
        assert e["request"]["method"] == "PUT" and e["fullUrl"].startswith("urn:uuid:")
        for m in e["resource"].get("hasMember", []):
            assert m["reference"] in urls
        assert e["resource"]["subject"] == {
            "type": "Patient",
            "identifier": {"system": "urn:example:pid", "value": "P00001"},
        }
        assert e["resource"]["encounter"]["identifier"]["value"] == "E00001"
        assert "derivedFrom" not in e["resource"]  # no response behind a CSV row
    item9 = [e["resource"] for e in bundle["entry"]
             if e["resource"]["code"]["coding"][0]["code"] == "44260-8"]  # fmt: skip
    assert item9[0]["interpretation"][0]["coding"][0]["code"] == "A"  # flag, not escalated


def test_cli_fhir_export_and_validate(tmp_path: Path) -> None:
    out = tmp_path / "o.ndjson"
    r = runner.invoke(app, ["fhir", "export", f"fhir:{FIX / 'bulk'}", "-m",
                            str(FIX / "mapping.yaml"), "-o", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "wrote 5 Observation(s)" in r.output and "1 assessment row(s) rejected" in r.output
    assert len(out.read_text().splitlines()) == 5
    r = runner.invoke(app, ["validate", f"fhir:{FIX / 'bulk'}", "-m", str(FIX / "mapping.yaml")])
    assert r.exit_code == 1 and "total_only" in r.output
    r = runner.invoke(app, ["validate", f"fhir:{FIX / 'bundle.json'}", "-m",
                            str(FIX / "mapping.yaml")])  # fmt: skip
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"resourceType": "Observation", "id": "o1", "status": "final"}\n')
    r = runner.invoke(app, ["fhir", "export", f"fhir:{bad}", "-m", str(FIX / "mapping.yaml"),
                            "-o", str(tmp_path / "x.ndjson")])  # fmt: skip
    assert r.exit_code == 1 and "Observation/o1" in r.output and "Traceback" not in r.output
    assert runner.invoke(app, ["fhir", "export", "synthetic:demo"]).exit_code == 2


def _qr(row: pd.Series, patient: str) -> dict:
    """A QuestionnaireResponse written by hand from one synthetic administration: LOINC
    panel, item and answer codes (LL358-3) where the scale has them, else item numbers."""
    sc = get_scale(row["scale"])
    lo = sc.loinc
    day = pd.Timestamp(row["date"]).date().isoformat()
    items = []
    for i in range(1, sc.items.count + 1):
        v = row.get(f"item_{i}")
        if pd.isna(v):
            continue
        link = lo.items[i - 1] if lo and lo.items else str(i)
        la = [c for c, s in lo.answers.items() if s == int(v)] if lo else []
        answer = ({"valueCoding": {"system": "http://loinc.org", "code": la[0]}} if la
                  else {"valueInteger": int(v)})  # fmt: skip
        items.append({"linkId": link, "answer": [answer]})
    canonical = (f"http://loinc.org/q/{lo.panel}" if lo and lo.panel
                 else f"https://forms.example.org/Questionnaire/{sc.id}")  # fmt: skip
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"qr-{row['episode_id']}-{day}-{sc.id}",
        "status": "completed",
        "questionnaire": canonical,
        "subject": {"reference": f"Patient/{patient}"},
        "encounter": {"reference": f"Encounter/{row['episode_id']}"},
        "authored": f"{day}T09:00:00-05:00",
        "item": items,
    }


def test_cohort_report_inputs_from_a_fhir_ndjson_export(tmp_path: Path) -> None:
    from iopkit.reports.views.source import open_source

    demo = load_bundle("synthetic:demo")
    eps = demo.tables["episodes"]
    keep = set(eps.loc[eps["cohort_id"] == "C01", "episode_id"])
    tables = {t: f for t, f in demo.tables.items()}
    tables["assessments"] = tables["assessments"][tables["assessments"]["episode_id"].isin(keep)]
    write_bundle(tables, tmp_path / "csv")
    export = tmp_path / "export"
    write_bundle({t: f for t, f in tables.items() if t != "assessments"}, export)
    patient_of = dict(zip(eps["episode_id"], eps["patient_id"], strict=True))
    with (export / "QuestionnaireResponse.ndjson").open("w") as fh:
        for _, row in tables["assessments"].iterrows():
            fh.write(json.dumps(_qr(row, patient_of[row["episode_id"]])) + "\n")
    csv = open_source(str(tmp_path / "csv"))
    fhir = open_source(f"fhir:{export}")
    assert fhir.counts.set_index("table")["accepted"].to_dict() == (
        csv.counts.set_index("table")["accepted"].to_dict()
    )
    key = ["episode_id", "date", "scale"]
    cols = [*key, "total", "band", "status", "safety_flag"]
    a = csv.scores[cols].sort_values(key).reset_index(drop=True)
    b = fhir.scores[cols].sort_values(key).reset_index(drop=True)
    assert len(a) > 100
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_categorical=False)
