"""JupyterLab: `make lab`, exports under reports/lab/, outputs stripped on commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iopkit.rotation import export_folder

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "reports" / "tiny.ipynb"
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def _make(target: str, cwd: Path, bin_dir: Path, stamp: Path, *extra: str):
    return subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), target, f"BIN={bin_dir}",
         f"STAMP={stamp}", *extra],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@needs_make
def test_make_lab_binds_localhost_on_ipc_and_passes_lab_args(tmp_path) -> None:
    """`make lab` with a stand-in `jupyter` that prints how it was called."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").symlink_to(sys.executable)
    (fake / "jupyter").write_text(
        "#!/bin/sh\necho \"ENV $IOPKIT_LAB_OUTPUT\"\nfor a in \"$@\"; do echo \"ARG $a\"; done\n"
    )
    (fake / "jupyter").chmod(0o755)
    stamp = tmp_path / "stamp"
    stamp.touch()
    proc = _make("lab", ROOT, fake, stamp, "LAB_ARGS=--port=8899 --no-browser")
    assert proc.returncode == 0, proc.stderr
    args = [ln[4:] for ln in proc.stdout.splitlines() if ln.startswith("ARG ")]
    assert args[0] == "lab" and "--ServerApp.ip=127.0.0.1" in args
    assert "--KernelManager.transport=ipc" in args  # no "TCP without encryption" warning
    assert args[-2:] == ["--port=8899", "--no-browser"]
    assert ("--allow-root" in args) == (os.getuid() == 0)  # only when run as root
    assert f"ENV {ROOT / 'reports' / 'lab'}" in proc.stdout


def test_lab_kernels_use_ipc_with_the_make_lab_setting() -> None:
    """The option `make lab` passes reaches the kernel manager JupyterLab uses; ipykernel
    warns about unencrypted TCP only for transport 'tcp' (kernelapp.init_sockets)."""
    from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
    from traitlets.config import Config

    cfg = Config()
    cfg.KernelManager.transport = "ipc"
    assert ServerKernelManager(config=cfg).transport == "ipc"
    assert ServerKernelManager().transport == "tcp"  # the default that warns


@needs_make
@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_filter_strips_outputs_on_commit(tmp_path) -> None:
    """`make install` runs the git-filter target: a committed executed notebook has no
    outputs in the repository (the working copy keeps them)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "pyproject.toml").write_text("")  # the install stamp's prerequisite
    stamp = tmp_path / "stamp"
    stamp.touch()
    proc = _make("git-filter", repo, Path(sys.executable).parent, stamp)
    assert proc.returncode == 0, proc.stderr
    assert "filter=nbstripout" in (repo / ".gitattributes").read_text()
    nb = json.loads(TINY.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["execution_count"] = 3
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["SECRET-OUT\n"]}]
    (repo / "nb.ipynb").write_text(json.dumps(nb))
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    committed = subprocess.run(
        ["git", "show", "HEAD:nb.ipynb"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert "SECRET-OUT" not in committed
    assert all(not c.get("outputs") for c in json.loads(committed)["cells"])
    assert "SECRET-OUT" in (repo / "nb.ipynb").read_text()


def test_interactive_exports_go_under_reports_lab(tmp_path, monkeypatch) -> None:
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    monkeypatch.chdir(project / "notebooks")  # JupyterLab's working folder
    monkeypatch.delenv("IOPKIT_LAB_OUTPUT", raising=False)
    assert export_folder("", "curriculum_plan") == project / "reports/lab/curriculum_plan"
    monkeypatch.setenv("IOPKIT_LAB_OUTPUT", str(tmp_path / "lab"))
    assert export_folder("", "curriculum_plan") == tmp_path / "lab" / "curriculum_plan"
    assert export_folder(tmp_path / "x", "curriculum_plan") == tmp_path / "x"  # the runner's


def test_curriculum_plan_notebook_writes_through_export_folder() -> None:
    nb = json.loads((ROOT / "notebooks" / "curriculum_plan.ipynb").read_text())
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    assert 'output_dir: str = ""' in "".join(params["source"])
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert 'cohort.write(rotation.export_folder(output_dir, "curriculum_plan"))' in code
    assert "cohort_id=cohort_id" in code  # the calendar names the cohort
