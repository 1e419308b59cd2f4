"""Exceptions shared by the whole package.

An :class:`InputError` is a problem with what the user gave us (a file, a column, a value).
The command line turns it into a one-paragraph message and exit code 1 — never a traceback.
"""

from __future__ import annotations


class IopkitError(Exception):
    """Base class of every error iopkit raises on purpose."""


class InputError(IopkitError):
    """Bad input: names the file, row, column and the rule that was broken, where known.

    ``row`` is the line number as the user sees it in their file (1-based, header = line 1)
    when it can be known; ``None`` otherwise.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        rule: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.rule = rule
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        rule = f" [rule: {self.rule}]" if self.rule else ""
        return f"{prefix}: {self.message}{rule}" if prefix else f"{self.message}{rule}"


class UnknownIdError(InputError):
    """An id the user gave (a scale, program, skill, template …) that iopkit does not know.

    ``known`` lists the ids that exist, so messages can say "did you mean".
    """

    def __init__(self, message: str, *, known: tuple[str, ...] = (), **where: object) -> None:
        self.known = tuple(known)
        super().__init__(message, **where)  # type: ignore[arg-type]


class ConfigError(IopkitError):
    """A configuration FILE that does not match its schema: the curriculum, the scale
    registry, a schedule, a source mapping or profile. Only for files — a bad argument is an
    :class:`InputError`, a broken installation a :class:`SetupError`."""


class SetupError(IopkitError):
    """The installation or environment cannot do what was asked: no Jupyter kernel, shipped
    content missing, a database driver not installed."""
