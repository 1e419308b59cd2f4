"""Text shared by the data sources and the single-table reader: decoding, CSV, ISO dates.

:func:`decode_bytes` decides a file's encoding and says how; :func:`read_csv_text` parses CSV
exactly (source lines kept, field-count problems reported); :func:`dates_as_text` writes date
columns as ISO text. Used by the folder, REDCap and SQL handlers and by
:mod:`iopkit.data.readers` (``iopkit score``), so a CSV file reads the same everywhere.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iopkit.data.bundle import EXTRA_FIELDS
from iopkit.data.schemas import TABLES
from iopkit.errors import InputError

__all__ = [
    "DELIMITER_NAMES",
    "ENCODING_LABELS",
    "check_header",
    "date_columns",
    "dates_as_text",
    "decode_bytes",
    "encoding_label",
    "read_csv_file",
    "read_csv_text",
    "require_regular_file",
    "sniff_delimiter",
]


def decode_bytes(data: bytes, file: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode a text file and say how: UTF-8 (with or without BOM), else Latin-1, else fail.

    Latin-1 can decode any byte sequence, so it is only used when the bytes are not valid
    UTF-8 and contain no byte in 0x80–0x9F (which Latin-1 maps to invisible control
    characters and which usually means Windows-1252). ``encoding`` (e.g. ``"cp1252"``) is
    used for bytes that are not valid UTF-8; valid UTF-8 stays UTF-8 whatever is given, so a
    folder mixing the two is read right. Returns (text, encoding used).
    """
    if encoding:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(
                f"cannot decode as {encoding}: {exc}", file=file, rule="encoding"
            ) from None
        if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig") and not data.isascii():
            # The given encoding is for files that are NOT UTF-8: a file that is valid UTF-8
            # with non-ASCII text would be garbled by an 8-bit code page (an em dash becomes
            # "â€”"), so it is read as UTF-8 and the encoding used is reported.
            try:
                return data.decode("utf-8-sig"), "utf-8"
            except UnicodeDecodeError:
                pass
        return text, encoding
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode Text" export: UTF-16 with a byte-order mark, tab-separated
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(
                f"starts with a UTF-16 byte-order mark but is not valid UTF-16 ({exc.reason})",
                file=file,
                rule="encoding",
            ) from None
    if b"\x00" in data:
        nul = data.index(b"\x00")
        raise InputError(
            "contains NUL bytes: not a text file (a binary file, or UTF-16 text without a "
            "byte-order mark); save it as CSV UTF-8",
            file=file,
            row=data[:nul].count(b"\n") + 1,
            rule="encoding",
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(
                "starts with a UTF-8 byte-order mark but byte "
                f"0x{data[exc.start]:02X} is not UTF-8",
                file=file,
                row=line,
                rule="encoding",
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        c1 = re.search(rb"[\x80-\x9f]", data)
        if c1:
            c1_line = data[: c1.start()].count(b"\n") + 1
            raise InputError(
                f"not valid UTF-8 (byte 0x{data[exc.start]:02X} on line {line}) and not Latin-1 "
                f"text either (byte 0x{data[c1.start()]:02X} on line {c1_line} is a control "
                "character in Latin-1; the file is probably Windows-1252). Re-save it as UTF-8 "
                "or give the encoding (--encoding cp1252; encoding='cp1252' in Python)",
                file=file,
                row=c1_line,
                rule="encoding",
            ) from None
        return data.decode("latin-1"), "latin-1"


#: How a message names each encoding :func:`decode_bytes` reports.
ENCODING_LABELS: dict[str, str] = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with byte-order mark",
    "latin-1": "Latin-1 (ISO-8859-1; not valid UTF-8)",
    "utf-16": "UTF-16 (Excel Unicode Text)",
}


def encoding_label(used: str) -> str:
    """How a note names the encoding a file was read as (``"UTF-8"``, ``"Latin-1 (…)"``)."""
    return ENCODING_LABELS.get(used, used)


DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def sniff_delimiter(text: str) -> str:
    """The field separator of CSV text, judged from its first non-blank line (the header).

    A comma unless the header has no comma but a semicolon (Excel in locales whose decimal
    mark is a comma) or a tab; callers report which one was used.
    """
    header = next((ln for ln in text.splitlines() if ln.strip()), "")
    if "," not in header:
        for sep in (";", "\t"):
            if sep in header:
                return sep
    return ","


def read_csv_text(
    text: str, file: str, table: str, *, delimiter: str | None = None
) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
    """Parse CSV text exactly: returns (frame of strings/None, source line of each row, problems).

    Blank lines are skipped but counted, so ``lines`` match what the user sees in an editor
    (header = line 1). A row with a different number of fields than the header is kept
    (padded with blanks; fields beyond the header kept in column
    :data:`~iopkit.data.bundle.EXTRA_FIELDS`) and reported with the whole row as its value,
    so the validator rejects it and the rejects keep every field.
    ``delimiter`` None: sniffed from the header (:func:`sniff_delimiter`); the one used is
    kept in ``frame.attrs["delimiter"]``.
    """
    sep = sniff_delimiter(text) if delimiter is None else delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    problems: list[dict] = []
    extras: dict[int, str] = {}
    for line, record in _records(reader, file):
        if not record or all(not f.strip() for f in record):
            continue
        if header is None:
            header = [h.strip() for h in record]
            check_header(header, file)
            continue
        if len(record) != len(header):
            problems.append(
                {
                    "table": table,
                    "file": file,
                    "source_line": line,
                    "column": None,
                    "value": sep.join(record),
                    "rule": "field_count",
                    "message": f"row has {len(record)} fields, the header has {len(header)}"
                    + _open_quote_hint(record, line, reader.line_num),
                }
            )
            extra = record[len(header) :]
            record = (record + [""] * len(header))[: len(header)]
            if extra:  # kept whole: the extra fields travel with the row into the rejects
                extras[len(rows)] = sep.join(extra)
        rows.append(record)
        lines.append(line)
    if header is None:
        raise InputError("file is empty (no header line)", file=file, rule="header")
    if lines and reader.line_num > lines[-1] and _quote_left_open(text, lines[-1]):
        # csv reads an unclosed quote to the end of the file without complaint
        last, end = int(lines[-1]), reader.line_num
        if problems and problems[-1]["source_line"] == last:
            problems.pop()
        problems.append(
            {
                "table": table,
                "file": file,
                "source_line": last,
                "column": None,
                "value": sep.join(rows[-1])
                + (sep + extras[len(rows) - 1] if extras.get(len(rows) - 1) else ""),
                "rule": "unclosed_quote",
                "message": f"a quote opened on line {last} is never closed: lines {last}–{end} "
                "were read as one row; close the quote or remove it",
            }
        )
    frame = (
        pd.DataFrame(rows, columns=header, dtype=object)
        if rows
        else pd.DataFrame({h: pd.Series(dtype=object) for h in header})
    )
    for col in frame.columns:
        s = frame[col]
        frame[col] = s.where(s.str.strip().ne(""), None)
    if extras:
        frame[EXTRA_FIELDS] = pd.Series(extras, dtype=object).reindex(frame.index)
    frame.attrs["delimiter"] = sep
    return frame, np.asarray(lines, dtype=np.int64), problems


def _records(reader: Any, file: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record began, fields) for each row of a :func:`csv.reader`; a parse
    error (a field longer than :func:`csv.field_size_limit`, 131,072 characters by default)
    is an InputError naming that line, never a traceback."""
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            limit = csv.field_size_limit()
            if "field larger than field limit" in str(exc):
                msg = (
                    f"a field starting on line {line} is longer than {limit:,} characters "
                    "(the CSV field size limit): often a quote opened there and never closed; "
                    "otherwise shorten the text"
                )
            else:
                msg = f"cannot parse the CSV row starting on line {line}: {exc}"
            raise InputError(msg, file=file, row=line, rule="csv_syntax") from None
        yield line, record
        line = reader.line_num + 1


def _quote_left_open(text: str, line: int) -> bool:
    """True when the text from ``line`` (1-based, as :attr:`csv.reader.line_num` counts
    lines) to the end holds an odd number of quote characters (``""`` counts twice)."""
    start = 0
    if line > 1:
        breaks = list(itertools.islice(re.finditer(r"\r\n|\r|\n", text), line - 1))
        if len(breaks) < line - 1:
            return False
        start = breaks[-1].end()
    return text.count('"', start) % 2 == 1


def _open_quote_hint(record: list[str], line: int, end: int) -> str:
    """For a ragged record spanning several lines: where the quoted field that swallowed
    the line breaks opened (usually a quote never closed), else ``""``."""
    if end <= line:
        return ""
    opened = line
    for f in record:
        if "\n" in f or "\r" in f:
            return (
                f"; a quote opened on line {opened} is not closed until line {end} "
                f"(lines {opened}–{end} were read as one row: is a closing quote missing?)"
            )
        opened += f.count("\n")
    return ""


def require_regular_file(path: Path) -> None:
    """Refuse a folder or a special file (named pipe, device, socket) given as a table file:
    reading a FIFO would wait for a writer forever."""
    if path.is_dir():
        raise InputError("is a folder, not a table file", file=str(path), rule="unreadable")
    if path.exists() and not path.is_file():
        raise InputError(
            "is not a regular file (a named pipe, device or socket); export the table to a file",
            file=str(path),
            rule="unreadable",
        )


def check_header(header: list[str], file: str) -> None:
    """Refuse a header with an empty or a repeated column name (InputError naming line 1)."""
    if any(not h for h in header):
        pos = [i + 1 for i, h in enumerate(header) if not h]
        raise InputError(
            f"header has empty column name(s) at position(s) {pos}", file=file, row=1, rule="header"
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(f"header repeats column name(s) {dupes}", file=file, row=1, rule="header")


def read_csv_file(
    path: Path, table: str, encoding: str | None = None
) -> tuple[pd.DataFrame, np.ndarray, list[dict], str]:
    """Read one CSV file; returns (frame, lines, problems, encoding used)."""
    require_regular_file(path)
    text, used = decode_bytes(path.read_bytes(), str(path), encoding)
    frame, lines, problems = read_csv_text(text, str(path), table)
    return frame, lines, problems, used


def date_columns(table: str, frame: pd.DataFrame) -> list[str]:
    """Date columns of ``frame``: by the table's contract, else by dtype (tables outside it)."""
    spec = TABLES.get(table)
    if spec is None:
        return [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    return [c.name for c in spec.columns if c.kind == "date" and c.name in frame.columns]


def _iso(v: object) -> object:
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime)) and v == pd.Timestamp(v).normalize():
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v.isoformat()
    return v


def dates_as_text(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Date columns as ISO text (dates with a time of day are kept as they are)."""
    out = frame.copy()
    for col in date_columns(table, out):
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            midnight = s.isna() | (s == s.dt.normalize())
            if midnight.all():
                out[col] = s.dt.strftime("%Y-%m-%d").astype(object).where(s.notna(), None)
        elif s.dtype == object:
            out[col] = s.map(_iso)
    return out
