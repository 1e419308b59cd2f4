"""Excel workbooks (``.xlsx``/``.xlsm``): one sheet per table, named like the table.

Read with openpyxl in read-only mode; line numbers are the spreadsheet's row numbers.
A formula cell is read through the result Excel saved with it; a formula cell without a
saved result (a workbook written by a program that does not calculate, e.g. openpyxl or
a script) is a ``formula_without_value`` problem, never a blank
(:func:`formulas_without_value`). Every sheet's header row is checked for direct
identifiers, hidden and very hidden sheets included, also when the sheet is not a table
(:func:`iopkit.privacy.check_identifiers`); hidden sheets are named in a note.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iopkit.data.bundle import Bundle
from iopkit.data.schemas import TABLE_ORDER
from iopkit.data.sources.registry import BundleWriter, ReadOptions, SourceHandler, finish_bundle
from iopkit.data.sources.text import check_header, date_columns
from iopkit.errors import InputError
from iopkit.privacy import check_identifiers

__all__ = ["HANDLER", "WRITER", "formulas_without_value", "read_excel"]

#: a formula element in a worksheet's XML (``<f>``, ``<f t="shared" …>``, ``<x:f>``)
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the (zip) workbook holds a formula element (cheap scan)."""
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    with zf.open(name) as fh:
                        tail = b""
                        while chunk := fh.read(1 << 20):
                            if _FORMULA_TAG.search(tail + chunk):
                                return True
                            tail = chunk[-8:]
    except (zipfile.BadZipFile, OSError, KeyError):
        return False
    return False


def formulas_without_value(
    path: Path, sheets: Iterable[str]
) -> dict[str, list[tuple[int, int, str]]]:
    """Formula cells with no saved result, per sheet: ``[(row, column index from 0, formula)]``.

    openpyxl reads a formula's saved result (``data_only=True``) or its text, never both,
    so a second read-only pass over the formulas is made — only when the workbook's XML
    holds a formula at all. Rows are the spreadsheet's row numbers.
    """
    import openpyxl

    names = list(sheets)
    if not names or not _has_formulas(path):
        return {}
    out: dict[str, list[tuple[int, int, str]]] = {}
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        for name in names:
            found = []
            rows = zip(
                values[name].iter_rows(values_only=True),
                formulas[name].iter_rows(values_only=True),
                strict=False,
            )
            for rownum, (vals, forms) in enumerate(rows, start=1):
                for j, f in enumerate(forms):
                    v = vals[j] if j < len(vals) else None
                    if v is None and isinstance(f, str) and f.startswith("="):
                        found.append((rownum, j, f))
            if found:
                out[name] = found
    finally:
        values.close()
        formulas.close()
    return out


def _column_letter(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(j + 1)


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
    notes: list[str] = []
    headers: dict[str, list[str]] = {}
    try:
        sheets = {name.strip().lower(): name for name in wb.sheetnames}
        read = {sheets[t] for t in TABLE_ORDER if t in sheets}
        for name in wb.sheetnames:
            ws = wb[name]
            state = getattr(ws, "sheet_state", "visible")
            if state != "visible":
                what = "very hidden" if state == "veryHidden" else "hidden"
                use = "read as a table" if name in read else "not a table; its header checked"
                notes.append(f"{path}: sheet {name!r} is {what} ({use})")
            if name not in read:
                headers[f"{path} [sheet {name}]"] = _first_row(ws)
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
    # sheets that are not tables (hidden or not) may not carry identifiers either
    check_identifiers({where: (None, cols) for where, cols in headers.items() if cols})
    by_sheet = {sheets[t]: t for t in tables}
    for sheet, cells in formulas_without_value(path, by_sheet).items():
        table = by_sheet[sheet]
        header = list(tables[table].columns)
        head_row = int(lines[table][0]) - 1 if len(lines[table]) else 1
        data_rows = {int(r) for r in lines[table]}
        for rownum, j, formula in cells:
            if rownum not in data_rows:
                if rownum <= head_row:
                    raise InputError(
                        f"header cell {_column_letter(j)}{rownum} is the formula {formula} "
                        "with no saved result; type the column name",
                        file=files[table],
                        row=rownum,
                        rule="formula_without_value",
                    )
                continue
            problems.append(
                {
                    "table": table,
                    "file": files[table],
                    "source_line": rownum,
                    "column": header[j] if j < len(header) else None,
                    "value": formula,
                    "rule": "formula_without_value",
                    "message": f"cell {_column_letter(j)}{rownum} holds the formula {formula} "
                    "but no saved result (the workbook was written by a program that does not "
                    "calculate formulas); open and save it in Excel or LibreOffice, or type the "
                    "value — never read as a blank",
                }
            )
    if not tables:
        raise InputError(
            f"no sheet named like a table ({', '.join(TABLE_ORDER)})",
            file=str(path),
            rule="missing_table",
        )
    problems.sort(key=lambda p: (TABLE_ORDER.index(p["table"]), p["source_line"]))
    return finish_bundle(tables, files, lines, problems, notes, str(path), strict)


def _first_row(ws: Any) -> list[str]:
    """The first non-blank row of a sheet as text (its header, if it has one)."""
    for values in ws.iter_rows(values_only=True):
        cells = ["" if v is None else str(v).strip() for v in values or ()]
        if any(cells):
            return [c for c in cells if c]
    return []


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
