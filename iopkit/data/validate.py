"""Validate a data bundle row by row: keep the good rows, set the bad ones aside, lose nothing.

:func:`validate_bundle` converts each table to its contract's types (reporting every cell it
cannot convert), runs the table's pandera schema lazily (vocabularies, ranges, required
values, date order), checks keys, then the cross-table rules in parent-before-child order:
references, cascading rejection, dates inside the episode (± a grace window), attendance on
the program's weekdays, sessions on catalog skills, assessment items against the scale
registry. Every problem is one row of ``result.problems`` (table, file, source_line, column,
value, rule, message); every row is either accepted or rejected, and
``rows_in == accepted + rejected`` holds for every table (asserted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from iopkit.data.bundle import PROBLEM_COLUMNS, Bundle, empty_problems
from iopkit.data.catalog import ProgramRules, ScaleSpec, scale_specs
from iopkit.data.schemas import (
    LONG_ITEM,
    LONG_RESPONSE,
    TABLE_ORDER,
    TABLES,
    is_long_assessments,
    item_columns,
    table_schema,
)
from iopkit.errors import InputError, IopkitError
from iopkit.vocab import WEEKDAY_NAMES

__all__ = ["ValidationResult", "validate_bundle", "write_rejects", "parse_dates", "parse_ints"]

_TEXT_DATE_FORMATS = (
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d. %B %Y",
    "%d %b. %Y",
)


@dataclass
class ValidationResult:
    """Outcome of :func:`validate_bundle`.

    ``tables``: accepted rows per table, typed (dates ``datetime64``, whole numbers ``Int64``),
    index = source line. ``rejects``: rejected rows per table as read, with ``source_line``,
    ``rules`` and ``reasons``. ``problems``: one row per problem. ``counts``: per table
    rows_in, accepted, rejected. ``notes``: decisions and skipped checks, in words.
    """

    tables: dict[str, pd.DataFrame]
    rejects: dict[str, pd.DataFrame]
    problems: pd.DataFrame
    counts: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return int(self.counts["rejected"].sum()) == 0 if len(self.counts) else True

    @property
    def n_rejected(self) -> int:
        return int(self.counts["rejected"].sum()) if len(self.counts) else 0

    def bundle(self) -> Bundle:
        """The accepted rows as a new :class:`Bundle` (source lines kept)."""
        tables = {t: f.reset_index(drop=True) for t, f in self.tables.items()}
        lines = {t: f.index.to_numpy(dtype=np.int64) for t, f in self.tables.items()}
        return Bundle(tables=tables, files=dict(self.files), lines=lines, notes=list(self.notes))


# --- cell conversion ------------------------------------------------------------------------
def _problems(
    rows: np.ndarray, values: Iterable, rule: str, messages: Iterable[str] | str
) -> pd.DataFrame:
    rows = np.asarray(rows, dtype=np.int64)
    msgs = [messages] * len(rows) if isinstance(messages, str) else list(messages)
    return pd.DataFrame({"row": rows, "value": list(values), "rule": rule, "message": msgs})


def parse_ints(s: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """Whole numbers from text or numbers; returns (Int64 series, problems by position).

    Problems: ``type`` for text that is not a number and for numbers with a fraction
    (3.5 is never rounded).
    """
    pos = np.arange(len(s))
    if pd.api.types.is_bool_dtype(s):
        return s.astype("Int64"), _problems([], [], "type", [])
    num = (
        pd.to_numeric(s, errors="coerce")
        if not pd.api.types.is_numeric_dtype(s)
        else s.astype("Float64")
    )
    num = pd.Series(np.asarray(num, dtype="float64"), index=s.index)
    present = s.notna().to_numpy()
    bad_text = present & num.isna().to_numpy()
    values = num.to_numpy()
    # inf, 1e400 and 99999999999999999999999 are not whole numbers a table can hold (Int64)
    huge = present & ~bad_text & ~(np.abs(values) < 2.0**53)
    bad_text |= huge
    finite = np.where(bad_text, 0.0, values)  # inf/NaN already reported; keep numpy quiet
    frac = present & ~bad_text & (np.abs(finite - np.round(finite)) > 1e-9)
    out = num.where(~(bad_text | frac))
    probs = pd.concat(
        [
            _problems(pos[bad_text & ~huge], s[bad_text & ~huge], "type", "not a whole number"),
            _problems(
                pos[huge], s[huge], "type", "not a whole number in range (|value| < 2^53)"
            ),
            _problems(
                pos[frac], s[frac], "type", "not a whole number (has a fraction; never rounded)"
            ),
        ],
        ignore_index=True,
    )
    return pd.array(np.round(out.to_numpy()), dtype="Int64"), probs


def parse_dates(s: pd.Series, dayfirst: bool | None = None) -> tuple[pd.Series, pd.DataFrame]:
    """Calendar dates from date cells or text; returns (datetime64 series, problems by position).

    Accepted: date/datetime cells at midnight; ISO ``YYYY-MM-DD`` (optionally ``00:00:00``);
    ``d/m/Y`` or ``m/d/Y`` (also with ``.`` or ``-``) when unambiguous or when ``dayfirst`` is
    given; month-name forms (``3 Apr 2025``, ``April 3, 2025``). Reported, never guessed:
    ambiguous day/month order (rule ``ambiguous_date``), a column mixing both orders
    (``mixed_date_formats``), impossible dates (``invalid_date``), two-digit years,
    times of day, bare numbers such as Excel serials, and anything else (``date_format``).
    """
    n = len(s)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    probs: list[pd.DataFrame] = []
    pos = np.arange(n)
    if pd.api.types.is_datetime64_any_dtype(s):
        vals = (
            pd.DatetimeIndex(s).tz_localize(None)
            if getattr(s.dt, "tz", None)
            else pd.DatetimeIndex(s)
        )
        timed = (vals != vals.normalize()) & vals.notna()
        out = np.where(timed, np.datetime64("NaT"), vals.to_numpy(dtype="datetime64[ns]"))
        probs.append(
            _problems(
                pos[timed],
                s[timed].astype(str),
                "date_has_time",
                "has a time of day; expected a date",
            )
        )
        return pd.Series(out, index=s.index), pd.concat(probs, ignore_index=True)
    obj = s.to_numpy(dtype=object)
    kinds = np.array([type(v).__name__ for v in obj], dtype=object)
    present = s.notna().to_numpy()
    is_str = kinds == "str"
    is_dt = np.isin(kinds, ["datetime", "Timestamp", "date", "datetime64"])
    if is_dt.any():
        ts = pd.to_datetime(pd.Series(obj[is_dt]), errors="coerce")
        timed = (ts != ts.dt.normalize()).to_numpy() & ts.notna().to_numpy()
        idx = pos[is_dt]
        out[idx[~timed]] = ts[~timed].to_numpy(dtype="datetime64[ns]")
        probs.append(
            _problems(
                idx[timed], obj[idx[timed]], "date_has_time", "has a time of day; expected a date"
            )
        )
    is_num = present & np.isin(kinds, ["int", "float", "int64", "float64", "Decimal"])
    if is_num.any():
        probs.append(
            _problems(
                pos[is_num],
                obj[is_num],
                "date_format",
                "a number in a date column (an Excel serial date?); "
                "format the cells as dates or write YYYY-MM-DD",
            )
        )
    other = present & ~is_str & ~is_dt & ~is_num
    if other.any():
        probs.append(_problems(pos[other], obj[other], "date_format", "not a date"))
    if is_str.any():
        idx = pos[is_str]
        st = pd.Series(obj[is_str], dtype=object).str.strip()
        done = np.zeros(len(st), dtype=bool)
        iso = st.str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]00:00(?::00(?:\.0+)?)?)?").to_numpy(
            dtype=bool
        )
        if iso.any():
            parsed = pd.to_datetime(
                st[iso].str.slice(0, 10).str.strip(), format="%Y-%m-%d", errors="coerce"
            )
            bad = parsed.isna().to_numpy()
            sub = idx[iso]
            out[sub[~bad]] = parsed[~bad].to_numpy(dtype="datetime64[ns]")
            probs.append(_problems(sub[bad], st[iso][bad], "invalid_date", "not a calendar date"))
            done |= iso
        timed = ~done & st.str.fullmatch(
            r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
        ).to_numpy(dtype=bool)
        probs.append(
            _problems(idx[timed], st[timed], "date_has_time", "has a time of day; expected a date")
        )
        done |= timed
        parts = st.str.extract(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
        numeric = ~done & parts[0].notna().to_numpy()
        if numeric.any():
            a = parts[0][numeric].astype(int).to_numpy()
            b = parts[1][numeric].astype(int).to_numpy()
            y = parts[2][numeric].astype(int).to_numpy()
            sub, vals = idx[numeric], st[numeric].to_numpy()
            day_ev, mon_ev = (a > 12) & (b <= 12), (b > 12) & (a <= 12)
            if dayfirst is None:
                if day_ev.any() and mon_ev.any():
                    probs.append(
                        _problems(
                            sub,
                            vals,
                            "mixed_date_formats",
                            "the column mixes day-first and month-first dates; "
                            "pass dayfirst to say which",
                        )
                    )
                    day = month = None
                else:
                    amb = (a <= 12) & (b <= 12) & (a != b)
                    probs.append(
                        _problems(
                            sub[amb],
                            vals[amb],
                            "ambiguous_date",
                            [
                                f"could be {d} {_month(m)} or {m} {_month(d)}; "
                                "pass dayfirst=True or False"
                                for d, m in zip(a[amb], b[amb], strict=True)
                            ],
                        )
                    )
                    dayf = day_ev | (~mon_ev & ~amb)  # a == b reads the same either way
                    day, month = np.where(dayf, a, b), np.where(dayf, b, a)
                    keep = ~amb
                    sub, vals, day, month, y = (
                        sub[keep],
                        vals[keep],
                        day[keep],
                        month[keep],
                        y[keep],
                    )
            else:
                day, month = (a, b) if dayfirst else (b, a)
            if day is not None:
                parsed = pd.to_datetime(
                    pd.DataFrame({"year": y, "month": month, "day": day}), errors="coerce"
                )
                bad = parsed.isna().to_numpy()
                out[sub[~bad]] = parsed[~bad].to_numpy(dtype="datetime64[ns]")
                probs.append(
                    _problems(
                        sub[bad],
                        vals[bad],
                        "invalid_date",
                        "not a calendar date"
                        + ("" if dayfirst is None else f" (read with dayfirst={dayfirst})"),
                    )
                )
            done |= numeric
        short = ~done & st.str.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}").to_numpy(dtype=bool)
        probs.append(
            _problems(
                idx[short], st[short], "date_format", "two-digit year; write the year in full"
            )
        )
        done |= short
        for fmt in _TEXT_DATE_FORMATS:
            rest = ~done
            if not rest.any():
                break
            parsed = pd.to_datetime(st[rest], format=fmt, errors="coerce")
            ok = parsed.notna().to_numpy()
            sub = idx[rest][ok]
            out[sub] = parsed[ok].to_numpy(dtype="datetime64[ns]")
            done[np.flatnonzero(rest)[ok]] = True
        rest = ~done
        probs.append(
            _problems(idx[rest], st[rest], "date_format", "not a recognised date; write YYYY-MM-DD")
        )
    frames = [p for p in probs if len(p)]
    return pd.Series(out, index=s.index), (
        pd.concat(frames, ignore_index=True) if frames else _problems([], [], "", [])
    )


def _month(m: int) -> str:
    return dt.date(2000, int(m), 1).strftime("%B") if 1 <= m <= 12 else str(m)


def _ids(s: pd.Series) -> pd.Series:
    """Keys as text: numbers that arrive as 12 or 12.0 (Excel, SQL) become '12'."""
    if s.dtype == object or pd.api.types.is_numeric_dtype(s):

        def fix(v: object) -> object:
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
                return None
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            return v if isinstance(v, str) else str(v)

        return pd.Series([fix(v) for v in s.to_numpy(dtype=object)], index=s.index, dtype=object)
    return s.astype(object).where(s.notna(), None)


# --- the validator --------------------------------------------------------------------------
@dataclass
class _Table:
    name: str
    raw: pd.DataFrame
    typed: pd.DataFrame
    problems: list[pd.DataFrame] = field(default_factory=list)
    table_problems: list[dict] = field(default_factory=list)

    def add(self, frame: pd.DataFrame, column: str | None) -> None:
        if len(frame):
            frame = frame.copy()
            frame["column"] = column
            self.problems.append(frame)

    def bad(self) -> np.ndarray:
        mask = np.zeros(len(self.raw), dtype=bool)
        if self.table_problems:
            mask[:] = True
        for p in self.problems:
            mask[p["row"].to_numpy(dtype=np.int64)] = True
        return mask


def _convert(name: str, raw: pd.DataFrame, dayfirst: bool | None) -> _Table:
    spec = TABLES[name]
    typed = raw.copy()
    t = _Table(name, raw, typed)
    missing = [c for c in spec.required if c not in raw.columns]
    for c in missing:
        t.table_problems.append(
            {
                "column": c,
                "rule": "missing_column",
                "message": f"required column {c!r} is missing; "
                f"the header has {', '.join(map(str, raw.columns))}",
            }
        )
    for col in spec.columns:
        if col.name not in raw.columns:
            if col.kind == "date":
                blank = pd.Series(np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[ns]"))
            elif col.kind == "int":
                blank = pd.Series(pd.array([None] * len(raw), dtype="Int64"))
            else:
                blank = pd.Series([None] * len(raw), dtype=object)
            typed[col.name] = blank.set_axis(raw.index)
            continue
        s = raw[col.name]
        if col.kind == "date":
            typed[col.name], probs = parse_dates(s, dayfirst)
        elif col.kind == "int":
            typed[col.name], probs = parse_ints(s)
        else:
            typed[col.name], probs = _ids(s), None
        if probs is not None:
            t.add(probs, col.name)
    if name == "assessments":
        item_cols = [LONG_ITEM, LONG_RESPONSE] if is_long_assessments(raw) else item_columns(raw)
        for c in item_cols:
            typed[c], probs = parse_ints(raw[c])
            t.add(probs, c)
    return t


_RULE_OF_CHECK = {"not_nullable": "required"}


def _pandera(t: _Table, rows: np.ndarray) -> None:
    """Run the table's pandera schema lazily on the given rows; failures become problems."""
    if t.table_problems or not len(rows):
        return
    schema = table_schema(t.name, keys=False)
    spec = TABLES[t.name]
    frame = t.typed.iloc[rows]
    try:
        schema.validate(frame, lazy=True)
        return
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    whole = fc[fc["index"].isna()]
    if len(whole):  # column-level failures (a type the converter did not produce)
        for rec in whole.to_dict("records"):
            t.table_problems.append(
                {
                    "column": rec["column"] if isinstance(rec["column"], str) else None,
                    "rule": "schema",
                    "message": f"column fails {rec['check']} (found {rec['failure_case']})",
                }
            )
    fc = fc[fc["index"].notna()]
    if not len(fc):
        return
    already = {(int(r), c) for p in t.problems for r, c in zip(p["row"], p["column"], strict=True)}
    frame_level = fc["check"].isin(["discharge_before_admit", "review_before_set"])
    fc = fc.copy()
    fc.loc[frame_level, "column"] = None
    for (check, column), grp in fc.groupby(["check", "column"], dropna=False, sort=False):
        rows_ = grp["index"].astype(np.int64).to_numpy()
        keep = np.array([(int(r), column) not in already for r in rows_], dtype=bool)
        rows_ = np.unique(rows_[keep])
        if not len(rows_):
            continue
        check = str(check)
        if check.startswith("isin("):
            check = "vocabulary"
        elif check.startswith("in_range("):
            check = "range"
        col_spec = spec.column(str(column)) if isinstance(column, str) else None
        if check == "not_nullable":
            msg = f"required value is blank ({column})"
            rule = "required"
        elif check == "vocabulary" and col_spec is not None:
            msg = f"not one of {', '.join(col_spec.vocab or ())}"
            if col_spec.kind == "list":
                msg = f"`;`-separated values must come from {', '.join(col_spec.vocab or ())}"
            rule = "vocabulary"
        elif check == "range" and col_spec is not None:
            msg, rule = f"outside the range {col_spec.min:g}–{col_spec.max:g}", "range"
        elif check == "discharge_before_admit":
            msg, rule, column = (
                "discharge_date is before admit_date",
                "discharge_before_admit",
                "discharge_date",
            )
        elif check == "review_before_set":
            msg, rule, column = "review_date is before set_date", "review_before_set", "review_date"
        else:
            msg, rule = check, check
        col = column if isinstance(column, str) else None
        values = (
            t.raw[col].iloc[rows_].to_numpy(dtype=object)
            if col in t.raw.columns
            else [None] * len(rows_)
        )
        msgs: str | list[str] = msg
        if rule == "vocabulary" and col_spec is not None and col_spec.vocab:
            msgs = [msg + _did_you_mean(v, col_spec.vocab) for v in values]
        t.add(_problems(rows_, values, rule, msgs), col)


def _did_you_mean(value: object, vocab: tuple[str, ...]) -> str:
    """A suggestion for a near-miss vocabulary value (case, spaces, typos); never applied."""
    import difflib

    if not isinstance(value, str):
        return ""
    parts = [p.strip() for p in value.split(";")] if ";" in value else [value]
    hints = []
    for part in parts:
        if part in vocab:
            continue
        norm = part.strip().lower().replace(" ", "_").replace("-", "_")
        close = (
            [norm] if norm in vocab else difflib.get_close_matches(norm, vocab, n=1, cutoff=0.75)
        )
        if close:
            hints.append(f"{part!r} → {close[0]!r}")
    return f"; did you mean {', '.join(hints)}?" if hints else ""


def _lines_text(lines: np.ndarray) -> str:
    return ", ".join(str(x) for x in lines[:3]) + (" …" if len(lines) > 3 else "")


def _keys(t: _Table, line: np.ndarray) -> None:
    """Exact duplicate rows: later copies rejected. Conflicting keys: all rows rejected."""
    spec = TABLES[t.name]
    if t.table_problems or not len(t.raw):
        return
    try:
        hashed = pd.util.hash_pandas_object(t.raw, index=False).to_numpy()
    except TypeError:  # mixed types in an object column (Excel cells)
        hashed = pd.util.hash_pandas_object(t.raw.astype(str), index=False).to_numpy()
    dup = pd.Series(hashed).duplicated(keep="first").to_numpy()
    if dup.any():
        first = pd.Series(np.arange(len(hashed))).groupby(hashed).transform("min").to_numpy()
        rows = np.flatnonzero(dup)
        t.add(
            _problems(
                rows,
                [None] * len(rows),
                "duplicate_row",
                [f"exact copy of line {line[first[r]]}" for r in rows],
            ),
            None,
        )
    rest = np.flatnonzero(~dup)
    key = list(spec.key)
    if t.name == "assessments" and is_long_assessments(t.raw):
        key.append(LONG_ITEM)  # long form: one row per item of an administration
    frame = t.typed.iloc[rest][key]
    frame = frame[frame.notna().all(axis=1)]
    schema = pa.DataFrameSchema(unique=key, report_duplicates="all")
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        rows = np.unique(fc.loc[fc["index"].notna(), "index"].astype(np.int64).to_numpy())
        groups = t.typed.iloc[rows][key].astype(str).agg("|".join, axis=1)
        members = pd.Series(rows).groupby(groups.to_numpy()).agg(list)
        msgs = []
        for r, g in zip(rows, groups, strict=True):
            others = np.array([line[o] for o in members[g] if o != r])
            msgs.append(
                f"key ({', '.join(key)}) also on line {_lines_text(others)} with different values"
            )
        t.add(_problems(rows, t.typed.iloc[rows][key[0]].to_numpy(), "duplicate_key", msgs), key[0])


def _show(v: object) -> str | None:
    """A cell value as the user would recognise it (dates without a midnight time)."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime)) and v == pd.Timestamp(v).normalize():
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    return str(v)


def _dfmt(v: object) -> str:
    return "open" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")


def validate_bundle(
    bundle: Bundle,
    *,
    grace_days: int = 7,
    dayfirst: bool | None = None,
    strict: bool = False,
    scales: Mapping[str, ScaleSpec] | None = None,
    programs: Mapping[str, ProgramRules] | None = None,
    skills: Iterable[str] | None = None,
) -> ValidationResult:
    """Validate every table of a bundle; see the module docstring for the rules.

    ``grace_days``: attendance and assessments may fall this many days before admission or
    after discharge. ``dayfirst``: how to read ``01/02/2025``-style dates (None = report
    ambiguous ones). ``strict``: raise :class:`InputError` on the first problem. ``scales``,
    ``programs`` and ``skills`` default to the scale registry and the curriculum; when the
    curriculum cannot be loaded, program-day, program and skill checks are skipped and a
    note says so.
    """
    notes: list[str] = list(bundle.notes)
    programs, skills = _catalog(programs, skills, notes)
    names = [n for n in TABLE_ORDER if n in bundle.tables]
    for extra in bundle.tables:
        if extra not in TABLES:
            notes.append(f"table {extra!r} is not part of the contract; ignored")
    tables: dict[str, _Table] = {}
    for name in names:
        t = _convert(name, bundle.tables[name], dayfirst)
        line = bundle.lines[name]
        lp = bundle.load_problems
        lp = lp[lp["table"] == name] if len(lp) else lp
        if len(lp):
            row_of_line = {int(v): i for i, v in enumerate(line)}
            has_row = "row" in lp.columns
            for rec in lp.to_dict("records"):
                r = (
                    rec.get("row")
                    if has_row and pd.notna(rec.get("row"))
                    else row_of_line[int(rec["source_line"])]
                )
                col = rec["column"] if isinstance(rec["column"], str) else None
                t.add(_problems([int(r)], [rec["value"]], rec["rule"], rec["message"]), col)
        extra_cols = [
            c for c in t.raw.columns if TABLES[name].column(c) is None and not _is_item_col(name, c)
        ]
        if extra_cols:
            notes.append(
                f"{bundle.files.get(name, name)}: extra column(s) kept as they are: "
                + ", ".join(map(str, extra_cols))
            )
        _keys(t, line)
        _pandera(t, np.arange(len(t.raw)))
        tables[name] = t

    rejected_by: dict[str, pd.DataFrame] = {}
    for name in names:
        t = tables[name]
        spec = TABLES[name]
        line = bundle.lines[name]
        if not t.table_problems:
            for col, parent in spec.parents.items():
                if parent not in tables:
                    t.add(
                        _problems(
                            np.arange(len(t.raw)),
                            t.typed[col],
                            "reference",
                            f"{col} cannot be checked: the bundle has no {parent} table",
                        ),
                        col,
                    )
                    continue
                _references(t, col, tables[parent], bundle, rejected_by.get(parent))
            if name == "cohorts" and programs is not None:
                unknown = t.typed["program_id"].notna() & ~t.typed["program_id"].isin(
                    list(programs)
                )
                rows = np.flatnonzero(unknown.to_numpy())
                t.add(
                    _problems(
                        rows,
                        t.typed["program_id"].to_numpy()[rows],
                        "unknown_program",
                        f"not a program in curriculum/programs ({', '.join(sorted(programs))})",
                    ),
                    "program_id",
                )
            if name == "sessions" and skills is not None:
                unknown = t.typed["skill_id"].notna() & ~t.typed["skill_id"].isin(list(skills))
                rows = np.flatnonzero(unknown.to_numpy())
                t.add(
                    _problems(
                        rows,
                        t.typed["skill_id"].to_numpy()[rows],
                        "unknown_skill",
                        "not a skill id in the curriculum catalog",
                    ),
                    "skill_id",
                )
            if name in ("attendance", "assessments") and "episodes" in tables:
                _inside_episode(t, tables["episodes"], grace_days)
            if name == "assessments":
                _items(t, scales, notes)
            if programs is not None and name in ("attendance", "sessions"):
                _program_days(t, tables, programs)
        bad = t.bad()
        rejected_by[name] = pd.DataFrame(
            {"key": t.typed[spec.key[0]].to_numpy(), "line": line, "bad": bad}
        )

    return _assemble(bundle, names, tables, notes, strict)


def _is_item_col(table: str, col: object) -> bool:
    return table == "assessments" and (
        str(col) in (LONG_ITEM, LONG_RESPONSE)
        or bool(pd.Series([str(col)]).str.fullmatch(r"item_\d+").iloc[0])
    )


def _catalog(
    programs: Mapping[str, ProgramRules] | None, skills: Iterable[str] | None, notes: list[str]
) -> tuple[Mapping[str, ProgramRules] | None, set[str] | None]:
    from iopkit.data import catalog

    if programs is None:
        try:
            programs = catalog.program_rules()
        except (ImportError, AttributeError, IopkitError) as exc:
            notes.append(
                f"curriculum not available ({exc}); program and program-day checks skipped"
            )
    if skills is None:
        try:
            skills = catalog.skill_ids()
        except (ImportError, AttributeError, IopkitError) as exc:
            notes.append(f"curriculum not available ({exc}); skill checks skipped")
    return programs, (set(skills) if skills is not None else None)


def _references(
    t: _Table, col: str, parent: _Table, bundle: Bundle, parent_rejects: pd.DataFrame | None
) -> None:
    pkey = TABLES[parent.name].key[0]
    values = t.typed[col]
    all_keys = set(parent.typed[pkey].dropna())
    present = values.notna().to_numpy()
    orphan = present & ~values.isin(all_keys).to_numpy()
    rows = np.flatnonzero(orphan)
    t.add(
        _problems(
            rows, values.to_numpy()[rows], "reference", f"not found in {parent.name} ({pkey})"
        ),
        col,
    )
    if parent_rejects is None or not parent_rejects["bad"].any():
        return
    rej = parent_rejects[parent_rejects["bad"]]
    ok_keys = set(parent_rejects.loc[~parent_rejects["bad"], "key"].dropna())
    first_line = rej.groupby("key")["line"].min()
    cascade = present & ~orphan & ~values.isin(ok_keys).to_numpy()
    rows = np.flatnonzero(cascade)
    vals = values.to_numpy()[rows]
    t.add(
        _problems(
            rows,
            vals,
            "cascade",
            [
                f"depends on {parent.name} {v} (line {first_line.get(v, '?')}), which was rejected"
                for v in vals
            ],
        ),
        col,
    )


def _inside_episode(t: _Table, episodes: _Table, grace_days: int) -> None:
    ep = episodes.typed.loc[~episodes.bad(), ["episode_id", "admit_date", "discharge_date"]]
    ep = ep.drop_duplicates("episode_id")
    m = t.typed[["episode_id", "date"]].merge(ep, on="episode_id", how="left")  # rejected → cascade
    grace = pd.Timedelta(days=grace_days)
    before = (m["date"] < m["admit_date"] - grace).to_numpy(dtype=bool)
    after = (m["discharge_date"].notna() & (m["date"] > m["discharge_date"] + grace)).to_numpy(
        dtype=bool
    )
    rows = np.flatnonzero(before | after)
    msgs = [
        f"date {_dfmt(m.at[r, 'date'])} is outside episode {m.at[r, 'episode_id']} "
        f"({_dfmt(m.at[r, 'admit_date'])} to {_dfmt(m.at[r, 'discharge_date'])}) "
        f"by more than {grace_days} days"
        for r in rows
    ]
    t.add(
        _problems(rows, t.raw["date"].iloc[rows].to_numpy(dtype=object), "outside_episode", msgs),
        "date",
    )


def _program_days(
    t: _Table, tables: dict[str, _Table], programs: Mapping[str, ProgramRules]
) -> None:
    if "cohorts" not in tables:
        return
    cohorts = tables["cohorts"]
    coh = cohorts.typed.loc[~cohorts.bad(), ["cohort_id", "program_id"]].drop_duplicates(
        "cohort_id"
    )
    if t.name == "attendance":
        if "episodes" not in tables:
            return
        episodes = tables["episodes"]
        ep = episodes.typed.loc[~episodes.bad(), ["episode_id", "cohort_id"]].drop_duplicates(
            "episode_id"
        )
        m = t.typed[["episode_id", "date"]].merge(ep, on="episode_id", how="left")
    else:
        m = t.typed[["cohort_id", "date"]].copy()
    m = m.merge(coh, on="cohort_id", how="left")
    known = m["program_id"].isin(list(programs)).to_numpy() & m["date"].notna().to_numpy()
    if not known.any():
        return
    wd = m["date"].dt.day_of_week.to_numpy(dtype=float)
    allowed = m["program_id"].map({p: sorted(r.weekdays) for p, r in programs.items()})
    off = np.zeros(len(m), dtype=bool)
    for pid, rule in programs.items():
        sel = known & (m["program_id"] == pid).to_numpy()
        off |= sel & ~np.isin(wd, list(rule.weekdays))
    rows = np.flatnonzero(off)
    msgs = [
        f"{_dfmt(m.at[r, 'date'])} is a {WEEKDAY_NAMES[int(wd[r])]}; "
        f"program {m.at[r, 'program_id']} meets on "
        f"{', '.join(WEEKDAY_NAMES[d] for d in allowed.iloc[r])}"
        for r in rows
    ]
    t.add(
        _problems(rows, t.raw["date"].iloc[rows].to_numpy(dtype=object), "program_day", msgs),
        "date",
    )


def _resolve_scales(
    ids: Iterable[str], scales: Mapping[str, ScaleSpec] | None
) -> dict[str, ScaleSpec]:
    """Specs of the ids given in ``scales``, else from the registry; unknown ids are left out."""
    if scales is not None:
        return {i: scales[i] for i in ids if i in scales}
    return scale_specs(ids)


def _items(t: _Table, scales: Mapping[str, ScaleSpec] | None, notes: list[str]) -> None:
    scale = t.typed["scale"]
    ids = sorted(set(scale.dropna()))
    try:
        specs = _resolve_scales(ids, scales)
    except ImportError as exc:  # registry not installed
        notes.append(f"scale registry not available ({exc}); item checks skipped")
        return
    unknown = scale.notna().to_numpy() & ~scale.isin(list(specs)).to_numpy()
    rows = np.flatnonzero(unknown)
    t.add(
        _problems(
            rows,
            scale.to_numpy()[rows],
            "unknown_scale",
            "not a scale in the registry (iopkit scales)",
        ),
        "scale",
    )
    renamed = {k: v.id for k, v in specs.items() if k != v.id}
    if renamed:
        t.typed["scale"] = scale.replace(renamed)
        notes.append(
            "assessments: scale names read as registry ids: "
            + ", ".join(f"{k!r} → {v!r}" for k, v in sorted(renamed.items()))
        )
    long = is_long_assessments(t.raw)
    for sid, spec in specs.items():
        sel = (scale == sid).to_numpy()
        if not sel.any():
            continue
        idx = np.flatnonzero(sel)
        if long:
            item = t.typed[LONG_ITEM].to_numpy(dtype="float64", na_value=np.nan)[idx]
            resp = t.typed[LONG_RESPONSE].to_numpy(dtype="float64", na_value=np.nan)[idx]
            bad_item = ~np.isnan(item) & ((item < 1) | (item > spec.n_items))
            t.add(
                _problems(
                    idx[bad_item],
                    item[bad_item].astype(int),
                    "item_count",
                    f"{sid} has items 1–{spec.n_items}",
                ),
                LONG_ITEM,
            )
            missing_item = np.isnan(item)
            t.add(
                _problems(
                    idx[missing_item],
                    [None] * missing_item.sum(),
                    "required",
                    "item number is blank",
                ),
                LONG_ITEM,
            )
            bad = ~np.isnan(resp) & ((resp < spec.min) | (resp > spec.max))
            t.add(
                _problems(
                    idx[bad],
                    resp[bad].astype(int),
                    "item_range",
                    f"{sid} item responses run {spec.min}–{spec.max}",
                ),
                LONG_RESPONSE,
            )
            continue
        cols = item_columns(t.raw)
        if len(cols) < spec.n_items:
            t.add(
                _problems(
                    idx,
                    [None] * len(idx),
                    "item_count",
                    f"{sid} has {spec.n_items} items but the table has only "
                    f"{len(cols)} item columns",
                ),
                None,
            )
            continue
        for j, c in enumerate(cols, start=1):
            v = t.typed[c].to_numpy(dtype="float64", na_value=np.nan)[idx]
            filled = ~np.isnan(v)
            if j > spec.n_items:
                bad = filled
                t.add(
                    _problems(
                        idx[bad],
                        v[bad].astype(int),
                        "item_count",
                        f"{sid} has {spec.n_items} items; {c} must be blank",
                    ),
                    c,
                )
            else:
                bad = filled & ((v < spec.min) | (v > spec.max))
                t.add(
                    _problems(
                        idx[bad],
                        v[bad].astype(int),
                        "item_range",
                        f"{sid} items run {spec.min}–{spec.max}",
                    ),
                    c,
                )


def _assemble(
    bundle: Bundle, names: list[str], tables: dict[str, _Table], notes: list[str], strict: bool
) -> ValidationResult:
    accepted: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    prob_frames: list[pd.DataFrame] = []
    counts = []
    for name in names:
        t = tables[name]
        line = bundle.lines[name]
        file = bundle.files.get(name, name)
        frames = [p for p in t.problems if len(p)]
        if t.table_problems:
            frames.append(
                pd.DataFrame([{**tp, "row": -1, "value": None} for tp in t.table_problems])
            )
        if frames:
            p = pd.concat(frames, ignore_index=True)
            rows = p["row"].to_numpy(dtype=np.int64)
            p["source_line"] = pd.array(
                np.where(rows >= 0, line[np.clip(rows, 0, None)] if len(line) else 1, 1),
                dtype="Int64",
            )
            p["table"], p["file"] = name, file
            p["value"] = [_show(v) for v in p["value"]]
            prob_frames.append(p)
        bad = t.bad()
        typed = t.typed.loc[~bad].copy()
        typed.index = pd.Index(line[~bad], name="source_line")
        accepted[name] = typed
        rej = t.raw.loc[bad].copy()
        rej.insert(0, "source_line", line[bad])
        if frames and bad.any():
            p = prob_frames[-1]
            per_row = (
                p[p["row"] >= 0]
                .groupby("row")
                .agg(
                    rules=("rule", lambda s: ";".join(dict.fromkeys(s))),
                    reasons=("message", lambda s: " | ".join(dict.fromkeys(s))),
                    columns=(
                        "column",
                        lambda s: ";".join(dict.fromkeys(c for c in s if isinstance(c, str))),
                    ),
                )
            )
            rows = np.flatnonzero(bad)
            per_row = per_row.reindex(rows)
            if t.table_problems:
                msg = " | ".join(tp["message"] for tp in t.table_problems)
                per_row["rules"] = per_row["rules"].fillna("missing_column")
                per_row["reasons"] = per_row["reasons"].fillna(msg)
            rej["rules"] = per_row["rules"].to_numpy()
            rej["reasons"] = per_row["reasons"].to_numpy()
            rej["problem_columns"] = per_row["columns"].to_numpy()
        else:
            rej["rules"], rej["reasons"], rej["problem_columns"] = [], [], []
        rejects[name] = rej.reset_index(drop=True)
        n_in = len(t.raw)
        counts.append(
            {
                "table": name,
                "file": file,
                "rows_in": n_in,
                "accepted": len(typed),
                "rejected": len(rej),
            }
        )
        assert n_in == len(typed) + len(rej), f"{name}: rows_in != accepted + rejected"
    problems = pd.concat(prob_frames, ignore_index=True) if prob_frames else empty_problems()
    problems = problems.reindex(columns=list(PROBLEM_COLUMNS))
    order = {n: i for i, n in enumerate(TABLE_ORDER)}
    problems = (
        problems.assign(_o=problems["table"].map(order))
        .sort_values(["_o", "source_line", "column"], kind="stable", na_position="first")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
    if strict and len(problems):
        p = problems.iloc[0]
        raise InputError(
            f"{p['message']}" + (f" (value {p['value']!r})" if p["value"] is not None else ""),
            file=p["file"],
            row=int(p["source_line"]) if pd.notna(p["source_line"]) else None,
            column=p["column"] if isinstance(p["column"], str) else None,
            rule=p["rule"],
        )
    return ValidationResult(
        tables=accepted,
        rejects=rejects,
        problems=problems,
        counts=pd.DataFrame(counts, columns=["table", "file", "rows_in", "accepted", "rejected"]),
        notes=notes,
        files=dict(bundle.files),
    )


def write_rejects(result: ValidationResult, dest: str | Path) -> list[Path]:
    """Write ``rejects/<table>.csv`` (rejected rows as read, with source line and reasons) and
    ``problems.csv`` under ``dest``; returns the files written (tables without rejects are skipped).
    """
    folder = Path(dest) / "rejects"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in result.rejects.items():
        target = folder / f"{name}.csv"
        if len(frame):
            frame.to_csv(target, index=False, lineterminator="\n")
            written.append(target)
        elif target.exists():
            target.unlink()
    target = Path(dest) / "problems.csv"
    result.problems.to_csv(target, index=False, lineterminator="\n")
    written.append(target)
    return written
