"""Validate a data bundle row by row: keep the good rows, set the bad ones aside, lose nothing.

:func:`validate_bundle` runs, for every table in parent-before-child order, the per-table pass
(:mod:`.tables`: conversion to the contract's types with every unconvertible cell reported,
keys, the table's pandera schema run lazily: vocabularies, ranges, required values, date
order), then the table's cross-table rules (:mod:`.rules`: references, cascading rejection,
dates inside the episode ± a grace window, attendance on the program's weekdays, sessions on
catalog skills, assessment items against the scale registry), and assembles the result
(:mod:`.result`). Every problem is one row of ``result.problems`` (table, file, source_line,
column, value, rule, message); every row is either accepted or rejected, and
``rows_in == accepted + rejected`` holds for every table (asserted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import pandas as pd

from iopkit.data.bundle import Bundle
from iopkit.data.catalog import ProgramRules, ScaleSpec
from iopkit.data.schemas import TABLE_ORDER, TABLES
from iopkit.data.validation.result import ValidationResult, assemble_result
from iopkit.data.validation.rules import RuleContext, resolve_catalog, run_cross_rules
from iopkit.data.validation.tables import TableState, check_table

__all__ = ["validate_bundle"]


def validate_bundle(
    bundle: Bundle,
    *,
    grace_days: int = 7,
    dayfirst: bool | None = None,
    strict: bool = False,
    scales: Mapping[str, ScaleSpec] | None = None,
    programs: Mapping[str, ProgramRules] | None = None,
    skills: Iterable[str] | None = None,
    as_of: dt.date | None = None,
) -> ValidationResult:
    """Validate every table of a bundle; see the module docstring for the rules.

    ``grace_days``: attendance and assessments may fall this many days before admission or
    after discharge. ``dayfirst``: how to read ``01/02/2025``-style dates (None = report
    ambiguous ones). ``strict``: raise :class:`~iopkit.errors.InputError` on the first
    problem. ``scales``, ``programs`` and ``skills`` default to the scale registry and the
    curriculum; when the curriculum cannot be loaded, program-day, program and skill checks
    are skipped and a note says so. ``as_of``: the day the export describes; an admission
    after it is a ``future_admission`` problem (None: not checked).
    """
    notes: list[str] = list(bundle.notes)
    programs, skill_set = resolve_catalog(programs, skills, notes)
    names = [n for n in TABLE_ORDER if n in bundle.tables]
    for extra in bundle.tables:
        if extra not in TABLES:
            notes.append(f"table {extra!r} is not part of the contract; ignored")
    tables: dict[str, TableState] = {
        name: check_table(name, bundle, dayfirst=dayfirst, notes=notes) for name in names
    }
    ctx = RuleContext(
        tables=tables,
        rejected={},
        grace_days=grace_days,
        programs=programs,
        skills=skill_set,
        scales=scales,
        notes=notes,
        as_of=as_of,
    )
    for name in names:
        t = tables[name]
        run_cross_rules(t, ctx)
        ctx.rejected[name] = pd.DataFrame(
            {
                "key": t.typed[TABLES[name].key[0]].to_numpy(),
                "line": bundle.lines[name],
                "bad": t.bad(),
            }
        )
    return assemble_result(bundle, names, tables, notes, strict)
