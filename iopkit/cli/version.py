"""`iopkit version`."""

from __future__ import annotations

from iopkit import __version__
from iopkit.cli._common import app, console, friendly_errors


@app.command("version")
@friendly_errors
def version() -> None:
    """Print the iopkit version."""
    console.print(f"iopkit {__version__}")
