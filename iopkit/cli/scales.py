"""`iopkit scales`, `iopkit scales show ID` and `iopkit score FILE --scale ID …`."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from iopkit.cli._common import (
    alias_option,
    app,
    console,
    detail,
    emit,
    err_console,
    friendly_errors,
    mode,
    output_options,
    prefer,
    usage_error,
)
from iopkit.data.readers import read_table_lines, write_table
from iopkit.errors import InputError
from iopkit.scales import get_scale, list_scales
from iopkit.scales.engine import (
    MISSING_TEXT,
    STATUSES,
    find_item_columns,
    safety_from_scored,
    score,
)
from iopkit.scales.schema import Scale, Threshold

scales_app = typer.Typer(
    help=(
        "The scale registry. Without a command: table of every scale. "
        "`show ID`: one scale's rules and sources."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(scales_app, name="scales")


def _range(scale: Scale) -> str:
    return f"{scale.total_min}–{scale.total_max}" if scale.has_total else "rules only"


@scales_app.callback()
@output_options("scales")
@friendly_errors
def scales_list(ctx: typer.Context) -> None:
    """List every scale in the registry."""
    if ctx.invoked_subcommand is not None:
        return
    table = Table(title="iopkit scale registry", show_lines=False)
    for col in ("id", "scale", "items", "total", "bands / cut-off", "prorate ≤", "licence"):
        table.add_column(col)
    for s in list_scales():
        bands = (
            " / ".join(str(b.min) for b in s.bands.levels[1:])
            if s.bands
            else ", ".join(f"{c.op}{c.value:g}" for c in s.cutoffs[:2]) or "—"
        )
        table.add_row(
            s.id,
            s.short_name,
            f"{s.items.count} × {s.items.min}–{s.items.max}",
            _range(s),
            bands,
            str(s.missing.max_prorated),
            s.licence.status.replace("_", " "),
        )
    console.print(table)
    console.print("Details and sources: iopkit scales show ID")
    emit(
        {
            "scales": [
                {
                    "id": s.id,
                    "short_name": s.short_name,
                    "name": s.name,
                    "items": s.items.count,
                    "item_min": s.items.min,
                    "item_max": s.items.max,
                    "total_min": s.total_min if s.has_total else None,
                    "total_max": s.total_max if s.has_total else None,
                    "max_prorated": s.missing.max_prorated,
                    "licence": s.licence.status,
                }
                for s in list_scales()
            ]
        }
    )


def _thr(t: Threshold) -> str:
    unit = {"points": " points", "percent_reduction": "% reduction", "score": ""}[t.kind]
    op = "" if t.kind != "score" else f"{t.op} "
    return f"{op}{t.value:g}{unit} — {t.label} [{t.source}; {t.certainty}]"


@scales_app.command("show")
@output_options("scales.show")
@friendly_errors
def scales_show(scale_id: str = typer.Argument(..., help="scale id, e.g. phq9")) -> None:
    """Show one scale: items, scoring, bands, cut-offs, safety rules, psychometrics, sources."""
    s = get_scale(scale_id)  # an unknown id is bad input: exit 1 with "did you mean"

    def p(text: str, style: str | None = None) -> None:
        # markup off: sources such as "[Mundt 2002; D]" must print literally
        console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)

    p(f"{s.short_name} — {s.name} ({s.id}); {s.domain}", style="bold")
    p(f"Reference: {s.reference}")
    it = s.items
    p(
        f"Items: {it.count} × {it.min}–{it.max}"
        + (f", recall {it.recall}" if it.recall else "")
        + f" [{it.source}; {it.certainty}]"
    )
    if it.anchors:
        p("  anchors: " + "; ".join(f"{k} = {v}" for k, v in it.anchors.items()))
    if it.text:
        for i, t in enumerate(it.text, 1):
            p(f"  {i}. {t}")
    else:
        p("  item text not shipped (licence)")
    p(f"Direction: {s.direction.replace('_', ' ')}; total {_range(s)} [{s.total.source}]")
    if s.bands:
        p(f"Bands [{s.bands.source}; {s.bands.certainty}]:")
        for b in s.bands.levels:
            p(f"  {b.min}–{b.max}: {b.label}")
        if s.bands.note:
            p(f"  note: {s.bands.note}")
    for c in s.cutoffs:
        acc = f", sens {c.sensitivity:g} / spec {c.specificity:g}" if c.sensitivity else ""
        p(
            f"Cut-off {c.applies_to} {c.op} {c.value:g}: {c.meaning}{acc} [{c.source}; "
            f"{c.certainty}]"
        )
    for t in s.caseness:
        p(f"Caseness: {_thr(t)}")
    for c in s.critical_items:
        esc = f", escalate ≥ {c.escalate_at}" if c.escalate_at is not None else ""
        p(
            f"Critical item {c.item}: flag ≥ {c.flag_at}{esc} — {c.rule} "
            f"[{c.source}; {c.certainty}]",
            style="bold red",
        )
    for r in s.rules:
        p(f"Rule {s.id}_{r.id}: {r.name} [{r.source}; {r.certainty}]")
    for sub in s.subscales:
        p(f"Subscale {s.id}_{sub.id}: {sub.name}, items {sub.items} [{sub.source}]")
    m = s.missing
    never = f", never item {m.never_prorate}" if m.never_prorate else ""
    p(
        f"Missing items: prorate at most {m.max_prorated}{never}, round half up "
        f"[{m.source}; {m.certainty}]"
    )
    if m.note:
        p(f"  {m.note}")
    if s.not_applicable:
        na = s.not_applicable
        p(
            f"Not applicable: items {na.items} may be {na.codes}; total then 0–"
            f"{na.total_max_when_na} [{na.source}]"
        )
    for r in s.reliabilities:
        p(f"Reliability {r.type} {r.value:g} ({r.population}) [{r.source}; {r.certainty}]")
    for n in s.norms:
        sd = f", SD {n.sd:g}" if n.sd else ""
        p(f"Norm ({n.kind}) {n.population}: M {n.mean:g}{sd} [{n.source}; {n.certainty}]")
    for name in ("mcid", "reliable_change", "response", "remission", "recovery"):
        for t in getattr(s, name):
            p(f"{name.replace('_', ' ').capitalize()}: {_thr(t)}")
    if s.loinc:
        p(f"LOINC: panel {s.loinc.panel}, total {s.loinc.total} [{s.loinc.source}]")
    lic = s.licence
    p(
        f"Licence: {lic.status.replace('_', ' ')} — {lic.holder}; item text "
        f"{'may' if lic.ship_item_text else 'may not'} ship [{lic.source}; {lic.certainty}]"
    )
    for note in s.notes:
        p(f"Note: {note}")
    emit({"id": s.id, "scale": s.model_dump(mode="json")})


def _parse_items(values: list[str], scale_ids: list[str]) -> dict[str, list[str]] | None:
    if not values:
        return None
    out: dict[str, list[str]] = {}
    for v in values:
        key, sep, cols = v.partition("=")
        if not sep:
            if len(scale_ids) != 1 or len(values) != 1:
                raise typer.BadParameter(
                    "with several scales use --items SCALE=COL1,COL2,…", param_hint="--items"
                )
            key, cols = scale_ids[0], v
        key = key.strip()
        if key not in scale_ids:
            raise typer.BadParameter(
                f"{v!r} names scale {key!r}, which is not among --scale ({', '.join(scale_ids)})",
                param_hint="--items",
            )
        if key in out:
            raise typer.BadParameter(f"scale {key!r} is given twice", param_hint="--items")
        out[key] = [c.strip() for c in cols.split(",") if c.strip()]
    return out


def _parse_codes(values: list[str]) -> set[float] | dict[str, set[float]] | None:
    """'7,9' (every scale) or 'phq9=7,9' (per scale, repeatable)."""
    if not values:
        return None
    per: dict[str, set[float]] = {}
    common: set[float] = set()
    for v in values:
        key, sep, text = v.partition("=")
        if not sep:
            text = key
        try:
            codes = {float(c) for c in text.split(",") if c.strip()}
        except ValueError:
            raise typer.BadParameter(
                f"{v!r} is not a comma-separated list of numbers (optionally SCALE=…)",
                param_hint="--missing-codes",
            ) from None
        if not all(np.isfinite(c) for c in codes):
            raise typer.BadParameter(
                f"{v!r}: missing-data codes must be finite numbers (nan/inf never match)",
                param_hint="--missing-codes",
            )
        if sep:
            per[key.strip()] = codes
        else:
            common |= codes
    if per and common:
        raise typer.BadParameter(
            "use either one list for all scales or SCALE=… lists", param_hint="--missing-codes"
        )
    return per or common


def _listing(counts: dict[str, dict[str, int]]) -> str:
    return ", ".join(f"{col} {tok!r} ×{n}" for col, by in counts.items() for tok, n in by.items())


def _engine_missing_text(
    frame, ids: list[str], item_map: dict[str, list[str]] | None
) -> dict[str, dict[str, int]]:
    """Item cells the scoring engine reads as missing because of their text
    (:data:`iopkit.scales.engine.MISSING_TEXT`: "n/a", "NA", "null", …; blanks excluded),
    per column and text, so the summary names them."""
    out: dict[str, dict[str, int]] = {}
    for sid in ids:
        try:
            cols = (item_map or {}).get(sid) or find_item_columns(
                frame, sid, generic=len(ids) == 1
            )
        except InputError:
            continue  # the engine reports missing item columns itself
        for col in cols:
            if col not in frame.columns:
                continue
            for v in frame[col].to_numpy(dtype=object):
                if isinstance(v, str) and v.strip() and v.strip().lower() in MISSING_TEXT:
                    by = out.setdefault(str(col), {})
                    by[v.strip()] = by.get(v.strip(), 0) + 1
    return out


@app.command("score")
@output_options("score")
@friendly_errors
def score_cmd(
    file: Path = typer.Argument(..., help="responses: .csv, .tsv, .xlsx or .parquet"),
    scale: list[str] = typer.Option(..., "--scale", "-s", help="scale id (repeatable)"),
    items: list[str] = typer.Option(
        [], "--items", help="item columns in order: COL1,COL2,… or SCALE=COL1,… (repeatable)"
    ),
    missing_codes: list[str] = typer.Option(
        [],
        "--missing-codes",
        help="codes meaning no answer: 7,9 (NHANES) or per scale phq9=7,9 (repeatable)",
    ),
    output: Path | None = typer.Option(
        None, "--out", "-o", help="write .csv/.xlsx/.parquet (default: CSV to stdout)"
    ),
    encoding: str = typer.Option(
        None,
        "--encoding",
        help="text encoding of a CSV (e.g. cp1252); default: UTF-8 (with or without BOM), "
        "else Latin-1, said in the summary",
    ),
    profile: Path = typer.Option(
        None,
        "--profile",
        help="source profile YAML: its top-level and `assessments` renames, ignored columns "
        "and missing-value tokens apply (counted in the summary)",
    ),
    old_output: Path | None = alias_option("--output", replacement="--out"),
) -> None:
    """Score a table of responses: keeps every column and row, appends score columns."""
    output = prefer(output, old_output, old_name="--output", new_name="--out")
    if mode().json and output is None:
        raise usage_error("--json prints the summary on stdout; give --out for the table", "--out")
    ids = [get_scale(sid).id for sid in scale]  # an unknown id is bad input: exit 1
    item_map = _parse_items(items, ids)
    codes = _parse_codes(missing_codes)
    frame, lines = read_table_lines(file, encoding=encoding)
    if not len(frame):
        raise InputError(
            "no data rows (only a header); nothing to score", file=str(file), rule="data rows"
        )
    profile_notes: list[str] = []
    profile_tokens: dict[str, dict[str, int]] = {}
    if profile is not None:
        from iopkit.data.profile import profile_table
        from iopkit.data.validation.tables import blank_tokens

        frame, reading, profile_notes = profile_table(frame, profile, "assessments")
        attrs = dict(frame.attrs)
        frame, profile_tokens = blank_tokens(frame, reading.missing)
        frame.attrs = attrs
    engine_tokens = _engine_missing_text(frame, ids, item_map)
    try:
        out = score(frame, ids, items=item_map, missing_codes=codes)
    except InputError as exc:
        exc.file = exc.file or str(file)
        raise
    report = console if output is not None else err_console
    if output is not None:
        write_table(out, output)
    else:
        out.to_csv(sys.stdout, index=False)

    def say(text: str, style: str | None = None) -> None:
        # markup off: file names and reasons may contain [brackets]
        report.print(text, style=style, markup=False, highlight=False, soft_wrap=True)

    say(f"{file}: {len(frame)} rows scored")
    if frame.attrs.get("encoding") == "latin-1":
        say(f"{file}: not valid UTF-8; read as Latin-1 (ISO-8859-1)")
    elif frame.attrs.get("encoding") == "utf-16":
        say(f"{file}: UTF-16 text (Excel Unicode Text); read as such")
    elif frame.attrs.get("encoding") not in (None, "utf-8", "utf-8-sig"):
        say(f"{file}: read as {frame.attrs['encoding']} (--encoding)")
    elif encoding and frame.attrs.get("encoding") == "utf-8":
        say(f"{file}: valid UTF-8, so read as UTF-8 (--encoding {encoding} not needed)")
    sep = frame.attrs.get("delimiter", ",")
    if sep != "," and file.suffix.lower() != ".tsv":
        say(f"{file}: fields separated by {sep!r}, not commas; read with that separator")
    for note in profile_notes:
        say(f"{file}: {note} ({profile})")
    if profile_tokens:
        n = sum(sum(v.values()) for v in profile_tokens.values())
        say(f"{file}: read as missing (profile tokens), {n} cell(s): " + _listing(profile_tokens))
    if engine_tokens:
        n = sum(sum(v.values()) for v in engine_tokens.values())
        say(f"{file}: read as missing (text meaning no answer), {n} cell(s): "
            + _listing(engine_tokens))  # fmt: skip
    total_flags = 0
    per_scale = []
    for sid in ids:
        s = get_scale(sid)
        counts = out[f"{sid}_status"].value_counts()
        line = ", ".join(f"{st} {int(counts.get(st, 0))}" for st in STATUSES)
        flags = safety_from_scored(out, s)[0]
        total_flags += int(flags.sum())
        say(f"{s.short_name}: {line}; safety flags {int(flags.sum())}")
        bad = np.flatnonzero((out[f"{sid}_status"] == "invalid").to_numpy())
        for k, i in enumerate(bad):
            text = f"  line {lines[i]}: {out[f'{sid}_reason'].iloc[i]}"
            say(text) if k < 5 else detail(text)  # every invalid row with --verbose
        if len(bad) > 5 and not mode().verbose:
            say(f"  … {len(bad) - 5} more invalid rows (see {sid}_reason; all with -v)")
        per_scale.append(
            {
                "id": sid,
                "status": {st: int(counts.get(st, 0)) for st in STATUSES},
                "safety_flags": int(flags.sum()),
                "invalid": [
                    {"line": int(lines[i]), "reason": str(out[f"{sid}_reason"].iloc[i])}
                    for i in bad
                ],
            }
        )
    if total_flags:
        say(f"{total_flags} safety flag(s) — review the *_flag columns", style="bold red")
    if output is not None:
        say(f"wrote {output}")
    emit(
        {
            "file": file,
            "rows": len(frame),
            "encoding": frame.attrs.get("encoding"),
            "delimiter": frame.attrs.get("delimiter"),
            "out": output,
            "scales": per_scale,
            "safety_flags": total_flags,
        }
    )
