"""Shared pieces of the command line: the app, its conventions, error handling and output.

The conventions (docs/cli.md) are one mechanism here, so every command — also one added by
another module — behaves the same way:

- **Exit codes**: 0 success; 1 bad input, an unknown id or a setup problem (the message names
  file, row, column and rule; never a traceback); 2 a usage error (click's own, or
  :func:`usage_error`).
- **Output options** (:func:`output_options`): ``--json`` prints exactly one JSON document on
  stdout, ``{"schema": "iopkit.<command>/1", ...}`` (:func:`emit`), and nothing else there;
  ``--quiet``/``-q`` prints errors only; ``--verbose``/``-v`` adds detail on stderr
  (:func:`detail`) and INFO logging. On an error in JSON mode stdout still holds one document,
  ``{"schema": "iopkit.error/1", "command": ..., "exit_code": 1, "message": ...}``.
- **No wrapping when not on a terminal**: :func:`configure_consoles` gives both consoles
  soft wrapping and an unlimited width when the stream is not a TTY (cron logs, pipes), so a
  message is one line however long.
- **Renamed options** keep the old spelling as a hidden alias for one release
  (:func:`alias_option` + :func:`prefer`), with a note on stderr.

A command module registers with ``@app.command(...)`` (or a sub-app's), then
``@output_options("<command>")`` and ``@friendly_errors``, prints its human text through
:data:`console` and ends with ``emit({...})``.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import logging
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from iopkit import __version__
from iopkit.errors import ConfigError, InputError, SetupError

app = typer.Typer(
    name="iopkit",
    help="Toolkit for Intensive Outpatient Programs: curriculum, rotation, scales, reports.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

#: human summaries (stdout); silent under --json and --quiet
console = Console()
#: notes and warnings (stderr); silent under --quiet
err_console = Console(stderr=True)
#: errors (stderr); never silent
error_console = Console(stderr=True)

#: click's UsageError as the installed typer raises it (typer ≥ 0.2x vendors its own click)
UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)

SCHEMA_VERSION = 1
UNLIMITED_WIDTH = 100_000  # characters: "no wrapping" for a log or a pipe

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class OutputMode:
    """How the running command prints (set by :func:`output_options`)."""

    command: str = ""
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    emitted: bool = False
    errors: list[str] = field(default_factory=list)


_MODE: contextvars.ContextVar[OutputMode] = contextvars.ContextVar("iopkit_output_mode")


def mode() -> OutputMode:
    """The output mode of the running command (defaults outside a command)."""
    try:
        return _MODE.get()
    except LookupError:
        return OutputMode()


def configure_consoles() -> None:
    """Soft wrap and unlimited width for a console whose stream is not a terminal; the
    terminal's own width otherwise. Called at the start of every invocation."""
    current = mode()
    for c in (console, err_console, error_console):
        tty = c.is_terminal
        c.soft_wrap = not tty
        c.width = None if tty else UNLIMITED_WIDTH  # type: ignore[assignment]
        c.quiet = False
    console.quiet = current.json or current.quiet
    err_console.quiet = current.quiet


def schema_name(command: str) -> str:
    """``iopkit.<command>/<version>``: the value of a JSON document's ``schema`` key."""
    return f"iopkit.{command}/{SCHEMA_VERSION}"


def jsonable(value: Any) -> Any:
    """A value JSON can hold: paths and dates as text (ISO 8601), NaN/inf as null, numpy
    scalars as numbers, sets sorted, pandas frames as a list of row objects."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [jsonable(v) for v in sorted(value, key=str)]
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    return str(value)


def emit(summary: Mapping[str, Any], command: str | None = None) -> None:
    """Print the command's summary as one JSON document under ``--json`` (key ``schema``
    first); do nothing otherwise (the human text went through :data:`console`)."""
    current = mode()
    if not current.json or current.emitted:
        return
    doc = {"schema": schema_name(command or current.command), **jsonable(dict(summary))}
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, allow_nan=False) + "\n")
    sys.stdout.flush()
    current.emitted = True


def detail(text: str) -> None:
    """A line only ``--verbose`` shows (stderr, markup off)."""
    if mode().verbose:
        err_console.print(text, markup=False, highlight=False)


def error(message: str) -> None:
    """An error line on stderr (never silenced); remembered for the JSON error document."""
    mode().errors.append(message)
    error_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)


def usage_error(message: str, option: str | None = None) -> Exception:
    """A usage error (exit 2) naming the option; raise the returned exception."""
    if option:
        return typer.BadParameter(message, param_hint=option)
    return UsageError(message)


def _output_parameters() -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    return [
        inspect.Parameter(
            "json_output",
            kw,
            annotation=bool,
            default=typer.Option(
                False, "--json", help="Print one JSON document (schema in docs/cli.md)."
            ),
        ),
        inspect.Parameter(
            "quiet",
            kw,
            annotation=bool,
            default=typer.Option(False, "--quiet", "-q", help="Print errors only."),
        ),
        inspect.Parameter(
            "verbose",
            kw,
            annotation=bool,
            default=typer.Option(False, "--verbose", "-v", help="Print more detail (stderr)."),
        ),
    ]


def output_options(command: str) -> Callable[[F], F]:
    """Add ``--json``, ``--quiet/-q`` and ``--verbose/-v`` to a command named ``command``
    (the JSON schema is ``iopkit.<command>/1``; sub-commands use dots: ``curriculum.show``)."""

    def decorate(func: F) -> F:
        sig = inspect.signature(func, eval_str=True)
        hints = dict(getattr(func, "__annotations__", {}))

        @functools.wraps(func)
        def wrapper(
            *args: Any,
            json_output: bool = False,
            quiet: bool = False,
            verbose: bool = False,
            **kwargs: Any,
        ) -> Any:
            current = OutputMode(command, json_output, quiet, verbose)
            token = _MODE.set(current)
            configure_consoles()
            handler, root, level = None, logging.getLogger(), logging.getLogger().level
            if verbose:  # INFO logging on stderr for this command only
                handler = logging.StreamHandler(sys.stderr)
                root.addHandler(handler)
                root.setLevel(logging.INFO)
            try:
                return func(*args, **kwargs)
            except typer.Exit as exc:
                if current.json and not current.emitted and exc.exit_code:
                    emit(
                        {
                            "command": command,
                            "exit_code": exc.exit_code,
                            "message": " ".join(current.errors) or "failed",
                        },
                        command="error",
                    )
                raise
            finally:
                if handler is not None:
                    root.removeHandler(handler)
                    root.setLevel(level)
                _MODE.reset(token)
                configure_consoles()

        params = [*sig.parameters.values(), *_output_parameters()]
        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**hints, "json_output": bool, "quiet": bool, "verbose": bool}
        wrapper.__iopkit_command__ = command  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def alias_option(*decls: str, replacement: str, default: Any = None) -> Any:
    """A hidden option with an old spelling (``decls``) kept for one release after a rename
    to ``replacement``; combine with the new option through :func:`prefer`."""
    return typer.Option(default, *decls, hidden=True, help=f"Deprecated: use {replacement}.")


def prefer(new: Any, old: Any, *, old_name: str, new_name: str, missing: Any = None) -> Any:
    """The value of a renamed option: the new spelling, else the old one (with a note on
    stderr), else ``missing``. Repeatable options (lists) are joined. Giving both spellings
    of a single-valued option is a usage error (exit 2)."""
    if isinstance(new, list):
        if old:
            _deprecated(old_name, new_name)
        return [*new, *(old or [])]
    if old is None or old is False:
        return missing if new is None else new
    if new is not None and new is not missing and new is not False:
        raise usage_error(f"give {new_name} or its old spelling {old_name}, not both", new_name)
    _deprecated(old_name, new_name)
    return old


def _deprecated(old: str, new: str) -> None:
    err_console.print(
        f"note: {old} is deprecated; use {new} (the old spelling goes in the next release)",
        markup=False,
        highlight=False,
    )


def friendly_errors(func: F) -> F:
    """Turn input and configuration problems into a message and exit code 1 (no traceback).

    Besides :class:`InputError`, :class:`ConfigError` and :class:`SetupError`,
    operating-system errors on a path the user gave (missing file, a folder where a file is
    expected, a file where a folder is expected, no permission, a missing parent folder) and
    running out of memory are bad input too: they get one line naming the path, never a
    traceback.
    """

    def fail(message: str) -> typer.Exit:
        error(message)
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


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"iopkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the iopkit version and exit.",
    ),
) -> None:
    """Toolkit for Intensive Outpatient Programs (IOP). Run `iopkit COMMAND --help`.

    Every command: exit 0 ok, 1 bad input or unknown id, 2 usage error; --json prints one
    JSON document (docs/cli.md), -q/--quiet errors only, -v/--verbose more detail.
    """
    configure_consoles()
