"""Self-explaining validation of a curriculum: every finding names file, line and key path.

The loader (:mod:`iopkit.curriculum.loader`) parses each file against its schema
(:mod:`iopkit.curriculum.models`); the checks here are the rules that span fields and files:

* :func:`check_skill_placement` — a skill's id, modality and module agree with its file;
* :func:`check_skills` — prerequisites exist, ``min_days_after`` names a requirement,
  related scales are registry ids, contraindications are explained, no prerequisite cycle;
* :func:`check_program` — stay, admission days, core, electives, facilitators, measurement
  scales, safety thresholds and closures of one program against the catalog;
* :func:`check_block` — the daily block against the segment rules (``segments.yaml``).

Each returns a list of :class:`~iopkit.yamlio.Problem` (severity ``error`` or ``warning``);
none raises for bad content.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from iopkit.curriculum.models import ModalityHeader, Program, Skill
from iopkit.curriculum.queries import Curriculum
from iopkit.curriculum.segments import SEGMENT_RULES, SegmentRule
from iopkit.vocab import OCCASIONS
from iopkit.yamlio import Loc, Problem, YamlDoc, did_you_mean

__all__ = [
    "ScaleIndex",
    "check_block",
    "check_program",
    "check_skill_placement",
    "check_skills",
    "find_cycles",
    "known_scale_ids",
]


# --------------------------------------------------------------------------------------
# Scale ids
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleIndex:
    """Scale ids and aliases of the :mod:`iopkit.scales` registry, to check references."""

    ids: frozenset[str]
    aliases: Mapping[str, str]

    @classmethod
    def from_registry(cls) -> ScaleIndex:
        """The registry's ids and alias → id map (a broken registry raises, never hides)."""
        from iopkit import scales  # imported when checking: the registry's models are slow

        listed = scales.list_scales()
        return cls(
            frozenset(s.id for s in listed),
            {a: s.id for s in listed for a in s.aliases},
        )

    def problem(self, doc: YamlDoc, loc: Loc, scale_id: str, who: str) -> Problem | None:
        """None for a registry id; a warning for an alias; an error naming the known ids."""
        if scale_id in self.ids:
            return None
        if scale_id in self.aliases:
            return doc.problem(
                loc,
                f"{who}: {scale_id!r} is an alias; write the registry id "
                f"{self.aliases[scale_id]!r}",
                "warning",
            )
        return doc.problem(
            loc,
            f"{who}: unknown scale id {scale_id!r}{did_you_mean(scale_id, self.ids)}; "
            f"known: {', '.join(sorted(self.ids))}",
        )


def known_scale_ids() -> frozenset[str]:
    """Scale ids that skills and measurement schedules may name (:mod:`iopkit.scales`)."""
    return ScaleIndex.from_registry().ids


# --------------------------------------------------------------------------------------
# Skills
# --------------------------------------------------------------------------------------


def check_skill_placement(
    doc: YamlDoc, loc: Loc, s: Skill, header: ModalityHeader
) -> list[Problem]:
    """A skill's modality, module and id prefix agree with the modality file it is in."""
    out: list[Problem] = []
    if s.modality != header.modality:
        out.append(
            doc.problem(
                (*loc, "modality"),
                f"skill {s.id}: modality {s.modality!r} differs from the file's "
                f"modality {header.modality!r}",
            )
        )
    if s.module not in header.modules:
        out.append(
            doc.problem(
                (*loc, "module"),
                f"skill {s.id}: module {s.module!r} is not declared under 'modules'"
                f"{did_you_mean(s.module, header.modules)}; declared: "
                f"{', '.join(header.modules)}",
            )
        )
    if not s.id.startswith(f"{s.modality}.{s.module}."):
        out.append(
            doc.problem(
                (*loc, "id"),
                f"skill id {s.id!r} must start with '{s.modality}.{s.module}.' "
                "(modality.module.name)",
            )
        )
    return out


def check_skills(
    skills: Mapping[str, Skill],
    where: Mapping[str, tuple[YamlDoc, Loc]],
    scales: ScaleIndex,
    broken: Collection[str] = (),
) -> list[Problem]:
    """Cross-references between skills, their scale ids and prerequisite cycles.

    ``where`` maps each skill id to its file and key path; ``broken`` holds ids that failed
    their own schema (references to them are not reported as unknown).
    """
    problems: list[Problem] = []
    for sid, s in skills.items():
        doc, loc = where[sid]
        for field in ("requires", "after"):
            for j, ref in enumerate(getattr(s, field)):
                if ref == sid:
                    problems.append(
                        doc.problem((*loc, field, j), f"skill {sid} lists itself in {field}")
                    )
                elif ref not in skills and ref not in broken:
                    problems.append(
                        doc.problem(
                            (*loc, field, j),
                            f"skill {sid}: unknown prerequisite {ref!r}"
                            f"{did_you_mean(ref, [*skills, *broken])}",
                        )
                    )
        for ref in s.min_days_after:
            if ref not in s.requires:
                problems.append(
                    doc.problem(
                        (*loc, "min_days_after", ref),
                        f"skill {sid}: min_days_after names {ref!r}, which is not in its "
                        "requires list",
                    )
                )
        for j, sc in enumerate(s.related_scales):
            p = scales.problem(doc, (*loc, "related_scales", j), sc, f"skill {sid}")
            if p:
                problems.append(p)
        if s.contraindications and not s.cautions:
            problems.append(
                doc.problem(
                    (*loc, "cautions"),
                    f"skill {sid} lists contraindications but no cautions explaining them",
                )
            )

    graph = {k: [p for p in s.requires + s.after if p in skills] for k, s in skills.items()}
    for cyc in find_cycles(graph):
        doc, loc = where[cyc[0]]
        steps = [
            f"{a} {'requires' if b in skills[a].requires else 'comes after'} {b}"
            for a, b in zip(cyc, cyc[1:], strict=False)
        ]
        problems.append(
            doc.problem(
                (*loc, "requires" if cyc[1] in skills[cyc[0]].requires else "after"),
                f"prerequisite cycle: {' → '.join(cyc)} ({'; '.join(steps)}); no teaching "
                "order can satisfy it — remove one of these links",
            )
        )
    return problems


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Elementary cycles reachable by DFS (each reported once), as [a, b, …, a]."""
    seen_sets: set[frozenset[str]] = set()
    cycles: list[list[str]] = []
    color: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        color[n] = 1
        stack.append(n)
        for m in graph.get(n, []):
            if m not in graph:
                continue
            if color.get(m) == 1:
                cyc = stack[stack.index(m) :] + [m]
                key = frozenset(cyc)
                if key not in seen_sets:
                    seen_sets.add(key)
                    cycles.append(cyc)
            elif color.get(m) is None:
                visit(m)
        stack.pop()
        color[n] = 2

    for n in graph:
        if color.get(n) is None:
            visit(n)
    return cycles


# --------------------------------------------------------------------------------------
# Programs
# --------------------------------------------------------------------------------------


def check_block(
    doc: YamlDoc,
    prog: Program,
    rules: Mapping[str, SegmentRule] = SEGMENT_RULES,
    loc: Loc = (),
) -> list[Problem]:
    """Problems of a program's daily block against the segment rules (``segments.yaml``).

    Each segment within its allowed minutes; every required kind present, none twice; the
    kinds in the rules' order; the minutes adding up to ``session_minutes`` (with a hint
    when only an optional segment could make up the difference). ``loc`` is where the
    program sits in ``doc``.
    """
    out: list[Problem] = []
    kinds = [s.segment for s in prog.block]
    for j, seg in enumerate(prog.block):
        rule = rules[seg.segment]
        if not rule.min_minutes <= seg.minutes <= rule.max_minutes:
            out.append(
                doc.problem(
                    (*loc, "block", j, "minutes"),
                    f"{rule.title} lasts {seg.minutes} min; allowed {rule.range_text} min",
                )
            )
    for kind, rule in rules.items():
        n = kinds.count(kind)
        if rule.required and n == 0:
            out.append(doc.problem((*loc, "block"), f"block has no {kind!r} segment"))
        if n > 1:
            out.append(doc.problem((*loc, "block"), f"block has {n} {kind!r} segments; use one"))
    ordered = [k for k in rules if k in kinds]
    if len(set(kinds)) == len(kinds) and kinds != ordered:
        out.append(
            doc.problem(
                (*loc, "block"),
                f"segments out of order: {' → '.join(kinds)}; expected {' → '.join(ordered)}",
            )
        )
    total = prog.block_minutes
    if total != prog.session_minutes:
        parts = " + ".join(f"{s.segment} {s.minutes}" for s in prog.block)
        hint = ""
        required = [r for r in rules.values() if r.required]
        most = sum(r.max_minutes for r in required)
        unused = [r for r in rules.values() if not r.required and r.kind not in kinds]
        if unused and prog.session_minutes > most:
            options = " or ".join(f"{r.kind!r} ({r.range_text} min)" for r in unused)
            hint = (
                f"; the {len(required)} required segments reach at most {most} min, "
                f"add the optional {options} segment"
            )
        out.append(
            doc.problem(
                (*loc, "block"),
                f"block adds up to {total} min ({parts}) but session_minutes is "
                f"{prog.session_minutes}{hint}",
            )
        )
    return out


def check_program(
    doc: YamlDoc,
    prog: Program,
    cur: Curriculum,
    scales: ScaleIndex,
    broken: Collection[str] = (),
    rules: Mapping[str, SegmentRule] = SEGMENT_RULES,
) -> list[Problem]:
    """Every problem of one program file against the catalog ``cur``.

    Stay and admission days, the daily block (:func:`check_block`), core (known skills and
    modules, no individual tasks, prerequisites also core, fits the shortest stay, fits the
    skill segment), electives, facilitators and their trainings, measurement scales, safety
    thresholds and closures. ``broken`` holds ids that failed their own schema (not
    reported again as unknown).
    """
    out: list[Problem] = []
    who = f"program {prog.id}"
    if prog.min_weeks > prog.max_weeks:
        out.append(
            doc.problem(("min_weeks",), f"min_weeks {prog.min_weeks} > max_weeks {prog.max_weeks}")
        )
    extra_adm = [d for d in prog.admission_days if d not in prog.days]
    if extra_adm:
        out.append(
            doc.problem(
                ("admission_days",),
                f"admission day(s) {', '.join(extra_adm)} are not program days "
                f"({', '.join(prog.days)})",
            )
        )
    out += check_block(doc, prog, rules)
    end = datetime.combine(date(2000, 1, 1), prog.start_time) + timedelta(
        minutes=prog.session_minutes
    )
    if end.date() != date(2000, 1, 1):
        out.append(doc.problem(("default_start",), "session would run past midnight"))

    # core requirements
    for j, sid in enumerate(prog.core.skills):
        if sid in broken:
            continue
        if sid not in cur.skills:
            out.append(
                doc.problem(
                    ("core", "skills", j),
                    f"{who}: unknown core skill {sid!r}{did_you_mean(sid, [*cur.skills, *broken])}",
                )
            )
        elif not cur.skills[sid].rotating:
            out.append(
                doc.problem(
                    ("core", "skills", j),
                    f"{who}: {sid} is an individual task, not a group skill; list it under "
                    "admission_tasks instead",
                )
            )
    for j, mid in enumerate(prog.core.modules):
        if mid not in cur.modules and mid not in broken:
            out.append(
                doc.problem(
                    ("core", "modules", j),
                    f"{who}: unknown module {mid!r}{did_you_mean(mid, cur.modules)} "
                    "(write modality.module, e.g. dbt.mf)",
                )
            )
    for key in ("modalities", "modules", "skills", "exclude"):
        vocab = {"modalities": cur.modalities, "modules": cur.modules}.get(key, cur.skills)
        for j, ref in enumerate(getattr(prog.electives, key)):
            if ref not in vocab and ref not in broken:
                out.append(
                    doc.problem(
                        ("electives", key, j),
                        f"{who}: unknown {key[:-1] if key != 'modalities' else 'modality'} "
                        f"{ref!r}{did_you_mean(ref, vocab)}",
                    )
                )
    for j, sid in enumerate(prog.admission_tasks):
        if sid in broken:
            continue
        if sid not in cur.skills:
            out.append(
                doc.problem(
                    ("admission_tasks", j),
                    f"{who}: unknown task {sid!r}{did_you_mean(sid, [*cur.skills, *broken])}",
                )
            )
        elif cur.skills[sid].rotating:
            out.append(
                doc.problem(
                    ("admission_tasks", j),
                    f"{who}: {sid} is a group skill; admission_tasks takes individual tasks",
                )
            )

    def core_loc(sid: str) -> Loc:
        if sid in prog.core.skills:
            return ("core", "skills", prog.core.skills.index(sid))
        mid = cur.skills[sid].module_id
        return ("core", "modules", prog.core.modules.index(mid))

    core = [sid for sid in cur.core_of(prog) if sid in cur.skills]
    core_set = set(core) | {sid for sid in prog.core.skills if sid in broken}
    for sid in core:
        for pre in cur.skills[sid].requires:
            if pre not in core_set and pre in cur.skills:
                out.append(
                    doc.problem(
                        core_loc(sid),
                        f"{who}: core skill {sid} requires {pre}, which is not core; a patient "
                        f"could be due {sid} without ever meeting {pre}. Add {pre} to core or "
                        "drop the requirement",
                    )
                )
        teach = cur.skills[sid].minutes
        seg = prog.segment_minutes("skill")
        if teach > seg:
            out.append(
                doc.problem(
                    core_loc(sid),
                    f"{who}: core skill {sid} needs {teach} min of teaching; the skill-of-the-day "
                    f"segment is {seg} min",
                )
            )
    chained = cur.core_is_chained(core_set)
    n_core = len(core_set)  # skills with schema errors still count as core
    needed = cur.sessions_for_core(core_set)
    have = prog.min_sessions
    if needed > have:
        why = f"{n_core} core skills"
        if chained:
            why += " + 1 repeat so a patient admitted between a prerequisite and its dependent "
            why += "still meets the prerequisite first"
        out.append(
            doc.problem(
                ("core",),
                f"{who}: core needs at least {needed} sessions ({why}); a {prog.min_weeks}-week "
                f"stay at {prog.sessions_per_week} days a week has {have}",
            )
        )
    elif needed == have:
        out.append(
            doc.problem(
                ("core",),
                f"{who}: core needs {needed} sessions and the shortest stay has exactly {have}; "
                "one closure or absence leaves a patient short",
                "warning",
            )
        )

    # facilitators and trainings
    for j, f in enumerate(prog.facilitators):
        bad = [d for d in f.days if d not in prog.days]
        if bad:
            out.append(
                doc.problem(
                    ("facilitators", j, "days"),
                    f"{who}: facilitator {f.id} works {', '.join(bad)}, not a program day",
                )
            )
    if prog.facilitators:
        trained = {t for f in prog.facilitators for t in f.trainings}
        for sid in core:
            need = cur.training_for(sid)
            if need and need not in trained:
                out.append(
                    doc.problem(
                        ("facilitators",),
                        f"{who}: core skill {sid} needs a facilitator trained in {need!r}; "
                        f"none is listed (trainings: {', '.join(sorted(trained)) or 'none'})",
                    )
                )
        untaught: dict[str, list[str]] = {}
        for sid in cur.electives_of(prog):
            need = cur.training_for(sid)
            if need and need not in trained:
                untaught.setdefault(need, []).append(sid)
        for need, sids in sorted(untaught.items()):
            out.append(
                doc.problem(
                    ("electives",),
                    f"{who}: {len(sids)} elective skill(s) need a facilitator trained in "
                    f"{need!r} and none is listed, so the planner can never place them "
                    f"({', '.join(sids[:4])}{', ...' if len(sids) > 4 else ''})",
                    "warning",
                )
            )

    # measurement
    m = prog.measurement
    for occ in OCCASIONS:
        for j, sc in enumerate(getattr(m, occ)):
            p = scales.problem(doc, ("measurement", occ, j), sc, who)
            if p:
                out.append(p)
    for concern, cs in m.by_concern.items():
        for occ in OCCASIONS:
            for j, sc in enumerate(getattr(cs, occ)):
                p = scales.problem(doc, ("measurement", "by_concern", concern, occ, j), sc, who)
                if p:
                    out.append(p)
    for j, sf in enumerate(m.safety):
        p = scales.problem(doc, ("measurement", "safety", j, "scale"), sf.scale, who)
        if p:
            out.append(p)
        if sf.escalate_at is not None and sf.escalate_at < sf.flag_at:
            out.append(
                doc.problem(
                    ("measurement", "safety", j),
                    f"{who}: escalate_at {sf.escalate_at} is below flag_at {sf.flag_at}",
                )
            )

    # closures
    cr = prog.closure_rules
    if cr.subdivision and not cr.country:
        out.append(doc.problem(("closure_rules", "subdivision"), "subdivision needs a country"))
    elif cr.country:
        import holidays  # lazy: a large package, needed only for this check

        try:  # loads this one country's module (listing all of them imports ~500)
            subdivisions: tuple[str, ...] | None = tuple(
                holidays.country_holidays(cr.country).subdivisions
            )
        except NotImplementedError:
            subdivisions = None
        if subdivisions is None:
            supported = holidays.list_supported_countries()
            out.append(
                doc.problem(
                    ("closure_rules", "country"),
                    f"{who}: the holidays package has no country {cr.country!r}"
                    f"{did_you_mean(cr.country, supported)}",
                )
            )
        elif cr.subdivision and cr.subdivision not in subdivisions:
            out.append(
                doc.problem(
                    ("closure_rules", "subdivision"),
                    f"{who}: holidays rejects subdivision {cr.subdivision!r} of "
                    f"{cr.country}; known: {', '.join(subdivisions)}",
                )
            )
    seen: dict[date, int] = {}
    for j, c in enumerate(cr.dates):
        if c.date in seen:
            out.append(
                doc.problem(
                    ("closure_rules", "dates", j, "date"),
                    f"{who}: closure {c.date} listed twice (also dates[{seen[c.date]}])",
                )
            )
        seen[c.date] = j
    return out
