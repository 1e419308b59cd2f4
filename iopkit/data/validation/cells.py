"""Cell parsing for the validator: whole numbers, calendar dates, keys, vocabulary hints.

Every parser returns the converted column and a problems frame by row *position* (columns
``row, value, rule, message``; :func:`cell_problems`); the per-table pass
(:mod:`iopkit.data.validation.tables`) attaches the column and the result assembly
(:mod:`iopkit.data.validation.result`) turns positions into the user's source lines.
Nothing is guessed: a value that cannot be read exactly is reported, never rounded or
reordered (policy in ``docs/data.md``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

__all__ = [
    "cell_problems",
    "is_text",
    "per_text",
    "repeats",
    "row_groups",
    "date_text",
    "key_text",
    "text_objects",
    "parse_dates",
    "parse_format_dates",
    "parse_ints",
    "shown_value",
    "vocab_hint",
]

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


def is_text(s: pd.Series) -> np.ndarray:
    """Which cells are ``str`` — without a Python call per cell where the column's type
    says it (string dtype, numbers, dates; :func:`pandas.api.types.infer_dtype` for object
    columns), per cell only for a column that mixes types."""
    present = s.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return np.zeros(len(s), dtype=bool)
    if s.dtype != object and pd.api.types.is_string_dtype(s):
        return present
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind == "string":
        return present
    if kind in ("empty", "integer", "floating", "mixed-integer-float", "boolean", "decimal",
                "datetime", "datetime64", "date", "timedelta"):  # fmt: skip
        return np.zeros(len(s), dtype=bool)
    return np.fromiter((isinstance(v, str) for v in s.to_numpy(dtype=object)), bool, len(s))


def per_text(values: Iterable[str], func: Callable[[str], object]) -> np.ndarray:
    """``func`` of each text value, computed once per distinct value (exports repeat their
    values: item answers, goal texts, codes), as an object array in ``values``' order."""
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values,
                     dtype=object)  # fmt: skip
    if not len(arr):
        return np.empty(0, dtype=object)
    codes, uniques = pd.factorize(arr)
    out = np.empty(len(uniques), dtype=object)
    out[:] = [func(u) for u in uniques]
    return out[codes]


def cell_problems(
    rows: np.ndarray,
    values: Iterable,
    rule: str,
    messages: Iterable[str] | str,
    severity: str = "error",
) -> pd.DataFrame:
    """Problems at row positions ``rows``: one ``message`` for all, or one per row.

    ``severity``: ``error`` rejects the row, ``warning`` keeps it
    (:data:`iopkit.data.bundle.SEVERITIES`).
    """
    rows = np.asarray(rows, dtype=np.int64)
    msgs = [messages] * len(rows) if isinstance(messages, str) else list(messages)
    return pd.DataFrame(
        {"row": rows, "value": list(values), "rule": rule, "message": msgs, "severity": severity}
    )


_DECIMAL = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)\s*")


def _per_distinct(
    s: pd.Series, parse: Callable[[pd.Series], tuple[object, pd.DataFrame]]
) -> tuple[object, pd.DataFrame]:
    """``parse`` run once per distinct value of an object column and spread back to every
    cell (exports repeat their values: dates, item answers): the converted column (missing
    where the cell is missing) and the problems, one per cell, by position. ``parse`` must
    decide each value on its own or, like a column-wide day-first decision, on the set of
    values present — both are unchanged by reading each distinct value once."""
    codes, uniques = pd.factorize(s.to_numpy(dtype=object))
    out_u, probs_u = parse(pd.Series(uniques, dtype=object))
    out = pd.array(out_u).take(codes, allow_fill=True)
    if not len(probs_u):
        return out, probs_u
    # the cells of each distinct value, grouped: cells_by_value[starts[u] : starts[u] + n[u]]
    key = np.where(codes < 0, len(uniques), codes)
    cells_by_value = np.argsort(key, kind="stable")
    n = np.bincount(codes[codes >= 0], minlength=len(uniques))
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    u = probs_u["row"].to_numpy(dtype=np.int64)
    rep = n[u]
    first = np.repeat(starts[u], rep)
    within = np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)
    probs = probs_u.iloc[np.repeat(np.arange(len(probs_u)), rep)].reset_index(drop=True)
    probs["row"] = cells_by_value[first + within]
    return out, probs


def _not_decimal(text: str) -> bool:
    return _DECIMAL.fullmatch(text) is None


def parse_ints(s: pd.Series, *, distinct: bool = False) -> tuple[pd.Series, pd.DataFrame]:
    """Whole numbers from text or numbers; returns (Int64 series, problems by position).

    Problems: ``type`` for text that is not a number, for numbers with a fraction (3.5 is
    never rounded) and for text in another notation (``1e1``, ``1.979e3``, ``inf``: only
    decimal digits are read as a whole number). An object column is read once per distinct
    value (``distinct=True``: ``s`` already holds distinct values).
    """
    if pd.api.types.is_bool_dtype(s):
        return s.astype("Int64"), cell_problems([], [], "type", [])
    if pd.api.types.is_integer_dtype(s):  # typed already (Parquet, SQL, pandas): range only
        unsigned = pd.api.types.is_unsigned_integer_dtype(s)  # 2^64 − 1 is not −1
        ints = s.to_numpy(dtype="uint64" if unsigned else "int64", na_value=0)
        if not len(ints) or (ints.min() > -(2**53) and ints.max() < 2**53):
            # no eager copy: with copy-on-write the typed frame shares the column until either
            # side writes, so the caller's frame stays intact
            return s.astype("Int64"), cell_problems([], [], "type", [])
    if s.dtype == object and not distinct:
        out, probs = _per_distinct(s, lambda u: parse_ints(u, distinct=True))
        return pd.array(out, dtype="Int64"), probs
    pos = np.arange(len(s))
    num = (
        pd.to_numeric(s, errors="coerce")
        if not pd.api.types.is_numeric_dtype(s)
        else s.astype("Float64")
    )
    num = pd.Series(np.asarray(num, dtype="float64"), index=s.index)
    present = s.notna().to_numpy()
    bad_text = present & num.isna().to_numpy()
    # text must be written as a decimal number: 1e1 and 1.979e3 are not read as 10 and 1979
    text = is_text(s)
    notation = np.zeros(len(s), dtype=bool)
    if text.any():
        written = per_text(s.to_numpy(dtype=object)[text], _not_decimal)
        notation[np.flatnonzero(text)] = written.astype(bool)
        notation &= present & ~bad_text
    values = num.to_numpy()
    # inf, 1e400 and 99999999999999999999999 are not whole numbers a table can hold (Int64)
    huge = present & ~bad_text & ~(np.abs(values) < 2.0**53)
    bad_text |= huge
    notation &= ~huge
    finite = np.where(bad_text, 0.0, values)  # inf/NaN already reported; keep numpy quiet
    frac = present & ~bad_text & ~notation & (np.abs(finite - np.round(finite)) > 1e-9)
    out = num.where(~(bad_text | frac | notation))
    probs = pd.concat(
        [
            cell_problems(
                pos[notation],
                s[notation],
                "type",
                "not a whole number as written (exponent or other notation); "
                "write the digits, e.g. 1979",
            ),
            cell_problems(pos[bad_text & ~huge], s[bad_text & ~huge], "type", "not a whole number"),
            cell_problems(
                pos[huge], s[huge], "type", "not a whole number in range (|value| < 2^53)"
            ),
            cell_problems(
                pos[frac], s[frac], "type", "not a whole number (has a fraction; never rounded)"
            ),
        ],
        ignore_index=True,
    )
    return pd.array(np.round(out.to_numpy()), dtype="Int64"), probs


def parse_dates(
    s: pd.Series,
    dayfirst: bool | None = None,
    *,
    date_format: str | None = None,
    profile: str = "profile",
    distinct: bool = False,
) -> tuple[pd.Series, pd.DataFrame]:
    """Calendar dates from date cells or text; returns (datetime64 series, problems by position).

    ``date_format`` (a source profile's ``strftime`` pattern, e.g. ``%m/%d/%Y``): text dates
    must match it exactly — any other text is a ``date_format`` problem naming the pattern
    and ``profile``, an impossible date an ``invalid_date`` problem; nothing else is tried
    (:func:`parse_format_dates`). Date cells are read as below either way.

    Accepted: date/datetime cells at midnight; ISO ``YYYY-MM-DD`` (optionally ``00:00:00``);
    ``d/m/Y`` or ``m/d/Y`` (also with ``.`` or ``-``) when unambiguous or when ``dayfirst`` is
    given; month-name forms (``3 Apr 2025``, ``April 3, 2025``). Reported, never guessed:
    ambiguous day/month order (rule ``ambiguous_date``), a column mixing both orders
    (``mixed_date_formats``), impossible dates (``invalid_date``), two-digit years,
    times of day, bare numbers such as Excel serials, and anything else (``date_format``).
    An object column is read once per distinct value (``distinct=True``: ``s`` already
    holds distinct values).
    """
    if s.dtype == object and not distinct:
        out, probs = _per_distinct(
            s,
            lambda u: parse_dates(
                u, dayfirst, date_format=date_format, profile=profile, distinct=True
            ),
        )
        return pd.Series(np.asarray(out, dtype="datetime64[ns]"), index=s.index), probs
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
            cell_problems(
                pos[timed],
                s[timed].astype(str),
                "date_has_time",
                "has a time of day; expected a date",
            )
        )
        return pd.Series(out, index=s.index), pd.concat(probs, ignore_index=True)
    obj = s.to_numpy(dtype=object)
    present = s.notna().to_numpy()
    if is_text(s)[present].all():  # a text column (every export read as text): no per-cell type
        kinds = np.where(present, "str", "NoneType").astype(object)
    else:
        kinds = np.array([type(v).__name__ for v in obj], dtype=object)
    is_str = kinds == "str"
    text = is_str.copy()
    if date_format is not None and is_str.any():
        idx = pos[is_str]
        parsed, fprobs = parse_format_dates(obj[is_str], date_format, profile)
        out[idx] = parsed
        fprobs["row"] = idx[fprobs["row"].to_numpy(dtype=np.int64)]
        probs.append(fprobs)
        is_str = np.zeros(n, dtype=bool)
    is_dt = np.isin(kinds, ["datetime", "Timestamp", "date", "datetime64"])
    if is_dt.any():
        ts = pd.to_datetime(pd.Series(obj[is_dt]), errors="coerce")
        timed = (ts != ts.dt.normalize()).to_numpy() & ts.notna().to_numpy()
        idx = pos[is_dt]
        out[idx[~timed]] = ts[~timed].to_numpy(dtype="datetime64[ns]")
        probs.append(
            cell_problems(
                idx[timed], obj[idx[timed]], "date_has_time", "has a time of day; expected a date"
            )
        )
    is_num = present & np.isin(kinds, ["int", "float", "int64", "float64", "Decimal"])
    if is_num.any():
        probs.append(
            cell_problems(
                pos[is_num],
                obj[is_num],
                "date_format",
                "a number in a date column (an Excel serial date?); "
                "format the cells as dates or write YYYY-MM-DD",
            )
        )
    other = present & ~text & ~is_dt & ~is_num
    if other.any():
        probs.append(cell_problems(pos[other], obj[other], "date_format", "not a date"))
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
            probs.append(
                cell_problems(sub[bad], st[iso][bad], "invalid_date", "not a calendar date")
            )
            done |= iso
        timed = ~done & st.str.fullmatch(
            r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
        ).to_numpy(dtype=bool)
        probs.append(
            cell_problems(
                idx[timed], st[timed], "date_has_time", "has a time of day; expected a date"
            )
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
                        cell_problems(
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
                        cell_problems(
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
                    cell_problems(
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
            cell_problems(
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
            cell_problems(
                idx[rest], st[rest], "date_format", "not a recognised date; write YYYY-MM-DD"
            )
        )
    frames = [p for p in probs if len(p)]
    return pd.Series(out, index=s.index), (
        pd.concat(frames, ignore_index=True) if frames else cell_problems([], [], "", [])
    )


def parse_format_dates(
    values: np.ndarray, date_format: str, profile: str = "profile"
) -> tuple[np.ndarray, pd.DataFrame]:
    """Text dates read with one declared ``strftime`` pattern (:meth:`datetime.strptime`,
    exact: surrounding spaces stripped, nothing else tolerated). Returns (datetime64[ns]
    values, problems by position): ``date_format`` for text not in the pattern,
    ``invalid_date`` for a date the calendar does not have (``02/30/2025``)."""
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    rows: list[int] = []
    shown: list[object] = []
    rules: list[str] = []
    msgs: list[str] = []
    cache: dict[str, object] = {}
    example = dt.date(2025, 3, 31).strftime(date_format)
    for i, v in enumerate(values):
        text = v.strip()
        if text not in cache:
            try:
                cache[text] = np.datetime64(dt.datetime.strptime(text, date_format), "ns")
            except ValueError:
                cache[text] = "invalid_date" if _same_shape(text, date_format) else "date_format"
        got = cache[text]
        if isinstance(got, str):
            rows.append(i)
            shown.append(v)
            rules.append(got)
            msgs.append(
                f"not a calendar date (read with the profile's date format {date_format})"
                if got == "invalid_date"
                else f"does not match the date format {date_format} declared in {profile} "
                f"(e.g. {example})"
            )
        else:
            out[i] = got
    frame = pd.DataFrame(
        {
            "row": np.asarray(rows, dtype=np.int64),
            "value": shown,
            "rule": rules,
            "message": msgs,
            "severity": "error",
        }  # fmt: skip
    )
    return out, frame


def _same_shape(text: str, date_format: str) -> bool:
    """True when ``text`` has the digits-and-separators shape of ``date_format`` with
    numbers in every field (so strptime refused the calendar, not the writing)."""
    pattern = re.escape(date_format)
    for d, rx in (("%Y", r"\d{4}"), ("%m", r"\d{1,2}"), ("%d", r"\d{1,2}"),
                  ("%b", r"[A-Za-z]{3}"), ("%B", r"[A-Za-z]+")):  # fmt: skip
        pattern = pattern.replace(re.escape(d), rx)
    return re.fullmatch(pattern, text) is not None


def _month(m: int) -> str:
    return dt.date(2000, int(m), 1).strftime("%B") if 1 <= m <= 12 else str(m)


def _arrow_codes(arr: object) -> tuple[np.ndarray, object]:
    """An Arrow-backed pandas array dictionary-encoded by Arrow: (codes, −1 where blank;
    the dictionary of distinct values, a ``pyarrow.Array``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data = pa.array(arr)  # the Arrow data, through __arrow_array__
    if isinstance(data, pa.ChunkedArray):  # a frame read in pieces, or concatenated
        data = data.combine_chunks()
    enc = pc.dictionary_encode(data)
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary


def text_objects(s: pd.Series) -> np.ndarray:
    """The cells of a text column as an object array (``None`` where blank).

    A pandas string column (Arrow-backed) is dictionary-encoded first, so each distinct
    value becomes one Python ``str`` shared by every cell that holds it: a key column of
    1.5 M cells and 100,000 ids costs 100,000 objects, not 1.5 M (time and memory). Other
    dtypes convert cell by cell (``Series.to_numpy``)."""
    arr = s.array
    if isinstance(arr, pd.arrays.ArrowStringArray):
        codes, dictionary = _arrow_codes(arr)
        uniques = np.asarray(dictionary.to_pylist() + [None], dtype=object)
        return uniques[codes]  # a blank cell's code −1 takes the last entry, None
    out = s.to_numpy(dtype=object)
    return np.where(s.notna().to_numpy(), out, None) if len(out) else out


def column_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Dense codes of a column's values (equal codes ⇔ equal values) and how many there
    are; a blank cell is −1. Arrow-backed columns are encoded by Arrow (one C++ hash pass,
    no Python objects); others by :func:`pandas.factorize` (Python equality for object
    cells; cells that cannot be hashed are compared as their text)."""
    arr = s.array
    if isinstance(arr, pd.arrays.ArrowExtensionArray | pd.arrays.ArrowStringArray):
        codes, dictionary = _arrow_codes(arr)
        return codes, len(dictionary)
    try:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    except TypeError:  # an unhashable cell (a list read from JSON): compare the text
        codes, uniques = pd.factorize(s.astype(str).where(s.notna(), None), use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), len(uniques)


def row_groups(frame: pd.DataFrame, *, blank: bool = True) -> np.ndarray:
    """A group id per row: equal ids ⇔ equal values in every column, numbered 0, 1, … in
    order of first appearance (so a row is its group's first iff its id exceeds every id
    before it). Exact — no hash decides — and with no Python call per cell.

    ``blank``: a blank cell is a value equal to other blanks (True) or makes the row's id
    −1 (False: rows with a blank in some column belong to no group).

    Columns are combined in mixed radix (id × n + code), renumbered densely whenever the
    product could pass 2⁶², as pandas' group-by does (``get_group_index``)."""
    n = len(frame)
    gid = np.zeros(n, dtype=np.int64)
    size = 1
    unfilled = np.zeros(n, dtype=bool)
    for i in range(frame.shape[1]):
        codes, k = column_codes(frame.iloc[:, i])
        na = codes < 0
        if na.any():
            if blank:
                codes = np.where(na, k, codes)
                k += 1
            else:
                unfilled |= na
                codes = np.where(na, 0, codes)
        if k <= 1:
            continue
        if size > (1 << 62) // k:
            gid = _dense(gid)
            size = int(gid.max()) + 1 if n else 1
        gid = gid * k + codes
        size *= k
    if blank or not unfilled.any():
        return _dense(gid)
    out = np.full(n, -1, dtype=np.int64)
    out[~unfilled] = _dense(gid[~unfilled])
    return out


def _dense(gid: np.ndarray) -> np.ndarray:
    """``gid`` renumbered 0, 1, … in order of first appearance."""
    return pd.factorize(gid)[0].astype(np.int64, copy=False)


_MIX1 = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)


def _cell_words(s: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """Each cell as a 64-bit word, equal for equal values (the word of a number is itself,
    of a date its count of the column's time unit, of text its code), and the blank cells
    (None: none blank)."""
    dtype = s.dtype
    arrow = isinstance(s.array, pd.arrays.ArrowExtensionArray | pd.arrays.ArrowStringArray)
    if not arrow and (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)):
        na = s.isna().to_numpy()
        words = s.to_numpy(dtype=np.int64, na_value=0).view(np.uint64)
        return words, na if na.any() else None
    if not arrow and pd.api.types.is_float_dtype(dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan) + 0.0  # −0.0 == 0.0: one word
        na = np.isnan(v)
        v[na] = 0.0
        return v.view(np.uint64), na if na.any() else None
    if isinstance(dtype, np.dtype) and dtype.kind in "mM":  # datetime64, timedelta64
        values = s.to_numpy()
        na = np.isnat(values)
        return values.view(np.int64).view(np.uint64), na if na.any() else None
    codes, _ = column_codes(s)  # text, objects, categories, Arrow-backed, anything else
    na = codes < 0
    return codes.astype(np.uint64), na if na.any() else None


def repeats(frame: pd.DataFrame, *, blank: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose values repeat another row's exactly, as (positions, group): ``group``
    numbers each set of equal rows 0, 1, … by first appearance. Every other row is unique.

    ``blank``: a blank cell equals other blanks (True), or a row with a blank cell repeats
    nothing (False: key columns).

    Each row gets a 64-bit hash mixed from its cells' words (no Python per cell), and only
    rows whose hash repeats are compared exactly (:func:`row_groups`), so a collision costs
    a comparison, never a wrong answer. An export's rows are almost all distinct: this is
    one sort of the hashes instead of a hash table over every row."""
    n = len(frame)
    h = np.zeros(n, dtype=np.uint64)
    unfilled = np.zeros(n, dtype=bool)
    x = np.empty(n, dtype=np.uint64)
    y = np.empty(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(frame.shape[1]):
            words, na = _cell_words(frame.iloc[:, i])
            if na is not None:
                if blank:
                    words = np.where(na, np.uint64(0x5BD1E995), words)
                else:
                    unfilled |= na
            np.multiply(words, _MIX1, out=x)  # in place: no temporary per step
            np.right_shift(x, np.uint64(29), out=y)
            np.bitwise_xor(x, y, out=x)
            np.multiply(h, _MIX2, out=h)
            np.add(h, x, out=h)
    pos = np.flatnonzero(~unfilled) if unfilled.any() else np.arange(n)
    hs = h[pos]
    srt = np.sort(hs)
    again = srt[1:][srt[1:] == srt[:-1]]
    if not len(again):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cand = pos[np.isin(hs, again)]
    gid = row_groups(frame.iloc[cand], blank=blank)
    counts = np.bincount(gid[gid >= 0])
    keep = (gid >= 0) & (counts[np.maximum(gid, 0)] > 1)
    return cand[keep], _dense(gid[keep])


def key_text(s: pd.Series) -> pd.Series:
    """Keys as text: numbers that arrive as 12 or 12.0 (Excel, SQL) become '12'."""
    if s.dtype != object and pd.api.types.is_string_dtype(s):
        return pd.Series(text_objects(s), index=s.index, dtype=object)
    if s.dtype == object and is_text(s)[s.notna().to_numpy()].all():
        return s.astype(object).where(s.notna(), None)  # text already: nothing to rewrite
    if s.dtype == object or pd.api.types.is_numeric_dtype(s):

        def fix(v: object) -> object:
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
                return None
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            return v if isinstance(v, str) else str(v)

        return pd.Series([fix(v) for v in s.to_numpy(dtype=object)], index=s.index, dtype=object)
    return s.astype(object).where(s.notna(), None)


def vocab_hint(value: object, vocab: tuple[str, ...]) -> str:
    """A suggestion for a near-miss vocabulary value (case, spaces, typos); never applied.

    Returns ``"; did you mean 'Yes' → 'yes'?"`` (appended to the vocabulary message) or ``""``.
    """
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


def shown_value(v: object) -> str | None:
    """A cell value as the user would recognise it (dates without a midnight time)."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime)) and v == pd.Timestamp(v).normalize():
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    return str(v)


def date_text(v: object) -> str:
    """A date as ``YYYY-MM-DD`` in messages; a blank (open) end date reads ``open``."""
    return "open" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")
