"""The report templates in notebooks/: structure as committed, and execution end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from iopkit.reports.batch import run_jobs
from iopkit.reports.params import declared_parameters, looks_like_identifier
from iopkit.reports.schedule import Job

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TEMPLATES = ["curriculum_plan", "cohort_outcomes", "patient_progress", "program_outcomes"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_committed_template_has_no_outputs_and_one_parameters_cell(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert nb.metadata["kernelspec"]["name"] == "python3"
    specs = declared_parameters(NOTEBOOKS / f"{name}.ipynb")  # every line readable by papermill
    assert specs and all(not looks_like_identifier(n) for n in specs)
    # the first cell after the parameters validates them
    after = nb.cells[nb.cells.index(tagged[0]) + 1]
    assert after.cell_type == "code" and "checks." in after.source
    # cells stay thin: a few lines, computation in iopkit
    assert max(len(c.source.splitlines()) for c in code) <= 30


def test_templates_match_their_builder() -> None:
    """notebooks/build_templates.py is the source of the committed templates."""
    import importlib.util

    path = NOTEBOOKS / "build_templates.py"
    spec = importlib.util.spec_from_file_location("build_templates", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name in TEMPLATES:
        built = getattr(mod, name)()
        committed = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        assert [c.source for c in built.cells] == [c.source for c in committed.cells], name


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every template run under papermill (2 workers) on a small synthetic bundle."""
    from iopkit.data import write_bundle
    from iopkit.reports.data import episode_flags, open_source
    from iopkit.synth import synthesize

    tmp = tmp_path_factory.mktemp("notebooks")
    bundle = synthesize(n_cohorts=2, seed=3, episodes_per_cohort=14, as_of="2025-02-21")
    data_dir = write_bundle(bundle, tmp / "data")
    data = open_source(str(data_dir))
    flags = episode_flags(data)
    episode = str(flags["episode_id"].iloc[0]) if len(flags) else str(
        data["episodes"]["episode_id"].iloc[0]
    )
    src = str(data_dir)
    jobs = [
        Job("plan", str(NOTEBOOKS / "curriculum_plan.ipynb"),
            {"data_source": src, "cohort_id": "C01", "weeks": 4, "time_limit": 5.0}),
        Job("outcomes", str(NOTEBOOKS / "cohort_outcomes.ipynb"),
            {"data_source": src, "cohort_id": "C02"}),
        Job("progress", str(NOTEBOOKS / "patient_progress.ipynb"),
            {"data_source": src, "episode_id": episode}),
        Job("program", str(NOTEBOOKS / "program_outcomes.ipynb"), {"data_source": src}),
    ]
    out = tmp / "out"
    summary = run_jobs(jobs, out, workers=2, progress=False)
    return {"summary": summary, "out": out}


@pytest.mark.slow
def test_every_template_executes_on_a_small_bundle(executed: dict) -> None:
    summary = executed["summary"]
    errors = {r["name"]: r["error"] for r in summary.records if r["status"] != "ok"}
    assert not errors, json.dumps(errors, indent=1, default=str)[:3000]
    out = executed["out"]
    for name in ("plan", "outcomes", "progress", "program"):
        html = (out / name / "report.html").read_text()
        assert "open_source(" not in html and "import " not in html  # code hidden
        assert "<img" in html or name == "progress"  # figures embedded
    assert {p.name for p in (out / "plan").iterdir()} >= {"plan.ics", "plan.xlsx", "sessions.csv"}
    figures = json.loads((out / "outcomes" / "figures.json").read_text())["figures"]
    assert figures["cohort_id"] == "C02" and figures["n_episodes"] > 0
    assert "completion_pct" in json.loads((out / "program" / "figures.json").read_text())[
        "figures"
    ]


@pytest.mark.slow
def test_no_report_shows_a_direct_identifier_column(executed: dict) -> None:
    """Table headers of every executed report are pseudonymous (no name/MRN/DOB/contact)."""
    out = executed["out"]
    headers: set[str] = set()
    for html in out.glob("*/report.html"):
        headers |= {re.sub(r"<[^>]+>", "", h).strip()
                    for h in re.findall(r"<th[^>]*>(.*?)</th>", html.read_text(), flags=re.S)}
    assert "episode_id" in headers  # the flags/goals tables are there …
    assert not [h for h in headers if looks_like_identifier(h.replace(" ", "_"))]
    assert not [h for h in headers if h in {"patient_id", "birth_year", "sex"}]


@pytest.mark.slow
def test_small_cells_are_suppressed_by_default(executed: dict) -> None:
    html = (executed["out"] / "outcomes" / "report.html").read_text()
    assert "hidden (&lt;11)" in html or "hidden (<11)" in html


@pytest.mark.slow
@pytest.mark.parametrize("name", TEMPLATES)
def test_committed_template_runs_top_to_bottom_without_papermill(
    name: str, tmp_path: Path
) -> None:
    """What JupyterLab's "Run All" does: the committed template, its own defaults
    (``synthetic:demo``), a plain kernel driven by nbclient — no papermill, no injected
    parameters cell, no runner. Every cell must run and the report must say something."""
    from nbclient import NotebookClient

    from iopkit.reports.kernel import ProjectKernelManager

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", kernel_manager_class=ProjectKernelManager,
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working folder
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    kinds = {k for c in code for o in c.outputs for k in o.get("data", {})}
    assert "text/markdown" in kinds  # the header line at least
    if name != "patient_progress":
        assert "image/png" in kinds  # figures drawn inline, as in JupyterLab
    if name == "curriculum_plan":  # exports land in the working folder (output_dir ".")
        assert (tmp_path / "plan.ics").is_file()
