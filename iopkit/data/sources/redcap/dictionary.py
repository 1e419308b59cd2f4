"""A REDCap data dictionary: fields, forms, choices, and the columns an export holds.

The data dictionary is the project's codebook, downloaded from the Online Designer ("Data
Dictionary" → "Download the current Data Dictionary") or exported through the API ("Export
Metadata"). Its 18 standard headers ("Variable / Field Name", "Form Name", "Section Header",
"Field Type", "Field Label", "Choices, Calculations, OR Slider Labels", …, "Field
Annotation"; the API's names ``field_name``, ``form_name``, ``field_type``, ``field_label``,
``select_choices_or_calculations`` are accepted too) follow REDCap's data dictionary format as
modelled by https://linkml.io/linkml-redcap/reference/data_dictionary/ . Conventions used:

* choices of ``radio``, ``dropdown`` and ``checkbox`` fields are ``code, label`` pairs joined
  by ``|`` (``1, Female | 2, Male``); ``yesno`` is ``1, Yes | 0, No`` and ``truefalse``
  ``1, True | 0, False`` (built in, not written in the file);
* an export has one column per checkbox choice, ``<field>___<code>`` (REDCap API "Export List
  of Export Field Names"; redcapAPI ``exportFieldNames``), ``<form>_complete`` after each
  form's fields (0 Incomplete, 1 Unverified, 2 Complete), and with "export survey fields"
  ``<form>_timestamp`` before a survey's fields; ``descriptive`` fields have no column;
* a label export's header names a field by its label, a checkbox choice as
  ``<label> (choice=<choice label>)``, a form status as ``Complete?`` and a survey timestamp as
  ``Survey Timestamp`` (as REDCap writes them; see the label-header exports kept by REDCapR,
  https://github.com/OuhscBbmc/REDCapR/tree/main/inst/test-data/specific-redcapr).

Read with :func:`iopkit.data.sources.text.read_csv_file`, so a dictionary problem names its
file, line and column like any other input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from iopkit.data.sources.text import read_csv_file
from iopkit.errors import InputError

__all__ = [
    "COMPLETE_SUFFIX",
    "STATUS_LABELS",
    "SYSTEM_LABELS",
    "TIMESTAMP_SUFFIX",
    "DataDictionary",
    "Field",
    "checkbox_suffix",
    "clean_label",
    "parse_choices",
    "read_dictionary",
]

COMPLETE_SUFFIX, TIMESTAMP_SUFFIX = "_complete", "_timestamp"
#: ``<form>_complete`` codes and their labels (REDCap form status).
STATUS_LABELS: dict[str, str] = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
#: header labels of REDCap's own export columns in a label export -> their raw names
SYSTEM_LABELS: dict[str, str] = {
    "Event Name": "redcap_event_name",
    "Repeat Instrument": "redcap_repeat_instrument",
    "Repeat Instance": "redcap_repeat_instance",
    "Data Access Group": "redcap_data_access_group",
    "Survey Identifier": "redcap_survey_identifier",
}
#: built-in choices of the yes/no and true/false field types
BUILT_IN_CHOICES: dict[str, dict[str, str]] = {
    "yesno": {"1": "Yes", "0": "No"},
    "truefalse": {"1": "True", "0": "False"},
}
CODED_TYPES = ("radio", "dropdown", "checkbox", "yesno", "truefalse")

_HEADERS = {  # our name -> (data dictionary header, API metadata header)
    "name": ("Variable / Field Name", "field_name"),
    "form": ("Form Name", "form_name"),
    "type": ("Field Type", "field_type"),
    "label": ("Field Label", "field_label"),
    "choices": ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations"),
}


def clean_label(text: str) -> str:
    """A label as an export shows it: HTML tags removed, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", "", text)).strip()


def checkbox_suffix(code: str) -> str:
    """The ``___`` suffix of a checkbox choice's export column: the code in lower case with
    characters other than letters, digits and ``_`` written as ``_`` (REDCap's export field
    names; a code such as ``-1`` or ``1.5`` cannot appear in a variable name as it is)."""
    return re.sub(r"[^a-z0-9_]", "_", code.strip().lower())


def parse_choices(text: str) -> dict[str, str]:
    """``"1, Female | 2, Male"`` -> ``{"1": "Female", "2": "Male"}``; ValueError when an entry
    has no comma or a code is given twice."""
    out: dict[str, str] = {}
    for part in text.split("|"):
        if not part.strip():
            continue
        code, sep, label = part.partition(",")
        if not sep or not code.strip():
            raise ValueError(f"choice {part.strip()!r} is not 'code, label'")
        code = code.strip()
        if code in out:
            raise ValueError(f"choice code {code!r} is given twice")
        out[code] = clean_label(label)
    return out


@dataclass(frozen=True)
class Field:
    """One field of the dictionary (``line``: its line in the dictionary file)."""

    name: str
    form: str
    type: str
    label: str
    choices: dict[str, str]
    line: int

    @property
    def coded(self) -> bool:
        """True for fields whose values are choice codes (radio, dropdown, checkbox, yes/no)."""
        return self.type in CODED_TYPES

    def export_columns(self) -> list[tuple[str, str]]:
        """(export column, header label) of this field; a checkbox gives one per choice."""
        if self.type == "descriptive":
            return []
        if self.type == "checkbox":
            return [
                (f"{self.name}___{checkbox_suffix(c)}", f"{self.label} (choice={lab})")
                for c, lab in self.choices.items()
            ]
        return [(self.name, self.label)]


@dataclass
class DataDictionary:
    """The fields of a REDCap project in dictionary order (``fields`` by name, ``forms`` in
    order of first appearance); ``file`` names the dictionary in messages."""

    file: str
    fields: dict[str, Field]
    forms: list[str] = field(default_factory=list)

    @property
    def record_id(self) -> str:
        """The record id field: the project's first field (REDCap's rule)."""
        return next(iter(self.fields))

    def form_fields(self, form: str) -> list[Field]:
        """Fields of one form, in order."""
        return [f for f in self.fields.values() if f.form == form]

    def checkbox_of(self, column: str) -> tuple[Field, str] | None:
        """(checkbox field, choice code) for an export column ``<field>___<suffix>``."""
        name, sep, suffix = column.rpartition("___")
        f = self.fields.get(name) if sep else None
        if f is None or f.type != "checkbox":
            return None
        code = next((c for c in f.choices if checkbox_suffix(c) == suffix), None)
        return (f, code) if code is not None else None

    def form_of_column(self, column: str) -> str | None:
        """The form an export column belongs to (fields, checkbox choices, ``_complete``,
        ``_timestamp``), or None for REDCap's own columns and unknown ones."""
        if column in self.fields:
            return self.fields[column].form
        cb = self.checkbox_of(column)
        if cb is not None:
            return cb[0].form
        for suffix in (COMPLETE_SUFFIX, TIMESTAMP_SUFFIX):
            if column.endswith(suffix) and column[: -len(suffix)] in self.forms:
                return column[: -len(suffix)]
        return None

    def export_columns(self) -> list[tuple[str, str, bool]]:
        """(column, header label, optional) of a full flat export in REDCap's order: record
        id, then per form its survey timestamp (optional: surveys with "export survey
        fields" only), its fields and ``<form>_complete``. REDCap's own columns (event,
        repeat instrument, …) are not listed; see :data:`SYSTEM_LABELS`."""
        rid = self.record_id
        out: list[tuple[str, str, bool]] = []
        for form in self.forms:
            fields = self.form_fields(form)
            if fields and fields[0].name == rid:
                out.append((rid, self.fields[rid].label, False))
                fields = fields[1:]
            out.append((form + TIMESTAMP_SUFFIX, "Survey Timestamp", True))
            for f in fields:
                out += [(c, lab, False) for c, lab in f.export_columns()]
            out.append((form + COMPLETE_SUFFIX, "Complete?", False))
        return out


def read_dictionary(path: str | Path, encoding: str | None = None) -> DataDictionary:
    """Read a REDCap data dictionary CSV (either header set, see the module docstring).

    InputError (rule ``dictionary``) naming file, line and column for a missing header, a
    field without name, form or type, a field given twice, or choices that are not
    ``code, label`` pairs.
    """
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise InputError("data dictionary not found", file=where, rule="missing_source")
    frame, lines, problems, _ = read_csv_file(path, "dictionary", encoding)
    if problems:
        p = problems[0]
        raise InputError(p["message"], file=where, row=p["source_line"], rule="dictionary")
    cols: dict[str, str] = {}
    for key, names in _HEADERS.items():
        found = next((n for n in names if n in frame.columns), None)
        if found is None:
            raise InputError(
                f"not a REDCap data dictionary: no {names[0]!r} column (headers "
                f"{list(frame.columns)[:4]}…); download it from the Online Designer "
                "(Data Dictionary → Download the current Data Dictionary)",
                file=where,
                row=1,
                rule="dictionary",
            )
        cols[key] = found
    fields: dict[str, Field] = {}
    forms: list[str] = []
    for pos, rec in enumerate(frame.to_dict("records")):
        line = int(lines[pos])
        name, form, ftype = (str(rec[cols[k]] or "").strip() for k in ("name", "form", "type"))
        for key, value in (("name", name), ("form", form), ("type", ftype)):
            if not value:
                raise InputError(
                    f"a field without {cols[key]!r}", file=where, row=line,
                    column=cols[key], rule="dictionary",
                )  # fmt: skip
        if name in fields:
            raise InputError(
                f"field {name!r} is given twice (first on line {fields[name].line})",
                file=where, row=line, column=cols["name"], rule="dictionary",
            )  # fmt: skip
        ftype = ftype.lower()
        choices: dict[str, str] = dict(BUILT_IN_CHOICES.get(ftype, {}))
        if ftype in ("radio", "dropdown", "checkbox"):
            try:
                choices = parse_choices(str(rec[cols["choices"]] or ""))
            except ValueError as exc:
                raise InputError(
                    f"field {name!r}: {exc}", file=where, row=line,
                    column=cols["choices"], rule="dictionary",
                ) from None  # fmt: skip
        label = clean_label(str(rec[cols["label"]] or ""))
        fields[name] = Field(name, form, ftype, label, choices, line)
        if form not in forms:
            forms.append(form)
    if not fields:
        raise InputError("the data dictionary lists no fields", file=where, rule="dictionary")
    return DataDictionary(file=where, fields=fields, forms=forms)
