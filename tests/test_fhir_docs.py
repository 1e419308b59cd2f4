"""The copy-paste example of docs/sources/fhir.md runs as written (shell and Python)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iopkit.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "sources" / "fhir.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture()
def in_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "tests" / "fixtures" / "fhir", tmp_path / "tests" / "fixtures" / "fhir")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_shell_example(in_copy: Path) -> None:
    (commands,) = blocks("bash")
    codes = []
    for line in commands.strip().splitlines():
        argv = shlex.split(line)
        assert argv[0] == "iopkit"
        r = CliRunner().invoke(app, argv[1:])
        assert "Traceback" not in r.output
        codes.append(r.exit_code)
    assert codes == [1, 0]  # validate sets the total-only row aside, as the page says
    assert len((in_copy / "scored" / "Observation.ndjson").read_text().splitlines()) == 5


def test_python_example(in_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (code,) = blocks("python")
    exec(compile(code, str(DOC), "exec"), {})
    out = capsys.readouterr().out
    assert "Observations written to scored/Observation.ndjson" in out
