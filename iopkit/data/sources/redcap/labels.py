"""Label exports: recognise them, and turn labels back into REDCap's raw names and codes.

REDCap exports a project either as raw data or as labels (Data Exports → "CSV / Microsoft
Excel (raw data)" or "(labels)"; API "Export Records" ``rawOrLabel`` and ``rawOrLabelHeaders``,
``exportCheckboxLabel``). A label export differs from a raw one in:

* the header (with label headers): field labels instead of variable names, ``Event Name``,
  ``Repeat Instrument``, ``Complete?``, ``Survey Timestamp``, ``<label> (choice=<label>)``;
* the values: choice labels (``Female``) instead of codes (``1``); ``Checked``/``Unchecked``
  (or, with ``exportCheckboxLabel``, the choice label or blank) instead of 1/0;
  ``Incomplete``/``Unverified``/``Complete`` instead of 0/1/2; events as
  ``Enrolment (Arm 1: Arm 1)`` instead of ``enrolment_arm_1``; repeating instruments by
  their label (``PHQ-9``) instead of their name (``phq9``).

Everything is translated through the data dictionary (and, for events, REDCap's events file
or its documented naming rule); without the dictionary a label export is refused. Hand
written because no maintained Python library reads REDCap label exports offline: PyCap and
REDCapR call the API and ask REDCap for raw data.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from iopkit.data.sources.redcap.dictionary import (
    COMPLETE_SUFFIX,
    STATUS_LABELS,
    SYSTEM_LABELS,
    DataDictionary,
    clean_label,
)
from iopkit.data.sources.redcap.mapping import EVENT, INSTRUMENT
from iopkit.data.sources.text import read_csv_file, sniff_delimiter
from iopkit.errors import InputError

__all__ = [
    "LABEL_EXPORT_HINT",
    "EventTable",
    "event_unique_name",
    "header_is_labels",
    "header_record",
    "label_evidence",
    "raw_values",
    "read_events",
    "translate_events",
    "translate_header",
    "translate_instruments",
]

#: what every refusal of a label export says
LABEL_EXPORT_HINT = (
    "this is a label export; export raw data (CSV / Microsoft Excel (raw data)) or pass the "
    "data dictionary (dictionary: in the mapping) so that labels are mapped back to codes"
)
CHECKED, UNCHECKED = "Checked", "Unchecked"
_RAW_NAME = re.compile(r"[a-z0-9_]+")
_EVENT_LABEL = re.compile(r"^(?P<name>.*) \(Arm (?P<arm>\d+): (?P<arm_name>.*)\)$", re.S)
#: (event name, arm number) -> unique event name
EventTable = dict[tuple[str, str], str]


def header_is_labels(header: list[str], record_id: str, dd: DataDictionary | None) -> bool:
    """True when the header names fields by label (REDCap's own column labels, a checkbox
    choice header ``… (choice=…)``, or, with the dictionary, the record id field's label)."""
    if record_id in header:
        return False
    marks = set(SYSTEM_LABELS) | {"Complete?", "Survey Timestamp"}
    if any(h in marks or h.endswith(")") and "(choice=" in h for h in header):
        return True
    return (
        dd is not None and bool(header) and clean_label(header[0]) == dd.fields[dd.record_id].label
    )


def header_record(text: str) -> tuple[list[str], int, int, str]:
    """The header of CSV text: (fields, first line, last line, delimiter); blank lines before
    it are skipped, as :func:`iopkit.data.sources.text.read_csv_text` does."""
    sep = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    start = 1
    try:
        for record in reader:
            if record and any(f.strip() for f in record):
                return [h.strip() for h in record], start, reader.line_num, sep
            start = reader.line_num + 1
    except csv.Error:
        pass  # read_csv_text reports it with its line
    return [], start, start, sep


def translate_header(text: str, file: str, dd: DataDictionary) -> tuple[str, int]:
    """Replace a label header by the variable names it stands for; returns (text, columns).

    Labels are matched in REDCap's export order (:meth:`DataDictionary.export_columns`), so
    repeated labels (``Complete?``, ``Survey Timestamp``, two fields sharing a label) go to
    the right column. Line numbers of the data rows are kept (the header keeps its lines).
    InputError naming the column position for a label the dictionary does not have.
    """
    header, start, end, sep = header_record(text)
    expected = dd.export_columns()
    names: list[str] = []
    pos = 0
    for i, label in enumerate(header, 1):
        if label in SYSTEM_LABELS:
            names.append(SYSTEM_LABELS[label])
            continue
        want = clean_label(label)
        k = next((j for j in range(pos, len(expected)) if expected[j][1] == want), None)
        if k is None:  # out of REDCap's order (a report with reordered columns)
            k = next((j for j, e in enumerate(expected) if e[1] == want and e[0] not in names),
                     None)  # fmt: skip
        if k is None:
            raise InputError(
                f"header label {label!r} (column {i}) is not a field label of the data "
                f"dictionary {dd.file}; is this export from the same project?",
                file=file, row=start, column=label, rule="label_export",
            )  # fmt: skip
        names.append(expected[k][0])
        pos = k + 1
    breaks = list(re.finditer(r"\r\n|\r|\n", text))
    rest = text[breaks[end - 1].end() :] if len(breaks) >= end else ""
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="").writerow(names)
    new = "\n" * (start - 1) + out.getvalue() + "\n" * (end - start + 1) + rest
    return new, len(names)


def label_evidence(
    export: pd.DataFrame, dd: DataDictionary | None
) -> tuple[str, int, str, str] | None:
    """The first sign that values are labels: (column, row position, value, what), or None.

    Signs: an event or repeating instrument that is not a REDCap name (lower case, digits,
    ``_``), ``Checked``/``Unchecked`` in a checkbox column, ``Incomplete``/``Unverified``/
    ``Complete`` in a form status column and, with the dictionary, a choice label (that is
    not also a code) in a coded field.
    """
    statuses = list(STATUS_LABELS.values())
    for col in export.columns:
        s = export[col].dropna()
        if not len(s):
            continue
        what = ""
        if col in (EVENT, INSTRUMENT):
            bad = ~s.str.fullmatch(_RAW_NAME.pattern)
            what = "an event label" if col == EVENT else "an instrument label"
        elif col.endswith(COMPLETE_SUFFIX) and (dd is None or dd.form_of_column(col)):
            bad, what = s.isin(statuses), "a form status label"
        elif "___" in col:
            bad, what = s.isin([CHECKED, UNCHECKED]), "a checkbox label"
            cb = dd.checkbox_of(col) if dd is not None else None
            if cb is not None:
                bad |= s.map(clean_label).eq(cb[0].choices[cb[1]]) & ~s.isin(["0", "1"])
        elif dd is not None and col in dd.fields and dd.fields[col].coded:
            ch = dd.fields[col].choices
            bad = s.map(clean_label).isin(set(ch.values()) - set(ch)) & ~s.isin(list(ch))
            what = "a choice label"
        else:
            continue
        if bad.any():
            first = bad.to_numpy().nonzero()[0][0]
            return str(col), int(s.index[first]), str(s.iloc[first]), what
    return None


def raw_values(export: pd.DataFrame, dd: DataDictionary) -> int:
    """Turn label values into codes in place (coded fields, checkboxes, form status);
    returns how many cells changed. A value that is not a label is left as it is (the
    mapping's ``codes`` and the validator then report it)."""
    changed = 0
    back_status = {v: k for k, v in STATUS_LABELS.items()}
    for col in export.columns:
        s = export[col]
        if not s.notna().any():
            continue
        table: dict[str, str] | None = None
        cb = dd.checkbox_of(col)
        if cb is not None:
            table = {CHECKED: "1", UNCHECKED: "0", cb[0].choices[cb[1]]: "1"}
        elif col in dd.fields and dd.fields[col].coded:
            table = {lab: code for code, lab in dd.fields[col].choices.items()}
        elif col.endswith(COMPLETE_SUFFIX) and dd.form_of_column(col):
            table = back_status
        if table is None:
            continue
        cleaned = s.map(lambda v: clean_label(v) if isinstance(v, str) else v)
        new = cleaned.map(lambda v, t=table: t.get(v, v) if v is not None else None)
        keep = s.isna() | ~cleaned.isin(list(table))
        export[col] = s.where(keep, new)
        changed += int((~keep).sum())
    return changed


def event_unique_name(name: str, arm: str) -> str:
    """REDCap's unique name of an event: the event name in lower case, characters other than
    letters, digits and spaces dropped, spaces as ``_``, cut to 18 characters, then
    ``_arm_<n>`` (events "Follow up" -> ``follow_up_arm_1``, "Deadline to opt out of study"
    -> ``deadline_to_opt_ou_arm_2`` in REDCapR's test projects,
    https://github.com/OuhscBbmc/REDCapR/blob/main/inst/test-data/projects/longitudinal/event.csv).
    Two events whose names agree in those 18 characters get a suffix from REDCap that this
    rule cannot know: :func:`translate_events` refuses such a pair and asks for the events
    file."""
    slug = re.sub(r"[^a-z0-9 ]", "", name.lower()).strip().replace(" ", "_")[:18]
    return f"{slug}_arm_{arm}"


def read_events(path: Path, encoding: str | None = None) -> EventTable:
    """REDCap's events file (Project Setup → Define My Events → download, or API "Export
    Events": ``event_name``, ``arm_num``, ``unique_event_name``)."""
    if not path.exists():
        raise InputError("REDCap events file not found", file=str(path), rule="missing_source")
    frame, lines, _, _ = read_csv_file(path, "events", encoding)
    need = ["event_name", "arm_num", "unique_event_name"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise InputError(
            f"not a REDCap events file: no column(s) {missing} (expected {need})",
            file=str(path), row=1, rule="events",
        )  # fmt: skip
    return {
        (clean_label(str(r["event_name"])), str(r["arm_num"]).strip()): str(
            r["unique_event_name"]
        ).strip()
        for r in frame.to_dict("records")
    }


def translate_events(
    labels: pd.Series, lines: np.ndarray, file: str, events: EventTable | None
) -> tuple[dict[str, str], str]:
    """Event labels ``Name (Arm n: arm name)`` -> unique event names; returns (table, note).

    With REDCap's events file the names are looked up; otherwise REDCap's naming rule
    (:func:`event_unique_name`) is applied and two labels giving one name are refused.
    InputError naming the export line for a label that cannot be read.
    """
    out: dict[str, str] = {}
    for value in pd.unique(labels.dropna()):
        if _RAW_NAME.fullmatch(value):
            out[value] = value
            continue
        m = _EVENT_LABEL.match(value)
        pos = int(np.flatnonzero((labels == value).to_numpy())[0])
        if m is None:
            raise InputError(
                f"event {value!r} is neither a unique event name nor a label "
                "'Event (Arm n: arm name)'",
                file=file, row=int(lines[pos]), column=EVENT, rule="label_export",
            )  # fmt: skip
        key = (clean_label(m["name"]), m["arm"])
        if events is not None:
            if key not in events:
                raise InputError(
                    f"event {value!r} is not in the events file (events: {sorted(events)})",
                    file=file, row=int(lines[pos]), column=EVENT, rule="label_export",
                )  # fmt: skip
            out[value] = events[key]
        else:
            out[value] = event_unique_name(*key)
    names = list(out.values())
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(
            f"event labels {[k for k, v in out.items() if v in twice]} give the same unique "
            f"event name {twice[0]!r}; give REDCap's events file (events: events.csv in the "
            "mapping, downloaded from Project Setup → Define My Events)",
            file=file, column=EVENT, rule="label_export",
        )  # fmt: skip
    how = "REDCap's events file" if events is not None else "REDCap's naming rule"
    note = f"{file}: event labels read as unique event names by {how}: " + ", ".join(
        f"{k!r} → {v}" for k, v in out.items() if k != v
    )
    return out, note


def translate_instruments(
    export: pd.DataFrame, lines: np.ndarray, file: str, dd: DataDictionary
) -> tuple[dict[str, str], str]:
    """Repeating instrument labels -> form names; returns (table, note).

    A label export names a repeating instrument by its label, which the data dictionary does
    not hold; the form is the one whose status (``<form>_complete``) is filled on that
    instrument's rows — a repeating instrument's row holds only its own form. InputError when
    the rows do not tell one form.
    """
    out: dict[str, str] = {}
    inst = export[INSTRUMENT]
    status = [f + COMPLETE_SUFFIX for f in dd.forms if f + COMPLETE_SUFFIX in export.columns]
    for value in pd.unique(inst.dropna()):
        if value in dd.forms:
            out[value] = value
            continue
        rows = (inst == value).to_numpy()
        forms = [c[: -len(COMPLETE_SUFFIX)] for c in status if export.loc[rows, c].notna().any()]
        if len(forms) != 1:
            pos = int(np.flatnonzero(rows)[0])
            raise InputError(
                f"repeating instrument {value!r}: its rows fill the status of "
                f"{len(forms)} form(s) {forms}, so its form cannot be told; export raw data",
                file=file, row=int(lines[pos]), column=INSTRUMENT, rule="label_export",
            )  # fmt: skip
        out[value] = forms[0]
    note = f"{file}: repeating instrument labels read as forms: " + ", ".join(
        f"{k!r} → {v}" for k, v in out.items() if k != v
    )
    return out, note
