"""The CP-SAT model of a rotation: one Boolean per (skill, slot), hard constraints, the
objective terms of each lexicographic stage, and starting hints.

Hard: exactly one skill per slot, on the days it may be taught; every core skill in every
admission window of ``effective_window`` sessions (coverage); fixed placements; modality
gap and run limits. Soft (objective components, one list per stage of
:data:`~iopkit.rotation.problem.STAGES`): prerequisites met before the skill per admission
slot, no repeat within ``repeat_gap``, soft ``after`` orderings, electives by weight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from iopkit.rotation.prechecks import min_copies, requires_closure
from iopkit.rotation.problem import STAGES, RotationProblem, SolverOptions

#: Constraint groups the diagnosis relaxes one at a time (``relax`` of :func:`build_model`).
CONSTRAINT_GROUPS = (
    "coverage",
    "modality_days",
    "fixed_placements",
    "modality_gap",
    "modality_run",
)


@dataclass
class RotationModel:
    """A built CP-SAT model: ``x[skill, slot]`` (skill taught in slot), the prerequisite
    literals counted in :attr:`RotationPlan.prereq_satisfied`, and the objective terms of
    each stage (``components[stage]``; their sum is maximised)."""

    model: cp_model.CpModel
    x: dict[tuple[str, int], cp_model.IntVar]
    req_sat: list[cp_model.IntVar]
    components: dict[str, list]

    def stage_terms(self, stage: str) -> list:
        """Objective terms of one stage (empty when the request has none)."""
        return list(self.components.get(stage, []))

    def add_hint(self, sequence: Mapping[int, str]) -> None:
        """Hint a starting rotation: ``sequence[slot]`` = skill."""
        for (s, i), var in self.x.items():
            self.model.add_hint(var, sequence[i] == s)


def _pairs(rel: Mapping[str, Sequence[str]], pool: set[str]) -> list[tuple[str, str]]:
    return sorted((c, p) for c, preds in rel.items() if c in pool for p in preds if p in pool)


def build_model(
    problem: RotationProblem,
    options: SolverOptions,
    relax: frozenset[str] = frozenset(),
    *,
    cuts: bool = True,
) -> RotationModel:
    """The CP-SAT model of ``problem``, without the constraint groups named in ``relax``
    (a subset of :data:`CONSTRAINT_GROUPS`). ``cuts=False`` leaves out the redundant
    window cut on ordered core pairs (it never removes a solution; tests compare both)."""
    L = problem.length
    pool = problem.skills
    pool_set = set(pool)
    weff = problem.effective_window
    m = cp_model.CpModel()
    x: dict[tuple[str, int], cp_model.IntVar] = {}

    def allowed_days(s: str) -> set[int]:
        days = set(problem.weekdays)
        mod = problem.modality[s]
        if "modality_days" not in relax and mod in problem.modality_days:
            days &= set(problem.modality_days[mod])
        if "fixed_placements" not in relax and s in problem.fixed:
            days &= set(problem.fixed[s])
        if "modality_days" not in relax and s in problem.skill_days:
            days &= set(problem.skill_days[s])
        return days

    allowed = {s: allowed_days(s) for s in pool}
    for i in range(L):
        wd = problem.slot_weekday(i)
        for s in pool:
            if wd in allowed[s]:
                x[s, i] = m.new_bool_var(f"x[{s},{i}]")
        m.add_exactly_one([x[s, i] for s in pool if (s, i) in x])

    def occ(s: str, slots: Iterable[int]) -> list[cp_model.IntVar]:
        return [x[s, j % L] for j in slots if (s, j % L) in x]

    # fixed placements: taught at least once per cycle (only on the fixed days: domain)
    if "fixed_placements" not in relax:
        for s in problem.fixed:
            m.add_bool_or(occ(s, range(L)) or [m.new_constant(0)])

    adm = problem.admission_slots()
    span = min(weff, L)
    if "coverage" not in relax:
        for c in sorted(problem.core):
            if weff >= L:
                m.add(sum(occ(c, range(L))) >= 1)
                continue
            for a in adm:
                m.add(sum(occ(c, range(a, a + weff))) >= 1)
            # redundant cut for the LP: the fewest copies that meet every admission window
            m.add(sum(occ(c, range(L))) >= min_copies(adm, weff, L))

    # modality balance
    mod_of_slot: dict[str, list[list[cp_model.IntVar]]] = {}
    for mod in sorted({problem.modality[s] for s in pool}):
        mod_of_slot[mod] = [
            [x[s, i] for s in pool if problem.modality[s] == mod and (s, i) in x] for i in range(L)
        ]
    gap = problem.max_modality_gap
    if gap is not None and "modality_gap" not in relax and gap < L:
        for mod in problem.balanced:
            if mod not in mod_of_slot:
                m.add_bool_or([m.new_constant(0)])
                continue
            for i in range(L):
                lits = [v for k in range(gap + 1) for v in mod_of_slot[mod][(i + k) % L]]
                m.add_bool_or(lits or [m.new_constant(0)])
            # redundant cut: at least ceil(L / (gap + 1)) sessions of the modality per cycle
            m.add(sum(v for per in mod_of_slot[mod] for v in per) >= -(-L // (gap + 1)))
    run = problem.max_modality_run
    if run is not None and "modality_run" not in relax and run < L:
        for _mod, per_slot in mod_of_slot.items():
            for i in range(L):
                lits = [v for k in range(run + 1) for v in per_slot[(i + k) % L]]
                if len(lits) > run:
                    m.add(sum(lits) <= run)

    comps: dict[str, list] = {name: [] for name in STAGES}
    # prerequisites per admission slot: sat(a, c, p) => every occurrence of c in the window
    # is preceded, inside the window, by an occurrence of p.
    req_sat: list[cp_model.IntVar] = []

    def ordering(pairs: list[tuple[str, str]], stage: str, store: list | None) -> None:
        for c, p in pairs:
            lag = problem.lag(p, c)
            exact_chain = c in problem.core and "coverage" not in relax
            if stage == "soft_order" and c not in problem.core:
                # a soft preference must never stop an elective from being taught: reward
                # each occurrence of c that has p in the ``span`` sessions before it.
                for i in range(L):
                    if (c, i) not in x:
                        continue
                    y = m.new_bool_var(f"after[{c}<{p},{i}]")
                    m.add_implication(y, x[c, i])
                    m.add_bool_or([y.Not(), *occ(p, range(i - span + 1, i - lag + 1))])
                    comps["electives"].append(options.w_elective_order * y)
                continue
            if options.prereq_encoding == "chain" and (stage == "soft_order" or exact_chain):
                sats = _chain(c, p, lag)
                if exact_chain and weff < L and cuts:
                    # redundant cut (removes no integer solution): c is in every admission
                    # window [a, a + weff), and ok(a) needs p at some j >= a with no c in
                    # [a, j + lag); the first c comes before a + weff, so j < a + weff - lag.
                    # Without it the LP spreads c fractionally and sets ok(a) with no p at
                    # all (24-week electives bound 472 -> 206 at 30 s).
                    for a, sat in zip(adm, sats, strict=True):
                        m.add(sat <= sum(occ(p, range(a, a + weff - lag))))
            else:
                sats = _windowed(c, p, lag)
            for sat in sats:
                comps[stage].append(sat)
                if store is not None:
                    store.append(sat)
            # linear cut (sum of sat + x[c, a] <= 1): a patient admitted on a day that
            # teaches c meets c before anything else, so that admission cannot honour p.
            on_adm = [x[c, a] for a in adm if (c, a) in x]
            if on_adm:
                m.add(sum(sats) + sum(on_adm) <= len(adm))

    def _windowed(c: str, p: str, lag: int) -> list[cp_model.IntVar]:
        """sat(a) => every c in a's window is preceded (by >= lag) by p in the window."""
        sats = []
        for a in adm:
            sat = m.new_bool_var(f"ord[{c}<{p},{a}]")
            for k in range(span):
                pos = (a + k) % L
                if (c, pos) not in x:
                    continue
                before = occ(p, range(a, a + k - lag + 1))
                m.add_bool_or([sat.Not(), x[c, pos].Not(), *before])
            sats.append(sat)
        return sats

    def _chain(c: str, p: str, lag: int) -> list[cp_model.IntVar]:
        """Recursive form along the cycle, exact when c is in every window (core).

        ok(i) = "the next p (at least ``lag`` before the next c) comes before the next c,
        scanning from slot i" = [p at i and no c in (i, i + lag)] or [no c at i and ok(i+1)].
        Only the upper bounds are needed because ok is maximised.
        """
        ok = [m.new_bool_var(f"ok[{c}<{p},{i}]") for i in range(L)]
        for i in range(L):
            nxt = ok[(i + 1) % L]
            if (c, i) in x:
                m.add_implication(ok[i], x[c, i].Not())
            if (p, i) in x:
                m.add_bool_or([ok[i].Not(), nxt, x[p, i]])
                for v in occ(c, range(i + 1, i + lag)):
                    m.add_bool_or([ok[i].Not(), nxt, v.Not()])
            else:
                m.add_implication(ok[i], nxt)
        return [ok[a] for a in adm]

    ordering(_pairs(problem.requires, pool_set), "prerequisites", req_sat)
    ordering(_pairs(problem.after, pool_set), "soft_order", None)

    # no repeat within the minimum gap (soft)
    g = problem.repeat_gap
    if g > 1:
        for s in pool:
            for i in range(L):
                lits = occ(s, range(i, i + min(g, L)))
                if len(lits) > 1:
                    v = m.new_int_var(0, len(lits) - 1, f"rep[{s},{i}]")
                    m.add(sum(lits) <= 1 + v)
                    comps["repeats"].append(-v)

    # electives: reward each distinct elective taught, by weight
    electives = [s for s in pool if s not in problem.core]
    wmax = max((problem.weights.get(s, 1.0) for s in electives), default=1.0) or 1.0
    for s in electives:
        w = round(options.w_elective_max * problem.weights.get(s, 1.0) / wmax)
        if w <= 0:
            continue
        lits = occ(s, range(L))
        if not lits:
            continue
        used = m.new_bool_var(f"used[{s}]")
        m.add(sum(lits) >= used)
        comps["electives"].append(w * used)

    # symmetry: shifting the cycle by whole weeks maps solutions to solutions; pin the
    # first occurrence of one core skill into the first week.
    spw = problem.sessions_per_week
    core_sorted = sorted(problem.core)
    if core_sorted and spw < L:
        anchor = core_sorted[0]
        lits = occ(anchor, range(spw))
        if lits and "coverage" not in relax:
            m.add_bool_or(lits)

    return RotationModel(m, x, req_sat, comps)


def greedy_hint(problem: RotationProblem) -> dict[int, str] | None:
    """A cheap starting sequence: core skills in prerequisite order, repeated."""
    closure = requires_closure(problem)
    order = sorted(problem.core, key=lambda c: (len(closure[c] & problem.core), c))
    if not order:
        return None
    L = problem.length
    return {i: order[i % len(order)] for i in range(L)}
