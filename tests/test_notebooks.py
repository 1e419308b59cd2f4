"""The report templates in notebooks/: a structure lint, and execution end to end.

The ``.ipynb`` files are the source (edited in JupyterLab or any editor); the lint below is
what keeps them reviewable: valid nbformat 4, exactly one cell tagged ``parameters`` (every
line readable by papermill), the first code cell after it checks the parameters, no outputs
or execution counts committed, and thin code cells — no ``def``/``class``/``lambda``, at most
:data:`MAX_CELL_LINES` lines, imports from ``iopkit`` only, so every computation is a call
into the library. Ruff lints the same cells (``ruff check .``; pyproject ``[tool.ruff]``).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from iopkit.privacy import is_direct_identifier
from iopkit.reports.engine.batch import run_jobs
from iopkit.reports.engine.params import declared_parameters
from iopkit.reports.engine.schedule import Job

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TEMPLATES = ["curriculum_plan", "cohort_outcomes", "patient_progress", "program_outcomes"]
#: Most lines a code cell may have (the parameters cell excepted: one line per parameter).
MAX_CELL_LINES = 12
#: The only top-level package a template may import from: computation lives in iopkit.
ALLOWED_IMPORT_ROOTS = {"iopkit"}


def lint_problems(path: Path) -> list[str]:
    """Every structure rule a template breaks (empty when the template is fine)."""
    nb = nbformat.read(path, as_version=4)
    problems: list[str] = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        problems.append(f"not valid nbformat 4: {exc.message}")
    if nb.nbformat != 4:
        problems.append(f"nbformat {nb.nbformat}, expected 4")
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("kernelspec name is not python3")
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1:
        problems.append(f"{len(tagged)} cells tagged 'parameters', expected exactly 1")
    else:
        after = [c for c in nb.cells[tagged[0] + 1 :] if c.cell_type == "code"]
        if nb.cells[tagged[0]].cell_type != "code":
            problems.append("the cell tagged 'parameters' is not a code cell")
        if not after or "checks." not in after[0].source:
            problems.append("the first code cell after the parameters does not check them")
        specs = declared_parameters(path)  # raises when papermill cannot read a line
        problems += [f"parameter {n!r} looks like a direct identifier"
                     for n in specs if is_direct_identifier(n)]
    for i, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        where = f"cell {i} (id {cell.get('id')!r})"
        if cell.outputs or cell.execution_count is not None:
            problems.append(f"{where}: outputs or an execution count are committed")
        try:
            tree = ast.parse(cell.source)
        except SyntaxError as exc:
            problems.append(f"{where}: not Python (no IPython magics): {exc.msg}")
            continue
        n_lines = len(cell.source.splitlines())
        if n_lines > MAX_CELL_LINES and i - 1 not in tagged:
            problems.append(f"{where}: {n_lines} lines (at most {MAX_CELL_LINES})")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                problems.append(f"{where}, line {node.lineno}: defines a {type(node).__name__}; "
                                "put the logic in iopkit and call it")
            roots = []
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [(node.module or "").split(".")[0] if node.level == 0 else "."]
            problems += [f"{where}, line {node.lineno}: imports {r!r}; templates import from "
                         "iopkit only" for r in roots if r not in ALLOWED_IMPORT_ROOTS]
    return problems


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_passes_the_structure_lint(name: str) -> None:
    assert lint_problems(NOTEBOOKS / f"{name}.ipynb") == []


def test_every_notebook_is_a_listed_template() -> None:
    """The lint covers every notebooks/*.ipynb (a new template is added to TEMPLATES)."""
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(TEMPLATES)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def f():\n    return 1", "defines a FunctionDef"),
        ("class A:\n    pass", "defines a ClassDef"),
        ("f = lambda x: x", "defines a Lambda"),
        ("import pandas as pd", "imports 'pandas'"),
        ("from statistics import mean", "imports 'statistics'"),
        ("%matplotlib inline", "no IPython magics"),
        ("\n".join(f"x{i} = {i}" for i in range(13)), "13 lines"),
    ],
)
def test_lint_catches_each_rule(tmp_path: Path, source: str, problem: str) -> None:
    nb = nbformat.read(NOTEBOOKS / "program_outcomes.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    found = lint_problems(path)
    assert len(found) == 1 and problem in found[0], found


def test_lint_catches_outputs_and_a_second_parameters_cell(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOKS / "program_outcomes.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[-1].execution_count = 3
    code[-2].metadata["tags"] = ["parameters"]
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    found = "\n".join(lint_problems(path))
    assert "outputs or an execution count" in found and "2 cells tagged 'parameters'" in found


def jupyterlab_save(src: Path, dest: Path) -> Path:
    """``src`` as JupyterLab 4 saves it after a researcher edited it: its own cell ids, the
    notebook's full ``language_info``, per-cell ``collapsed``/``scrolled``/``jupyter``/
    ``execution`` metadata (JupyterLab's "record timing" setting), written with nbformat as
    JupyterLab's server does (``jupyter_server`` FileContentsManager). nbformat drops the
    transient ``trusted`` flag on write; older Jupyter Notebook and VS Code keep it, so it is
    added to the saved JSON as well."""
    nb = nbformat.read(src, as_version=4)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
        "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3", "version": "3.11.9",
    }
    stamp = "2025-03-03T09:15:02.123456Z"
    for cell in nb.cells:
        cell["id"] = uuid.uuid4().hex[:8] + "-" + uuid.uuid4().hex[:4]
        cell.metadata["trusted"] = True
        if cell.cell_type == "code":
            cell.metadata.update(collapsed=False, scrolled=True,
                                 jupyter={"source_hidden": False, "outputs_hidden": False})
            cell.metadata["execution"] = {"iopub.execute_input": stamp,
                                          "iopub.status.busy": stamp,
                                          "iopub.status.idle": stamp,
                                          "shell.execute_reply": stamp}
    # the researcher's edits: a sentence in a markdown cell, a caption in a code cell
    md = next(c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## "))
    md.source += "\n\nReviewed by the program director."
    census = next(c for c in nb.cells if "Admissions, discharges" in c.source)
    census.source = census.source.replace("per cohort", "per cohort (reviewed)")
    nbformat.validate(nb)
    nbformat.write(nb, dest)
    raw = json.loads(dest.read_text(encoding="utf-8"))
    for cell in raw["cells"]:
        cell["metadata"]["trusted"] = True
    dest.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return dest


@pytest.mark.slow
def test_template_saved_by_jupyterlab_passes_lint_and_ruff_and_runs(tmp_path: Path) -> None:
    from iopkit.reports.engine.runner import run_report

    path = jupyterlab_save(NOTEBOOKS / "program_outcomes.ipynb",
                           tmp_path / "program_outcomes.ipynb")
    raw = json.loads(path.read_text())
    meta = raw["cells"][1]["metadata"]
    assert meta["trusted"] is True and "execution" in meta and raw["nbformat"] == 4
    assert lint_problems(path) == []
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
         str(ROOT / "pyproject.toml"), str(path)],
        capture_output=True, text=True,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    res = run_report(path, {}, tmp_path / "out")  # its own default: synthetic:demo
    assert res.status == "ok" and "(reviewed)" in res.html.read_text()


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every template run under papermill (2 workers) on a small synthetic bundle."""
    from iopkit.data import write_bundle
    from iopkit.reports.views.source import episode_flags, open_source
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
        assert "Synthetic data — no real patient" not in html  # a real folder: no banner
    assert {p.name for p in (out / "plan").iterdir()} >= {
        "calendar_C01.ics", "calendar_C01.xlsx", "sessions_C01.csv", "coverage_C01.csv",
        "rotation_C01.csv",
    }  # the same files as `iopkit plan --cohort C01` (CohortPlan.write names the cohort)
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
    assert not [h for h in headers if is_direct_identifier(h)]
    assert not [h for h in headers if h in {"patient_id", "birth_year", "sex"}]


@pytest.mark.slow
def test_small_cells_are_suppressed_by_default(executed: dict) -> None:
    """The program report is aggregate by default (small cells read "< 11"); the cohort
    report is the care team's (every cell shown, marked confidential) — issue 12 §3."""
    html = (executed["out"] / "program" / "report.html").read_text()
    assert "&lt; 11" in html and "Aggregate report" in html
    cohort = (executed["out"] / "outcomes" / "report.html").read_text()
    assert "Confidential — care team" in cohort and "&lt; 11" not in cohort


@pytest.mark.slow
@pytest.mark.parametrize("name", TEMPLATES)
def test_committed_template_runs_top_to_bottom_without_papermill(
    name: str, tmp_path: Path
) -> None:
    """What JupyterLab's "Run All" does: the committed template, its own defaults
    (``synthetic:demo``), a plain kernel driven by nbclient — no papermill, no injected
    parameters cell, no runner. Every cell must run and the report must say something."""
    from nbclient import NotebookClient

    from iopkit.reports.engine.kernel import ProjectKernelManager

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
        from iopkit.plots import FIGURE_MIMETYPE

        assert FIGURE_MIMETYPE in kinds  # figures drawn inline, as iopkit.plots.render draws
    if name != "curriculum_plan":  # synthetic default: the report says so on its first page
        html = "".join(str(o.get("data", {}).get("text/html", "")) for c in code for o in c.outputs)
        assert "Synthetic data — no real patient" in html
    if name == "curriculum_plan":
        # JupyterLab runs (no output_dir) write under reports/lab/, never beside the notebook
        assert list((tmp_path / "reports" / "lab").rglob("calendar*.ics"))
        assert not list(tmp_path.glob("*.ics"))
