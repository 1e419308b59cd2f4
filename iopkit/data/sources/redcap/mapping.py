"""REDCap mappings: which export rows and fields make each iopkit table, read and checked.

A mapping is YAML (read by :func:`iopkit.yamlio.load_yaml`: a key given twice, a syntax error
or a file that is not UTF-8 is a :class:`~iopkit.errors.ConfigError` naming file and line) or
a dict. Its format is documented in ``docs/sources/redcap.md`` and shown by the shipped
example (:func:`example_mapping`). A mapping that does not fit the format, or names a field,
form or choice code the project's data dictionary does not have, raises
:class:`~iopkit.errors.InputError` (rule ``mapping``) naming the mapping file, the line of the
key (``row``) and the field (``column``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iopkit.data.schemas import TABLES
from iopkit.data.sources.redcap.dictionary import (
    COMPLETE_SUFFIX,
    TIMESTAMP_SUFFIX,
    DataDictionary,
)
from iopkit.errors import InputError
from iopkit.resources import mappings_dir
from iopkit.yamlio import YamlDoc, load_yaml

__all__ = [
    "FORM_STATUS_DEFAULT",
    "ROW_KEYS",
    "RedcapMapping",
    "check_against_dictionary",
    "example_mapping",
    "load_mapping",
    "read_mapping",
]

EVENT, INSTRUMENT, INSTANCE = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
)
#: ``rows`` keys -> the export column they select on
ROW_KEYS: dict[str, str] = {"event": EVENT, "repeat_instrument": INSTRUMENT}
#: what happens to a row whose form is Incomplete (0) or Unverified (1); ``set_aside``: the
#: row is rejected whole with the reason, ``accept``: kept, and counted in a note
FORM_STATUS_DEFAULT: dict[str, str] = {"incomplete": "set_aside", "unverified": "accept"}
_POLICIES = ("set_aside", "accept")
#: iopkit columns holding vocabulary values (a coded REDCap field needs codes: for them)
_VOCAB_COLUMNS = {c.name for t in TABLES.values() for c in t.columns if c.kind in ("vocab", "list")}
_TOP = {"record_id", "files", "tables", "assessments", "dictionary", "events", "form_status"}
_TABLE_KEYS = {"rows", "columns", "codes", "form", "form_status", "date_part"}
_ASSESSMENT_KEYS = {"scale", "rows", "columns", "items", "form", "form_status", "date_part"}


def example_mapping() -> Path:
    """The shipped example mapping (the synthetic bundle's REDCap project)."""
    return mappings_dir() / "redcap_example.yaml"


@dataclass
class RedcapMapping:
    """A checked mapping: ``data`` as read, ``file`` (None for a dict), its ``folder``."""

    data: dict[str, Any]
    file: str | None
    folder: Path | None
    doc: YamlDoc | None = None

    @property
    def where(self) -> str:
        """How messages name the mapping."""
        return self.file or "REDCap mapping"

    @property
    def record_id(self) -> str:
        return str(self.data.get("record_id", "record_id"))

    def line(self, *loc: str | int) -> int | None:
        """Line of a key path in the mapping file (None for a dict)."""
        return self.doc.line_of(loc) if self.doc is not None and loc else None

    def fail(self, message: str, *loc: str | int, column: str | None = None) -> InputError:
        """An InputError (rule ``mapping``) at the key path ``loc``."""
        return InputError(
            message, file=self.where, row=self.line(*loc), column=column, rule="mapping"
        )

    def entries(self) -> list[tuple[tuple[str | int, ...], str, dict[str, Any]]]:
        """(key path, name for messages, spec) of every table and assessment entry."""
        out: list[tuple[tuple[str | int, ...], str, dict[str, Any]]] = [
            (("tables", t), f"tables.{t}", spec)
            for t, spec in (self.data.get("tables") or {}).items()
        ]
        for i, spec in enumerate(self.data.get("assessments") or []):
            out.append((("assessments", i), f"assessments[{i}] ({spec.get('scale')})", spec))
        return out

    def form_status(self, spec: Mapping[str, Any]) -> dict[str, str]:
        """The form status policy of an entry (its own, over the mapping's, over the default)."""
        return {**FORM_STATUS_DEFAULT, **(self.data.get("form_status") or {}),
                **(spec.get("form_status") or {})}  # fmt: skip

    def side_file(self, key: str, export: Path) -> Path | None:
        """A file the mapping names under ``key`` (``dictionary``, ``events``): relative to the
        mapping's folder, else beside the export; None when the key is absent."""
        rel = self.data.get(key)
        if rel is None:
            return None
        candidates = [self.folder / str(rel)] if self.folder is not None else []
        candidates.append(export.parent / str(rel))
        return next((c for c in candidates if c.exists()), candidates[0])


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def read_mapping(mapping: str | Path | Mapping[str, Any]) -> RedcapMapping:
    """Read and check the shape of a mapping (YAML path or dict); see the module docstring."""
    doc: YamlDoc | None = None
    if isinstance(mapping, Mapping):
        m = RedcapMapping(dict(mapping), None, None)
    else:
        path = Path(mapping)
        if not path.exists():
            raise InputError("mapping file not found", file=str(path), rule="missing_source")
        doc = load_yaml(path, what="REDCap mapping", top=None)
        m = RedcapMapping(doc.data, str(path), path.parent, doc)
    data = m.data
    if not isinstance(data, dict):
        raise m.fail("expected a mapping with keys record_id, tables, assessments")
    unknown = set(data) - _TOP
    if unknown:
        raise m.fail(f"unknown key(s) {sorted(unknown)}; use {sorted(_TOP)}", sorted(unknown)[0])
    _check_policy(m, data.get("form_status"), ("form_status",))
    for table, spec in (data.get("tables") or {}).items():
        if table not in TABLES or table == "assessments":
            raise m.fail(
                f"tables.{table}: not a bundle table (assessments go under 'assessments')",
                "tables",
                table,
            )
        if not isinstance(spec, dict) or "columns" not in spec:
            raise m.fail(f"tables.{table}: needs 'columns'", "tables", table)
        _check_entry(m, spec, ("tables", table), f"tables.{table}", _TABLE_KEYS)
        mapped = set(spec["columns"]) | set(spec.get("date_part") or {})
        missing = [c for c in TABLES[table].required if c not in mapped]
        if missing:
            raise m.fail(
                f"tables.{table}.columns: required column(s) {missing} not mapped",
                "tables",
                table,
                "columns",
            )
    for i, spec in enumerate(data.get("assessments") or []):
        if not isinstance(spec, dict):
            raise m.fail(
                f"assessments[{i}]: expected scale, rows, columns, items", "assessments", i
            )
        for key in ("scale", "columns", "items"):
            if key not in spec:
                raise m.fail(f"assessments[{i}]: needs {key!r}", "assessments", i)
        _check_entry(m, spec, ("assessments", i), f"assessments[{i}]", _ASSESSMENT_KEYS)
        for col in ("episode_id", "date"):
            if col not in spec["columns"] and col not in (spec.get("date_part") or {}):
                raise m.fail(
                    f"assessments[{i}].columns: {col!r} not mapped", "assessments", i, "columns"
                )
    return m


def _check_policy(m: RedcapMapping, policy: Any, loc: tuple[str | int, ...]) -> None:
    if policy is None:
        return
    name = ".".join(map(str, loc))
    if not isinstance(policy, dict):
        raise m.fail(f"{name}: expected {{incomplete: …, unverified: …}}", *loc)
    for key, value in policy.items():
        if key not in FORM_STATUS_DEFAULT:
            raise m.fail(f"{name}: unknown key {key!r}; use incomplete, unverified", *loc, key)
        if value not in _POLICIES:
            raise m.fail(f"{name}.{key}: {value!r} is not one of {list(_POLICIES)}", *loc, key)


def _check_entry(
    m: RedcapMapping, spec: dict, loc: tuple[str | int, ...], name: str, keys: set[str]
) -> None:
    unknown = set(spec) - keys
    if unknown:
        raise m.fail(f"{name}: unknown key(s) {sorted(unknown)}; use {sorted(keys)}", *loc,
                     sorted(unknown)[0])  # fmt: skip
    if not isinstance(spec["columns"], dict):
        raise m.fail(f"{name}.columns: expected iopkit column: REDCap field", *loc, "columns")
    rows = spec.get("rows") or {}
    if not isinstance(rows, dict):
        raise m.fail(f"{name}.rows: expected {{event: …, repeat_instrument: …}}", *loc, "rows")
    bad_rows = set(rows) - set(ROW_KEYS)
    if bad_rows:
        raise m.fail(
            f"{name}.rows: unknown key(s) {sorted(bad_rows)}; use event, repeat_instrument",
            *loc, "rows",
        )  # fmt: skip
    for key in ("date_part", "codes"):
        value = spec.get(key)
        if value is not None and not isinstance(value, dict):
            raise m.fail(f"{name}.{key}: expected a mapping", *loc, key)
    for col in spec.get("date_part") or {}:
        if col in spec["columns"]:
            raise m.fail(f"{name}.date_part.{col}: also mapped under columns; map it once",
                         *loc, "date_part", col)  # fmt: skip
    _check_policy(m, spec.get("form_status"), (*loc, "form_status"))


def load_mapping(mapping: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], Path | None]:
    """Read and check a mapping (YAML path or dict); returns (mapping, its folder or None).

    See :func:`read_mapping` (which also keeps the lines of a mapping file).
    """
    m = read_mapping(mapping)
    return m.data, m.folder


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_against_dictionary(m: RedcapMapping, dd: DataDictionary) -> list[str]:
    """Check the mapping against the project's data dictionary before anything is loaded.

    Every mapped field must be a field of the dictionary (or a form's ``_complete`` /
    ``_timestamp``, or REDCap's own ``redcap_*`` columns), every ``form`` and repeating
    instrument a form of it, every ``codes`` key a choice code of its field, and a scale's
    ``items`` prefix must name fields. InputError (rule ``mapping``) naming the mapping
    file, the line of the key and the field. Returns notes: coded fields mapped to a
    vocabulary column without ``codes`` (their codes reach the validator as they are).
    """
    notes: list[str] = []
    known = list(dd.fields)
    extra = {f + s for f in dd.forms for s in (COMPLETE_SUFFIX, TIMESTAMP_SUFFIX)}

    def check_field(field: str, name: str, loc: tuple[str | int, ...]) -> None:
        if field in dd.fields or field in extra or field.startswith("redcap_"):
            return
        raise m.fail(
            f"{name}: field {field!r} is not in the data dictionary {dd.file}"
            + _did_you_mean(field, known),
            *loc,
            column=field,
        )

    for loc, name, spec in m.entries():
        cols = dict(spec["columns"])
        for col, field in cols.items():
            check_field(str(field), f"{name}.columns.{col}", (*loc, "columns", col))
        for col, field in (spec.get("date_part") or {}).items():
            check_field(str(field), f"{name}.date_part.{col}", (*loc, "date_part", col))
        for form in _as_list(spec.get("form")) if spec.get("form") is not None else []:
            if form not in dd.forms:
                raise m.fail(f"{name}.form: {form!r} is not a form of the data dictionary "
                             f"(forms: {', '.join(dd.forms)})" + _did_you_mean(str(form), dd.forms),
                             *loc, "form")  # fmt: skip
        for form in _as_list((spec.get("rows") or {}).get("repeat_instrument")):
            if form is not None and form not in dd.forms:
                raise m.fail(
                    f"{name}.rows.repeat_instrument: {form!r} is not a form of the data "
                    f"dictionary (forms: {', '.join(dd.forms)})"
                    + _did_you_mean(str(form), dd.forms),
                    *loc, "rows", "repeat_instrument",
                )  # fmt: skip
        for col, codes in (spec.get("codes") or {}).items():
            field = cols.get(col)
            f = dd.fields.get(str(field)) if field is not None else None
            if f is None:
                raise m.fail(f"{name}.codes.{col}: {col!r} is not mapped under columns",
                             *loc, "codes", col)  # fmt: skip
            if not f.coded:
                raise m.fail(
                    f"{name}.codes.{col}: field {f.name!r} is a {f.type} field without choices "
                    f"(data dictionary {dd.file}, line {f.line})",
                    *loc, "codes", col, column=f.name,
                )  # fmt: skip
            for code in codes or {}:
                if str(code) not in f.choices:
                    listed = ", ".join(f"{c} = {lab}" for c, lab in f.choices.items())
                    raise m.fail(
                        f"{name}.codes.{col}: {str(code)!r} is not a choice code of field "
                        f"{f.name!r} (data dictionary {dd.file}, line {f.line}: {listed})",
                        *loc, "codes", col, str(code), column=f.name,
                    )  # fmt: skip
        for col, field in cols.items():
            f = dd.fields.get(str(field))
            if (
                f is not None
                and f.coded
                and f.type != "checkbox"
                and col not in (spec.get("codes") or {})
                and col in _VOCAB_COLUMNS
            ):
                listed = ", ".join(f"{c} = {lab}" for c, lab in list(f.choices.items())[:4])
                notes.append(
                    f"{m.where}: {name}.columns.{col}: {f.name!r} is a {f.type} field "
                    f"({listed}, …) without codes:, so its codes reach the validator as they are"
                )
        if "items" in spec:
            prefix = str(spec["items"])
            if not any(n.startswith(prefix) and n[len(prefix) :].isdigit() for n in dd.fields):
                raise m.fail(
                    f"{name}.items: no field {prefix}1, {prefix}2, … in the data dictionary "
                    f"{dd.file}" + _did_you_mean(prefix + "1", known),
                    *loc, "items", column=prefix + "1",
                )  # fmt: skip
    return notes
