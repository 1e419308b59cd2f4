"""What the data layer needs from the other areas, in one place.

The validator and the generator check data against the scale registry
(:mod:`iopkit.scales`) and the curriculum (:mod:`iopkit.curriculum`). This module turns
those into the small facts the data layer uses, so every function in :mod:`iopkit.data`
and :mod:`iopkit.synth` can also take them as plain parameters (tests, other catalogs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from iopkit.errors import UnknownIdError

if TYPE_CHECKING:
    from iopkit.curriculum import Curriculum, Program


@dataclass(frozen=True)
class ScaleSpec:
    """Item count and item range of a scale (from the registry)."""

    id: str
    n_items: int
    min: int
    max: int
    #: 1-based items that are safety items (e.g. PHQ-9 item 9) with their flag threshold
    critical: tuple[tuple[int, int], ...] = ()
    #: (mean, SD) of the total in the registry's first clinical norm, if any
    clinical_norm: tuple[float, float] | None = None


@dataclass(frozen=True)
class ProgramRules:
    """The facts of a program the validator checks: its weekdays (Monday = 0)."""

    id: str
    weekdays: frozenset[int]


def scale_spec(scale_id: str) -> ScaleSpec:
    """Item count/range of one scale from :func:`iopkit.scales.get_scale`.

    Raises UnknownIdError for an unknown scale (the registry lists known ids).
    """
    from iopkit.scales import get_scale

    s = get_scale(scale_id)
    norm = next((n for n in s.norms if n.kind == "clinical" and n.sd), None)
    return ScaleSpec(
        id=s.id,
        n_items=s.items.count,
        min=s.items.min,
        max=s.items.max,
        critical=tuple((c.item, c.flag_at) for c in s.critical_items),
        clinical_norm=(norm.mean, norm.sd) if norm is not None else None,
    )


def scale_specs(
    ids: Iterable[str] | None = None, *, unknown: Literal["omit", "raise"] = "omit"
) -> dict[str, ScaleSpec]:
    """Specs for the given scale ids (default: the whole registry), keyed by id as given.

    An id the registry does not know is left out of the result with ``unknown="omit"`` (the
    default: the validator reports such rows as ``unknown_scale``, the generator draws only
    known scales) or raises :class:`UnknownIdError` with ``unknown="raise"``. A registry that
    cannot be loaded always raises: its scales are never read as "unknown".
    """
    from iopkit.scales import list_scales

    registry = list_scales()  # loads (and checks) every scale file first
    if ids is None:
        return {s.id: scale_spec(s.id) for s in registry}
    out: dict[str, ScaleSpec] = {}
    for sid in ids:
        try:
            out[sid] = scale_spec(sid)
        except UnknownIdError:
            if unknown == "raise":
                raise
    return out


def _curriculum() -> Curriculum:
    from iopkit.curriculum import load_curriculum

    return load_curriculum()


def get_program(program_id: str | None = None) -> Program:
    """A program of the curriculum (default: :meth:`Curriculum.default_program`)."""
    cur = _curriculum()
    return cur.default_program() if program_id is None else cur.program(program_id)


def program_rules() -> dict[str, ProgramRules]:
    """Weekdays of every program in the curriculum, keyed by program id."""
    programs = _curriculum().programs
    return {pid: ProgramRules(pid, frozenset(p.weekdays)) for pid, p in programs.items()}


def program_names() -> dict[str, str]:
    """The display name of every program in the curriculum, keyed by program id."""
    return {pid: p.name for pid, p in _curriculum().programs.items()}


def skill_ids() -> set[str]:
    """Every skill id in the curriculum's catalog."""
    return set(_curriculum().skills)


def program_skills(program_id: str) -> list[str]:
    """The program's rotating group skills in catalog order: core skills first, then electives."""
    core, electives = program_core_electives(program_id)
    return core + electives


def program_core_electives(program_id: str) -> tuple[list[str], list[str]]:
    """The program's rotating group skills in catalog order: (core, electives)."""
    return _curriculum().core_and_electives(program_id)


def closures(program: Program, start: date, end: date) -> list[date]:
    """Closure dates of a program between start and end inclusive (sorted)."""
    return sorted(program.closures(start, end))
