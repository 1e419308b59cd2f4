"""Excel workbooks (``.xlsx``/``.xlsm``): one sheet per table, named like the table.

Read with openpyxl in read-only mode; line numbers are the spreadsheet's row numbers.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iopkit.data.bundle import Bundle
from iopkit.data.schemas import TABLE_ORDER
from iopkit.data.sources.registry import BundleWriter, ReadOptions, SourceHandler, finish_bundle
from iopkit.data.sources.text import check_header, date_columns
from iopkit.errors import InputError

__all__ = ["HANDLER", "WRITER", "read_excel"]

#: Workbook suffixes read as a bundle.
EXCEL_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")


def read_excel(path: Path, *, strict: bool = False) -> Bundle:
    """Read an Excel workbook, one sheet per table (sheet named like the table).

    Line numbers are the spreadsheet's row numbers (header in row 1). Date cells arrive as
    dates; text in date columns is parsed (or reported) by the validator.
    """
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException
        hint = (
            " — not an Excel workbook (an .xlsx file is a zip archive; was another file "
            "renamed to .xlsx?)"
            if isinstance(exc, zipfile.BadZipFile)
            else ""
        )
        raise InputError(
            f"cannot open Excel workbook: {exc}{hint}", file=str(path), rule="unreadable"
        ) from None
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    lines: dict[str, np.ndarray] = {}
    problems: list[dict] = []
    try:
        sheets = {name.strip().lower(): name for name in wb.sheetnames}
        for table in TABLE_ORDER:
            if table not in sheets:
                continue
            ws = wb[sheets[table]]
            where = f"{path} [sheet {sheets[table]}]"
            header: list[str] | None = None
            rows: list[tuple[Any, ...]] = []
            ln: list[int] = []
            for rownum, values in enumerate(ws.iter_rows(values_only=True), start=1):
                if values is None or all(
                    v is None or (isinstance(v, str) and not v.strip()) for v in values
                ):
                    continue
                if header is None:
                    header = ["" if v is None else str(v).strip() for v in values]
                    while header and not header[-1]:
                        header.pop()
                    check_header(header, where)
                    continue
                values = tuple(values)
                extra = [v for v in values[len(header) :] if v is not None]
                if extra:
                    problems.append(
                        {
                            "table": table,
                            "file": where,
                            "source_line": rownum,
                            "column": None,
                            "value": str(extra[0]),
                            "rule": "field_count",
                            "message": "row has values to the right of the last header column",
                        }
                    )
                values = (values + (None,) * len(header))[: len(header)]
                rows.append(
                    tuple(None if isinstance(v, str) and not v.strip() else v for v in values)
                )
                ln.append(rownum)
            if header is None:
                continue
            frame = (
                pd.DataFrame(rows, columns=header, dtype=object)
                if rows
                else pd.DataFrame({h: pd.Series(dtype=object) for h in header})
            )
            tables[table], files[table], lines[table] = frame, where, np.asarray(ln, dtype=np.int64)
    finally:
        wb.close()
    if not tables:
        raise InputError(
            f"no sheet named like a table ({', '.join(TABLE_ORDER)})",
            file=str(path),
            rule="missing_table",
        )
    return finish_bundle(tables, files, lines, problems, [], str(path), strict)


def _write(tables: dict[str, pd.DataFrame], dest: Path) -> Path:
    """One sheet per table; date columns as date cells."""
    with pd.ExcelWriter(dest, engine="openpyxl") as writer:
        for t, frame in tables.items():
            frame = frame.copy()
            for col in date_columns(t, frame):
                if pd.api.types.is_datetime64_any_dtype(frame[col]):
                    frame[col] = frame[col].dt.date.astype(object).where(frame[col].notna(), None)
            frame.to_excel(writer, sheet_name=t, index=False)
    return dest


def _read(location: str, options: ReadOptions) -> Bundle:
    return read_excel(Path(location), strict=options.strict)


HANDLER = SourceHandler(kind="excel", keys=EXCEL_SUFFIXES, read=_read, label=".xlsx")
WRITER = BundleWriter(format="excel", write=_write, folder=False, suffixes=(".xlsx",))
