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
from typing import Any, Literal

from iopkit.errors import ConfigError


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

    Raises ConfigError for an unknown scale (the registry lists known ids).
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
    known scales) or raises :class:`ConfigError` with ``unknown="raise"``. A registry that
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
        except ConfigError:  # the registry is loaded, so this can only mean "unknown id"
            if unknown == "raise":
                raise
    return out


def _curriculum() -> Any:
    from iopkit.curriculum import load_curriculum

    return load_curriculum()


def _programs(cur: Any) -> dict[str, Any]:
    programs = cur.programs
    return dict(programs) if isinstance(programs, dict) else {p.id: p for p in programs}


def get_program(program_id: str | None = None) -> Any:
    """A program from ``curriculum/programs`` (default: the first adult program, by id)."""
    programs = _programs(_curriculum())
    if not programs:
        raise ConfigError("curriculum/programs holds no program")
    if program_id is None:
        adult = [
            p for p in sorted(programs) if getattr(programs[p], "population", "adult") == "adult"
        ]
        return programs[(adult or sorted(programs))[0]]
    if program_id not in programs:
        raise ConfigError(
            f"unknown program {program_id!r}; known programs: {', '.join(sorted(programs))}"
        )
    return programs[program_id]


def program_rules() -> dict[str, ProgramRules]:
    """Weekdays of every program in the curriculum, keyed by program id."""
    return {
        pid: ProgramRules(pid, frozenset(p.weekdays)) for pid, p in _programs(_curriculum()).items()
    }


def skill_ids() -> set[str]:
    """Every skill id in the curriculum's catalog."""
    cur = _curriculum()
    skills = cur.skills
    return set(skills) if isinstance(skills, dict) else {s.id for s in skills}


def program_skills(program_id: str) -> list[str]:
    """The program's rotating group skills in catalog order: core skills first, then electives."""
    core, electives = program_core_electives(program_id)
    return core + electives


def program_core_electives(program_id: str) -> tuple[list[str], list[str]]:
    """The program's rotating group skills in catalog order: (core, electives)."""
    cur = _curriculum()
    program = get_program(program_id)
    skills = cur.skills
    ordered = list(skills.values()) if isinstance(skills, dict) else list(skills)
    core_ids = set(program.core.skills)
    core_modules = set(program.core.modules)
    pool = program.electives
    core, electives = [], []
    for s in ordered:
        if not getattr(s, "rotating", True):
            continue
        if s.id in core_ids or s.module_id in core_modules:
            core.append(s.id)
            continue
        chosen = (
            (not pool.modalities and not pool.modules and not pool.skills)
            or s.modality in pool.modalities
            or s.module_id in pool.modules
            or s.id in pool.skills
        )
        if chosen and s.id not in pool.exclude:
            electives.append(s.id)
    return core, electives


def closures(program: Any, start: date, end: date) -> list[date]:
    """Closure dates of a program between start and end inclusive (sorted)."""
    fn = getattr(program, "closures", None)
    return sorted(fn(start, end)) if fn is not None else []
