"""`iopkit version` (also `iopkit --version`)."""

from __future__ import annotations

import platform

from iopkit import __version__
from iopkit.cli._common import app, console, emit, friendly_errors, output_options


@app.command("version")
@output_options("version")
@friendly_errors
def version() -> None:
    """Print the iopkit version."""
    console.print(f"iopkit {__version__}", highlight=False)
    emit({"version": __version__, "python": platform.python_version()})
