"""The per-table pass of the validator: types, schema, keys, one table at a time.

:func:`check_table` converts a table to its contract's types (:mod:`.cells`), attaches the
row problems found while reading (``bundle.load_problems``), notes extra columns, rejects
exact duplicate rows and conflicting keys (:func:`key_pass`) and runs the table's pandera
schema lazily (:func:`schema_pass`: vocabularies, ranges, required values, date order).
Rules that need another table are in :mod:`.rules`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from iopkit.data.bundle import EXTRA_FIELDS, Bundle, TableReading
from iopkit.data.schemas import (
    LONG_ITEM,
    LONG_RESPONSE,
    TABLES,
    is_long_assessments,
    item_columns,
    table_schema,
)
from iopkit.data.validation.cells import (
    cell_problems,
    is_text,
    key_text,
    parse_dates,
    parse_ints,
    per_text,
    repeats,
    text_objects,
    vocab_hint,
)
from iopkit.privacy import redact_text

__all__ = [
    "TableState",
    "case_only_keys",
    "check_table",
    "convert_table",
    "key_pass",
    "read_codes",
    "read_profile_values",
    "redact_free_text",
    "schema_pass",
    "soften_descriptive",
]


@dataclass
class TableState:
    """One table during validation: the frame as read, its typed copy and its problems.

    ``problems`` holds frames by row position (:func:`~iopkit.data.validation.cells.cell_problems`
    plus ``column``); ``table_problems`` holds problems of the whole table (a missing required
    column), which reject every row. ``missing[column][token]`` counts the cells read as
    blank because a source profile names their text as a missing-value token.
    """

    name: str
    raw: pd.DataFrame
    typed: pd.DataFrame
    problems: list[pd.DataFrame] = field(default_factory=list)
    table_problems: list[dict] = field(default_factory=list)
    missing: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, frame: pd.DataFrame, column: str | None) -> None:
        """Record ``frame``'s problems against ``column`` (None: the row as a whole)."""
        if len(frame):
            frame = frame.copy()
            frame["column"] = column
            if "severity" not in frame.columns:
                frame["severity"] = "error"
            self.problems.append(frame)

    def bad(self) -> np.ndarray:
        """Rejected rows by position (any error, or every row after a table problem);
        warnings keep their row."""
        mask = np.zeros(len(self.raw), dtype=bool)
        if self.table_problems:
            mask[:] = True
        for p in self.problems:
            err = (p["severity"] == "error").to_numpy()
            mask[p["row"].to_numpy(dtype=np.int64)[err]] = True
        return mask


def blank_tokens(
    raw: pd.DataFrame, tokens: frozenset[str]
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """``raw`` with text cells equal (after stripping spaces) to one of ``tokens`` blanked,
    and the count per column and token (``{"birth_year": {"NA": 3}}``)."""
    counts: dict[str, dict[str, int]] = {}
    if not tokens or not len(raw):
        return raw, counts
    out = raw.copy()
    for col in raw.columns:
        if col == EXTRA_FIELDS:
            continue
        s = raw[col]
        if s.dtype != object and not pd.api.types.is_string_dtype(s):
            continue  # numbers, dates, booleans: no text to match
        present = is_text(s)
        stripped = np.full(len(s), None, dtype=object)
        stripped[present] = per_text(s.to_numpy(dtype=object)[present], str.strip)
        text = pd.Series(stripped, index=s.index, dtype=object)
        hit = text.isin(tokens).to_numpy(dtype=bool)
        if hit.any():
            words = text[hit].value_counts(sort=False)
            counts[str(col)] = {str(k): int(n) for k, n in words.items()}
            obj = s.to_numpy(dtype=object).copy()
            obj[hit] = None
            out[col] = pd.Series(obj, index=raw.index, dtype=object)
    return out, counts


def convert_table(
    name: str, raw: pd.DataFrame, dayfirst: bool | None, reading: TableReading | None = None
) -> TableState:
    """Convert ``raw`` to the contract's types, reporting every cell that cannot be converted.

    Columns the contract has but the table lacks are added blank (a missing *required* column
    is a table problem); ``dayfirst`` as in :func:`~iopkit.data.validation.cells.parse_dates`.
    ``reading`` (from a source profile): its missing-value tokens are blanked (and counted)
    before conversion and its date format is the one text dates must match.
    """
    spec = TABLES[name]
    reading = reading or TableReading()
    source, counts = blank_tokens(raw, reading.missing)
    typed = source.copy(deep=False)  # copy-on-write: columns are replaced, never edited
    t = TableState(name, raw, typed, missing=counts)
    raw = source
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
            typed[col.name], probs = parse_dates(
                s, dayfirst, date_format=reading.date_format, profile=reading.profile
            )
        elif col.kind == "int":
            typed[col.name], probs = parse_ints(s)
        else:
            typed[col.name], probs = key_text(s), None
        if probs is not None:
            t.add(probs, col.name)
    if name == "assessments":
        item_cols = [LONG_ITEM, LONG_RESPONSE] if is_long_assessments(raw) else item_columns(raw)
        for c in item_cols:
            typed[c], probs = parse_ints(raw[c])
            t.add(probs, c)
    return t


#: Rules a descriptive column's bad value is blanked for (type, vocabulary, range); a
#: reference, key or date problem still rejects the row.
_SOFTENED_RULES = frozenset({"type", "vocabulary", "range"})


def read_codes(t: TableState, file: str, notes: list[str]) -> None:
    """Read standard codes (e.g. HL7 FHIR AdministrativeGender ``F``/``M``, any case) as the
    contract's vocabulary values (:attr:`ColumnSpec.codes`); a note says how many were read."""
    for col in TABLES[t.name].columns:
        if not col.codes or col.name not in t.raw.columns:
            continue
        vocab = set(col.vocab or ())
        values = t.typed[col.name]
        present = is_text(values)
        codes = np.full(len(values), None, dtype=object)
        codes[present] = per_text(values.to_numpy(dtype=object)[present],
                                  lambda v, c=col.codes: c.get(v.strip().lower()))  # fmt: skip
        mapped = pd.Series(codes, index=values.index, dtype=object)
        change = mapped.notna() & ~values.isin(vocab)
        if not change.any():
            continue
        t.typed.loc[change, col.name] = mapped[change]
        pairs = (
            pd.DataFrame({"code": values[change].astype(str), "value": mapped[change]})
            .value_counts(sort=False)
            .reset_index()
        )
        listing = ", ".join(
            f"{c!r} → {v!r} ({n})" for c, v, n in pairs.itertuples(index=False, name=None)
        )
        notes.append(f"{file}: {col.name}: standard codes read as {listing}")


def read_profile_values(t: TableState, reading: TableReading | None, file: str,
                        notes: list[str]) -> None:  # fmt: skip
    """Apply a source profile's value maps (``sex: {F: female}``) to the typed copy (the raw
    cells stay as read); each ``;``-part of a list column is mapped on its own. A value the
    map does not list passes unchanged, so the validator reports it. A note says how many
    cells each map entry read."""
    if reading is None or not reading.values:
        return
    spec = TABLES[t.name]
    for col, mapping in reading.values.items():
        cspec = spec.column(col)
        if cspec is None or col not in t.raw.columns or not mapping:
            continue
        values = t.typed[col]
        used: dict[tuple[str, str], int] = {}

        def one(v: object, used: dict[tuple[str, str], int] = used,
                mapping: dict = mapping) -> object:  # fmt: skip
            if not isinstance(v, str):
                return v
            key = v.strip()
            if key in mapping:
                used[(key, mapping[key])] = used.get((key, mapping[key]), 0) + 1
                return mapping[key]
            return v

        if cspec.kind == "list":
            mapped = values.map(
                lambda v: ";".join(str(one(p)) for p in v.split(";")) if isinstance(v, str) else v
            )
        else:
            mapped = values.map(one)
        t.typed[col] = mapped.astype(object)
        if used:
            listing = ", ".join(f"{k!r} → {v!r} ({n})" for (k, v), n in used.items())
            notes.append(f"{file}: {col}: values read by the profile ({reading.profile}) as "
                         f"{listing}")  # fmt: skip


def soften_descriptive(t: TableState) -> None:
    """A bad value in an optional, descriptive column (:attr:`ColumnSpec.descriptive`) is a
    warning: the accepted row keeps every other value and this cell is blanked."""
    spec = TABLES[t.name]
    for p in t.problems:
        col = p["column"].iloc[0]
        col_spec = spec.column(col) if isinstance(col, str) else None
        if col_spec is None or not col_spec.descriptive:
            continue
        soft = (p["rule"].isin(_SOFTENED_RULES) & (p["severity"] == "error")).to_numpy()
        if not soft.any():
            continue
        p.loc[soft, "severity"] = "warning"
        p.loc[soft, "message"] = (
            p.loc[soft, "message"] + "; blanked (optional column: the row is kept)"
        )
        rows = p.loc[soft, "row"].to_numpy(dtype=np.int64)
        blank = None if col_spec.kind not in ("int", "date") else pd.NA
        idx = t.typed.index[rows]
        t.typed.loc[idx, col] = blank


_MAY_HOLD_IDENTIFIER = re.compile(r"[\d@]")


def _redacted(value: str) -> tuple[str, str] | None:
    """(redacted text, the kinds found) or None when ``value`` holds no identifier."""
    if _MAY_HOLD_IDENTIFIER.search(value) is None:
        return None
    text, findings = redact_text(value)
    if not findings:
        return None
    return text, ", ".join(dict.fromkeys(f.kind for f in findings))


def redact_free_text(t: TableState) -> None:
    """Identifiers in free text (:attr:`ColumnSpec.free_text`: goal text, event notes) are
    redacted with :func:`iopkit.privacy.redact_text` in the accepted row and in the rejects;
    each value is a warning (rule ``identifier_in_text``) naming the kinds found, never the
    identifier itself."""
    spec = TABLES[t.name]
    for col in spec.columns:
        if not col.free_text or col.name not in t.raw.columns:
            continue
        redacted = text_objects(t.raw[col.name])  # a new array: the bundle is not changed
        present = np.flatnonzero(is_text(t.raw[col.name]))
        # each distinct text once (goal texts repeat); a text without a digit or an '@' holds
        # none of the identifiers privacy.TEXT_PATTERNS finds, so it is not scanned
        codes, uniques = pd.factorize(redacted[present])
        found_u = [_redacted(u) for u in uniques]
        hit_u = np.array([f is not None for f in found_u], dtype=bool)
        if not hit_u.any():
            continue
        hit = hit_u[codes]
        rows = present[hit].tolist()
        found = [found_u[c] for c in codes[hit]]
        shown = [text for text, _ in found]
        msgs = [
            f"free text holds an identifier ({kinds}); redacted — "
            "keep identifying details out of this column"
            for _, kinds in found
        ]
        redacted[rows] = shown
        t.raw = t.raw.copy()  # never change the caller's bundle
        t.raw[col.name] = pd.Series(redacted, index=t.raw.index, dtype=object)
        t.typed.loc[t.typed.index[rows], col.name] = shown
        t.add(cell_problems(rows, shown, "identifier_in_text", msgs, "warning"), col.name)


def schema_pass(t: TableState, rows: np.ndarray) -> None:
    """Run the table's pandera schema lazily on the given rows; failures become problems."""
    if t.table_problems or not len(rows):
        return
    schema = table_schema(t.name, keys=False)
    spec = TABLES[t.name]
    frame = t.typed if len(rows) == len(t.typed) else t.typed.iloc[rows]
    try:
        schema.validate(frame, lazy=True, inplace=True)  # no copy: coerce=False
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
            msgs = [msg + vocab_hint(v, col_spec.vocab) for v in values]
        t.add(cell_problems(rows_, values, rule, msgs), col)


def _lines_text(lines: np.ndarray) -> str:
    return ", ".join(str(x) for x in lines[:3]) + (" …" if len(lines) > 3 else "")


def key_pass(t: TableState, line: np.ndarray) -> None:
    """Exact duplicate rows: later copies rejected. Conflicting keys: all rows rejected.

    Rows are compared exactly (:func:`~iopkit.data.validation.cells.repeats`), so no hash
    collision decides."""
    spec = TABLES[t.name]
    if t.table_problems or not len(t.raw):
        return
    key = list(spec.key)
    if t.name == "assessments" and is_long_assessments(t.raw):
        key.append(LONG_ITEM)  # long form: one row per item of an administration
    frame = t.typed[key]
    # two exact copies have equal keys (each typed cell is read from its raw cell alone), so
    # only rows whose key repeats — blanks counted as values — are compared whole
    maybe, _ = repeats(frame)
    same, group = repeats(t.raw.iloc[maybe]) if len(maybe) else (maybe, maybe)
    same = maybe[same]
    dup = np.zeros(len(t.raw), dtype=bool)
    if len(same):
        first = np.ones(len(group), dtype=bool)
        first[1:] = group[1:] > np.maximum.accumulate(group)[:-1]  # first appearance
        first_row = same[first][group]
        rows = same[~first]
        dup[rows] = True
        t.add(
            cell_problems(
                rows,
                [None] * len(rows),
                "duplicate_row",
                [f"exact copy of line {line[r0]}" for r0 in first_row[~first]],
            ),
            None,
        )
    rest = np.flatnonzero(~dup)
    if len(same):
        frame = frame.iloc[rest]
    shared, kid = repeats(frame, blank=False)  # a blank key value shares nothing
    if not len(shared):
        return
    order = np.argsort(kid, kind="stable")
    rows = rest[shared][order]  # by key, then by position
    kids = kid[order]
    starts = np.flatnonzero(np.r_[True, kids[1:] != kids[:-1]])
    msgs = [""] * len(rows)
    for lo, hi in zip(starts, np.r_[starts[1:], len(rows)], strict=True):
        members = rows[lo:hi]
        for i in range(lo, hi):
            others = line[members[members != rows[i]]]
            msgs[i] = (
                f"key ({', '.join(key)}) also on line {_lines_text(others)} with different values"
            )
    back = np.argsort(rows, kind="stable")
    rows, msgs = rows[back], [msgs[i] for i in back]
    t.add(
        cell_problems(rows, t.typed[key[0]].iloc[rows].to_numpy(), "duplicate_key", msgs),
        key[0],
    )


def case_only_keys(t: TableState, line: np.ndarray) -> None:
    """Ids that differ only by case (``P00002`` and ``p00002``) in a table's single-column key:
    a warning on every row after the first spelling (ids are compared exactly, so these stay
    two ids, which is rarely what the export meant)."""
    key = TABLES[t.name].key
    if len(key) != 1 or t.table_problems or not len(t.raw):
        return
    ids = t.typed[key[0]]
    text = ids[is_text(ids)]
    folded = text.str.casefold()
    if folded.nunique() == text.nunique():
        return
    first = text.groupby(folded.to_numpy()).transform("first")
    other = (text != first).to_numpy()
    if not other.any():
        return
    first_pos = pd.Series(np.arange(len(ids))[ids.index.get_indexer(text.index)], index=text.index)
    first_row = first_pos.groupby(folded.to_numpy()).transform("min").to_numpy()
    rows = first_pos.to_numpy()[other]
    msgs = [
        f"differs only by case from {f!r} on line {line[r0]}; read as a different id"
        for f, r0 in zip(first.to_numpy()[other], first_row[other], strict=True)
    ]
    t.add(cell_problems(rows, text.to_numpy()[other], "case_only_id", msgs, "warning"), key[0])


def _is_item_column(table: str, col: object) -> bool:
    return table == "assessments" and (
        str(col) in (LONG_ITEM, LONG_RESPONSE)
        or bool(pd.Series([str(col)]).str.fullmatch(r"item_\d+").iloc[0])
    )


def check_table(
    name: str, bundle: Bundle, *, dayfirst: bool | None, notes: list[str]
) -> TableState:
    """The per-table pass over ``bundle.tables[name]`` (see the module docstring).

    Decisions (extra columns kept) are appended to ``notes``.
    """
    reading = bundle.reading.get(name)
    t = convert_table(name, bundle.tables[name], dayfirst, reading)
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
            severity = rec.get("severity")
            t.add(
                cell_problems(
                    [int(r)],
                    [rec["value"]],
                    rec["rule"],
                    rec["message"],
                    severity if isinstance(severity, str) else "error",
                ),
                col,
            )
    extra_cols = [
        c
        for c in t.raw.columns
        if TABLES[name].column(c) is None and not _is_item_column(name, c) and c != EXTRA_FIELDS
    ]
    if extra_cols:
        notes.append(
            f"{bundle.files.get(name, name)}: extra column(s) kept as they are: "
            + ", ".join(map(str, extra_cols))
        )
    read_profile_values(t, reading, bundle.files.get(name, name), notes)
    read_codes(t, bundle.files.get(name, name), notes)
    key_pass(t, line)
    case_only_keys(t, line)
    schema_pass(t, np.arange(len(t.raw)))
    soften_descriptive(t)
    redact_free_text(t)
    return t
