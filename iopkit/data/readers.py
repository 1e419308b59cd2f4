"""Read one table of responses (CSV/TSV, Excel or Parquet) and write a result table back.

Used by ``iopkit score`` (:mod:`iopkit.cli.scales`); whole data bundles are read by the
registered sources (:mod:`iopkit.data.sources`). CSV and Excel cells are read as text so
that nothing is re-typed on the way through (IDs keep leading zeros, "N/A" stays "N/A"); the
scoring engine parses item answers itself and reports what it cannot parse. CSV text is
decoded like a bundle's CSV files (:func:`iopkit.data.sources.text.decode_bytes`: UTF-8 with
or without BOM, else Latin-1 when the bytes allow it, else a message naming the line); the
encoding used is kept in ``frame.attrs["encoding"]``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from iopkit.data.sources.excel import formulas_without_value
from iopkit.data.sources.text import (
    check_header,
    decode_bytes,
    read_csv_text,
    require_regular_file,
)
from iopkit.errors import InputError

__all__ = ["READERS", "read_table", "read_table_lines", "write_table"]

READERS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".xlsx": "excel", ".xlsm": "excel",
           ".xls": "excel", ".parquet": "parquet", ".pq": "parquet"}  # fmt: skip


def read_table(
    path: str | Path, *, sheet: str | int = 0, encoding: str | None = None
) -> pd.DataFrame:
    """Read CSV/TSV, Excel or Parquet into a DataFrame (see :func:`read_table_lines`)."""
    return read_table_lines(path, sheet=sheet, encoding=encoding)[0]


def read_table_lines(
    path: str | Path, *, sheet: str | int = 0, encoding: str | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Read CSV/TSV, Excel (first sheet unless ``sheet``) or Parquet into a DataFrame.

    Blank cells become missing; every other CSV/Excel cell is kept as text. CSV is parsed
    exactly like a bundle's CSV files (:func:`iopkit.data.sources.text.read_csv_text`): the
    separator is sniffed from the header (comma, else semicolon or tab; kept in
    ``frame.attrs["delimiter"]``), a header with an empty or repeated column name and a row
    whose field count differs from the header's are refused (InputError naming the line),
    never shifted or padded. ``encoding`` forces a text encoding for CSV (see
    :func:`iopkit.data.sources.text.decode_bytes`). Raises FileNotFoundError, or InputError
    naming the file.

    Returns (frame, line): ``line[i]`` is the line of row ``i`` as the user sees it in the
    file (header = 1; blank lines and line breaks inside quoted cells counted). For Excel
    and Parquet it is the row position + 2.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    require_regular_file(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"unsupported file type {path.suffix!r}; use .csv, .tsv, .xlsx or .parquet",
            file=str(path),
            rule="file type",
        )
    if kind in ("csv", "tsv"):
        text, used = decode_bytes(path.read_bytes(), str(path), encoding)
        frame, lines, problems = read_csv_text(
            text, str(path), "table", delimiter=None if kind == "csv" else "\t"
        )
        if problems:
            p = problems[0]
            more = f" ({len(problems)} such row(s))" if len(problems) > 1 else ""
            raise InputError(
                p["message"] + more, file=str(path), row=p["source_line"], rule=p["rule"]
            )
        frame.attrs["encoding"] = used
        return frame, lines
    try:
        frame = _read_excel(path, sheet) if kind == "excel" else pd.read_parquet(path)
    except InputError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"cannot read the file: {exc}", file=str(path), rule="readable") from None
    return frame, np.arange(2, len(frame) + 2, dtype=np.int64)


def _read_excel(path: Path, sheet: str | int) -> pd.DataFrame:
    """One sheet as text; refuses a file that is not a workbook and a repeated header name."""
    if not zipfile.is_zipfile(path) and path.suffix.lower() != ".xls":
        raise InputError(
            "not an Excel workbook (an .xlsx file is a zip archive; this one is not — was "
            "another file renamed to .xlsx? Open it in Excel and save as .xlsx, or save as "
            "CSV and pass the .csv)",
            file=str(path),
            rule="readable",
        )
    try:
        xl = pd.ExcelFile(path)
    except Exception as exc:  # openpyxl/xlrd raise many types for damaged workbooks
        raise InputError(
            f"not an Excel workbook that can be opened: {exc}", file=str(path), rule="readable"
        ) from None
    with xl:
        if isinstance(sheet, str) and sheet not in xl.sheet_names:
            raise InputError(
                f"no sheet named {sheet!r}; the workbook has {', '.join(xl.sheet_names)}",
                file=str(path),
                rule="sheet",
            )
        if isinstance(sheet, int) and not 0 <= sheet < len(xl.sheet_names):
            raise InputError(
                f"no sheet number {sheet + 1}; the workbook has {len(xl.sheet_names)}",
                file=str(path),
                rule="sheet",
            )
        header = pd.read_excel(xl, sheet_name=sheet, header=None, nrows=1, dtype=str)
        frame = pd.read_excel(xl, sheet_name=sheet, dtype=str)
        name = sheet if isinstance(sheet, str) else xl.sheet_names[sheet]
    if path.suffix.lower() != ".xls":
        cells = formulas_without_value(path, [name]).get(name, [])
        if cells:
            from openpyxl.utils import get_column_letter

            row, j, formula = cells[0]
            more = f" ({len(cells)} such cells)" if len(cells) > 1 else ""
            raise InputError(
                f"cell {get_column_letter(j + 1)}{row} holds the formula {formula} but no saved "
                f"result{more}: the workbook was written by a program that does not calculate "
                "formulas, so the value is unknown (never read as a blank); open and save it "
                "in Excel or LibreOffice, or type the values",
                file=f"{path} [sheet {name}]",
                row=row,
                rule="formula_without_value",
            )
    names = ["" if pd.isna(v) else str(v).strip() for v in header.iloc[0]] if len(header) else []
    while names and not names[-1]:
        names.pop()
    check_header(names, f"{path} [sheet {sheet if isinstance(sheet, str) else sheet + 1}]")
    return frame


WRITERS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq")


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write CSV (.csv/.txt), TSV, Excel or Parquet by extension; refuse any other extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITERS:
        raise InputError(
            f"cannot write {suffix or 'a file without extension'!r}; use one of "
            f"{', '.join(WRITERS)}",
            file=str(path),
            rule="file type",
        )
    if suffix in (".xlsx", ".xlsm"):
        frame.to_excel(path, index=False)
    elif suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    return path
