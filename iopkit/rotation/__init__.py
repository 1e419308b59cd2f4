"""Any-entry skills rotation: a CP-SAT planner and an independent coverage analysis.

An IOP with rolling admission teaches one *skill of the day* per session and repeats a
cycle of ``L`` sessions. A patient may join on any admission day and stays at least the
minimum stay (``window`` sessions). The planner chooses the skill for every slot of the
cycle so that every core skill appears in **every** cyclic window of ``window`` consecutive
sessions that starts on an admission slot (optionally within an attendance margin, e.g.
85 % of the stay), then optimises lexicographically (:mod:`iopkit.rotation.solve`).
Background: design pattern B (self-contained topics, cycle ≤ stay × attendance) and
pattern A (module-boundary entry): iopkit design decision [D], docs/rotation.md; programs
such as McLean BHP, GHS Psych IOP and NIATx open groups (niatx.wisc.edu) use pattern B.

Modules, one concern each:

- :mod:`~iopkit.rotation.problem`: the request (:class:`RotationProblem`), the solver's
  knobs (:class:`SolverOptions`) and the answer (:class:`RotationPlan`);
- :mod:`~iopkit.rotation.prechecks`: cheap necessary conditions with actionable messages;
- :mod:`~iopkit.rotation.model`: the CP-SAT model and its starting hints;
- :mod:`~iopkit.rotation.solve`: the staged solve, the diagnosis, :func:`plan_rotation`;
- :mod:`~iopkit.rotation.coverage`: coverage recounted from any sequence, solver-free;
- :mod:`~iopkit.rotation.baselines`: round-robin and module-block rotations, comparisons;
- :mod:`~iopkit.rotation.program`: a problem from a curriculum program; input parsing;
- :mod:`~iopkit.rotation.planning`: a cohort's dated plan in one call (:func:`make_plan`),
  used by ``iopkit plan`` and the ``curriculum_plan`` notebook.
"""

from iopkit.rotation.baselines import (
    baseline_rotations,
    compare_rotations,
    compare_with_baselines,
    module_blocks,
    round_robin,
)
from iopkit.rotation.coverage import (
    coverage_from_sessions,
    coverage_matrix,
    coverage_summary,
    coverage_table,
)
from iopkit.rotation.model import CONSTRAINT_GROUPS
from iopkit.rotation.planning import (
    CohortPlan,
    PlanInputs,
    export_folder,
    make_plan,
    plan_inputs,
    stay_sessions,
)
from iopkit.rotation.prechecks import precheck
from iopkit.rotation.problem import STAGES, RotationPlan, RotationProblem, SolverOptions, Status
from iopkit.rotation.program import (
    delivered_coverage,
    elective_weights,
    parse_mix,
    parse_weekdays,
    plan_program,
    problem_from_program,
    sessions_for_days,
)
from iopkit.rotation.solve import plan_rotation

__all__ = [
    "CONSTRAINT_GROUPS",
    "STAGES",
    "CohortPlan",
    "PlanInputs",
    "RotationPlan",
    "RotationProblem",
    "SolverOptions",
    "Status",
    "baseline_rotations",
    "compare_rotations",
    "compare_with_baselines",
    "coverage_from_sessions",
    "coverage_matrix",
    "coverage_summary",
    "coverage_table",
    "delivered_coverage",
    "elective_weights",
    "make_plan",
    "module_blocks",
    "parse_mix",
    "parse_weekdays",
    "plan_inputs",
    "plan_program",
    "plan_rotation",
    "precheck",
    "problem_from_program",
    "round_robin",
    "sessions_for_days",
    "stay_sessions",
    "export_folder",
]
