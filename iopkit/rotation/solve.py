"""The staged (lexicographic) solve, the diagnosis of an infeasible request, and
:func:`plan_rotation` — pre-checks, model, solve, diagnosis, in that order.

Stages (:data:`~iopkit.rotation.problem.STAGES`), most important first: (1) the number of
(admission slot, hard prerequisite) pairs where the patient meets the prerequisite before
the skill; (2) no skill taught twice within ``min_repeat_gap`` sessions; (3) soft ``after``
orderings of core skills; (4) electives weighted by the cohort's concern mix (plus a small
bonus when an elective follows its ``after`` skill). Each stage keeps the best value of the
stages before it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import pandas as pd
from ortools.sat.python import cp_model

from iopkit.rotation.model import CONSTRAINT_GROUPS, RotationModel, build_model, greedy_hint
from iopkit.rotation.prechecks import precheck
from iopkit.rotation.problem import STAGES, RotationPlan, RotationProblem, SolverOptions
from iopkit.vocab import WEEKDAYS


def plan_rotation(
    problem: RotationProblem, *, options: SolverOptions | None = None
) -> RotationPlan:
    """Plan a cycle with CP-SAT; never runs longer than about ``2 × options.time_limit`` s.

    Pre-checks first (cheap, with actionable messages); then the staged solve bounded by
    ``time_limit``; for an infeasible model (and ``options.diagnose``), a diagnosis that
    re-solves with one constraint group relaxed at a time (sharing a second ``time_limit``
    budget). Default options: :class:`SolverOptions` (one worker, seed 0, 10 s).
    """
    opts = SolverOptions() if options is None else options
    t0 = time.perf_counter()
    errors, warnings = precheck(problem)
    empty = pd.DataFrame(
        columns=["slot", "weekday", "weekday_name", "skill_id", "modality", "core"]
    )
    if errors:
        return RotationPlan(
            "infeasible", empty, None, None, time.perf_counter() - t0, errors, warnings, problem
        )
    status, built, stages, solution = _solve_lex(problem, opts)
    name = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
        cp_model.MODEL_INVALID: "invalid",
    }.get(status, "unknown")
    if not solution:
        if name == "infeasible":
            expl = ["the solver proved that no rotation meets all hard constraints."]
            if opts.diagnose:
                expl += _diagnose(problem, opts)
        elif name == "invalid":
            expl = [f"internal model error: {built.model.validate()}"]
        else:
            name = "unknown"
            expl = [
                f"no rotation found within the {opts.time_limit:g} s time limit (neither found nor "
                f"proved impossible); raise --time-limit or simplify the request."
            ]
        return RotationPlan(
            name,  # type: ignore[arg-type]
            empty,
            None,
            None,
            time.perf_counter() - t0,
            expl,
            warnings,
            problem,
        )
    rows = []
    for i in range(problem.length):
        skill = next(s for s in problem.skills if (s, i) in built.x and solution[built.x[s, i]])
        rows.append(
            {
                "slot": i,
                "weekday": problem.slot_weekday(i),
                "weekday_name": WEEKDAYS[problem.slot_weekday(i)].title(),
                "skill_id": skill,
                "modality": problem.modality[skill],
                "core": skill in problem.core,
            }
        )
    rotation = pd.DataFrame(rows)
    sat = sum(solution[v] for v in built.req_sat)
    proved = all(st.status == "optimal" for st in stages) and len(stages) == len(
        [n for n in STAGES if built.stage_terms(n)] or ["feasibility"]
    )
    name = "optimal" if proved else "feasible"
    done = [st for st in stages if st.status in ("optimal", "feasible")]
    weights = opts.stage_weights
    objective = sum(weights.get(st.name, 1) * st.value for st in done)
    bound = sum(weights.get(st.name, 1) * st.bound for st in done)
    stage_frame = pd.DataFrame([st.__dict__ for st in stages])
    expl = []
    if name == "feasible":
        open_stages = [st.name for st in stages if st.status != "optimal"]
        skipped = [n for n in STAGES if built.stage_terms(n) and n not in {st.name for st in done}]
        expl.append(
            "time limit reached: the rotation meets every hard constraint (coverage is "
            "guaranteed) but is not proved best for: "
            + ", ".join(dict.fromkeys(open_stages + skipped))
            + "."
        )
        if opts.num_workers == 1:
            # one worker runs no neighbourhood search: a long cycle keeps its start
            # (24 weeks: electives 5 of 201 at 30 s; optimal in 10–19 s with 2 workers)
            expl.append(
                "one solver worker improves a long cycle slowly: 2 workers (--workers 2, "
                "SolverOptions(num_workers=2)) add a neighbourhood search and prove long "
                "cycles sooner; equally good rotations may then differ between runs."
            )
    return RotationPlan(
        name,  # type: ignore[arg-type]
        rotation,
        objective,
        bound,
        time.perf_counter() - t0,
        expl,
        warnings,
        problem,
        prereq_satisfied=int(sat),
        prereq_pairs=len(built.req_sat),
        stages=stage_frame,
    )


def _tiled_hint(problem: RotationProblem, options: SolverOptions) -> dict[int, str] | None:
    """For a cycle spanning several stays: plan one stay-long cycle and repeat it.

    The repeated short cycle meets every hard constraint of the long one (the same
    windows, weekdays and runs recur), so it is a feasible, usually near-optimal start.
    The short plan gets 30 % of ``options.time_limit``.
    """
    base = problem.stay_cycle_length
    L = problem.length
    if not options.tile_hint or base >= L or L % base:
        return None
    short = plan_rotation(
        replace(problem, cycle_length=base),
        options=replace(options, time_limit=0.3 * options.time_limit, diagnose=False),
    )
    if not short.ok:
        return None
    seq = short.sequence
    return {i: seq[i % base] for i in range(L)}


def _solver(options: SolverOptions, seconds: float, stage: str = "") -> cp_model.CpSolver:
    """A CP-SAT solver with ``options``' workers, seed and subsolvers (those of
    ``options.elective_subsolvers`` for the electives stage), for ``seconds``."""
    solver = cp_model.CpSolver()
    if options.deterministic:
        solver.parameters.max_deterministic_time = max(0.05, float(seconds))
        solver.parameters.max_time_in_seconds = 20 * max(0.05, float(seconds)) + 30
    else:
        solver.parameters.max_time_in_seconds = max(0.05, float(seconds))
    solver.parameters.num_workers = options.num_workers
    solver.parameters.random_seed = int(options.seed)
    names = options.elective_subsolvers if stage == "electives" else options.subsolvers
    for name in names[: options.num_workers]:
        solver.parameters.subsolvers.append(name)
    return solver


def _feasible(
    problem: RotationProblem, relax: frozenset[str], options: SolverOptions, seconds: float
) -> bool:
    """Whether the model without the groups in ``relax`` has a solution (diagnosis)."""
    built = build_model(problem, options, relax)
    status = _solver(options, seconds).solve(built.model)
    return status in (cp_model.OPTIMAL, cp_model.FEASIBLE)


@dataclass
class _Stage:
    """One lexicographic stage: ``optimal``, ``feasible`` (time limit; ``gap`` says how far
    from proved), ``unknown`` (ran, found nothing better than the previous stage's plan) or
    ``not reached`` (no time left). ``gap`` = |bound − value| / max(1, |value|), NaN unless
    the stage has a value."""

    name: str
    status: str
    value: float
    bound: float
    seconds: float
    gap: float = float("nan")

    def __post_init__(self) -> None:
        if self.status in ("optimal", "feasible"):
            self.gap = abs(self.bound - self.value) / max(1.0, abs(self.value))


def _solve_lex(
    problem: RotationProblem, options: SolverOptions
) -> tuple[int, RotationModel, list[_Stage], dict]:
    """Lexicographic optimisation: each stage keeps the previous stages' values.

    Stages (:data:`STAGES`): prerequisites honoured per admission slot, then repeats
    avoided, then soft orderings, then the concern-weighted electives. Each stage starts
    from the previous solution (hint) and gets the time left divided by the stages left.
    """
    t_start = time.perf_counter()
    built = build_model(problem, options)
    m = built.model
    seq = _tiled_hint(problem, options) or greedy_hint(problem)
    if seq:
        built.add_hint(seq)
    t_end = t_start + options.time_limit
    work = 0.0  # deterministic time used so far (options.deterministic)
    stages: list[_Stage] = []
    solution: dict | None = None
    full: list[int] | None = None  # every variable's value in the last stage's solution
    last_status = cp_model.UNKNOWN
    active = [name for name in STAGES if built.stage_terms(name)]
    if not active:
        active = ["feasibility"]
    for k, name in enumerate(active):
        clock = work if options.deterministic else time.perf_counter() - t_start
        left = t_end - t_start - clock
        # each stage may use most of what is left; later stages keep a share in reserve
        budget = left if k == len(active) - 1 else left * 0.6 / (len(active) - k - 1) ** 0.5
        expr = sum(built.stage_terms(name)) if name != "feasibility" else 0
        m.clear_objective()
        if name != "feasibility":
            m.maximize(expr)
        if full is not None:
            # hint every variable (auxiliaries too), so the stage starts from exactly the
            # previous stage's solution
            m.clear_hints()
            m.proto.solution_hint.vars.extend(range(len(full)))
            m.proto.solution_hint.values.extend(full)
        solver = _solver(options, budget, stage=name)
        t0 = time.perf_counter()
        status = solver.solve(m)
        secs = time.perf_counter() - t0
        work += solver.response_proto.deterministic_time
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if solution is None:  # first stage: the model itself is infeasible / unknown
                return status, built, stages, {}
            stages.append(_Stage(name, "unknown", float("nan"), float("nan"), secs))
            break  # keep the previous stage's solution
        value = float(solver.objective_value) if name != "feasibility" else 0.0
        bound = float(solver.best_objective_bound) if name != "feasibility" else 0.0
        stages.append(
            _Stage(
                name, "optimal" if status == cp_model.OPTIMAL else "feasible", value, bound, secs
            )
        )
        full = list(solver.response_proto.solution)
        solution = {var: full[var.index] for var in (*built.x.values(), *built.req_sat)}
        last_status = status
        if name != "feasibility":
            m.add(expr >= int(round(value)))
    ran = {st.name for st in stages}
    stages += [_Stage(n, "not reached", float("nan"), float("nan"), 0.0) for n in active
               if n not in ran]  # fmt: skip
    return last_status, built, stages, solution or {}


def _diagnose(problem: RotationProblem, options: SolverOptions) -> list[str]:
    """Relax one constraint group at a time and report which relaxation restores a plan."""
    groups = [g for g in CONSTRAINT_GROUPS if _group_present(problem, g)]
    lines: list[str] = []
    budget = max(0.2, options.time_limit / max(1, len(groups)))
    fixes = [g for g in groups if _feasible(problem, frozenset({g}), options, budget)]
    labels = {
        "coverage": "the coverage guarantee (every core skill in every admission window)",
        "modality_days": "facilitator availability (skills only on days a trained "
        "facilitator works)",
        "fixed_placements": "fixed placements (skill X on weekday Y)",
        "modality_gap": f"the modality gap (no modality absent > {problem.max_modality_gap})",
        "modality_run": f"the modality run limit (≤ {problem.max_modality_run} in a row)",
    }
    if fixes:
        lines.append(
            "the request becomes feasible when relaxing any one of: "
            + "; ".join(labels[g] for g in fixes)
            + "."
        )
        if fixes == ["coverage"]:
            lines.append(
                "the core skills cannot be placed so that every admission window holds them "
                "all (with the other constraints in force); lengthen the stay or the cycle "
                "(--cycle-weeks), admit on fewer days, bring the attendance margin closer to "
                "1, or drop core skills."
            )
        elif len(groups) > 1:
            lines.append("the constraints named conflict with the rest of the request.")
    else:
        lines.append(
            "no single constraint group explains it (relaxing each alone did not help); "
            "several conflict together — try fewer core skills or a longer stay first."
        )
    return lines


def _group_present(problem: RotationProblem, group: str) -> bool:
    return {
        "coverage": bool(problem.core),
        "modality_days": bool(problem.modality_days or problem.skill_days),
        "fixed_placements": bool(problem.fixed),
        "modality_gap": problem.max_modality_gap is not None,
        "modality_run": problem.max_modality_run is not None,
    }[group]
