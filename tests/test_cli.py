"""The command line as a whole: entry points and exit codes."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from iopkit.cli import app

runner = CliRunner()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "version" in result.output


def test_python_dash_m_works() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "iopkit", "version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "iopkit" in proc.stdout


def test_unknown_command_is_usage_error() -> None:
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2
