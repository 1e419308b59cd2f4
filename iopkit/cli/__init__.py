"""The ``iopkit`` command: one Typer app, one module per subcommand group.

Thin by design: each subcommand parses its options, calls the library and prints a short
summary. Exit codes: 0 success, 1 bad input (message names file/row/column), 2 usage error.

To add a command group, write ``iopkit/cli/<name>.py`` that decorates functions with
``@app.command()`` (``app`` from :mod:`iopkit.cli._common`) and import it below.
"""

from __future__ import annotations

import sys

# --- command modules (each registers its commands on `app` when imported) ---------------
from iopkit.cli import curriculum as _curriculum  # noqa: E402,F401
from iopkit.cli import data as _data  # noqa: E402,F401
from iopkit.cli import fhir as _fhir  # noqa: F401
from iopkit.cli import plan as _plan  # noqa: E402,F401
from iopkit.cli import profile as _profile  # noqa: F401
from iopkit.cli import report as _report  # noqa: E402,F401
from iopkit.cli import scales as _scales  # noqa: F401
from iopkit.cli import version as _version  # noqa: E402,F401
from iopkit.cli._common import app, run_app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_app(app))


if __name__ == "__main__":  # pragma: no cover
    main()
