"""Read and write data bundles: CSV/Parquet folders, Excel workbooks, SQL databases, REDCap.

One entry point, :func:`load_bundle`, picks the reader from the source:

* a folder holding ``<table>.csv`` or ``<table>.parquet`` files;
* an Excel workbook (``.xlsx``/``.xlsm``) with one sheet per table;
* a SQLite file (``.sqlite``, ``.sqlite3``, ``.db``) or any SQLAlchemy URL (``dialect://…``);
* a REDCap flat export (``.csv``) together with a mapping file (``mapping=``), see
  :mod:`iopkit.data.redcap`.

Readers do no type conversion: values arrive as text (CSV) or as the source's own types
(Excel cells, Parquet, SQL); :func:`iopkit.data.validate.validate_bundle` converts and reports.
Direct identifiers are refused before anything else (:func:`check_identifiers`).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iopkit.data.bundle import Bundle, problems_frame
from iopkit.data.schemas import REQUIRED_TABLES, TABLE_ORDER, TABLES
from iopkit.errors import InputError

FORMATS: tuple[str, ...] = ("csv", "parquet", "excel", "sqlite")
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
SQLITE_SUFFIXES = {".sqlite", ".sqlite3", ".db"}

# --- direct identifiers -----------------------------------------------------------------------
#: Column-name tokens that mark a direct identifier (HIPAA Safe Harbor list, 45 CFR
#: 164.514(b)(2): names, addresses incl. ZIP, dates of birth, phone, e-mail, SSN, MRN).
_IDENTIFIER_TOKENS = {
    "name",
    "names",
    "firstname",
    "lastname",
    "surname",
    "forename",
    "fullname",
    "givenname",
    "familyname",
    "mrn",
    "dob",
    "phone",
    "telephone",
    "mobile",
    "cell",
    "email",
    "mail",
    "address",
    "street",
    "ssn",
    "zip",
    "zipcode",
    "postcode",
    "postal",
    "nhs",
    "fax",
}
_IDENTIFIER_PHRASES = (
    "date_of_birth",
    "birth_date",
    "birthdate",
    "birthday",
    "social_security",
    "medical_record",
    "record_number",
    "e_mail",
    "first_name",
    "last_name",
    "post_code",
)
#: Columns that look like identifiers but are not (table, column); ``None`` = any table.
_IDENTIFIER_ALLOWED = {
    ("cohorts", "name"),
    (None, "redcap_event_name"),
    (None, "redcap_repeat_instrument"),
    (None, "redcap_repeat_instance"),
    (None, "redcap_data_access_group"),
}


def looks_like_identifier(column: str, table: str | None = None) -> bool:
    """True when a column name looks like a direct identifier (name, MRN, DOB, phone, …)."""
    if (table, column) in _IDENTIFIER_ALLOWED or (None, column) in _IDENTIFIER_ALLOWED:
        return False
    norm = re.sub(r"[^a-z0-9]+", "_", str(column).strip().lower()).strip("_")
    tokens = set(norm.split("_"))
    if tokens & _IDENTIFIER_TOKENS:
        return True
    return any(phrase in norm for phrase in _IDENTIFIER_PHRASES) or norm.replace("_", "") in {
        "dateofbirth",
        "firstname",
        "lastname",
        "emailaddress",
        "phonenumber",
    }


def check_identifiers(columns: Mapping[str, tuple[str | None, list[str]]]) -> None:
    """Refuse direct identifiers. ``columns``: file -> (table or None, column names).

    Raises :class:`InputError` listing every offending file and column.
    """
    found = {
        file: [c for c in cols if looks_like_identifier(c, table)]
        for file, (table, cols) in columns.items()
    }
    found = {f: c for f, c in found.items() if c}
    if found:
        listing = "; ".join(f"{f}: {', '.join(map(repr, c))}" for f, c in found.items())
        first_file, first_cols = next(iter(found.items()))
        raise InputError(
            "direct identifiers are not accepted — remove these columns and use pseudonymous "
            f"ids (P00001…) before loading: {listing}",
            file=first_file,
            column=first_cols[0],
            rule="direct_identifier",
        )


# --- text decoding ----------------------------------------------------------------------------
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


_ENCODING_LABEL = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with byte-order mark",
    "latin-1": "Latin-1 (ISO-8859-1; not valid UTF-8)",
    "utf-16": "UTF-16 (Excel Unicode Text)",
}


# --- CSV --------------------------------------------------------------------------------------
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
    (padded with blanks or with extra fields dropped) and reported, so the validator rejects it.
    ``delimiter`` None: sniffed from the header (:func:`sniff_delimiter`); the one used is
    kept in ``frame.attrs["delimiter"]``.
    """
    sep = sniff_delimiter(text) if delimiter is None else delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    problems: list[dict] = []
    start = 1
    for record in reader:
        line = start
        start = reader.line_num + 1
        if not record or all(not f.strip() for f in record):
            continue
        if header is None:
            header = [h.strip() for h in record]
            _check_header(header, file)
            continue
        if len(record) != len(header):
            problems.append(
                {
                    "table": table,
                    "file": file,
                    "source_line": line,
                    "column": None,
                    "value": ",".join(record)[:80],
                    "rule": "field_count",
                    "message": f"row has {len(record)} fields, the header has {len(header)}",
                }
            )
            record = (record + [""] * len(header))[: len(header)]
        rows.append(record)
        lines.append(line)
    if header is None:
        raise InputError("file is empty (no header line)", file=file, rule="header")
    frame = (
        pd.DataFrame(rows, columns=header, dtype=object)
        if rows
        else pd.DataFrame({h: pd.Series(dtype=object) for h in header})
    )
    for col in frame.columns:
        s = frame[col]
        frame[col] = s.where(s.str.strip().ne(""), None)
    frame.attrs["delimiter"] = sep
    return frame, np.asarray(lines, dtype=np.int64), problems


def _check_header(header: list[str], file: str) -> None:
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
    if path.is_dir():
        raise InputError("is a folder, not a CSV file", file=str(path), rule="unreadable")
    text, used = decode_bytes(path.read_bytes(), str(path), encoding)
    frame, lines, problems = read_csv_text(text, str(path), table)
    return frame, lines, problems, used


# --- readers ----------------------------------------------------------------------------------
def _finish(
    tables: dict[str, pd.DataFrame],
    files: dict[str, str],
    lines: dict[str, np.ndarray],
    problems: list[dict],
    notes: list[str],
    source: str,
    strict: bool,
) -> Bundle:
    check_identifiers({files[t]: (t, [str(c) for c in tables[t].columns]) for t in tables})
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise InputError(
            f"the bundle has no {', '.join(missing)} table(s); expected one of each of "
            f"{', '.join(TABLE_ORDER)} (only {', '.join(REQUIRED_TABLES)} are required)",
            file=source,
            rule="missing_table",
        )
    if strict and problems:
        p = problems[0]
        raise InputError(
            p["message"], file=p["file"], row=p["source_line"], column=p["column"], rule=p["rule"]
        )
    return Bundle(
        tables=tables,
        files=files,
        lines=lines,
        load_problems=problems_frame(problems),
        notes=notes,
        source=source,
    )


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
            encodings.setdefault(_ENCODING_LABEL.get(used, used), []).append(csv_path.name)
            sep = frame.attrs.get("delimiter", ",")
            if sep != ",":
                notes.append(
                    f"{csv_path}: fields separated by {sep!r} ({DELIMITER_NAMES[sep]}), "
                    "not commas; read with that separator"
                )
            problems += probs
            files[table] = str(csv_path)
        elif pq_path.exists():
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
    return _finish(tables, files, lines, problems, notes, str(folder), strict)


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
                    _check_header(header, where)
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
    return _finish(tables, files, lines, problems, [], str(path), strict)


def read_sql(url: str, *, strict: bool = False) -> Bundle:
    """Read the bundle's tables from a SQL database (any SQLAlchemy URL; same table names).

    Rows are read in storage order; ``source_line`` is the row number + 1.
    """
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            present = {n.lower(): n for n in sa.inspect(conn).get_table_names()}
            tables: dict[str, pd.DataFrame] = {}
            for table in TABLE_ORDER:
                if table in present:
                    frame = pd.read_sql_query(sa.text(f'SELECT * FROM "{present[table]}"'), conn)
                    tables[table] = frame.astype(object).where(frame.notna(), None)
    except sa.exc.SQLAlchemyError as exc:
        raise InputError(
            f"cannot read database: {exc.__class__.__name__}: {exc}",
            file=_redact(url),
            rule="unreadable",
        ) from None
    except ImportError as exc:  # the URL names a database whose driver is not installed
        raise InputError(
            f"the database driver for this URL is not installed ({exc.name or exc}); "
            "install it into this environment (e.g. pip install psycopg for postgresql://)",
            file=_redact(url),
            rule="unreadable",
        ) from None
    finally:
        if "engine" in locals():
            engine.dispose()
    if not tables:
        raise InputError(
            f"no tables named like {', '.join(TABLE_ORDER)}",
            file=_redact(url),
            rule="missing_table",
        )
    files = {t: f"{_redact(url)} table {t}" for t in tables}
    lines = {t: np.arange(2, len(f) + 2, dtype=np.int64) for t, f in tables.items()}
    return _finish(tables, files, lines, [], [], _redact(url), strict)


def _redact(url: str) -> str:
    """Hide a password in a database URL before it goes into a message."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


def load_bundle(
    source: str | Path,
    *,
    mapping: str | Path | Mapping[str, Any] | None = None,
    strict: bool = False,
    encoding: str | None = None,
) -> Bundle:
    """Load a data bundle from a folder, workbook, database or REDCap export.

    ``mapping`` (a YAML path or dict) makes ``source`` a REDCap flat export. ``strict`` raises
    :class:`InputError` on the first problem found while reading. ``encoding`` forces a text
    encoding for CSV files; by default UTF-8 (with or without BOM) is tried, then Latin-1,
    and the choice is recorded in ``bundle.notes``.
    """
    if mapping is not None:
        from iopkit.data.redcap import read_redcap

        return read_redcap(source, mapping, encoding=encoding, strict=strict)
    text = str(source)
    if not text.strip():
        raise InputError("no source given (a folder, .xlsx, .sqlite or database URL)",
                         rule="missing_source")  # fmt: skip
    if re.match(r"^[a-zA-Z][\w+]*://", text):
        return read_sql(text, strict=strict)
    path = Path(source)
    if not path.exists():
        raise InputError("source not found", file=str(path), rule="missing_source")
    if path.is_dir():
        return read_folder(path, encoding=encoding, strict=strict)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return read_excel(path, strict=strict)
    if suffix in SQLITE_SUFFIXES:
        return read_sql(f"sqlite:///{path.resolve()}", strict=strict)
    if suffix == ".csv":
        raise InputError(
            "a single CSV file is read as a REDCap export and needs a mapping file "
            "(--mapping); for a bundle of CSV files pass their folder",
            file=str(path),
            rule="source_kind",
        )
    raise InputError(
        f"unknown source kind {suffix!r}: expected a folder, .xlsx, .sqlite/.db, a SQLAlchemy URL "
        "or a REDCap .csv with a mapping",
        file=str(path),
        rule="source_kind",
    )


# --- writers ----------------------------------------------------------------------------------
def _date_columns(table: str, frame: pd.DataFrame) -> list[str]:
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


def _as_text_dates(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Date columns as ISO text (dates with a time of day are kept as they are)."""
    out = frame.copy()
    for col in _date_columns(table, out):
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            midnight = s.isna() | (s == s.dt.normalize())
            if midnight.all():
                out[col] = s.dt.strftime("%Y-%m-%d").astype(object).where(s.notna(), None)
        elif s.dtype == object:
            out[col] = s.map(_iso)
    return out


def write_bundle(
    bundle: Bundle | Mapping[str, pd.DataFrame], dest: str | Path, format: str = "csv"
) -> Path:
    """Write a bundle's tables as a CSV/Parquet folder, an Excel workbook or a SQLite file.

    ``dest`` is a folder for csv/parquet and a file for excel (``.xlsx``) and sqlite. Dates are
    written as ISO text (CSV, SQLite), date cells (Excel) or date columns (Parquet). Returns
    the path written.
    """
    tables = bundle.tables if isinstance(bundle, Bundle) else dict(bundle)
    order = [t for t in TABLE_ORDER if t in tables] + [t for t in tables if t not in TABLE_ORDER]
    dest = Path(dest)
    if format not in FORMATS:
        raise InputError(
            f"unknown format {format!r}; choose one of {', '.join(FORMATS)}", rule="format"
        )
    if format in ("csv", "parquet"):
        dest.mkdir(parents=True, exist_ok=True)
        for t in order:
            frame = tables[t].reset_index(drop=True)
            if format == "csv":
                _as_text_dates(t, frame).to_csv(dest / f"{t}.csv", index=False, lineterminator="\n")
            else:
                frame.to_parquet(dest / f"{t}.parquet", index=False)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    if format == "excel":
        with pd.ExcelWriter(dest, engine="openpyxl") as writer:
            for t in order:
                frame = tables[t].reset_index(drop=True).copy()
                for col in _date_columns(t, frame):
                    if pd.api.types.is_datetime64_any_dtype(frame[col]):
                        frame[col] = (
                            frame[col].dt.date.astype(object).where(frame[col].notna(), None)
                        )
                frame.to_excel(writer, sheet_name=t, index=False)
        return dest
    import sqlalchemy as sa

    if dest.exists():
        dest.unlink()
    engine = sa.create_engine(f"sqlite:///{dest.resolve()}")
    try:
        with engine.begin() as conn:
            for t in order:
                _as_text_dates(t, tables[t].reset_index(drop=True)).to_sql(
                    t, conn, index=False, chunksize=20_000
                )
    finally:
        engine.dispose()
    return dest
