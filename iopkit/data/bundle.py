"""The in-memory data bundle: one DataFrame per table plus where each row came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from iopkit.data.schemas import TABLE_ORDER

#: Columns of every problem table (load problems and validation problems alike).
PROBLEM_COLUMNS: tuple[str, ...] = (
    "table",
    "file",
    "source_line",
    "column",
    "value",
    "rule",
    "severity",
    "message",
)
#: ``severity`` of a problem: an ``error`` rejects its row; a ``warning`` keeps it (an
#: optional, descriptive value blanked; an identifier redacted from free text).
SEVERITIES: tuple[str, ...] = ("error", "warning")


#: Column that keeps, for a CSV row with more fields than the header, the fields beyond the
#: header (joined by the file's separator), so the rejected row is kept whole in ``rejects/``.
#: Such rows are always rejected (``field_count``); accepted tables never carry the column.
EXTRA_FIELDS = "extra_fields"


def empty_problems() -> pd.DataFrame:
    """An empty problems frame with the standard columns."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
    frame["source_line"] = frame["source_line"].astype("Int64")
    return frame


def problems_frame(rows: list[dict]) -> pd.DataFrame:
    """Build a problems frame from dicts with (a subset of) :data:`PROBLEM_COLUMNS`."""
    if not rows:
        return empty_problems()
    frame = pd.DataFrame(rows).reindex(columns=list(PROBLEM_COLUMNS))
    frame["severity"] = frame["severity"].astype(object).where(frame["severity"].notna(), "error")
    frame["source_line"] = pd.array(frame["source_line"], dtype="Int64")
    return frame


@dataclass(frozen=True)
class TableReading:
    """How the validator reads one table's cells, as a source profile declares it
    (:mod:`iopkit.data.profile`). The cells stay as read (rejects show them so); only the
    typed copy is changed.

    ``date_format``: the one ``strftime`` pattern text dates must match (never guessed);
    ``values``: column -> {exported value: contract value}; ``missing``: tokens read as a
    blank cell (exact text after stripping spaces), counted per column; ``profile``: how
    messages name the profile file.
    """

    date_format: str | None = None
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()
    profile: str = "profile"


@dataclass
class Bundle:
    """A set of program tables as read from one source.

    ``tables`` holds raw frames (RangeIndex, values as read); ``lines[table]`` gives, for each
    row by position, its line as the user sees it in the source (CSV/Excel: header is line 1,
    first data row line 2; Parquet/SQL: row number + 1, as if a header line preceded the
    rows). ``files[table]`` names the file/sheet/table the rows came from. ``load_problems``
    holds row-level problems found while reading (for example a CSV row with too many
    fields); the validator rejects those rows. ``notes`` records decisions taken while
    reading, such as the text encoding used. ``defects`` lists defects injected by
    :func:`iopkit.synth.synthesize` (``defects=True``). ``reading[table]`` says how the
    validator reads that table's cells (:class:`TableReading`, from a source profile).
    """

    tables: dict[str, pd.DataFrame]
    files: dict[str, str] = field(default_factory=dict)
    lines: dict[str, np.ndarray] = field(default_factory=dict)
    load_problems: pd.DataFrame = field(default_factory=empty_problems)
    notes: list[str] = field(default_factory=list)
    source: str = "<memory>"
    defects: pd.DataFrame | None = None
    reading: dict[str, TableReading] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, frame in self.tables.items():
            if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
                self.tables[name] = frame.reset_index(drop=True)
            if name not in self.lines or len(self.lines[name]) != len(self.tables[name]):
                self.lines[name] = np.arange(2, len(self.tables[name]) + 2, dtype=np.int64)
            self.files.setdefault(name, name)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]

    def __contains__(self, table: object) -> bool:
        return table in self.tables

    @property
    def table_names(self) -> list[str]:
        """Tables present, in load order (parents first)."""
        known = [t for t in TABLE_ORDER if t in self.tables]
        return known + sorted(t for t in self.tables if t not in TABLE_ORDER)

    def summary(self) -> pd.DataFrame:
        """Rows per table."""
        return pd.DataFrame(
            {"table": self.table_names, "rows": [len(self.tables[t]) for t in self.table_names]}
        )
