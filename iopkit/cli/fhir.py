"""`iopkit fhir export SOURCE --out FILE`: scored results as FHIR R4 Observations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from iopkit.cli._common import app, console, emit, err_console, friendly_errors, output_options

fhir_app = typer.Typer(
    help="FHIR R4 in and out (docs/sources/fhir.md); reading is `iopkit validate fhir:PATH`.",
    no_args_is_help=True,
)
app.add_typer(fhir_app, name="fhir")


@fhir_app.command("export")
@output_options("fhir.export")
@friendly_errors
def export(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="Any data source iopkit reads: a CSV folder, .xlsx, SQL URL, fhir:PATH "
            "(FHIR Bundle, folder or Bulk NDJSON), redcap:PATH, synthetic:demo.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="FILE.ndjson (one Observation per line), FILE.json (a transaction Bundle) "
            "or a folder (Observation.ndjson inside).",
        ),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", "-m", help="Mapping YAML of a FHIR or REDCap source."),
    ] = None,
    patient_system: Annotated[
        str | None,
        typer.Option(
            "--patient-system",
            help="Identifier system of patient ids, for subjects of non-FHIR sources.",
        ),
    ] = None,
    episode_system: Annotated[
        str | None,
        typer.Option(
            "--episode-system",
            help="Identifier system of episode ids, for encounters of non-FHIR sources.",
        ),
    ] = None,
) -> None:
    """Score every accepted assessment of SOURCE and write FHIR Observations: panel with
    items, total with severity band, safety item with its flag, derivedFrom the response."""
    from iopkit.data.fhir_out import export_observations

    summary = export_observations(
        source,
        out,
        mapping=mapping,
        patient_system=patient_system,
        episode_system=episode_system,
    )
    table = Table(title=f"iopkit fhir export {source}")
    columns = ("scale", "administrations", "exported", "totals", "not_scored",
               "safety_positive", "no_loinc")  # fmt: skip
    for col in columns:
        table.add_column(col.replace("_", " "), justify="left" if col == "scale" else "right")
    for row in summary.counts.itertuples(index=False):
        no_loinc = int(getattr(row, "no_loinc", 0))
        table.add_row(
            *(str(getattr(row, c, "")) for c in columns),
            style="yellow" if no_loinc else None,
        )
    console.print(table)
    skipped = summary.counts["no_loinc"].sum() if "no_loinc" in summary.counts else 0
    if skipped:
        console.print(
            f"[yellow]{int(skipped)} administration(s) of scales without LOINC codes not "
            "written (no code to name them by)[/]",
            highlight=False,
        )
    if summary.rejected:
        err_console.print(
            f"[yellow]{summary.rejected} assessment row(s) rejected by validation, not written "
            f"(see `iopkit validate {escape(source)}`)[/]",
            highlight=False,
        )
    console.print(
        f"wrote {summary.resources} Observation(s) to {escape(str(summary.path))}", highlight=False
    )
    from iopkit.privacy import redact_url

    emit(
        {
            "source": redact_url(source),
            "out": str(summary.path),
            "resources": int(summary.resources),
            "rejected": int(summary.rejected),
            "scales": summary.counts.to_dict("records"),
        }
    )
