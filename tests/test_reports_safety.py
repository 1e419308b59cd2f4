"""Safety first in every report: every positive safety answer reaches the patient, cohort and
program reports, and a report publishes when a section cannot be computed (issue 12)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from iopkit.reports.engine.batch import run_jobs
from iopkit.reports.engine.schedule import Job

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TEMPLATES = ("patient_progress", "cohort_outcomes", "program_outcomes")


def _text(page: str) -> str:
    """The text of an HTML fragment: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _safety_part(html: str) -> str:
    """The text of the Safety section: from its heading to the next section heading (h2)."""
    m = re.search(r"<h2[^>]*>\s*1\. Safety", html)
    assert m, "no '1. Safety' section heading"
    end = html.find("<h2", m.end())
    return _text(html[m.start() : end if end >= 0 else len(html)])


def _run(src: Path, episode: str, cohort: str, out: Path) -> dict:
    jobs = [
        Job("progress", str(NOTEBOOKS / "patient_progress.ipynb"),
            {"data_source": str(src), "episode_id": episode}),
        Job("outcomes", str(NOTEBOOKS / "cohort_outcomes.ipynb"),
            {"data_source": str(src), "cohort_id": cohort}),
        Job("program", str(NOTEBOOKS / "program_outcomes.ipynb"), {"data_source": str(src)}),
    ]
    summary = run_jobs(jobs, out, workers=2, progress=False)
    errors = {r["name"]: r["error"] for r in summary.records if r["status"] != "ok"}
    assert not errors, json.dumps(errors, indent=1, default=str)[:3000]
    return {n: (out / n / "report.html").read_text() for n in ("progress", "outcomes", "program")}


@pytest.mark.slow
def test_every_positive_item9_of_a_discharged_episode_is_in_every_report(tmp_path: Path) -> None:
    from iopkit.data import write_bundle
    from iopkit.synth import synthesize

    bundle = synthesize(n_cohorts=2, seed=3, episodes_per_cohort=10, as_of="2025-03-21")
    t = bundle.tables
    eps = t["episodes"]
    a = t["assessments"]
    a.loc[a["scale"] == "phq9", "item_9"] = 0  # no other positive answer in the data
    done = eps[eps["discharge_date"].notna() & (eps["discharge_date"].astype(str) != "")]
    counts = a[a["scale"] == "phq9"].groupby("episode_id").size()
    eid = next(e for e in done["episode_id"] if counts.get(e, 0) >= 4)
    rows = a.index[(a["episode_id"] == eid) & (a["scale"] == "phq9")][:4]
    a.loc[rows, "item_9"] = 1
    dates = sorted(pd.to_datetime(a.loc[rows, "date"]).dt.strftime("%Y-%m-%d"))
    if "events" in t:  # no safety review recorded: every row says so
        t["events"] = t["events"][t["events"]["kind"] != "safety_review"].reset_index(drop=True)
    src = write_bundle(bundle, tmp_path / "data")
    cohort = str(eps.loc[eps["episode_id"] == eid, "cohort_id"].iloc[0])
    html = _run(src, eid, cohort, tmp_path / "out")
    for name, page in html.items():
        part = _safety_part(page)
        assert all(d in part for d in dates), (name, part[:800])
        assert part.count("item 9 = 1") == 4, (name, part[:800])
        assert part.count("follow-up not recorded") == 4 and "discharged" in part
        if name != "progress":
            assert eid in part
        # the safety section is the first section after the header
        h2 = [_text(h).replace("¶", "").strip()
              for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, flags=re.S)]
        assert h2[0] == "1. Safety", (name, h2)
        figures = json.loads((tmp_path / "out" / name / "figures.json").read_text())["figures"]
        assert figures["n_safety_events"] == 4 and figures["n_safety_follow_up_missing"] == 4


@pytest.mark.slow
def test_one_patient_whose_only_phq9_has_item9_3_publishes_every_report(tmp_path: Path) -> None:
    """Cohort, patient and program reports publish with notes; all show the safety row."""
    from iopkit.data import write_bundle
    from iopkit.synth import synthesize

    bundle = synthesize(n_cohorts=1, seed=5, episodes_per_cohort=1)
    t = bundle.tables
    eid = str(t["episodes"]["episode_id"].iloc[0])
    a = t["assessments"]
    phq = a[(a["scale"] == "phq9") & (a["episode_id"] == eid)]
    keep = phq.index[:1]
    a = a[(a["scale"] != "phq9") | a.index.isin(keep)].reset_index(drop=True)
    a.loc[a["scale"] == "phq9", "item_9"] = 3
    t["assessments"] = a
    t.pop("goals", None)  # an optional table absent
    src = write_bundle(bundle, tmp_path / "data")
    cohort = str(t["episodes"]["cohort_id"].iloc[0])
    html = _run(src, eid, cohort, tmp_path / "out")
    notes = {}
    for name, page in html.items():
        part = _safety_part(page)
        assert "item 9 = 3" in part and "yes" in part, (name, part[:600])  # escalation
        figures = json.loads((tmp_path / "out" / name / "figures.json").read_text())["figures"]
        assert figures["n_safety_events"] == 1
        notes[name] = figures.get("notes", [])
        assert figures.get("n_notes", 0) == len(notes[name])
        for n in notes[name]:
            assert n.split(": not shown — ")[1] in _text(page)
    assert any("goals" in n for n in notes["progress"])
    assert notes["outcomes"] and notes["program"]
    assert not any("oordination" in n for n in notes["outcomes"])  # a section of its own
    index = (tmp_path / "out" / "index.html").read_text()
    for name in html:
        if notes[name]:
            assert f"published with {len(notes[name])} note" in index


@pytest.mark.slow
def test_required_tables_only_still_publish_every_report(tmp_path: Path) -> None:
    """A hand-made export with cohorts, patients, episodes and assessments only (no sessions,
    attendance, goals or events): every report publishes, with a note per section it cannot
    compute, and every positive answer is shown (item 9 = 3, then 1)."""
    src = tmp_path / "data"
    src.mkdir()
    (src / "cohorts.csv").write_text(
        "cohort_id,program_id,name,start_date,facilitators\n"
        "C1,adult_mood_anxiety_3d,Tiny,2025-01-06,\n", encoding="utf-8")
    (src / "patients.csv").write_text(
        "patient_id,birth_year,sex,primary_concern,other_concerns,referral_source\n"
        "P1,1990,F,depression,,\n", encoding="utf-8")
    (src / "episodes.csv").write_text(
        "episode_id,patient_id,cohort_id,admit_date,discharge_date,discharge_type,planned_weeks\n"
        "E1,P1,C1,2025-01-06,,,6\n", encoding="utf-8")
    items = ",".join(f"item_{i}" for i in range(1, 10))
    (src / "assessments.csv").write_text(
        f"episode_id,date,scale,{items}\n"
        "E1,2025-01-06,phq9,3,3,2,2,1,2,1,1,3\n"
        "E1,2025-01-13,phq9,2,2,2,2,1,1,1,1,1\n", encoding="utf-8")
    html = _run(src, "E1", "C1", tmp_path / "out")
    for name, page in html.items():
        text = _text(page)
        start = text.index("1. Safety")
        part = text[start:re.search(r"2\. [A-Z]", text[start:]).start() + start]
        assert "item 9 = 3" in part and "item 9 = 1" in part, (name, part[:600])
        figures = json.loads((tmp_path / "out" / name / "figures.json").read_text())["figures"]
        assert figures["n_safety_events"] == 2
    progress = json.loads((tmp_path / "out" / "progress" / "figures.json").read_text())
    assert any("attendance table" in n for n in progress["figures"]["notes"])
