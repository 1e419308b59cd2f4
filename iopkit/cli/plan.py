"""`iopkit plan` (rotation + calendar + coverage proof) and `iopkit coverage` (delivered)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from iopkit.cli._common import (
    app,
    console,
    detail,
    emit,
    error,
    friendly_errors,
    output_options,
)
from iopkit.errors import InputError

if TYPE_CHECKING:
    from iopkit.curriculum import Curriculum
    from iopkit.rotation import CohortPlan

_SUMMARY_COLS = {
    "rotation": "rotation",
    "n_admission_slots": "adm. slots",
    "share_fully_covered": "covered",
    "worst_sessions_to_cover": "worst to cover",
    "worst_core_missed": "worst missed",
    "prereq_fraction": "prereq ok",
    "expected_coverage_mean": "expected",
}


def _fmt(col: str, v: object) -> str:
    if col in ("share_fully_covered", "prereq_fraction", "expected_coverage_mean"):
        return f"{float(v):.1%}"
    if isinstance(v, float):
        return "∞" if v == float("inf") else f"{v:.1f}".removesuffix(".0")
    return str(v)


def _table(df: pd.DataFrame, title: str) -> Table:
    t = Table(title=title, title_justify="left")
    cols = [c for c in _SUMMARY_COLS if c in df.columns]
    for c in cols:
        if c == "rotation":
            t.add_column("rotation", no_wrap=True, min_width=13)
        else:
            t.add_column(escape(_SUMMARY_COLS[c]), justify="right")
    for _, r in df.iterrows():
        t.add_row(*(escape(_fmt(c, r[c])) for c in cols))
    return t


def _parse_date(text: str, option: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date YYYY-MM-DD", rule="ISO date") from None
    if not 1900 <= day.year <= 2200:
        raise InputError(f"{option} {text!r} is outside the years 1900–2200", rule="date range")
    return day


_ON_CLOSURE = ("realign", "pause", "skip")


def _check_tz(tz: str | None) -> None:
    """Refuse an unknown IANA time zone before any work is done."""
    if tz is None:
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"--tz {tz!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York)",
            rule="IANA time zone",
        ) from None


def _parse_fixed(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--fix {item!r}: use SKILL_ID=DAY[,DAY] (e.g. sleep.edu.x=mon)")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@app.command("plan")
@output_options("plan")
@friendly_errors
def plan(
    program: str = typer.Option(..., "--program", "-p", help="Program id (curriculum/programs)."),
    cohort: str = typer.Option(
        "", "--cohort", help="Cohort id, named in calendar titles, file names and UIDs."
    ),
    start: str = typer.Option(..., "--start", help="First calendar day, YYYY-MM-DD."),
    weeks: int = typer.Option(
        12, "--weeks", min=1, max=260, help="Calendar horizon in weeks (1–260, five years)."
    ),
    mix: str | None = typer.Option(
        None, "--mix", help="Cohort concern mix, e.g. depression=0.5,anxiety=0.3,insomnia=0.2."
    ),
    admit_days: str | None = typer.Option(
        None, "--admit-days", help="Admission weekdays, e.g. mon or mon,wed (default: program's)."
    ),
    margin: float = typer.Option(
        1.0, "--margin", help="Attendance margin: cover within this share of the stay (0–1]."
    ),
    cycle_weeks: int | None = typer.Option(
        None, "--cycle-weeks", min=1, help="Rotation cycle length in weeks (default: min stay)."
    ),
    max_gap: int | None = typer.Option(
        None, "--max-gap", min=1, help="No modality of a core skill absent > N sessions."
    ),
    max_run: int | None = typer.Option(
        None, "--max-run", min=1, help="No more than N sessions of one modality in a row."
    ),
    repeat_gap: int | None = typer.Option(
        None, "--repeat-gap", min=1, help="Avoid a skill twice within N sessions (default: 1 wk)."
    ),
    fix: list[str] = typer.Option(
        [], "--fix", help="Fixed placement SKILL_ID=DAY[,DAY] (repeatable)."
    ),
    closure: list[str] = typer.Option(
        [], "--closure", help="Extra closure date YYYY-MM-DD (repeatable)."
    ),
    on_closure: str = typer.Option(
        "realign",
        "--on-closure",
        help="realign: continue with the next slot after a closure, then drop the next "
        "elective to get back on the planned weekdays; pause: never drop (later sessions "
        "move weekday); skip: the closed day's slot is lost.",
    ),
    time_limit: float = typer.Option(
        10.0, "--time-limit", min=0.1, max=3600.0, help="Solver seconds (0.1–3600)."
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        "-w",
        min=1,
        max=8,
        help="CP-SAT workers. 1 (default) gives the same rotation for the same request; "
        "2 can prove long cycles optimal sooner, but equally good rotations may then differ "
        "between runs.",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="CP-SAT random seed."),
    attendance_p: float = typer.Option(
        0.85, "--attendance-p", min=0.0, max=1.0, help="Per-session attendance probability."
    ),
    tz: str | None = typer.Option(
        None, "--tz", help="IANA time zone for the .ics (default: the program's time_zone)."
    ),
    floating: bool = typer.Option(
        False, "--floating", help="Floating local times in the .ics (no zone; avoid for sharing)."
    ),
    per_facilitator: bool = typer.Option(
        False, "--per-facilitator", help="Also one .ics per facilitator (sessions they can lead)."
    ),
    patient_admit: str | None = typer.Option(
        None, "--patient-admit", help="Also show one patient's view from this admission date."
    ),
    patient_discharge: str | None = typer.Option(
        None, "--patient-discharge", help="Planned discharge date for --patient-admit."
    ),
    out: Path = typer.Option(Path("plan"), "--out", "-o", help="Output directory."),
    curriculum_dir: Path | None = typer.Option(None, "--curriculum", help="Curriculum dir."),
) -> None:
    """Plan an any-entry rotation, prove its coverage, and export the calendar.

    Writes rotation.csv, sessions.csv, agendas.csv, closures.csv, calendar.ics,
    calendar.xlsx, coverage.csv (one row per admission slot) and baselines.csv; with
    --cohort every name carries the cohort (calendar_C01.ics …). A re-plan into the same
    folder keeps the event UIDs and raises SEQUENCE for changed sessions.
    Exit 1 (with the reason) when no rotation meets the request.
    """
    from iopkit.curriculum import load_curriculum
    from iopkit.rotation import SolverOptions, make_plan

    # every option is checked before the solver runs and before anything is written
    day0 = _parse_date(start, "--start")
    extra = {_parse_date(c, "--closure"): "listed closure (--closure)" for c in closure}
    if on_closure not in _ON_CLOSURE:
        raise typer.BadParameter(
            f"{on_closure!r}; choose one of {', '.join(_ON_CLOSURE)}", param_hint="--on-closure"
        )
    _check_tz(tz)
    admit = _parse_date(patient_admit, "--patient-admit") if patient_admit else None
    discharge = _parse_date(patient_discharge, "--patient-discharge") if patient_discharge else None
    if discharge is not None and admit is None:
        raise InputError(
            "--patient-discharge needs --patient-admit (the admission date of that patient)",
            rule="--patient-discharge with --patient-admit",
        )
    if out.exists() and not out.is_dir():
        raise InputError("--out must be a folder; this is an existing file", file=str(out))
    cur = load_curriculum(curriculum_dir)
    result = make_plan(
        cur,
        program,
        day0,
        weeks,
        options=SolverOptions(time_limit=time_limit, num_workers=workers, seed=seed),
        closures=extra,
        on_closure=on_closure,
        attendance_p=attendance_p,
        patient_admit=admit,
        patient_discharge=discharge,
        mix=mix,
        admit_days=admit_days,
        attendance_margin=margin,
        cycle_weeks=cycle_weeks,
        max_modality_gap=max_gap,
        max_modality_run=max_run,
        min_repeat_gap=repeat_gap,
        fixed=_parse_fixed(fix),
        cohort_id=cohort,
    )
    console.print(escape(result.plan.summary()), highlight=False)
    for r in result.plan.rotation.itertuples():
        detail(f"slot {r.slot}: {r.skill_id}")  # the cycle, with --verbose
    if mix:
        _print_mix(mix, result.mix or {})
    if not result.ok:
        error(
            f"no rotation planned ({result.plan.status}): "
            + (" ".join(result.plan.explanation) or "see the reasons above")
        )
        raise typer.Exit(code=1)
    _print_proof(result, on_closure)
    written = result.write(out, tz=tz, floating=floating, per_facilitator=per_facilitator)
    for p in written:
        console.print(f"  wrote {escape(str(p))}", highlight=False)
    emit(_plan_summary(result, written, tz, floating))


def _plan_summary(
    result: CohortPlan, written: list[Path], tz: str | None, floating: bool
) -> dict[str, object]:
    """The ``iopkit.plan/1`` document (docs/cli.md)."""
    cal, cov, comparison = result.dated(), result.coverage, result.comparison
    assert cov is not None and comparison is not None
    ds = result.dated_summary()
    return {
        "ok": True,
        "program": cal.program_id,
        "cohort": cal.cohort_id or None,
        "status": result.plan.status,
        "start": cal.start,
        "weeks": cal.weeks,
        "time_zone": None if floating else (tz or cal.time_zone),
        "cycle_sessions": len(result.plan.rotation),
        "window": result.problem.window,
        "admission_slots": len(cov),
        "fully_covered": int(cov["fully_covered"].sum()),
        "share_fully_covered": float(cov["fully_covered"].mean()),
        "prereq_fraction": float(comparison.iloc[0]["prereq_fraction"]),
        "sessions": len(cal.sessions),
        "closures": len(cal.closed),
        "moved": int(cal.sessions["moved"].sum()),
        "conflicts": int((cal.sessions["conflict"] != "").sum()),
        "dated_share_fully_covered": None if ds is None else float(ds["share_fully_covered"]),
        "baselines": comparison,
        "files": written,
    }


def _print_mix(text: str, shares: dict[str, float]) -> None:
    given = sum(float(p.split("=", 1)[1]) for p in text.split(",") if p.strip())
    scaled = "" if abs(given - 1) < 1e-9 else f" (the given values sum to {given:g}; divided by it)"
    console.print(
        "concern mix used: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()) + scaled,
        highlight=False,
    )


_POLICY = {
    "realign": "the rotation continues with the next slot on the next open day, then "
    "drops the next elective to return to the planned weekdays",
    "pause": "the rotation continues with the next slot on the next open day",
    "skip": "the closed day's slot is dropped",
}


def _print_proof(result: CohortPlan, on_closure: str) -> None:
    """The coverage proof, the baselines, the calendar and the patient's stay, in words."""
    prob, cal = result.problem, result.dated()
    cov, comparison = result.coverage, result.comparison
    assert cov is not None and comparison is not None  # a planned rotation has both
    console.print(
        f"coverage proof: {int(cov['fully_covered'].sum())}/{len(cov)} admission slots "
        f"({cov['fully_covered'].mean():.0%}) meet every core skill within {prob.window} "
        f"sessions; prerequisites honoured for {comparison.iloc[0]['prereq_fraction']:.1%} of "
        "(admission, prerequisite) pairs.",
        highlight=False,
    )
    console.print(_table(comparison, "planned rotation vs baselines"))
    console.print(
        f"{len(cal.sessions)} sessions from {cal.start} over {cal.weeks} weeks; "
        f"{len(cal.closed)} closure(s) skipped ({_POLICY[on_closure]}); "
        f"{int(cal.sessions['moved'].sum())} session(s) moved off their planned weekday, "
        f"{int((cal.sessions['conflict'] != '').sum())} onto a day without a trained "
        "facilitator or off a fixed day (see the conflict column).",
        highlight=False,
    )
    if (ds := result.dated_summary()) is not None:
        console.print(
            f"on the dated calendar: {ds['share_fully_covered']:.0%} of "
            f"{int(ds['n_admission_slots'])} admission dates with a full stay inside the "
            f"horizon meet every core skill within {prob.window} sessions.",
            highlight=False,
        )
    if (view := result.patient) is not None:
        core_rows = view[view["core"]]
        short = core_rows[core_rows["status"] == "will_miss"]
        missed = ", ".join(f"{r.skill_id} (make-up {r.make_up})" for r in short.itertuples())
        console.print(
            f"patient admitted {result.patient_admit}: {len(core_rows) - len(short)}/"
            f"{len(core_rows)} core skills taught during the stay"
            + (f"; will miss: {missed}" if len(short) else ""),
            highlight=False,
        )


@app.command("coverage")
@output_options("coverage")
@friendly_errors
def coverage(
    sessions: Path = typer.Argument(
        ..., help="Delivered sessions (.csv or .xlsx): cohort_id, date, skill_id."
    ),
    program: str = typer.Option(..., "--program", "-p", help="Program id (curriculum/programs)."),
    admit_days: str | None = typer.Option(
        None, "--admit-days", help="Admission weekdays (default: the program's)."
    ),
    attendance_p: float = typer.Option(0.85, "--attendance-p", min=0.0, max=1.0),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the per-admission table here."
    ),
    curriculum_dir: Path | None = typer.Option(None, "--curriculum", help="Curriculum dir."),
) -> None:
    """Coverage of the sessions actually delivered, per admission date and cohort."""
    from iopkit.curriculum import load_curriculum
    from iopkit.rotation import coverage_summary, delivered_coverage

    cur = load_curriculum(curriculum_dir)
    prog = cur.program(program)
    df = read_sessions(sessions, cur)
    table = delivered_coverage(
        cur, program, df, admit_days=admit_days or None, attendance_p=attendance_p
    )
    if not len(table):
        raise InputError(
            "no delivered session falls on an admission day", file=str(sessions), column="date"
        )
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
        console.print(f"wrote {escape(str(out))}", highlight=False)
    summary = coverage_summary(table)
    summary_df = pd.DataFrame([{"rotation": "delivered", **summary.to_dict()}])
    console.print(_table(summary_df, f"delivered sessions, {sessions.name}"))
    console.print(
        f"{int(summary['n_censored'])} admission date(s) censored (fewer than "
        f"{prog.min_sessions} sessions recorded after them; not in the summary).",
        highlight=False,
    )
    emit(
        {
            "file": sessions,
            "program": prog.id,
            "admission_dates": len(table),
            "summary": summary.to_dict(),
            "out": out,
        }
    )


def read_sessions(path: Path, curriculum: Curriculum) -> pd.DataFrame:
    """Read delivered sessions (CSV/Excel); InputError naming file, row and column on bad input."""
    from iopkit.data.readers import read_table

    if not path.exists():
        raise InputError("file not found", file=str(path))
    df = read_table(path)  # exact CSV/Excel reading: header, field counts, encoding, separator
    df = df.astype(object).where(df.notna(), "").reset_index(drop=True)
    for col in ("date", "skill_id"):
        if col not in df.columns:
            raise InputError(
                f"required column {col!r} is missing (have: {', '.join(df.columns)})",
                file=str(path),
                column=col,
                rule="sessions table: cohort_id, date, skill_id",
            )
    # an Excel date cell arrives as "YYYY-MM-DD 00:00:00"; a time other than midnight is refused
    iso = df["date"].astype(str).str.strip().str.replace(r" 00:00:00$", "", regex=True)
    parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    _refuse_first(
        parsed.isna(),
        path,
        lambda i, n: f"{df['date'].iloc[i]!r} is not a date YYYY-MM-DD ({n} such row(s))",
        column="date",
        rule="ISO date",
    )

    def unknown_skill(i: int, n: int) -> str:
        try:
            curriculum.skill(df["skill_id"].iloc[i])
        except InputError as exc:
            return f"{exc.message or 'unknown skill'} ({n} row(s) with unknown skills)"
        return f"unknown skill ({n} row(s) with unknown skills)"

    _refuse_first(
        ~df["skill_id"].isin(list(curriculum.skills)),
        path,
        unknown_skill,
        column="skill_id",
        rule="skill id must exist in curriculum/modules",
    )
    keys = ["cohort_id", "date"] if "cohort_id" in df.columns else ["date"]
    _refuse_first(
        df.duplicated(keys, keep="first"),
        path,
        lambda i, n: f"two sessions on the same day for the same cohort ({n} duplicate row(s))",
        column="date",
        rule="sessions key: cohort_id, date",
    )
    df["date"] = parsed
    return df


def _refuse_first(
    bad: pd.Series, path: Path, says: Callable[[int, int], str], *, column: str, rule: str
) -> None:
    """Raise InputError at the first True row of ``bad`` (row = line in the file, header = 1);
    ``says(i, n)`` words the message for row position ``i`` and ``n`` offending rows."""
    if bad.any():
        i = int(bad.idxmax())
        raise InputError(
            says(i, int(bad.sum())), file=str(path), row=i + 2, column=column, rule=rule
        )
