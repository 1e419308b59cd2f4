"""Shared pieces of the command line: the app, error handling and output helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from iopkit.errors import ConfigError, InputError, SetupError

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
    """Turn input and configuration problems into a message and exit code 1 (no traceback).

    Besides :class:`InputError`, :class:`ConfigError` and :class:`SetupError`,
    operating-system errors on a path the user gave (missing file, a folder where a file is
    expected, a file where a folder is expected, no permission, a missing parent folder) and
    running out of memory are bad input too: they get one line naming the path, never a
    traceback.
    """

    def fail(message: str) -> typer.Exit:
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        return typer.Exit(code=1)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (InputError, ConfigError, SetupError) as exc:
            raise fail(str(exc)) from None
        except FileNotFoundError as exc:
            raise fail(f"file not found: {exc.filename or exc}") from None
        except OSError as exc:  # IsADirectory, NotADirectory, FileExists, Permission, …
            raise fail(_os_message(exc)) from None
        except UnicodeDecodeError as exc:  # a reader that did not say which file: still no trace
            raise fail(
                f"a file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
            ) from None
        except OverflowError as exc:  # a date or number beyond what the calendar can hold
            raise fail(f"a date or number is out of range: {exc}") from None
        except MemoryError:
            raise fail(
                "not enough memory for this request; use a smaller input or fewer rows"
            ) from None

    wrapper.__iopkit_friendly__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _os_message(exc: OSError) -> str:
    """One line for an operating-system error: what went wrong with which path."""
    path = exc.filename
    kind = {
        IsADirectoryError: "is a folder, not a file",
        NotADirectoryError: "a part of this path is a file, not a folder",
        FileExistsError: "already exists as a file; give a folder path",
        PermissionError: "permission denied",
    }.get(type(exc))
    if path is not None and kind is not None:
        return f"{path}: {kind}"
    if path is not None:
        return f"{path}: {exc.strerror or exc}"
    return f"cannot read or write a file: {exc}"


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
