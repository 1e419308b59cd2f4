"""REDCap flat exports: read them into a bundle through a mapping file, and write them.

A REDCap export is a source kind of its own (``redcap:PATH``, or a single ``.csv`` file) and
needs a mapping (``load_bundle(export, mapping=…)``). The mapping format is documented in
``docs/data.md`` and in the shipped example :func:`example_mapping`
(``iopkit.resources.mappings_dir() / "redcap_example.yaml"``); mapping files are read by
:func:`iopkit.yamlio.load_yaml` (duplicate keys refused, errors name file and line). Source
lines refer to the export file (header = line 1), so every problem points at the row a
coordinator can find.
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
from iopkit.data.sources.registry import ReadOptions, SourceHandler, finish_bundle
from iopkit.data.sources.text import dates_as_text, encoding_label, read_csv_file
from iopkit.errors import InputError
from iopkit.privacy import check_identifiers
from iopkit.resources import mappings_dir
from iopkit.yamlio import YamlDoc, load_yaml

__all__ = [
    "HANDLER",
    "example_mapping",
    "load_mapping",
    "read_redcap",
    "to_redcap",
    "write_redcap",
]

EVENT, INSTRUMENT, INSTANCE = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
)
_ROW_KEYS = {"event": EVENT, "repeat_instrument": INSTRUMENT}


def example_mapping() -> Path:
    """The shipped example mapping (the synthetic bundle's REDCap project)."""
    return mappings_dir() / "redcap_example.yaml"


def load_mapping(mapping: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], Path | None]:
    """Read and check a mapping (YAML path or dict); returns (mapping, its folder or None).

    A file is read by :func:`iopkit.yamlio.load_yaml`: YAML that cannot be read (not UTF-8,
    a syntax error, a key given twice) raises :class:`~iopkit.errors.ConfigError` naming
    file and line. A mapping that does not fit the format raises :class:`InputError`
    (``rule="mapping"``) naming the key path, and for a file its line (``row``).
    """
    where = "REDCap mapping"
    folder = None
    doc: YamlDoc | None = None
    if isinstance(mapping, Mapping):
        data: Any = dict(mapping)
    else:
        path = Path(mapping)
        where, folder = str(path), path.parent
        if not path.exists():
            raise InputError("mapping file not found", file=where, rule="missing_source")
        doc = load_yaml(path, what="REDCap mapping", top=None)
        data = doc.data

    def fail(message: str, *loc: str | int) -> InputError:
        line = doc.line_of(loc) if doc is not None and loc else None
        return InputError(message, file=where, row=line, rule="mapping")

    if not isinstance(data, dict):
        raise fail("expected a mapping with keys record_id, tables, assessments")
    unknown = set(data) - {"record_id", "files", "tables", "assessments"}
    if unknown:
        raise fail(f"unknown key(s) {sorted(unknown)}", sorted(unknown)[0])
    for table, spec in (data.get("tables") or {}).items():
        if table not in TABLES or table == "assessments":
            raise fail(
                f"tables.{table}: not a bundle table (assessments go under 'assessments')",
                "tables",
                table,
            )
        if not isinstance(spec, dict) or "columns" not in spec:
            raise fail(f"tables.{table}: needs 'columns'", "tables", table)
        missing = [c for c in TABLES[table].required if c not in spec["columns"]]
        if missing:
            raise fail(
                f"tables.{table}.columns: required column(s) {missing} not mapped",
                "tables",
                table,
                "columns",
            )
        bad_rows = set(spec.get("rows") or {}) - set(_ROW_KEYS)
        if bad_rows:
            raise fail(
                f"tables.{table}.rows: unknown key(s) {sorted(bad_rows)}; "
                "use event, repeat_instrument",
                "tables",
                table,
                "rows",
            )
    for i, spec in enumerate(data.get("assessments") or []):
        for key in ("scale", "columns", "items"):
            if key not in spec:
                raise fail(f"assessments[{i}]: needs {key!r}", "assessments", i)
        for col in ("episode_id", "date"):
            if col not in spec["columns"]:
                raise fail(
                    f"assessments[{i}].columns: {col!r} not mapped", "assessments", i, "columns"
                )
    return data, folder


def _select(export: pd.DataFrame, rows: Mapping[str, Any] | None, where: str) -> np.ndarray:
    mask = np.ones(len(export), dtype=bool)
    for key, value in (rows or {}).items():
        col = _ROW_KEYS[key]
        if col not in export.columns:
            if value is None:
                continue  # e.g. a classic project without repeating instruments
            raise InputError(
                f"the export has no {col} column but the mapping selects rows by {key}",
                file=where,
                column=col,
                rule="mapping",
            )
        s = export[col]
        mask &= (s.isna() if value is None else (s == str(value))).to_numpy()
    return mask


def _fields(export: pd.DataFrame, fields: list[str], where: str, what: str) -> None:
    missing = [f for f in fields if f not in export.columns]
    if missing:
        raise InputError(
            f"{what}: field(s) {missing} are not in the export",
            file=where,
            column=missing[0],
            rule="mapping",
        )


def read_redcap(
    source: str | Path,
    mapping: str | Path | Mapping[str, Any],
    *,
    encoding: str | None = None,
    strict: bool = False,
) -> Bundle:
    """Turn a REDCap flat export (CSV) into a bundle following ``mapping``."""
    path = Path(source)
    if not path.exists():
        raise InputError("REDCap export not found", file=str(path), rule="missing_source")
    spec, folder = load_mapping(mapping)
    where = str(path)
    export, lines, problems, used = read_csv_file(path, "redcap", encoding)
    check_identifiers({where: (None, [str(c) for c in export.columns])})
    rid = spec.get("record_id", "record_id")
    _fields(export, [rid], where, "record_id")
    notes = [f"{where}: read as {encoding_label(used)}"]
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    tlines: dict[str, np.ndarray] = {}
    for p in problems:  # field-count problems belong to every table built from that line
        p["table"] = "redcap"
    row_problems: list[dict] = []
    bad_lines = {p["source_line"]: p for p in problems}

    def keep(table: str, frame: pd.DataFrame, ln: np.ndarray) -> None:
        tables[table], tlines[table], files[table] = frame.reset_index(drop=True), ln, where
        for pos, line in enumerate(ln):
            if int(line) in bad_lines:
                row_problems.append({**bad_lines[int(line)], "table": table, "row": pos})

    for table, tspec in (spec.get("tables") or {}).items():
        cols: dict[str, str] = dict(tspec["columns"])
        _fields(export, list(cols.values()), where, f"tables.{table}")
        sel = _select(export, tspec.get("rows"), where)
        sub = export.loc[sel, list(cols.values())]
        data_fields = [f for f in cols.values() if f != rid]
        filled = (
            sub[data_fields].notna().any(axis=1).to_numpy()
            if data_fields
            else np.ones(len(sub), bool)
        )
        sub = sub[filled]
        frame = pd.DataFrame(
            {target: sub[src].to_numpy(dtype=object) for target, src in cols.items()}
        )
        for col, codes in (tspec.get("codes") or {}).items():
            if col in frame.columns:
                table_codes = {str(k): v for k, v in codes.items()}
                frame[col] = frame[col].map(
                    lambda v, c=table_codes: c.get(v, v) if v is not None else None
                )
        keep(table, frame, lines[sel][filled])
    parts, part_lines = [], []
    for i, aspec in enumerate(spec.get("assessments") or []):
        cols = dict(aspec["columns"])
        prefix = str(aspec["items"])
        item_fields = sorted(
            (c for c in export.columns if re.fullmatch(re.escape(prefix) + r"\d+", str(c))),
            key=lambda c: int(str(c)[len(prefix) :]),
        )
        if not item_fields:
            notes.append(
                f"mapping assessments[{i}] ({aspec['scale']}): the export has no fields "
                f"{prefix}1, {prefix}2, …; no {aspec['scale']} rows"
            )
            continue
        _fields(export, list(cols.values()), where, f"assessments[{i}]")
        sel = _select(export, aspec.get("rows"), where)
        sub = export.loc[sel]
        filled = sub[[*item_fields, cols["date"]]].notna().any(axis=1).to_numpy()
        sub = sub[filled]
        frame = pd.DataFrame(
            {
                "episode_id": sub[cols["episode_id"]].to_numpy(dtype=object),
                "date": sub[cols["date"]].to_numpy(dtype=object),
                "scale": aspec["scale"],
            }
        )
        for f in item_fields:
            frame[f"item_{int(str(f)[len(prefix) :])}"] = sub[f].to_numpy(dtype=object)
        parts.append(frame)
        part_lines.append(lines[sel][filled])
    if parts:
        frame = pd.concat(parts, ignore_index=True)
        frame = frame[["episode_id", "date", "scale", *item_columns(frame)]]
        keep("assessments", frame, np.concatenate(part_lines))
    used = np.zeros(len(export), dtype=bool)
    for tspec in [*(spec.get("tables") or {}).values(), *(spec.get("assessments") or [])]:
        used |= _select(export, tspec.get("rows"), where)
    if (~used).any():
        notes.append(
            f"{where}: {int((~used).sum())} export row(s) match no table of the mapping "
            f"(first on line {int(lines[~used][0])}); not loaded"
        )
    for table, rel in (spec.get("files") or {}).items():
        if table not in TABLES:
            raise InputError(
                f"files.{table}: not a bundle table", file=str(folder or "mapping"), rule="mapping"
            )
        candidates = [folder / rel] if folder is not None else []
        candidates.append(path.parent / rel)  # beside the export
        fpath = next((c for c in candidates if c.exists()), candidates[0])
        if not fpath.exists():
            raise InputError(
                f"file for table {table} not found", file=str(fpath), rule="missing_source"
            )
        frame, ln, probs, used = read_csv_file(fpath, table, encoding)
        notes.append(f"{fpath}: read as {encoding_label(used)}")
        tables[table], tlines[table], files[table] = frame, ln, str(fpath)
        row_problems.extend(probs)
    return finish_bundle(tables, files, tlines, row_problems, notes, where, strict)


def to_redcap(
    bundle: Bundle, mapping: str | Path | Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """A REDCap flat export (repeating instruments) holding the bundle's REDCap tables.

    Uses the field names of ``mapping`` (default: :func:`example_mapping`). Records are patients;
    episodes, attendance, goals, events and each scale are repeating instruments.
    Raises :class:`InputError` for a scale in the bundle that the mapping does not name.
    """
    spec, _ = load_mapping(example_mapping() if mapping is None else mapping)
    rid = spec.get("record_id", "record_id")
    t = bundle.tables
    ep_patient = t["episodes"].set_index("episode_id")["patient_id"]
    blocks: list[pd.DataFrame] = []

    def as_text(frame: pd.DataFrame, table: str) -> pd.DataFrame:
        out = frame.copy()
        for col in out.columns:
            s = out[col]
            if pd.api.types.is_datetime64_any_dtype(s):
                out[col] = s.dt.strftime("%Y-%m-%d").where(s.notna(), None)
        return out

    for table, tspec in (spec.get("tables") or {}).items():
        if table not in t:
            continue
        frame = as_text(t[table], table)
        cols = dict(tspec["columns"])
        out = pd.DataFrame(
            {
                src: frame[target].to_numpy(dtype=object)
                for target, src in cols.items()
                if target in frame.columns
            }
        )
        for col, codes in (tspec.get("codes") or {}).items():
            back = {v: k for k, v in codes.items()}
            if cols.get(col) in out.columns:
                out[cols[col]] = out[cols[col]].map(lambda v, b=back: b.get(v, v))
        if rid not in out.columns:
            out[rid] = frame["episode_id"].map(ep_patient).to_numpy()
        rows = tspec.get("rows") or {}
        out[INSTRUMENT] = rows.get("repeat_instrument")
        out[EVENT] = rows.get("event", "enrolment_arm_1")
        blocks.append(out)
    by_scale = {a["scale"]: a for a in spec.get("assessments") or []}
    if "assessments" in t and len(t["assessments"]):
        a = as_text(t["assessments"], "assessments")
        missing = sorted(set(a["scale"]) - set(by_scale))
        if missing:
            raise InputError(
                f"the mapping has no assessments entry for scale(s) {missing}", rule="mapping"
            )
        items = item_columns(a)
        for scale, grp in a.groupby("scale", sort=True):
            aspec = by_scale[scale]
            cols = aspec["columns"]
            out = pd.DataFrame(
                {
                    cols["episode_id"]: grp["episode_id"].to_numpy(),
                    cols["date"]: grp["date"].to_numpy(),
                }
            )
            for c in items:
                vals = grp[c]
                if vals.notna().any():
                    out[f"{aspec['items']}{c.split('_')[1]}"] = vals.to_numpy(dtype=object)
            out[rid] = grp["episode_id"].map(ep_patient).to_numpy()
            out[INSTRUMENT] = (aspec.get("rows") or {}).get("repeat_instrument")
            out[EVENT] = (aspec.get("rows") or {}).get("event", "enrolment_arm_1")
            blocks.append(out)
    export = pd.concat(blocks, ignore_index=True)
    export["_base"] = export[INSTRUMENT].isna()
    export = export.sort_values([rid, "_base"], ascending=[True, False], kind="stable").drop(
        columns="_base"
    )
    export[INSTANCE] = export.groupby([rid, INSTRUMENT], dropna=False).cumcount() + 1
    export.loc[export[INSTRUMENT].isna(), INSTANCE] = None
    front = [rid, EVENT, INSTRUMENT, INSTANCE]
    export = export[front + [c for c in export.columns if c not in front]]
    for col in export.columns:
        if export[col].dtype.kind == "f" and export[col].dropna().mod(1).eq(0).all():
            export[col] = export[col].astype("Int64")
    return export.reset_index(drop=True)


def write_redcap(bundle: Bundle, dest: str | Path, mapping: str | Path | None = None) -> Path:
    """Write ``export.csv``, ``mapping.yaml`` and the mapping's side files into ``dest``.

    ``mapping``: a mapping file (default: :func:`example_mapping`), copied as it is.
    Returns the export path; ``load_bundle(dest / "export.csv", mapping=dest / "mapping.yaml")``
    reads it back.
    """
    mapping = example_mapping() if mapping is None else Path(mapping)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    spec, _ = load_mapping(mapping)
    export = to_redcap(bundle, spec)
    export.to_csv(dest / "export.csv", index=False, lineterminator="\n")
    (dest / "mapping.yaml").write_text(Path(mapping).read_text(encoding="utf-8"), encoding="utf-8")
    for table, rel in (spec.get("files") or {}).items():
        if table in bundle.tables:
            dates_as_text(table, bundle.tables[table]).to_csv(
                dest / rel, index=False, lineterminator="\n"
            )
    return dest / "export.csv"


def _read(location: str, options: ReadOptions) -> Bundle:
    if options.mapping is None:
        raise InputError(
            "a single CSV file is read as a REDCap export and needs a mapping file "
            "(--mapping); for a bundle of CSV files pass their folder",
            file=location,
            rule="source_kind",
        )
    return read_redcap(location, options.mapping, encoding=options.encoding, strict=options.strict)


HANDLER = SourceHandler(
    kind="redcap",
    keys=("redcap:", ".csv"),
    read=_read,
    label="a REDCap .csv with a mapping",
    takes_mapping=True,
)
