"""Result assembly of the validator: accepted rows, rejects with reasons, counts, rejects files.

:func:`assemble_result` turns the problems of every table (by row position) into problems by
the user's source line and splits each table into accepted and rejected rows;
:func:`write_rejects` writes the rejects and the problems as CSV for the coordinator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from iopkit.data.bundle import EXTRA_FIELDS, PROBLEM_COLUMNS, Bundle, empty_problems
from iopkit.data.schemas import TABLE_ORDER
from iopkit.data.validation.cells import shown_value
from iopkit.data.validation.tables import TableState
from iopkit.errors import InputError

__all__ = ["MISSING_COLUMNS", "ValidationResult", "assemble_result", "write_rejects"]

#: Columns of :attr:`ValidationResult.missing`.
MISSING_COLUMNS: tuple[str, ...] = ("table", "file", "column", "token", "cells")


@dataclass
class ValidationResult:
    """Outcome of :func:`iopkit.data.validate_bundle`.

    ``tables``: accepted rows per table, typed (dates ``datetime64``, whole numbers ``Int64``),
    index = source line. ``rejects``: rejected rows per table as read, with ``source_line``,
    ``rules`` and ``reasons``. ``problems``: one row per problem. ``counts``: per table
    rows_in, accepted, rejected (``rows_in == accepted + rejected``) and warnings (problems that
    kept their row: a descriptive value blanked, free text redacted). ``notes``: decisions
    and skipped checks, in words. ``missing``: cells read as blank because a source
    profile names their text as a missing-value token — table, file, column, token, cells.
    """

    tables: dict[str, pd.DataFrame]
    rejects: dict[str, pd.DataFrame]
    problems: pd.DataFrame
    counts: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    missing: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MISSING_COLUMNS))

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return int(self.counts["rejected"].sum()) == 0 if len(self.counts) else True

    @property
    def warnings(self) -> pd.DataFrame:
        """Problems that kept their row (``severity == "warning"``)."""
        return self.problems[self.problems["severity"] == "warning"]

    @property
    def n_rejected(self) -> int:
        """Rows rejected over all tables."""
        return int(self.counts["rejected"].sum()) if len(self.counts) else 0

    def bundle(self) -> Bundle:
        """The accepted rows as a new :class:`Bundle` (source lines kept)."""
        tables = {t: f.reset_index(drop=True) for t, f in self.tables.items()}
        lines = {t: f.index.to_numpy(dtype=np.int64) for t, f in self.tables.items()}
        return Bundle(tables=tables, files=dict(self.files), lines=lines, notes=list(self.notes))


def assemble_result(
    bundle: Bundle, names: list[str], tables: dict[str, TableState], notes: list[str], strict: bool
) -> ValidationResult:
    """Accepted rows, rejects with reasons, problems by source line and counts per table.

    Asserts ``rows_in == accepted + rejected`` for every table; ``strict`` raises
    :class:`InputError` for the first problem (in table order, then source line).
    """
    accepted: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    prob_frames: list[pd.DataFrame] = []
    counts = []
    missing: list[dict] = []
    for name in names:
        t = tables[name]
        line = bundle.lines[name]
        file = bundle.files.get(name, name)
        for col, by_token in t.missing.items():
            missing += [
                {"table": name, "file": file, "column": col, "token": tok, "cells": n}
                for tok, n in by_token.items()
            ]
        if t.missing:
            notes.append(
                f"{file}: read as missing (tokens of the source profile): "
                + ", ".join(
                    f"{col} {tok!r} ×{n}" for col, bt in t.missing.items() for tok, n in bt.items()
                )
            )
        frames = [p for p in t.problems if len(p)]
        if t.table_problems:
            frames.append(
                pd.DataFrame(
                    [
                        {**tp, "row": -1, "value": None, "severity": "error"}
                        for tp in t.table_problems
                    ]
                )
            )
        if frames:
            p = pd.concat(frames, ignore_index=True)
            rows = p["row"].to_numpy(dtype=np.int64)
            p["source_line"] = pd.array(
                np.where(rows >= 0, line[np.clip(rows, 0, None)] if len(line) else 1, 1),
                dtype="Int64",
            )
            p["table"], p["file"] = name, file
            p["value"] = [shown_value(v) for v in p["value"]]
            prob_frames.append(p)
        bad = t.bad()
        typed = t.typed.loc[~bad].drop(columns=EXTRA_FIELDS, errors="ignore")
        typed.index = pd.Index(line[~bad], name="source_line")
        accepted[name] = typed
        rej = t.raw.loc[bad].copy()
        rej.insert(0, "source_line", line[bad])
        if frames and bad.any():
            p = prob_frames[-1]
            per_row = (
                p[(p["row"] >= 0) & (p["severity"] == "error")]
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
                "warnings": int((p["severity"] == "warning").sum()) if frames else 0,
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
    errors = problems[problems["severity"] == "error"]
    if strict and len(errors):
        p = errors.iloc[0]
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
        counts=pd.DataFrame(
            counts, columns=["table", "file", "rows_in", "accepted", "rejected", "warnings"]
        ),
        notes=notes,
        files=dict(bundle.files),
        missing=pd.DataFrame(missing, columns=list(MISSING_COLUMNS)),
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
