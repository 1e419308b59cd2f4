"""The report engine is domain-free: it imports no IOP domain package and no report view.

Checked twice: statically (every import statement of every engine module, including the
ones inside functions) and at run time (importing every engine module in a fresh
interpreter loads none of the domain packages).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "iopkit" / "reports" / "engine"
#: What the engine must not depend on: the domains and the layers built on top of it.
FORBIDDEN = (
    "iopkit.outcomes",
    "iopkit.scales",
    "iopkit.data",
    "iopkit.curriculum",
    "iopkit.rotation",
    "iopkit.synth",
    "iopkit.calendar",
    "iopkit.reports.views",
    "iopkit.reports.grids",
)
MODULES = sorted(p for p in ENGINE.glob("*.py"))


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file; ``from iopkit import x`` yields iopkit.x."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}:{node.lineno}: use absolute imports"
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_engine_module_imports_no_domain(path: Path) -> None:
    bad = [f"{path.name}:{line}: {mod}" for line, mod in _imported(path) if _forbidden(mod)]
    assert not bad


def test_the_check_sees_a_domain_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from iopkit.outcomes import mbc_flags\n"
                     "from iopkit import rotation\n")
    assert sorted(m for _, m in _imported(probe) if _forbidden(m)) == [
        "iopkit.outcomes.mbc_flags", "iopkit.rotation",
    ]


def test_importing_the_engine_loads_no_domain_package() -> None:
    names = [f"iopkit.reports.engine.{p.stem}" for p in MODULES if p.stem != "__init__"]
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    loaded = json.loads(out.stdout)
    assert [m for m in loaded if _forbidden(m)] == []
