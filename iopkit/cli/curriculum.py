"""`iopkit curriculum validate · list · show` and `iopkit agenda`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from iopkit.cli._common import (
    alias_option,
    app,
    console,
    emit,
    err_console,
    error_console,
    friendly_errors,
    output_options,
    prefer,
    usage_error,
)
from iopkit.curriculum import (
    Curriculum,
    Program,
    Skill,
    default_curriculum_dir,
    known_scale_ids,
    load_curriculum,
    validate_curriculum,
)
from iopkit.errors import InputError
from iopkit.vocab import OCCASIONS

curriculum_app = typer.Typer(
    help="Check and browse the skill catalog and programs (curriculum/).",
    no_args_is_help=True,
)
app.add_typer(curriculum_app, name="curriculum")

CurriculumOption = typer.Option(
    None,
    "--curriculum",
    help="Curriculum directory (default: $IOPKIT_CURRICULUM or the shipped curriculum).",
)
DirAlias = alias_option("--dir", replacement="--curriculum")  # renamed in 0.2 (issue 16)


def _curriculum_dir(new: Path | None, old: Path | None) -> Path | None:
    return prefer(new, old, old_name="--dir", new_name="--curriculum")


@curriculum_app.command("validate")
@output_options("curriculum.validate")
@friendly_errors
def validate(
    directory: Path | None = typer.Argument(
        None, help="Curriculum directory (default: $IOPKIT_CURRICULUM or the shipped curriculum)."
    ),
) -> None:
    """Check every skill and program file; exit 1 and name file, line and key on a problem."""
    root = (directory or default_curriculum_dir()).resolve()
    problems = validate_curriculum(root)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for p in errors:
        error_console.print(f"[bold red]error[/] {escape(str(p))}", highlight=False)
    for p in warnings:
        err_console.print(f"[yellow]warning[/] {escape(str(p))}", soft_wrap=True, highlight=False)
    findings = [
        {"severity": p.severity, "file": p.file, "line": p.line, "key": p.key,
         "message": p.message}
        for p in problems
    ]  # fmt: skip
    if errors:
        error_console.print(
            f"{len(errors)} error(s), {len(warnings)} warning(s) in {escape(str(root))}",
            highlight=False,
        )
        emit({"ok": False, "root": root, "errors": len(errors), "warnings": len(warnings),
              "problems": findings, "skills": None, "programs": []})  # fmt: skip
        raise typer.Exit(code=1)
    cur = load_curriculum(root)
    console.print(
        f"[green]ok[/] {escape(str(root))}: {len(cur.skills)} skills in "
        f"{len(cur.modalities)} modalities ({len(cur.individual_tasks())} individual task(s)), "
        f"{len(cur.programs)} program(s); scale ids checked against the iopkit.scales "
        f"registry ({len(known_scale_ids())} scales).",
        highlight=False,
        soft_wrap=True,  # one line per finding, whatever the terminal width or path length
    )
    for p in cur.programs.values():
        console.print(
            f"  {p.id}: core needs ≥ {cur.core_sessions_needed(p.id)} sessions, "
            f"shortest stay has {p.min_sessions} "
            f"({p.min_weeks} weeks × {p.sessions_per_week} days)",
            highlight=False,
            soft_wrap=True,
        )
    if warnings:
        console.print(f"{len(warnings)} warning(s) — see above.")
    emit(
        {
            "ok": True,
            "root": root,
            "errors": 0,
            "warnings": len(warnings),
            "problems": findings,
            "skills": len(cur.skills),
            "modalities": len(cur.modalities),
            "individual_tasks": len(cur.individual_tasks()),
            "scales_known": len(known_scale_ids()),
            "programs": [
                {
                    "id": p.id,
                    "core_sessions_needed": cur.core_sessions_needed(p.id),
                    "min_sessions": p.min_sessions,
                }
                for p in cur.programs.values()
            ],
        }
    )


@curriculum_app.command("list")
@output_options("curriculum.list")
@friendly_errors
def list_skills(
    modality: str | None = typer.Option(None, "--modality", help="cbt, dbt, act, rp, sleep"),
    module: str | None = typer.Option(
        None, "--module", help="Module, e.g. dbt.dt (or dt with --modality)."
    ),
    target: str | None = typer.Option(
        None, "--target", "-t", help="Concern: depression, anxiety, panic, ocd, ptsd, adhd, …"
    ),
    core: bool = typer.Option(
        False, "--core", help="Only core skills (the program's core with --program)."
    ),
    program: str | None = typer.Option(
        None, "--program", "-p", help="Only skills this program teaches (core + electives)."
    ),
    wide: bool = typer.Option(False, "--wide", help="Also show targets and requires."),
    directory: Path | None = CurriculumOption,
    old_modality: str | None = alias_option("-m", replacement="--modality"),
    old_wide: bool = alias_option("-w", replacement="--wide", default=False),
    old_dir: Path | None = DirAlias,
) -> None:
    """List skills, filtered by modality, module, target concern, core and program."""
    modality = prefer(modality, old_modality, old_name="-m", new_name="--modality")
    wide = prefer(wide, old_wide, old_name="-w", new_name="--wide")
    cur = load_curriculum(_curriculum_dir(directory, old_dir))
    skills = cur.query(
        modality=modality,
        module=module,
        target=target,
        core=True if core else None,
        program=program,
    )
    core_ids = set(cur.core_skills(program)) if program else None
    table = Table(show_lines=False, header_style="bold")
    table.add_column("id", no_wrap=True)
    cols = ["title", "min", "core" if program else "tier"]
    if wide:
        cols += ["targets", "requires"]
    for col in cols:
        table.add_column(col, overflow="fold")
    for s in skills:
        if core_ids is not None:
            tier = "core" if s.id in core_ids else ("task" if not s.rotating else "elective")
        else:
            tier = s.tier if s.rotating else "task"
        row = [s.id, s.title, str(s.minutes), tier]
        if wide:
            row += [", ".join(s.targets), ", ".join(s.requires) or "—"]
        table.add_row(*row)
    console.print(table)
    console.print(f"{len(skills)} skill(s)", highlight=False)
    emit(
        {
            "count": len(skills),
            "skills": [
                {
                    "id": s.id,
                    "title": s.title,
                    "minutes": s.minutes,
                    "modality": s.modality,
                    "module": s.module_id,
                    "tier": s.tier,
                    "rotating": s.rotating,
                    "core": s.id in core_ids if core_ids is not None else s.tier == "core",
                    "targets": list(s.targets),
                    "requires": list(s.requires),
                }
                for s in skills
            ],
        }
    )


def _show_skill(cur: Curriculum, s: Skill) -> None:
    out = console.print
    out(f"[bold]{escape(s.title)}[/]  ({s.id})", highlight=False)
    mod = cur.modules.get(s.module_id)
    kind = "individual task — not part of the rotation" if not s.rotating else "group skill"
    out(
        f"{cur.modalities[s.modality].title} › {mod.title if mod else s.module} · {kind} · "
        f"{s.tier} · {s.minutes} min",
        highlight=False,
    )
    out(f"\n{escape(s.summary)}\n", highlight=False)

    def section(title: str, items: list[str]) -> None:
        if items:
            out(f"[bold]{title}[/]")
            for item in items:
                out(f"  • {escape(item)}", highlight=False)

    section("Objectives", s.objectives)
    section("Teaching points", s.teaching_points)
    out("[bold]In-group practice[/]")
    out(f"  {escape(s.practice)}", highlight=False)
    out("[bold]Home practice[/]")
    out(f"  {escape(s.home_practice)}", highlight=False)
    out("")
    out(f"Targets: {', '.join(s.targets)}", highlight=False)
    out(f"Requires: {', '.join(s.requires) or '—'}", highlight=False)
    out(f"After (preferred): {', '.join(s.after) or '—'}", highlight=False)
    for pre, days in s.min_days_after.items():
        out(f"At least {days} days after {pre}", highlight=False)
    dependents = [k for k, sk in cur.skills.items() if s.id in sk.requires]
    out(f"Required by: {', '.join(dependents) or '—'}", highlight=False)
    training = cur.training_for(s.id)
    out(f"Facilitator training: {training or 'any'}", highlight=False)
    out(f"Related scales: {', '.join(s.related_scales) or '—'}", highlight=False)
    if s.contraindications:
        out(f"Contraindication flags: {', '.join(s.contraindications)}", highlight=False)
    if s.clinician_approval:
        out("[bold yellow]Needs clinician approval for each patient[/]")
    section("Cautions", s.cautions)
    in_core = [p.id for p in cur.programs.values() if s.id in cur.core_skills(p.id)]
    out(f"Core in programs: {', '.join(in_core) or '—'}", highlight=False)
    out(f"Source: {escape(s.source)}", highlight=False)
    out(f"File: {cur.skill_files.get(s.id, '?')}", highlight=False)


def _show_program(cur: Curriculum, p: Program) -> None:
    out = console.print
    out(f"[bold]{escape(p.name)}[/]  ({p.id})", highlight=False)
    out(escape(p.description), highlight=False)
    out(
        f"{p.population} · {', '.join(p.days)} · {p.session_minutes} min from {p.default_start} · "
        f"stay {p.min_weeks}–{p.max_weeks} weeks · admits on {', '.join(p.admission_days)}",
        highlight=False,
    )
    out("[bold]Daily block[/]")
    for seg in p.block:
        out(f"  {seg.segment:<12} {seg.minutes:>3} min", highlight=False)
    core = cur.core_skills(p.id)
    out(
        f"[bold]Core[/] ({len(core)} skills; needs ≥ {cur.core_sessions_needed(p.id)} of "
        f"{p.min_sessions} sessions in the shortest stay)",
        highlight=False,
    )
    for sid in core:
        out(f"  {sid}  {escape(cur.skills[sid].title)}", highlight=False)
    out(f"Electives available: {len(cur.elective_skills(p.id))}", highlight=False)
    out(f"Admission tasks: {', '.join(p.admission_tasks) or '—'}", highlight=False)
    m = p.measurement
    out("[bold]Measurement[/]")
    out(f"  admission: {', '.join(m.admission)}", highlight=False)
    out(f"  weekly:    {', '.join(m.weekly) or '—'}", highlight=False)
    out(f"  discharge: {', '.join(m.discharge)}", highlight=False)
    for concern, cs in m.by_concern.items():
        parts = [f"{occ} {', '.join(getattr(cs, occ))}" for occ in OCCASIONS if getattr(cs, occ)]
        out(f"  {concern}: {'; '.join(parts)}", highlight=False)
    for sf in m.safety:
        item = f" item {sf.item}" if sf.item else ""
        esc = f", escalate at ≥ {sf.escalate_at}" if sf.escalate_at is not None else ""
        out(f"  safety: {sf.scale}{item} ({sf.when}) flag at ≥ {sf.flag_at}{esc}", highlight=False)
    cr = p.closure_rules
    region = f"{cr.country}-{cr.subdivision}" if cr.subdivision else (cr.country or "none")
    out(f"Closures: public holidays {region} + {len(cr.dates)} listed date(s)", highlight=False)
    for f in p.facilitators:
        out(
            f"Facilitator {f.id} ({f.role}): {', '.join(f.trainings) or '—'} "
            f"on {', '.join(f.days)}",
            highlight=False,
        )
    out(f"Source: {escape(p.source)}", highlight=False)


@curriculum_app.command("show")
@output_options("curriculum.show")
@friendly_errors
def show(
    item_id: str = typer.Argument(..., metavar="ID", help="A skill id or a program id."),
    directory: Path | None = CurriculumOption,
    old_dir: Path | None = DirAlias,
) -> None:
    """Show one skill (objectives, teaching points, practice, cautions…) or one program."""
    cur = load_curriculum(_curriculum_dir(directory, old_dir))
    if item_id in cur.programs:
        prog = cur.programs[item_id]
        _show_program(cur, prog)
        emit({"kind": "program", "id": prog.id, "program": prog.model_dump(mode="json")})
    else:
        skill = cur.skill(item_id)
        _show_skill(cur, skill)
        emit({"kind": "skill", "id": skill.id, "skill": skill.model_dump(mode="json")})


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"--date {value!r} is not a date in YYYY-MM-DD form", rule="ISO date"
        ) from None


@app.command("agenda")
@output_options("agenda")
@friendly_errors
def agenda_cmd(
    program: str = typer.Option(..., "--program", "-p", help="Program id."),
    on: str = typer.Option(..., "--date", "-d", help="Program day, YYYY-MM-DD."),
    skill: str | None = typer.Option(
        None, "--skill", help="Skill of the day (skill id). Required."
    ),
    start: str | None = typer.Option(
        None, "--start-time", help="Start time HH:MM (default: the program's default_start)."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Also write the agenda as CSV."),
    directory: Path | None = CurriculumOption,
    old_skill: str | None = alias_option("-s", replacement="--skill"),
    old_start: str | None = alias_option("--start", replacement="--start-time"),
    old_dir: Path | None = DirAlias,
) -> None:
    """Print the timed agenda of one program day for a given skill of the day."""
    skill = prefer(skill, old_skill, old_name="-s", new_name="--skill")
    if skill is None:
        raise usage_error("Missing option '--skill'.")
    start = prefer(start, old_start, old_name="--start", new_name="--start-time")
    cur = load_curriculum(_curriculum_dir(directory, old_dir))
    day = _parse_date(on)
    frame = cur.agenda(program, day, skill, start)
    prog = cur.program(program)
    s = cur.skill(skill)
    console.print(
        f"[bold]{escape(prog.name)}[/] — {day:%A %d %B %Y} — skill of the day: "
        f"{escape(s.title)} ({s.id})",
        highlight=False,
    )
    table = Table(header_style="bold")
    for col in ("time", "segment", "min", "content"):
        table.add_column(col, overflow="fold")
    for row in frame.itertuples():
        table.add_row(
            f"{row.start:%H:%M}–{row.end:%H:%M}", row.title, str(row.minutes), row.content
        )
    console.print(table)
    if s.cautions:
        console.print("[bold yellow]Cautions:[/] " + escape(" ".join(s.cautions)), highlight=False)
    if out is not None:
        frame.to_csv(out, index=False)
        console.print(f"wrote {escape(str(out))}", highlight=False)
    emit(
        {
            "program": prog.id,
            "date": day,
            "skill": s.id,
            "segments": [
                {"segment": r.segment, "title": r.title, "start": f"{r.start:%H:%M}",
                 "end": f"{r.end:%H:%M}", "minutes": int(r.minutes), "content": r.content}
                for r in frame.itertuples()
            ],
            "cautions": list(s.cautions),
            "wrote": [out] if out is not None else [],
        }
    )
