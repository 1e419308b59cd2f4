"""`iopkit validate`, `iopkit synth` and `iopkit export`: check a data bundle; write a
synthetic one; copy a source into any format (a folder, a workbook, SQLite, a database)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from iopkit.cli._common import app, console, emit, err_console, friendly_errors, output_options
from iopkit.errors import InputError

_MAX_EPISODES = 200_000  # a guard against typos such as --cohorts 100000 --per-cohort 100000


@app.command("validate")
@output_options("validate")
@friendly_errors
def validate(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="Folder of CSV/Parquet files, .xlsx workbook, .sqlite file, SQLAlchemy URL, "
            "REDCap export .csv or redcap:PATH (with --mapping), or synthetic:demo.",
        ),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", "-m", help="REDCap mapping YAML (SOURCE must be a REDCap flat export)."
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects", help="Write rejects/<table>.csv and problems.csv under this folder."
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first problem.")] = False,
    dayfirst: Annotated[
        bool | None,
        typer.Option(
            "--dayfirst/--monthfirst",
            help="How to read 01/02/2025-style dates (default: report ambiguous ones).",
        ),
    ] = None,
    grace_days: Annotated[
        int,
        typer.Option(
            "--grace-days",
            min=0,
            help="Days allowed before admission / after discharge for attendance and assessments.",
        ),
    ] = 7,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="Force a text encoding for CSV files (default: UTF-8, else Latin-1, reported).",
        ),
    ] = None,
    show: Annotated[int, typer.Option("--show", min=0, help="How many problems to print.")] = 20,
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile",
            help="Source profile YAML: renames, value maps, date format, missing tokens, "
            "ignored columns (draft one with `iopkit profile init SOURCE`).",
        ),
    ] = None,
) -> None:
    """Validate a data bundle: summary per table, the first problems, rejects on request.

    Exit 0 when every row was accepted, 1 when rows were rejected or the input is unreadable.
    """
    from iopkit.data import load_bundle, validate_bundle, write_rejects

    bundle = load_bundle(
        source, mapping=mapping, strict=strict, encoding=encoding, profile=profile
    )
    result = validate_bundle(bundle, grace_days=grace_days, dayfirst=dayfirst, strict=strict)
    from iopkit.privacy import redact_url

    table = Table(title=f"iopkit validate {redact_url(source)}")
    for col, justify in (
        ("table", "left"),
        ("rows in", "right"),
        ("accepted", "right"),
        ("rejected", "right"),
        ("warnings", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in result.counts.itertuples():
        style = "red" if row.rejected else ("yellow" if row.warnings else None)
        table.add_row(
            row.table, str(row.rows_in), str(row.accepted), str(row.rejected),
            str(row.warnings), style=style,
        )  # fmt: skip
    console.print(table)
    if len(result.missing):
        listing = ", ".join(
            f"{m.table}.{m.column} {m.token!r} ×{m.cells}" for m in result.missing.itertuples()
        )
        console.print(
            escape(f"read as missing (profile tokens), {int(result.missing['cells'].sum())} "
                   f"cell(s): {listing}"),
            highlight=False,
            soft_wrap=True,
        )  # fmt: skip
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    if len(result.problems):
        problems = result.problems
        cascade = problems["rule"] == "cascade"
        direct = problems[~cascade]
        shown = direct.head(show)
        console.print(
            f"[bold]{len(direct)} problem(s)[/]"
            + (f", first {len(shown)}:" if len(shown) < len(direct) else ":")
        )
        for p in shown.itertuples():
            where = f"{p.file}, line {p.source_line}" + (
                f", column {p.column!r}" if isinstance(p.column, str) else ""
            )
            value = f" (value {p.value!r})" if isinstance(p.value, str) else ""
            tag = "warning: " if p.severity == "warning" else ""
            console.print(
                escape(f"  {where}: {tag}{p.message}{value} [rule: {p.rule}]"),
                highlight=False,
                soft_wrap=True,
            )
        if cascade.any():
            by_table = problems[cascade].groupby("table", sort=False)["source_line"].nunique()
            listing = ", ".join(f"{t} {n}" for t, n in by_table.items())
            console.print(
                f"plus row(s) set aside because a row they depend on was rejected: {listing}",
                highlight=False,
            )
    if rejects is not None:
        written = write_rejects(result, rejects)
        console.print(f"wrote {len(written)} file(s) under {rejects}")
    emit(
        {
            "ok": bool(result.ok),
            "source": redact_url(source),
            "rejected": int(result.n_rejected),
            "tables": result.counts,
            "notes": list(result.notes),
            "problems": result.problems.drop(columns=["value"], errors="ignore"),
        }
    )  # problem values are left out: they may quote patient data
    if not result.ok:
        err_console.print(f"[red]{result.n_rejected} row(s) rejected[/]")
        raise typer.Exit(code=1)
    console.print("[green]all rows accepted[/]")


@app.command("synth")
@output_options("synth")
@friendly_errors
def synth(
    out_text: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Destination: a folder (csv, parquet), a file (excel .xlsx, sqlite), or a "
            "database (sql): a SQLAlchemy URL (?iopkit_schema=NAME) or connection:NAME.",
        ),
    ],
    cohorts: Annotated[
        int, typer.Option("--cohorts", min=1, help="Number of cohorts (groups).")
    ] = 6,
    per_cohort: Annotated[
        int, typer.Option("--per-cohort", min=1, help="Episodes per cohort.")
    ] = 24,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Random seed ≥ 0 (same seed, same data).")
    ] = 0,
    program: Annotated[
        str | None,
        typer.Option(
            "--program", help="Program id in curriculum/programs (default: first adult program)."
        ),
    ] = None,
    start: Annotated[
        str, typer.Option("--start", help="First cohort start, YYYY-MM-DD.")
    ] = "2025-01-06",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, parquet, excel, sqlite or sql (default: sql for a database URL or "
            "connection:NAME, else from the --out extension .xlsx / .sqlite / .db, else csv).",
        ),
    ] = None,
    rotation: Annotated[
        str,
        typer.Option(
            "--rotation",
            help="catalog: cycle core then elective skills in catalog order (fast, default); "
            "plan: the cycle planned by iopkit.rotation (CP-SAT, under a second per program).",
        ),
    ] = "catalog",
    defects: Annotated[
        bool, typer.Option("--defects", help="Inject realistic defects (listed in defects.csv).")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Cut the data at this date, YYYY-MM-DD: later admissions are dropped and "
            "stays running on that day stay active (blank discharge), as in a live export.",
        ),
    ] = None,
) -> None:
    """Write a synthetic program bundle (no real patient; pseudonymous ids)."""
    from iopkit.data import write_bundle
    from iopkit.synth import synthesize

    fmt, out = destination(out_text, fmt)
    try:
        start_date = date.fromisoformat(start)
    except ValueError:
        raise InputError(
            f"--start {start!r} is not a date YYYY-MM-DD", rule="date_format"
        ) from None
    if not 1900 <= start_date.year <= 2200:
        raise InputError(f"--start {start!r} is outside the years 1900–2200", rule="date range")
    as_of_date = None
    if as_of is not None:
        try:
            as_of_date = date.fromisoformat(as_of)
        except ValueError:
            raise InputError(
                f"--as-of {as_of!r} is not a date YYYY-MM-DD", rule="date_format"
            ) from None
        if as_of_date < start_date:
            raise InputError(
                f"--as-of {as_of} is before --start {start_date}: the bundle would be empty",
                rule="date order",
            )
    if cohorts * per_cohort > _MAX_EPISODES:
        raise InputError(
            f"{cohorts} cohorts × {per_cohort} episodes = {cohorts * per_cohort} episodes; "
            f"at most {_MAX_EPISODES} per synthetic bundle",
            rule="size",
        )
    bundle = synthesize(
        n_cohorts=cohorts,
        seed=seed,
        program_id=program,
        start=start_date,
        episodes_per_cohort=per_cohort,
        defects=defects,
        rotation=rotation,
        as_of=as_of_date,
    )
    if defects and isinstance(out, str):
        raise InputError(
            "--defects writes a defects.csv next to the bundle, and injects values a typed "
            "database column cannot hold; write the defective bundle to a folder or file",
            rule="format",
        )
    path = write_bundle(bundle, out, format=fmt)
    summary = ", ".join(f"{t} {len(bundle.tables[t])}" for t in bundle.table_names)
    console.print(f"wrote {path} ({fmt}): {summary}", highlight=False)
    emit(
        {
            "out": path,
            "format": fmt,
            "seed": seed,
            "tables": {t: len(bundle.tables[t]) for t in bundle.table_names},
            "defects": len(bundle.defects) if defects and bundle.defects is not None else 0,
        }
    )
    if defects and bundle.defects is not None and isinstance(path, Path):
        target = (path if path.is_dir() else path.parent) / "defects.csv"
        bundle.defects.to_csv(target, index=False)
        console.print(f"{len(bundle.defects)} injected defect(s) listed in {target}")


def is_database(text: str) -> bool:
    """Whether a destination names a database: a ``dialect://`` URL or ``connection:NAME``."""
    from iopkit.data.connections import SCHEME

    return "://" in text or text.startswith(SCHEME)


def destination(out_text: str, fmt: str | None) -> tuple[str, Path | str]:
    """The format and destination of ``--out``/``--format`` (shared by synth and export).

    A database URL or ``connection:NAME`` is written with format ``sql`` (any other format
    for it is refused: no local folder is ever named after a URL); a folder or file name
    gets the format of its extension (default csv), checked against ``--format``.
    """
    from iopkit.data import FORMATS
    from iopkit.data.sources import SOURCES
    from iopkit.privacy import redact_url

    writers = {w.format: w for w in SOURCES.writers}
    if fmt is not None and fmt not in FORMATS:
        raise InputError(
            f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", rule="format"
        )
    if is_database(out_text):
        if fmt is not None and not writers[fmt].url:
            raise InputError(
                f"--out is a database, but --format {fmt} writes files; use --format sql "
                "(or leave --format out), or give a folder or file name",
                file=redact_url(out_text),
                rule="format",
            )
        return "sql", out_text
    if fmt is not None and writers[fmt].url:
        raise InputError(
            f"--format {fmt} writes to a database; --out must be a database URL "
            "(dialect://user@host/db) or connection:NAME",
            file=out_text,
            rule="format",
        )
    out = Path(out_text)
    by_suffix = {s: w.format for w in writers.values() if not w.folder for s in w.suffixes}
    suffix = out.suffix.lower()
    if fmt is None:
        fmt = by_suffix.get(suffix, "csv")
    folder_fmt = writers[fmt].folder
    wrong = (
        suffix in {s for w in writers.values() for s in w.suffixes}
        if folder_fmt
        else suffix not in ("", *writers[fmt].suffixes)
    )
    if wrong:
        raise InputError(
            f"--format {fmt} does not match the name {out.name!r}: "
            + (
                f"{fmt} writes a folder of tables; give a folder name"
                if folder_fmt
                else f"{fmt} writes one file ending " + " or ".join(writers[fmt].suffixes)
            ),
            file=str(out),
            rule="format",
        )
    if out.exists() and folder_fmt and not out.is_dir():
        raise InputError(f"{fmt} writes a folder; this is an existing file", file=str(out))
    if not folder_fmt and out.suffix == "":
        out = out / f"bundle{writers[fmt].suffixes[0]}"
    return fmt, out


@app.command("export")
@output_options("export")
@friendly_errors
def export(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="Any source validate reads: folder, .xlsx, .sqlite, SQLAlchemy URL, "
            "connection:NAME, REDCap export (with --mapping), synthetic:demo.",
        ),
    ],
    out_text: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Destination: a folder (csv, parquet), a file (.xlsx, .sqlite/.db) or a "
            "database (a SQLAlchemy URL with ?iopkit_schema=NAME, or connection:NAME).",
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, parquet, excel, sqlite or sql (default: from --out, as for synth).",
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", "-m", help="REDCap mapping YAML (for a REDCap export)."),
    ] = None,
    accepted_only: Annotated[
        bool,
        typer.Option(
            "--accepted-only",
            help="Write the accepted rows when validation rejects some (default: refuse).",
        ),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Write rejects/<table>.csv and problems.csv here."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Force a text encoding for CSV files.")
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help="Source profile YAML (renames, codes, date format)."),
    ] = None,
) -> None:
    """Copy a source into another format: read, validate, write the validated tables.

    The written tables are the validated ones (typed: dates as dates, whole numbers as
    numbers). When validation rejects rows nothing is written (exit 1) unless
    --accepted-only, which writes the accepted rows and says how many were set aside.
    """
    from iopkit.data import load_bundle, validate_bundle, write_bundle, write_rejects

    fmt, out = destination(out_text, fmt)
    bundle = load_bundle(source, mapping=mapping, encoding=encoding, profile=profile)
    result = validate_bundle(bundle)
    if rejects is not None:
        written = write_rejects(result, rejects)
        console.print(f"wrote {len(written)} file(s) under {rejects}")
    if not result.ok and not accepted_only:
        raise InputError(
            f"{result.n_rejected} row(s) rejected by validation; nothing written. See them "
            "with iopkit validate (--rejects), fix them, or pass --accepted-only",
            file=bundle.source,
            rule="export needs valid rows",
        )
    path = write_bundle(result.tables, out, format=fmt)
    summary = ", ".join(f"{t} {len(f)}" for t, f in result.tables.items())
    console.print(f"wrote {path} ({fmt}): {summary}", highlight=False)
    if not result.ok:
        err_console.print(
            f"[yellow]{result.n_rejected} rejected row(s) set aside, not written[/]",
            highlight=False,
        )
    from iopkit.privacy import redact_url

    emit(
        {
            "source": redact_url(source),
            "out": redact_url(str(path)),
            "format": fmt,
            "tables": {t: len(f) for t, f in result.tables.items()},
            "rejected": int(result.n_rejected),
        }
    )
