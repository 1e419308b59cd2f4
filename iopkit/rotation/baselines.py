"""Baseline rotations and the comparison of any rotations on the same footing.

``round_robin`` (the pool once, in catalog order) and ``module_blocks`` (DBT-style module
blocks, Linehan 2015) are what a program might do without a planner; the comparison
recounts each with :mod:`iopkit.rotation.coverage` over the same window and core.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from iopkit.rotation.coverage import coverage_summary, coverage_table
from iopkit.rotation.problem import RotationPlan, RotationProblem

if TYPE_CHECKING:  # only the curriculum's skill → module lookup is used
    from iopkit.curriculum import Curriculum


def round_robin(skills: Sequence[str]) -> list[str]:
    """Baseline: every skill of the pool once, in catalog (module) order, repeated."""
    return list(skills)


def module_blocks(
    skills: Sequence[str], module: Mapping[str, str], *, opening_module: str | None = None
) -> list[str]:
    """Baseline: DBT-style blocks — skills grouped by module, modules in sequence.

    With ``opening_module`` (e.g. the mindfulness module), that module's block is repeated
    before every other module, as in Linehan's cycle (2 weeks of core mindfulness before
    each of DT, ER and IE; Linehan 2015, DBT Skills Training Manual, 2nd ed., Guilford;
    doi 10.1186/s40479-020-0119-y table 1).
    """
    order: list[str] = []
    blocks: dict[str, list[str]] = {}
    for s in skills:
        mod = module[s]
        if mod not in blocks:
            order.append(mod)
            blocks[mod] = []
        blocks[mod].append(s)
    out: list[str] = []
    others = [m for m in order if m != opening_module]
    for mod in others:
        if opening_module in blocks:
            out += blocks[opening_module]
        out += blocks[mod]
    if not others and opening_module in blocks:
        out = list(blocks[opening_module])
    return out


def compare_rotations(
    rotations: Mapping[str, Sequence[str]],
    *,
    core: Iterable[str],
    window: int,
    weekdays: Sequence[int],
    admit_weekdays: Sequence[int] | None = None,
    requires: Mapping[str, Sequence[str]] | None = None,
    attendance_p: float = 0.85,
    lags: Mapping[tuple[str, str], int] | None = None,
) -> pd.DataFrame:
    """One row per named rotation with its :func:`coverage_summary` (same window, same core)."""
    core = set(core)
    rows = {}
    for name, seq in rotations.items():
        table = coverage_table(
            seq,
            core=core,
            window=window,
            weekdays=weekdays,
            admit_weekdays=admit_weekdays,
            requires=requires,
            attendance_p=attendance_p,
            lags=lags,
        )
        summary = coverage_summary(table)
        summary["cycle_length"] = len(seq)
        rows[name] = summary
    out = pd.DataFrame(rows).T
    out.index.name = "rotation"
    return out.reset_index()


def baseline_rotations(curriculum: Curriculum, problem: RotationProblem) -> dict[str, list[str]]:
    """The two comparison rotations over the same skill pool.

    ``round_robin``: every pool skill once, in catalog (module) order. ``module_blocks``:
    DBT-style — the pool grouped by module, modules in sequence, the mindfulness module
    (``dbt.mf``) repeated before every other module when the pool has it (Linehan 2015,
    DBT Skills Training Manual, 2nd ed., Guilford).
    """
    module = {s: curriculum.skill(s).module_id for s in problem.skills}
    opening = "dbt.mf" if "dbt.mf" in module.values() else None
    return {
        "round_robin": round_robin(problem.skills),
        "module_blocks": module_blocks(problem.skills, module, opening_module=opening),
    }


def compare_with_baselines(
    plan: RotationPlan,
    curriculum: Curriculum | None = None,
    *,
    attendance_p: float = 0.85,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """:func:`compare_rotations` of the plan against the two baselines (same window/core).

    The window is the full minimum stay (not the attendance margin), so every design is
    judged on the same footing; ``prereq_fraction`` counts each baseline's own order.
    """
    prob = plan.problem
    rotations: dict[str, Sequence[str]] = {}
    if plan.ok:
        rotations["planned"] = plan.sequence
    if curriculum is not None:
        rotations.update(baseline_rotations(curriculum, prob))
    else:
        rotations["round_robin"] = round_robin(prob.skills)
    rotations.update(extra or {})
    args = prob.coverage_args(attendance_p=attendance_p)
    args["requires"] = {k: v for k, v in prob.requires.items() if k in set(prob.skills)}
    return compare_rotations(rotations, **args)
