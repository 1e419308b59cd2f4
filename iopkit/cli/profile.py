"""`iopkit profile init SOURCE [-o FILE]`: draft a source profile from an export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iopkit.cli._common import (
    app,
    console,
    emit,
    err_console,
    friendly_errors,
    mode,
    output_options,
)
from iopkit.errors import InputError

profile_app = typer.Typer(
    help="Source profiles: how a clinic's export maps to the table contracts (docs/data.md).",
    no_args_is_help=True,
)
app.add_typer(profile_app, name="profile")


@profile_app.command("init")
@output_options("profile.init")
@friendly_errors
def init(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="The export: folder of CSV/Parquet files, .xlsx, .sqlite, SQLAlchemy URL, "
            "or a REDCap export with --mapping.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the draft here (default: print it)."),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="REDCap mapping YAML.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Force a text encoding for CSV files.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing --out file.")
    ] = False,
) -> None:
    """Draft a profile from the export's headers and distinct values, for you to confirm.

    Suggested renames and value maps are written as entries marked "check"; the detected
    date pattern and likely missing-value tokens are commented out until you confirm them.
    No id, identifier or free text from the export is written into the draft.
    """
    from iopkit.data import load_bundle
    from iopkit.data.profile import draft_profile, load_profile_text
    from iopkit.privacy import redact_url

    if out is not None and out.exists() and not force:
        raise InputError("already exists; pass --force to overwrite", file=str(out),
                         rule="exists")  # fmt: skip
    bundle = load_bundle(source, mapping=mapping, encoding=encoding)
    text = draft_profile(bundle, source=redact_url(source))
    load_profile_text(text, file="the draft")  # the draft itself must be a valid profile
    if out is None:
        if not mode().json:  # under --json the draft travels inside the document
            console.print(text, markup=False, highlight=False, soft_wrap=True, end="")
        emit({"source": redact_url(source), "out": None, "draft": text})
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    err_console.print(
        f"wrote {out}: check every line, then use it with --profile {out}",
        markup=False,
        highlight=False,
    )
    emit({"source": redact_url(source), "out": str(out), "draft": None})
