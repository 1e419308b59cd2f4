"""Read one table of responses (CSV/TSV, Excel or Parquet) and write a result table back.

Used by ``iopkit score`` (:mod:`iopkit.cli.scales`); whole data bundles are read by
:mod:`iopkit.data.sources`. CSV and Excel cells are read as text so that nothing is re-typed on
the way through (IDs keep leading zeros, "N/A" stays "N/A"); the scoring engine parses item
answers itself and reports what it cannot parse. CSV text is decoded like a bundle's CSV files
(:func:`iopkit.data.sources.decode_bytes`: UTF-8 with or without BOM, else Latin-1 when the bytes
allow it, else a message naming the line); the encoding used is kept in
``frame.attrs["encoding"]``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from iopkit.data.sources import decode_bytes
from iopkit.errors import InputError

__all__ = ["READERS", "read_table", "write_table"]

READERS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".xlsx": "excel", ".xlsm": "excel",
           ".xls": "excel", ".parquet": "parquet", ".pq": "parquet"}  # fmt: skip


def read_table(path: str | Path, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read CSV/TSV, Excel (first sheet unless ``sheet``) or Parquet into a DataFrame.

    Blank cells become missing; every other CSV/Excel cell is kept as text.
    Raises FileNotFoundError, or InputError naming the file when it cannot be parsed.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"unsupported file type {path.suffix!r}; use .csv, .tsv, .xlsx or .parquet",
            file=str(path),
            rule="file type",
        )
    used = None
    try:
        if kind in ("csv", "tsv"):
            text, used = decode_bytes(path.read_bytes(), str(path))
            frame = pd.read_csv(
                io.StringIO(text), sep="," if kind == "csv" else "\t", dtype=str,
                keep_default_na=False, na_values=[""],
            )  # fmt: skip
        elif kind == "excel":
            frame = pd.read_excel(path, sheet_name=sheet, dtype=str)
        else:
            frame = pd.read_parquet(path)
    except pd.errors.ParserError as exc:  # before ValueError, of which it is a subclass
        raise InputError(f"cannot parse the file: {exc}", file=str(path), rule="readable") from None
    except (ValueError, OSError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"cannot read the file: {exc}", file=str(path), rule="readable") from None
    if used is not None:
        frame.attrs["encoding"] = used
    return frame


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write CSV, Excel or Parquet by extension (CSV for anything else)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        frame.to_excel(path, index=False)
    elif suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
