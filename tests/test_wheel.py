"""`pip install` of the built wheel gives a working iopkit: curriculum, planning and the demo.

Builds the wheel from this checkout, installs it into a fresh virtualenv OUTSIDE the
checkout and runs the command line from a folder that is not the repository, so every
template, schedule, curriculum file and mapping must come from the installed package
(importlib.resources), never from the source tree.

Speed: the fresh venv reuses the test environment's third-party packages through a
``.pth`` line (so the test downloads nothing and takes ~1 min, not ~5); ``pip check``
then verifies that the wheel's declared dependencies are what it runs with. iopkit itself
comes only from the wheel (``--no-deps``): the test asserts where it was imported from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{' '.join(argv)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _not_source(folder: str, names: list[str]) -> set[str]:
    """What a wheel is not built from: environments, caches, build output, generated reports
    (``reports/`` keeps its schedules, which the wheel ships)."""
    here = Path(folder)
    skip = {n for n in names if n in {".venv", ".git", "build", "dist", "__pycache__",
            ".pytest_cache", ".ruff_cache"} or n.endswith(".egg-info")}  # fmt: skip
    if here == ROOT / "reports":
        skip |= {n for n in names if n not in {"schedules", "README.md"}}
    return skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "IOPKIT_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # build from a copy: setuptools builds in <source>/build, which two xdist workers running
    # this module's tests would share (and race on)
    src = base / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=_not_source)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)],
         cwd=base, env=env)  # fmt: skip
    wheel = next(dist.glob("iopkit-*.whl"))
    target = base / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    py = target / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    # third-party packages of the test environment; iopkit's own editable finder is a .pth
    # there and .pth files inside a .pth-added folder are not processed, so it stays out
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # their data files too (nbconvert's HTML templates live in <prefix>/share/jupyter); the
    # kernel is still the fresh venv's own: iopkit looks for kernelspecs in sys.prefix only
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
         cwd=base, env=env)  # fmt: skip
    return target, env


def test_wheel_carries_content_and_imports_from_itself(installed) -> None:
    target, env = installed
    py = str(target / "bin" / "python")
    where = _run(
        [py, "-c", "import iopkit, iopkit.resources as r; print(iopkit.__file__);"
         "print(r.curriculum_dir()); print(r.notebooks_dir()); print(r.schedules_dir())"],
        cwd=target.parent, env=env,
    ).split()  # fmt: skip
    assert all(str(target) in w for w in where), where
    assert str(ROOT) not in " ".join(where)
    _run([py, "-m", "pip", "check"], cwd=target.parent, env=env)


def test_installed_command_validates_plans_and_runs_the_demo(installed) -> None:
    target, env = installed
    iopkit = str(target / "bin" / "iopkit")
    work = target.parent / "work"
    work.mkdir()
    checked = _run([iopkit, "curriculum", "validate"], cwd=work, env=env)
    assert checked.startswith("ok ") and "3 program(s)" in checked, checked
    assert str(ROOT) not in checked  # the installed curriculum, not the checkout's
    _run([iopkit, "plan", "--program", "adult_mood_anxiety_5d", "--start", "2025-01-06",
          "--weeks", "4", "--out", str(work / "plan")], cwd=work, env=env)  # fmt: skip
    assert (work / "plan" / "calendar.ics").is_file()
    assert (work / "plan" / "coverage.csv").is_file()
    out = _run([iopkit, "demo", "--out", str(work / "demo"), "--no-progress"], cwd=work, env=env)
    index = work / "demo" / "index.html"
    assert index.is_file(), out
    assert not list((work / "demo").glob("failed/*")), out
    assert len(list((work / "demo").rglob("report.html"))) >= 4
