"""Pre-checks: cheap necessary conditions, worded so a clinical lead can act on them.

Run before the solver (:func:`iopkit.rotation.solve.plan_rotation`): each blocking problem
names the numbers involved, e.g. "core needs 14 sessions; a 4-week stay at 3 days a week
has 12", and what to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from iopkit.errors import InputError
from iopkit.rotation.problem import RotationProblem
from iopkit.vocab import WEEKDAYS


def _days_text(days: Iterable[int]) -> str:
    days = sorted(days)
    return "/".join(WEEKDAYS[d].title() for d in days) if days else "no day"


def _stay_text(problem: RotationProblem) -> str:
    spw = problem.sessions_per_week
    weeks = problem.stay_weeks if problem.stay_weeks is not None else problem.window / spw
    weeks_txt = f"{weeks:g}-week stay" if float(weeks).is_integer() else f"{weeks:.1f}-week stay"
    return f"a {weeks_txt} at {spw} day{'s' if spw != 1 else ''} a week"


def requires_closure(problem: RotationProblem) -> dict[str, set[str]]:
    """Transitive hard prerequisites of every skill (raises on a cycle)."""
    closure: dict[str, set[str]] = {}
    state: dict[str, int] = {}

    def visit(skill: str, stack: list[str]) -> set[str]:
        if state.get(skill) == 2:
            return closure[skill]
        if state.get(skill) == 1:
            cycle = " -> ".join([*stack[stack.index(skill) :], skill])
            raise InputError(f"prerequisite cycle: {cycle}")
        state[skill] = 1
        out: set[str] = set()
        for p in problem.requires.get(skill, []):
            out.add(p)
            out |= visit(p, [*stack, skill])
        state[skill] = 2
        closure[skill] = out
        return out

    for s in problem.skills:
        visit(s, [])
    return closure


def _longest_chain(problem: RotationProblem, skill: str, memo: dict[str, int]) -> int:
    if skill not in memo:
        preds = [p for p in problem.requires.get(skill, []) if p in problem.skills]
        memo[skill] = 1 + max((_longest_chain(problem, p, memo) for p in preds), default=0)
    return memo[skill]


def precheck(problem: RotationProblem) -> tuple[list[str], list[str]]:
    """Cheap necessary conditions; returns (blocking problems, warnings).

    Each blocking problem is a sentence a lead can act on, e.g. "core needs 14 sessions;
    a 4-week stay at 3 days a week has 12".
    """
    problem.validate()
    errors: list[str] = []
    warnings: list[str] = []
    weff = problem.effective_window
    L = problem.length
    core = sorted(problem.core)
    margin_txt = (
        f" ({problem.attendance_margin:.0%} attendance margin: {weff})"
        if problem.attendance_margin < 1
        else ""
    )
    need = len(core)
    if need > min(weff, L):
        if need > weff:
            errors.append(
                f"core needs {need} sessions; {_stay_text(problem)} has {problem.window}"
                f"{margin_txt}. Drop {need - weff} skill(s) from core, lengthen the minimum "
                f"stay, add program days, or lower the attendance margin."
            )
        else:
            errors.append(
                f"core needs {need} sessions but the cycle has only {L}; lengthen the cycle."
            )
    adm = problem.admission_slots()

    # skills that can never be taught
    for s in problem.skills:
        days = problem.allowed_weekdays(s)
        if not days and (s in problem.core or s in problem.fixed):
            mod = problem.modality[s]
            why = []
            if mod in problem.modality_days:
                why.append(f"{mod} only on {_days_text(problem.modality_days[mod])}")
            if s in problem.skill_days:
                why.append(
                    f"a facilitator trained for it works on {_days_text(problem.skill_days[s])}"
                )
            if s in problem.fixed:
                why.append(f"fixed to {_days_text(problem.fixed[s])}")
            why.append(f"program days {_days_text(problem.weekdays)}")
            errors.append(f"{s} can be taught on no day ({'; '.join(why)}).")

    # a program day on which no skill of the pool can be taught
    for d in problem.weekdays:
        if not any(d in problem.allowed_weekdays(sk) for sk in problem.skills):
            errors.append(
                f"no skill of the pool can be taught on {WEEKDAYS[d].title()} (no facilitator "
                f"with a needed training works that day, or every skill is fixed to other days)."
            )

    # Hall-type check: core skills confined to a set of weekdays must fit that set's slots
    # inside every admission window.
    allowed = {c: frozenset(problem.allowed_weekdays(c)) for c in core}
    for days in sorted(set(allowed.values()), key=sorted):
        if not days or days == frozenset(problem.weekdays):
            continue
        group = [c for c in core if allowed[c] and allowed[c] <= days]
        if not adm:
            break
        slots = min(
            sum(problem.slot_weekday((a + k) % L) in days for k in range(min(weff, L))) for a in adm
        )
        if len(group) > slots:
            errors.append(
                f"{len(group)} core skill(s) can only be taught on {_days_text(days)} "
                f"({', '.join(group)}), but some admission window of {min(weff, L)} sessions "
                f"has only {slots} such day(s); widen facilitator availability or fixed days."
            )

    # fixed placements: more skills pinned to a day set than the cycle has such days
    pinned: dict[frozenset[int], list[str]] = {}
    for s in problem.fixed:
        pinned.setdefault(frozenset(problem.allowed_weekdays(s)), []).append(s)
    for days, group in pinned.items():
        n_slots = sum(problem.slot_weekday(i) in days for i in range(L))
        if days and len(group) > n_slots:
            errors.append(
                f"{len(group)} skills are fixed to {_days_text(days)} but the {L}-session "
                f"cycle has {n_slots} such day(s): {', '.join(sorted(group))}."
            )

    # modality gap vs facilitator availability
    if problem.max_modality_gap is not None:
        pool_mods = {problem.modality[s] for s in problem.skills}
        for m in problem.balanced:
            if m not in pool_mods:
                errors.append(f"modality {m} is to be balanced but no skill of it is in the pool.")
                continue
            days = set(problem.weekdays)
            if m in problem.modality_days:
                days &= set(problem.modality_days[m])
            ok_slots = [i for i in range(L) if problem.slot_weekday(i) in days]
            if not ok_slots:
                errors.append(f"modality {m} can be taught on no program day.")
                continue
            longest = max(
                (ok_slots[(j + 1) % len(ok_slots)] - ok_slots[j] - 1) % L
                for j in range(len(ok_slots))
            )
            if len(ok_slots) == L:
                longest = 0
            if longest > problem.max_modality_gap:
                errors.append(
                    f"{m} can only be taught on {_days_text(days)}, so it is absent for "
                    f"{longest} sessions in a row, more than the allowed gap of "
                    f"{problem.max_modality_gap}; widen {m} availability or raise the gap."
                )

    # counting: core copies needed per cycle plus modality-balance minimums must fit the cycle
    if not errors and adm:
        copies = min_copies(adm, weff, L)
        need_by_mod: dict[str, int] = {}
        for c in core:
            need_by_mod[problem.modality[c]] = need_by_mod.get(problem.modality[c], 0) + copies
        extra = []
        if problem.max_modality_gap is not None and problem.max_modality_gap < L:
            per = -(-L // (problem.max_modality_gap + 1))
            for mod in problem.balanced:
                if need_by_mod.get(mod, 0) < per:
                    extra.append(f"{mod} {per - need_by_mod.get(mod, 0)}")
                    need_by_mod[mod] = per
        # a skill taught once per cycle must sit in a slot common to all admission windows;
        # when there are fewer such slots than core skills, the others need two copies
        twice = 0
        common: set[int] = set()
        if copies == 1 and weff < L:
            common = set(range(L))
            for a in adm:
                common &= {(a + k) % L for k in range(weff)}
            twice = max(0, len(core) - len(common))
        total = sum(need_by_mod.values()) + twice
        if total > L:
            why = (
                f"each of the {len(core)} core skills must be taught {copies}× per cycle so "
                f"that every admission window of {min(weff, L)} sessions{margin_txt} holds it"
            )
            if twice:
                days = _days_text({problem.slot_weekday(i) for i in common})
                why += (
                    f"; a skill taught once must sit in one of the {len(common)} slot(s) "
                    f"common to every admission window ({days}), so {twice} of them need 2 "
                    "copies"
                )
            if extra:
                why += (
                    f", plus extra sessions so no modality is absent > "
                    f"{problem.max_modality_gap} sessions ({', '.join(extra)})"
                )
            errors.append(
                f"the {L}-session cycle needs at least {total} sessions: {why}. Lengthen the "
                "cycle or the stay, admit on fewer days, bring the attendance margin closer "
                "to 1, raise the modality gap, or drop core skills."
            )

    # prerequisite chains (warnings: prerequisites are maximised, not required)
    requires_closure(problem)
    memo: dict[str, int] = {}
    for c in core:
        chain = _longest_chain(problem, c, memo)
        if chain > weff:
            warnings.append(
                f"the prerequisite chain ending at {c} has {chain} skills, longer than the "
                f"{weff}-session window: it cannot be honoured for every admission."
            )
    for s, preds in problem.requires.items():
        if s in problem.core:
            for p in preds:
                if p not in problem.skills:
                    warnings.append(
                        f"{s} requires {p}, which the program does not teach: the prerequisite "
                        f"cannot be met in the group."
                    )
    return errors, warnings


def min_copies(adm: Sequence[int], weff: int, L: int) -> int:
    """Fewest sessions of one skill per cycle that fall inside every admission window.

    Windows are the cyclic intervals [a, a + weff) for a in ``adm``. Minimum stabbing of
    circular-arc intervals: some optimal set of points contains the last slot of a window,
    so try each window's end as the first point, then stab the rest greedily (earliest end
    first), and keep the best.
    """
    if not adm:
        return 0
    if weff >= L:
        return 1
    best = len(adm)
    for a0 in adm:
        p0 = a0 + weff - 1  # first point: the end of window a0
        # remaining windows, as start offsets after p0, that do not contain p0
        rest = sorted((a - p0 - 1) % L for a in adm if not (0 <= (p0 - a) % L < weff))
        count, last = 1, None
        for start in rest:
            if last is not None and start <= last:
                continue  # already stabbed
            last = start + weff - 1
            count += 1
        best = min(best, count)
    return best
