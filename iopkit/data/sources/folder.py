"""Bundle folders: one ``<table>.csv`` or ``<table>.parquet`` file per table.

CSV text is decoded and parsed by :mod:`iopkit.data.sources.text` (encoding and separator
recorded in ``bundle.notes``); Parquet keeps its own types, and its line numbers are row
number + 1, as if a header line preceded the rows. Other files in the folder are ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from iopkit.data.bundle import Bundle
from iopkit.data.schemas import TABLE_ORDER
from iopkit.data.sources.registry import (
    FOLDER,
    BundleWriter,
    ReadOptions,
    SourceHandler,
    finish_bundle,
)
from iopkit.data.sources.text import (
    DELIMITER_NAMES,
    dates_as_text,
    encoding_label,
    read_csv_file,
    require_regular_file,
)
from iopkit.errors import InputError

__all__ = ["CSV_WRITER", "HANDLER", "PARQUET_WRITER", "read_folder"]


def read_folder(folder: Path, *, encoding: str | None = None, strict: bool = False) -> Bundle:
    """Read ``<table>.csv`` / ``<table>.parquet`` files from a folder (other files are ignored)."""
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    lines: dict[str, np.ndarray] = {}
    problems: list[dict] = []
    notes: list[str] = []
    encodings: dict[str, list[str]] = {}
    for table in TABLE_ORDER:
        csv_path, pq_path = folder / f"{table}.csv", folder / f"{table}.parquet"
        if csv_path.exists() and pq_path.exists():
            raise InputError(
                f"both {csv_path.name} and {pq_path.name} exist; keep one",
                file=str(folder),
                rule="ambiguous_source",
            )
        if csv_path.exists():
            frame, ln, probs, used = read_csv_file(csv_path, table, encoding)
            encodings.setdefault(encoding_label(used), []).append(csv_path.name)
            sep = frame.attrs.get("delimiter", ",")
            if sep != ",":
                notes.append(
                    f"{csv_path}: fields separated by {sep!r} ({DELIMITER_NAMES[sep]}), "
                    "not commas; read with that separator"
                )
            problems += probs
            files[table] = str(csv_path)
        elif pq_path.exists():
            require_regular_file(pq_path)
            try:
                frame = pd.read_parquet(pq_path)
            except Exception as exc:  # pyarrow raises several types for unreadable files
                raise InputError(
                    f"cannot read Parquet file: {exc}", file=str(pq_path), rule="unreadable"
                ) from None
            frame = frame.reset_index(drop=True)
            ln = np.arange(2, len(frame) + 2, dtype=np.int64)
            files[table] = str(pq_path)
        else:
            continue
        tables[table], lines[table] = frame, ln
    for label, names in encodings.items():
        notes.append(f"{folder}: {', '.join(names)} read as {label}")
    if not tables:
        raise InputError(
            f"no table files found; expected files named like {TABLE_ORDER[0]}.csv or "
            f"{TABLE_ORDER[0]}.parquet",
            file=str(folder),
            rule="missing_table",
        )
    return finish_bundle(tables, files, lines, problems, notes, str(folder), strict)


def _write_csv(tables: dict[str, pd.DataFrame], dest: Path) -> Path:
    for t, frame in tables.items():
        dates_as_text(t, frame).to_csv(dest / f"{t}.csv", index=False, lineterminator="\n")
    return dest


def _write_parquet(tables: dict[str, pd.DataFrame], dest: Path) -> Path:
    for t, frame in tables.items():
        frame.to_parquet(dest / f"{t}.parquet", index=False)
    return dest


def _read(location: str, options: ReadOptions) -> Bundle:
    return read_folder(Path(location), encoding=options.encoding, strict=options.strict)


HANDLER = SourceHandler(kind="folder", keys=(FOLDER,), read=_read, label="a folder")
CSV_WRITER = BundleWriter(format="csv", write=_write_csv, folder=True, suffixes=(".csv",))
PARQUET_WRITER = BundleWriter(
    format="parquet", write=_write_parquet, folder=True, suffixes=(".parquet",)
)
