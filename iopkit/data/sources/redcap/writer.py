"""Write a bundle as a REDCap flat export (iopkit's own project layout) with its mapping.

The writer produces what :func:`~iopkit.data.sources.redcap.export.read_redcap` reads back
with the same mapping: records are patients, episodes, attendance, goals, events and each
scale are repeating instruments (the shipped :func:`example_mapping`). It is for round trips
and demos; exports from a real REDCap project are read as REDCap writes them
(``docs/sources/redcap.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from iopkit.data.bundle import Bundle
from iopkit.data.schemas import item_columns
from iopkit.data.sources.redcap.mapping import (
    EVENT,
    INSTANCE,
    INSTRUMENT,
    example_mapping,
    load_mapping,
)
from iopkit.data.sources.text import dates_as_text
from iopkit.errors import InputError

__all__ = ["to_redcap", "write_redcap"]


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
    for i, aspec in enumerate(spec.get("assessments") or []):
        if "date" not in aspec["columns"]:
            raise InputError(
                f"assessments[{i}]: the writer needs a date field under columns "
                "(date_part is for reading survey timestamps)",
                rule="mapping",
            )
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
