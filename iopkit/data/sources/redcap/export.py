"""Read a REDCap flat export (raw or labels) into a bundle, following a mapping.

A flat export ("CSV / Microsoft Excel (raw data)" or "(labels)", or API "Export Records"
with ``type=flat``) has one row per record, event (``redcap_event_name``, longitudinal
projects) and repeat instance (``redcap_repeat_instrument``, ``redcap_repeat_instance``;
blank on the non-repeating row), then every field. REDCap's conventions honoured here (REDCap
API documentation, "Export Records"; real exports kept in REDCapR's test projects,
https://github.com/OuhscBbmc/REDCapR/tree/main/inst/test-data):

* a checkbox field is one column per choice, ``<field>___<code>``, holding 1/0: read into the
  contract's ``;``-separated list of the checked codes (then ``codes``, element by element);
  a form never saved exports its checkboxes as 0 and its status as 0, so a row whose mapped
  fields are blank or unchecked is not a row of that table;
* ``<form>_complete`` is 0 Incomplete, 1 Unverified, 2 Complete: by the mapping's
  ``form_status`` an Incomplete (default) or Unverified (by option) form's row is set aside —
  rejected whole with the reason and counted — or accepted, counted in a note;
* ``<form>_timestamp`` (with "export survey fields") is ``YYYY-MM-DD HH:MM:SS``, or
  ``[not completed]`` when the survey was not submitted: only a ``date_part`` entry of the
  mapping takes its date (the time dropped, stated in a note); ``[not completed]`` is set
  aside (rule ``survey_not_completed``), never dated by a guess;
* a label export is read through the data dictionary (:mod:`.labels`), or refused.

Source lines refer to the export file (header = line 1), so every problem points at the row
a coordinator can find.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iopkit.data.bundle import Bundle
from iopkit.data.schemas import TABLES, item_columns
from iopkit.data.sources.redcap.dictionary import (
    COMPLETE_SUFFIX,
    STATUS_LABELS,
    DataDictionary,
    read_dictionary,
)
from iopkit.data.sources.redcap.labels import (
    LABEL_EXPORT_HINT,
    header_is_labels,
    header_record,
    label_evidence,
    raw_values,
    read_events,
    translate_events,
    translate_header,
    translate_instruments,
)
from iopkit.data.sources.redcap.mapping import (
    EVENT,
    INSTANCE,
    INSTRUMENT,
    ROW_KEYS,
    RedcapMapping,
    check_against_dictionary,
    read_mapping,
)
from iopkit.data.sources.registry import finish_bundle
from iopkit.data.sources.text import (
    decode_bytes,
    encoding_label,
    read_csv_file,
    read_csv_text,
    require_regular_file,
)
from iopkit.errors import InputError
from iopkit.privacy import check_identifiers

__all__ = ["NOT_COMPLETED", "read_redcap"]

#: what a survey timestamp holds when the survey was not submitted
NOT_COMPLETED = "[not completed]"
_DATETIME = re.compile(r"^(\S+)[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


class _Export:
    """The export as read: frame, lines, the row keys used for selection, problems."""

    def __init__(self, frame: pd.DataFrame, lines: np.ndarray, where: str) -> None:
        self.frame, self.lines, self.where = frame, lines, where
        self.keys: dict[str, pd.Series] = {}  # event / instrument, as unique names
        self.line_problems: dict[int, dict] = {}  # export line -> problem (every table)

    def select(self, rows: Mapping[str, Any] | None) -> np.ndarray:
        mask = np.ones(len(self.frame), dtype=bool)
        for key, value in (rows or {}).items():
            col = ROW_KEYS[key]
            values = list(value) if isinstance(value, list | tuple) else [value]
            if col not in self.frame.columns:
                if values == [None]:
                    continue  # e.g. a classic project without repeating instruments
                raise InputError(
                    f"the export has no {col} column but the mapping selects rows by {key}",
                    file=self.where, column=col, rule="mapping",
                )  # fmt: skip
            s = self.keys.get(col, self.frame[col])
            named = [str(v) for v in values if v is not None]
            hit = s.isin(named).to_numpy().copy()
            if None in values:
                hit |= s.isna().to_numpy()
            mask &= hit
        return mask


def _checkbox_columns(export: pd.DataFrame, field: str) -> list[str]:
    return [c for c in export.columns if str(c).startswith(field + "___")]


def _require_fields(ex: _Export, fields: list[str], what: str) -> None:
    cols = ex.frame.columns
    missing = [f for f in fields if f not in cols and not _checkbox_columns(ex.frame, f)]
    if missing:
        raise InputError(
            f"{what}: field(s) {missing} are not in the export",
            file=ex.where, column=missing[0], rule="mapping",
        )  # fmt: skip


def _forms(
    spec: Mapping[str, Any], fields: list[str], rid: str, dd: DataDictionary | None
) -> list[str]:
    """The forms whose status decides an entry's rows: ``form`` of the mapping, else the
    forms of its fields (data dictionary), else its repeating instruments."""
    if spec.get("form") is not None:
        form = spec["form"]
        return [str(f) for f in (form if isinstance(form, list) else [form])]
    if dd is not None:
        out: list[str] = []
        for f in fields:
            form = dd.form_of_column(f) if f != rid else None
            if form is not None and form not in out:
                out.append(form)
        return out
    inst = (spec.get("rows") or {}).get("repeat_instrument")
    return [str(i) for i in (inst if isinstance(inst, list) else [inst]) if i is not None]


class _Entry:
    """One table or assessment entry being built: its frame, lines and row problems."""

    def __init__(self, ex: _Export, name: str, sel: np.ndarray) -> None:
        self.ex, self.name = ex, name
        self.sub = ex.frame.loc[sel].reset_index(drop=True)
        self.lines = ex.lines[sel]
        self.problems: list[dict] = []  # with "row" = position in self.sub
        self.notes: list[str] = []

    def problem(self, pos: int, column: str | None, value: Any, rule: str, message: str) -> None:
        self.problems.append(
            {"file": self.ex.where, "source_line": int(self.lines[pos]), "column": column,
             "value": value, "rule": rule, "message": message, "row": pos}
        )  # fmt: skip

    def value(self, target: str, field: str, codes: Mapping[str, Any] | None) -> np.ndarray:
        """The column ``target`` from REDCap field ``field`` (a checkbox gives the list of
        its checked codes), with ``codes`` applied (per element for a checkbox)."""
        table = {str(k): v for k, v in (codes or {}).items()}
        if field in self.sub.columns or not _checkbox_columns(self.sub, field):
            s = self.sub[field]
            return s.map(lambda v: table.get(v, v) if v is not None else None).to_numpy(object)
        cols = _checkbox_columns(self.sub, field)
        out = np.empty(len(self.sub), dtype=object)
        block = self.sub[cols].to_numpy(dtype=object)
        codes_of = [c[len(field) + 3 :] for c in cols]
        for pos, row in enumerate(block):
            checked = [
                str(table.get(code, code))
                for code, v in zip(codes_of, row, strict=True)
                if v == "1"
            ]
            bad = [
                f"{c} = {v}" for c, v in zip(cols, row, strict=True) if v not in ("0", "1", None)
            ]
            out[pos] = ";".join(checked) if checked else None
            if bad:
                self.problem(
                    pos, target, "; ".join(bad), "checkbox_value",
                    f"checkbox {field}: {', '.join(bad)}; a checkbox choice is 1 (checked), "
                    "0 (unchecked) or blank",
                )  # fmt: skip
        return out

    def filled(self, fields: list[str]) -> np.ndarray:
        """Rows with any of ``fields`` given (a checkbox counts only when a choice is checked,
        a survey timestamp only when it is not ``[not completed]``)."""
        mask = np.zeros(len(self.sub), dtype=bool)
        for f in fields:
            if f in self.sub.columns:
                s = self.sub[f]
                mask |= (s.notna() & s.ne(NOT_COMPLETED)).to_numpy()
            else:
                cols = _checkbox_columns(self.sub, f)
                if cols:  # a choice checked (or a value that is not a checkbox value)
                    block = self.sub[cols]
                    mask |= (block.notna() & block.ne("0")).to_numpy().any(axis=1)
        return mask

    def keep_rows(self, mask: np.ndarray) -> None:
        self.sub = self.sub[mask].reset_index(drop=True)
        self.lines = self.lines[mask]

    def date_part(self, frame: pd.DataFrame, spec: Mapping[str, Any]) -> None:
        """Columns filled with the date part of a datetime field (a survey timestamp)."""
        for target, field in (spec.get("date_part") or {}).items():
            s = self.sub[str(field)]
            values = s.to_numpy(dtype=object)
            out = np.empty(len(values), dtype=object)
            taken = 0
            for pos, v in enumerate(values):
                m = _DATETIME.match(v) if isinstance(v, str) else None
                out[pos] = m.group(1) if m else v
                taken += bool(m)
                if v == NOT_COMPLETED:
                    self.problem(
                        pos, target, v, "survey_not_completed",
                        f"{field} is {NOT_COMPLETED!r}: the survey was not submitted (left "
                        "unfinished, or entered by staff), so it has no date; map a date "
                        "field under columns for such rows",
                    )  # fmt: skip
            frame[target] = out
            self.notes.append(
                f"{self.name}: {target} is the date part of {field} (time of day dropped) "
                f"for {taken} row(s)"
            )

    def form_status(self, forms: list[str], policy: Mapping[str, str], has_status: bool) -> None:
        """Honour ``<form>_complete`` of ``forms`` (see the module docstring)."""
        cols = [f + COMPLETE_SUFFIX for f in forms if f + COMPLETE_SUFFIX in self.sub.columns]
        if not cols:
            if has_status and not forms:
                self.notes.append(
                    f"{self.name}: form status (<form>_complete) not checked: the entry names no "
                    "form; give form: in the mapping or the data dictionary"
                )
            return
        accepted = {"0": 0, "1": 0}
        blank = 0
        first: dict[str, int] = {}
        for col in cols:
            s = self.sub[col]
            blank += int(s.isna().sum())
            for pos in np.flatnonzero((s.notna() & ~s.isin(["0", "1", "2"])).to_numpy()):
                self.problem(
                    int(pos), None, f"{col} = {s.iat[pos]}", "form_status",
                    f"{col} = {s.iat[pos]!r} is not a form status (0 Incomplete, 1 Unverified, "
                    "2 Complete)",
                )  # fmt: skip
            for v, kind in (("0", "incomplete"), ("1", "unverified")):
                rows = np.flatnonzero(s.eq(v).to_numpy())
                if policy[kind] != "set_aside":
                    accepted[v] += len(rows)
                    if len(rows):
                        first.setdefault(v, int(self.lines[rows[0]]))
                    continue
                for pos in rows:
                    self.problem(
                        int(pos), None, f"{col} = {v}", f"form_{kind}",
                        f"{col} = {v} ({STATUS_LABELS[v]}): the form was not marked complete; "
                        f"set aside (form_status.{kind}: set_aside; 'accept' keeps such rows)",
                    )  # fmt: skip
        for v, n in accepted.items():
            if n:
                kind = "incomplete" if v == "0" else "unverified"
                self.notes.append(
                    f"{self.name}: {n} row(s) with form status {v} ({STATUS_LABELS[v]}) "
                    f"accepted (form_status.{kind}: accept), first on line {first[v]}"
                )
        if blank:
            self.notes.append(
                f"{self.name}: {blank} row(s) with a blank form status ({', '.join(cols)}) accepted"
            )


def _read_export(
    path: Path, m: RedcapMapping, dd: DataDictionary | None, encoding: str | None
) -> tuple[_Export, list[dict], list[str]]:
    where = str(path)
    require_regular_file(path)
    text, used = decode_bytes(path.read_bytes(), where, encoding)
    notes = [f"{where}: read as {encoding_label(used)}"]
    header = header_record(text)[0]
    if header_is_labels(header, m.record_id, dd):
        if dd is None:
            raise InputError(
                f"column headers are field labels ({', '.join(map(repr, header[:3]))}, …): "
                + LABEL_EXPORT_HINT,
                file=where, row=1, rule="label_export",
            )  # fmt: skip
        text, n = translate_header(text, where, dd)
        notes.append(
            f"{where}: column headers are field labels; {n} read as variable names through "
            f"the data dictionary {dd.file}"
        )
    frame, lines, problems = read_csv_text(text, where, "redcap")
    ex = _Export(frame, lines, where)
    evidence = label_evidence(frame, dd)
    if evidence is not None:
        col, pos, value, what = evidence
        if dd is None:
            raise InputError(
                f"{value!r} is {what}: " + LABEL_EXPORT_HINT,
                file=where, row=int(lines[pos]), column=col, rule="label_export",
            )  # fmt: skip
        changed = raw_values(frame, dd)
        notes.append(
            f"{where}: a label export ({value!r} in {col}, line {int(lines[pos])}); "
            f"{changed} label(s) read as codes through the data dictionary {dd.file}"
        )
        if EVENT in frame.columns:
            events_file = m.side_file("events", path)
            events = read_events(events_file, encoding) if events_file is not None else None
            table, note = translate_events(frame[EVENT], lines, where, events)
            ex.keys[EVENT] = frame[EVENT].map(table)
            notes.append(note)
        if INSTRUMENT in frame.columns:
            table, note = translate_instruments(frame, lines, where, dd)
            ex.keys[INSTRUMENT] = frame[INSTRUMENT].map(table)
            notes.append(note)
    if INSTRUMENT in frame.columns and INSTANCE in frame.columns:
        bad = frame[INSTRUMENT].notna() & ~frame[INSTANCE].fillna("").str.fullmatch(r"[1-9]\d*")
        for pos in np.flatnonzero(bad.to_numpy()):
            ex.line_problems[int(lines[pos])] = {
                "file": where, "source_line": int(lines[pos]), "column": None,
                "value": frame.at[pos, INSTANCE], "rule": "repeat_instance",
                "message": f"{INSTANCE} {frame.at[pos, INSTANCE]!r} of repeating instrument "
                f"{frame.at[pos, INSTRUMENT]!r} is not a whole number from 1",
            }  # fmt: skip
    for p in problems:  # field-count problems belong to every table built from that line
        ex.line_problems.setdefault(int(p["source_line"]), p)
    return ex, problems, notes


def read_redcap(
    source: str | Path,
    mapping: str | Path | Mapping[str, Any],
    *,
    dictionary: str | Path | None = None,
    encoding: str | None = None,
    strict: bool = False,
) -> Bundle:
    """Turn a REDCap flat export (CSV, raw or labels) into a bundle following ``mapping``.

    ``dictionary``: the project's data dictionary CSV (default: the mapping's
    ``dictionary:`` file, relative to the mapping or beside the export). With it the mapping
    is checked before loading and a label export is read; without it a label export is
    refused. Rows set aside while reading (incomplete forms, surveys without a timestamp,
    bad checkbox values) are rejected whole by :func:`iopkit.data.validate_bundle`, with
    the reason.
    """
    path = Path(source)
    if not path.exists():
        raise InputError("REDCap export not found", file=str(path), rule="missing_source")
    m = read_mapping(mapping)
    dd_path = Path(dictionary) if dictionary is not None else m.side_file("dictionary", path)
    dd = read_dictionary(dd_path, encoding) if dd_path is not None else None
    checked = check_against_dictionary(m, dd) if dd is not None else []
    where = str(path)
    ex, _, notes = _read_export(path, m, dd, encoding)
    notes.extend(checked)
    export, lines = ex.frame, ex.lines
    check_identifiers({where: (None, [str(c) for c in export.columns])})
    rid = m.record_id
    _require_fields(ex, [rid], "record_id")
    if dd is not None:
        notes.append(f"{where}: mapping checked against the data dictionary {dd.file}")
    has_status = any(str(c).endswith(COMPLETE_SUFFIX) for c in export.columns)
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    tlines: dict[str, np.ndarray] = {}
    row_problems: list[dict] = []
    used = np.zeros(len(export), dtype=bool)
    selected = np.zeros(len(export), dtype=bool)

    def finish(table: str, entries: list[tuple[_Entry, pd.DataFrame]]) -> None:
        frames, lns, offset = [], [], 0
        for e, frame in entries:
            frames.append(frame)
            lns.append(e.lines)
            for p in e.problems:
                row_problems.append({**p, "table": table, "row": p["row"] + offset})
            for pos, line in enumerate(e.lines):
                if int(line) in ex.line_problems:
                    lp = ex.line_problems[int(line)]
                    row_problems.append({**lp, "table": table, "row": pos + offset})
            notes.extend(e.notes)
            offset += len(frame)
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if table == "assessments":
            frame = frame[["episode_id", "date", "scale", *item_columns(frame)]]
        tables[table], tlines[table], files[table] = frame, np.concatenate(lns), where

    def mark_used(sel: np.ndarray, e: _Entry, filled: np.ndarray) -> None:
        idx = np.flatnonzero(sel)
        selected[idx] = True
        used[idx[filled]] = True

    for table, tspec in (m.data.get("tables") or {}).items():
        cols = {str(k): str(v) for k, v in tspec["columns"].items()}
        dparts = {str(k): str(v) for k, v in (tspec.get("date_part") or {}).items()}
        _require_fields(ex, [*cols.values(), *dparts.values()], f"tables.{table}")
        sel = ex.select(tspec.get("rows"))
        e = _Entry(ex, f"tables.{table}", sel)
        data_fields = [f for f in [*cols.values(), *dparts.values()] if f != rid]
        filled = e.filled(data_fields) if data_fields else np.ones(len(e.sub), bool)
        mark_used(sel, e, filled)
        e.keep_rows(filled)
        codes = tspec.get("codes") or {}
        frame = pd.DataFrame(
            {target: e.value(target, src, codes.get(target)) for target, src in cols.items()}
        )
        e.date_part(frame, tspec)
        e.form_status(_forms(tspec, list(cols.values()), rid, dd), m.form_status(tspec),
                      has_status)  # fmt: skip
        finish(table, [(e, frame)])
    parts: list[tuple[_Entry, pd.DataFrame]] = []
    for i, aspec in enumerate(m.data.get("assessments") or []):
        cols = {str(k): str(v) for k, v in aspec["columns"].items()}
        dparts = {str(k): str(v) for k, v in (aspec.get("date_part") or {}).items()}
        prefix = str(aspec["items"])
        item_fields = sorted(
            (c for c in export.columns if re.fullmatch(re.escape(prefix) + r"\d+", str(c))),
            key=lambda c: int(str(c)[len(prefix) :]),
        )
        name = f"assessments[{i}] ({aspec['scale']})"
        if not item_fields:
            notes.append(
                f"mapping {name}: the export has no fields {prefix}1, {prefix}2, …; "
                f"no {aspec['scale']} rows"
            )
            continue
        _require_fields(ex, [*cols.values(), *dparts.values()], f"assessments[{i}]")
        sel = ex.select(aspec.get("rows"))
        e = _Entry(ex, name, sel)
        date_fields = [cols["date"]] if "date" in cols else [dparts["date"]]
        filled = e.filled([*item_fields, *date_fields])
        mark_used(sel, e, filled)
        e.keep_rows(filled)
        frame = pd.DataFrame({t: e.value(t, src, None) for t, src in cols.items()})
        e.date_part(frame, aspec)
        frame["scale"] = aspec["scale"]
        for f in item_fields:
            frame[f"item_{int(str(f)[len(prefix) :])}"] = e.sub[f].to_numpy(dtype=object)
        frame = frame[["episode_id", "date", "scale", *item_columns(frame)]]
        e.form_status(_forms(aspec, [*cols.values(), *item_fields], rid, dd),
                      m.form_status(aspec), has_status)  # fmt: skip
        parts.append((e, frame))
    if parts:
        finish("assessments", parts)
    blank = selected & ~used
    unmatched = ~selected
    notes.append(
        f"{where}: {len(export)} export row(s): {int(used.sum())} loaded into tables, "
        f"{int(blank.sum())} blank in every mapped field (a form not filled in that event), "
        f"{int(unmatched.sum())} matching no table of the mapping"
        + (f" (first on line {int(lines[unmatched][0])})" if unmatched.any() else "")
    )
    for table, rel in (m.data.get("files") or {}).items():
        if table not in TABLES:
            raise InputError(
                f"files.{table}: not a bundle table", file=m.where, row=m.line("files", table),
                rule="mapping",
            )  # fmt: skip
        candidates = [m.folder / rel] if m.folder is not None else []
        candidates.append(path.parent / rel)  # beside the export
        fpath = next((c for c in candidates if c.exists()), candidates[0])
        if not fpath.exists():
            raise InputError(
                f"file for table {table} not found", file=str(fpath), rule="missing_source"
            )
        frame, ln, probs, enc = read_csv_file(fpath, table, encoding)
        notes.append(f"{fpath}: read as {encoding_label(enc)}")
        tables[table], tlines[table], files[table] = frame, ln, str(fpath)
        row_problems.extend(probs)
    bundle = finish_bundle(tables, files, tlines, row_problems, notes, where, strict)
    if row_problems:  # positions, since one export line can give several rows of a table
        bundle.load_problems["row"] = pd.array([p.get("row") for p in row_problems], dtype="Int64")
    return bundle
