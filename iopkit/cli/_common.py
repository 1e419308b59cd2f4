"""Shared pieces of the command line: the app, error handling and output helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from iopkit.errors import ConfigError, InputError

app = typer.Typer(
    name="iopkit",
    help="Toolkit for Intensive Outpatient Programs: curriculum, rotation, scales, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn input and configuration problems into a message and exit code 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (InputError, ConfigError) as exc:
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(code=1) from None
        except FileNotFoundError as exc:
            err_console.print(
                f"[bold red]error:[/] file not found: {escape(str(exc.filename or exc))}"
            )
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def run_app(application: typer.Typer) -> int:
    """Run the Typer app in standalone mode and return its exit code."""
    try:
        application(standalone_mode=True)
    except SystemExit as exc:  # click exits via SystemExit
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


@app.callback()
def _root() -> None:
    """Toolkit for Intensive Outpatient Programs (IOP). Run `iopkit COMMAND --help`."""
