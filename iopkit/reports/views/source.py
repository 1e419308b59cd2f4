"""Report inputs: open a data source for a notebook, score it, look up scale facts.

Thin glue over the data, scales and outcomes areas so that report notebooks stay a few
lines per cell. ``source`` is what a report's ``data_source`` parameter holds: a bundle
folder, an ``.xlsx``/``.sqlite`` file or a SQLAlchemy URL (:func:`iopkit.data.load_bundle`),
or ``"synthetic:demo"`` — the deterministic synthetic demo bundle, so every notebook runs
from JupyterLab without any file.

**Snapshots.** A batch validates each source once (:func:`write_snapshot`, registered as the
engine's ``data_source`` snapshotter) and the runner tells every report kernel where the
snapshots are (``IOPKIT_SNAPSHOTS``); :func:`open_source` then reads the validated, scored
tables from the snapshot's Arrow IPC files after checking their SHA-256, instead of validating
again. The snapshot also carries each scale's expected-recovery curves, fitted once on the
source's completed episodes (:meth:`ReportData.expected_curves`): they depend on the source
alone, and every cohort and patient report of a batch would fit them again (about 0.1 s per
scale). A report run alone (no ``IOPKIT_SNAPSHOTS``) validates as before. Arrow keeps the
pandas dtypes (nullable integers, datetimes, categoricals) through pyarrow's pandas metadata
(https://arrow.apache.org/docs/python/pandas.html#dataframe-and-table-metadata), so a report
sees the same frames either way (tests/test_reports_batch.py compares them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from iopkit.errors import InputError, IopkitError
from iopkit.privacy import redact_url
from iopkit.reports.engine.atomic import write_private_text
from iopkit.reports.engine.snapshots import SNAPSHOT_ENV, register_snapshotter

#: Snapshot layout version (``snapshot.json``); a different one is refused, not guessed at.
SNAPSHOT_VERSION = 2
#: Frames of a snapshot besides the source's tables (names cannot clash: tables are plain
#: words, these start with an underscore).
_SCORES, _COUNTS = "_scores", "_counts"


@dataclass
class ReportData:
    """Validated tables of one source, with the scored assessments.

    ``tables``: accepted rows per table (typed; :class:`iopkit.data.ValidationResult`).
    ``scores``: every assessment with ``total``, ``band``, ``status`` and ``safety_flag``
    (:func:`iopkit.scales.engine.score_assessments`). ``counts``: rows in / accepted /
    rejected per table — reports show it, so nothing is dropped silently.
    """

    source: str
    tables: dict[str, pd.DataFrame]
    scores: pd.DataFrame
    counts: pd.DataFrame
    notes: list[str]
    #: where the data came from: ``"validated now"`` or ``"batch snapshot"``
    origin: str = field(default="validated now", compare=False)
    #: the curriculum's program names by id, read when the data was opened (a batch reads
    #: the curriculum once, for its snapshot); None = not read, look them up
    program_names: dict[str, str] | None = field(default=None, compare=False)
    #: expected-recovery curves by scale: fitted, the InputError's fields when they cannot
    #: be, or a batch snapshot's entry read on first use (:meth:`expected_curves`)
    curves: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def expected_curves(self, scale: str) -> Any:
        """Expected-recovery curves of ``scale`` fitted on this source's own completed
        episodes (:func:`iopkit.outcomes.expected_recovery`), once per source: read from the
        batch snapshot when it carries them, else fitted here. InputError when too few
        episodes completed (the same message either way)."""
        found = self.curves.get(scale)
        if isinstance(found, _SnapshotCurves):
            found = found.read()
        if found is None:
            found = _fit_curves(self, scale)
        self.curves[scale] = found
        if isinstance(found, dict):
            raise InputError(**found)
        return found

    @property
    def label(self) -> str:
        """The source as a report may show it: every URL password hidden
        (:func:`iopkit.privacy.redact_url`)."""
        return redact_url(self.source)

    @cached_property
    def checksum(self) -> str:
        """SHA-256 (hex) of the validated tables, scores, counts and notes as Arrow IPC bytes
        (:func:`data_checksum`) — the same value whether opened directly or from a batch
        snapshot, so a report names exactly the data it shows."""
        return data_checksum(_frames(self), self.notes)

    @cached_property
    def table_checksum(self) -> str:
        """SHA-256 (hex) of the validated tables in a canonical form, whatever the source kind
        or the row and column order (:func:`iopkit.reports.views.header.data_checksum`, the
        report header's "Data checksum"); a batch snapshot carries the value the batch
        computed from the very tables it holds."""
        from iopkit.reports.views.header import data_checksum as canonical_checksum

        return canonical_checksum(self)

    @cached_property
    def as_of(self) -> dt.date | None:
        """The latest date anywhere in the accepted tables (None when there is none)."""
        latest: pd.Timestamp | None = None
        for frame in self.tables.values():
            for col in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[col]):
                    top = frame[col].max()
                    if pd.notna(top) and (latest is None or top > latest):
                        latest = top
        return None if latest is None else latest.date()

    def __getitem__(self, table: str) -> pd.DataFrame:
        """The accepted rows of ``table``; InputError when the source has no such table
        (optional tables such as goals or events may be absent)."""
        if table not in self.tables:
            raise InputError(
                f"the data source has no {table} table", rule="optional table absent"
            )
        return self.tables[table]

    @property
    def n_rejected(self) -> int:
        return int(self.counts["rejected"].sum()) if len(self.counts) else 0


def load_bundle_any(source: str, profile: str = "") -> Any:
    """The raw bundle behind ``source``: anything :func:`iopkit.data.load_bundle` reads,
    ``"synthetic:demo"`` included, read through the source ``profile`` (a YAML file, see
    docs/data.md "Source profiles") when one is given."""
    if not source:
        raise InputError("data_source is empty; give a bundle path or 'synthetic:demo'")
    from iopkit.data import load_bundle

    return load_bundle(source, profile=profile or None)


def open_source(source: str, profile: str = "") -> ReportData:
    """Load, validate and score ``source`` (through ``profile`` when given), or read the
    batch's validated snapshot of it when the runner passed one (see the module docstring).
    The batch snapshots a source as read without a profile, so a report with a profile
    always validates its source itself."""
    snap = None if profile else _snapshot_for(source)
    if snap is not None:
        return read_snapshot(snap, source)
    return validate_source(source, profile)


def validate_source(source: str, profile: str = "") -> ReportData:
    """Load, validate and score ``source`` (no snapshot)."""
    from iopkit.data import validate_bundle
    from iopkit.scales.engine import score_assessments

    result = validate_bundle(load_bundle_any(source, profile))
    tables = {name: frame.reset_index(drop=True) for name, frame in result.tables.items()}
    assessments = tables.get("assessments")
    scores = (
        score_assessments(assessments)
        if assessments is not None and len(assessments)
        else pd.DataFrame(columns=["episode_id", "date", "scale", "total", "band", "status"])
    )
    return ReportData(source, tables, scores, result.counts, list(result.notes),
                      program_names=_program_names())


def _program_names() -> dict[str, str] | None:
    """The curriculum's program names (None when the curriculum cannot be loaded: the
    header then shows program ids; validation has noted why)."""
    from iopkit.data import catalog

    try:
        return catalog.program_names()
    except IopkitError:
        return None


def _fit_curves(data: ReportData, scale: str) -> Any:
    """The fitted curves of ``scale``, or the fields of the InputError that says why not."""
    from iopkit.outcomes import expected_recovery, with_weeks

    try:
        long = with_weeks(data.scores, data["episodes"], scale=scale)
        return expected_recovery(long, data["episodes"], scale=scale)
    except InputError as exc:
        return {"message": exc.message, "file": exc.file, "row": exc.row,
                "column": exc.column, "rule": exc.rule}


#: The fields of :class:`iopkit.outcomes.ExpectedCurves` besides its two frames, as a
#: snapshot stores them (JSON; tuples come back as lists).
_CURVE_TUPLES = ("quantiles", "baseline_range")
_CURVE_FRAMES = ("table", "coefficients")


@dataclass
class _SnapshotCurves:
    """One scale's curves in a snapshot folder, read (and checked) when first asked for."""

    folder: Path
    entry: dict[str, Any]

    def read(self) -> Any:
        from iopkit.outcomes import ExpectedCurves

        if "error" in self.entry:
            return dict(self.entry["error"])
        frames = {name: _read_frame(self.folder, name, self.entry["files"][name],
                                    _read_blob(self.folder, name, self.entry["files"][name]))
                  for name in _CURVE_FRAMES}
        fields = {k: tuple(v) if k in _CURVE_TUPLES else v
                  for k, v in self.entry["fields"].items()}
        return ExpectedCurves(**frames, **fields)


def _write_frame(folder: Path, file: str, name: str, frame: pd.DataFrame,
                 blob: bytes | None = None) -> dict[str, Any]:
    """Write one frame's Arrow IPC bytes to ``folder/file`` (private, never over a file) and
    return its snapshot entry: file, SHA-256, rows, text columns, dtypes."""
    text = _text_columns(name, frame)
    blob = _arrow(frame) if blob is None else blob
    fd = os.open(folder / file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(blob)
    return {"file": file, "sha256": hashlib.sha256(blob).hexdigest(), "rows": len(frame),
            "text_columns": text, "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()}}


def _read_blob(folder: Path, name: str, info: dict[str, Any]) -> bytes:
    """The bytes of a snapshot file after checking its SHA-256 (InputError naming it)."""
    path = folder / info["file"]
    try:
        blob = path.read_bytes()
    except OSError:
        raise InputError("snapshot file missing", file=str(path), rule="snapshot") from None
    if hashlib.sha256(blob).hexdigest() != info["sha256"]:
        raise InputError(f"snapshot file of {name!r} does not match its SHA-256",
                         file=str(path), rule="snapshot checksum")
    return blob


def _read_frame(folder: Path, name: str, info: dict[str, Any], blob: bytes) -> pd.DataFrame:
    """A frame from its checked Arrow IPC bytes, text columns back to ``object`` with None, and
    refused unless it reads back with its recorded columns, types and rows."""
    import pyarrow as pa

    table = pa.ipc.open_file(pa.BufferReader(blob)).read_all()
    frame = table.to_pandas()
    for col in info["text_columns"]:
        # Arrow gives the cells as objects with None for nulls in one pass (pandas' astype
        # then where took twice as long); dtype=object, or pandas would infer ``str`` again
        frame[col] = pd.Series(table.column(col).to_numpy(zero_copy_only=False),
                               index=frame.index, dtype=object)
    dtypes = {str(c): str(t) for c, t in frame.dtypes.items()}
    if dtypes != info["dtypes"] or len(frame) != info["rows"]:
        raise InputError(f"snapshot of {name!r} does not read back with its recorded "
                         "columns, types and rows", file=str(folder / info["file"]),
                         rule="snapshot types")
    return frame


def _json_value(value: Any) -> Any:
    """A field as JSON holds it exactly: numpy scalars as Python numbers, tuples as lists
    (``json`` writes a float's shortest repr, which reads back to the same float)."""
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _write_curves(data: ReportData, folder: Path) -> dict[str, Any]:
    """Fit every scale's curves once and write them: ``{scale: {"error": fields}}`` or
    ``{scale: {"fields": ..., "files": {"table": entry, "coefficients": entry}}}``."""
    out: dict[str, Any] = {}
    for j, scale in enumerate(sorted(data.scores["scale"].dropna().astype(str).unique())):
        try:
            fit = data.curves[scale] = _fit_curves(data, scale)
        except Exception:  # noqa: BLE001 - left out: a report fits it and shows what fails
            continue
        if isinstance(fit, dict):  # the fields of the InputError that says why not
            out[scale] = {"error": fit}
            continue
        fields = {k: _json_value(v) for k, v in vars(fit).items()
                  if k not in _CURVE_FRAMES and not k.startswith("_")}
        files = {name: _write_frame(folder, f"c{j:02d}{name[0]}.arrow", f"{scale}.{name}",
                                    getattr(fit, name))
                 for name in _CURVE_FRAMES}
        out[scale] = {"fields": fields, "files": files}
    return out


def _frames(data: ReportData) -> dict[str, pd.DataFrame]:
    return {**data.tables, _SCORES: data.scores, _COUNTS: data.counts}


def _arrow(frame: pd.DataFrame) -> bytes:
    """``frame`` as an uncompressed Arrow IPC file (the same bytes for the same frame).

    Chosen over Parquet for a snapshot a report reads in its kernel: reading it back is a
    copy, not a decode (0.016 s against 0.031 s for a demo bundle's ten frames), and needs
    neither ``pyarrow.parquet`` nor ``pyarrow.dataset`` imported there (~0.02 s)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _text_columns(name: str, frame: pd.DataFrame) -> list[str]:
    """The ``object`` columns of a validated frame, which hold text or None only.

    Arrow stores them as strings and pandas ≥ 3 reads them back as its ``str`` dtype with
    NaN for missing, so :func:`read_snapshot` turns them back into ``object`` with None. A
    column holding anything else (a list, a number) cannot be restored exactly: it is refused
    (TypeError), the batch notes it and each report validates the source itself.
    """
    cols = []
    for col in frame.columns:
        if frame[col].dtype == object:
            odd = [v for v in frame[col] if v is not None and not isinstance(v, str)]
            if odd:
                raise TypeError(
                    f"{name}.{col} holds {type(odd[0]).__name__} values; a snapshot keeps "
                    "text columns only"
                )
            cols.append(str(col))
    return cols


def _digest(blobs: dict[str, bytes], notes: list[str]) -> str:
    h = hashlib.sha256()
    for name in sorted(blobs):
        h.update(name.encode() + b"\0" + blobs[name] + b"\0")
    h.update(json.dumps(list(notes)).encode())
    return h.hexdigest()


def data_checksum(frames: dict[str, pd.DataFrame], notes: list[str]) -> str:
    """SHA-256 over each frame's Arrow IPC bytes (sorted by name) and the notes as JSON."""
    return _digest({name: _arrow(f) for name, f in frames.items()}, notes)


def _scale_entries(data: ReportData) -> dict[str, Any]:
    """The registry scales of the source's scores, as checked models with their file's
    SHA-256 (:func:`iopkit.scales.registry.adopt`), and a SHA-256 of the whole entry."""
    from iopkit.scales import registry

    ids = sorted({str(s) for s in data.scores["scale"].dropna()} & set(registry.scale_ids()))
    models = {sid: {"model": registry.get_scale(sid).model_dump(mode="json"),
                    "sha256": registry.file_digest(sid)} for sid in ids}
    return {"models": models, "sha256": _scales_digest(models)}


def _scales_digest(models: Any) -> str:
    return hashlib.sha256(json.dumps(models, sort_keys=True).encode()).hexdigest()


def _adopt_scales(entry: Any) -> None:
    """Hand the snapshot's scales to the registry (each only while its file is unchanged);
    a missing, altered or unreadable entry is ignored: the registry then parses the files."""
    if not isinstance(entry, dict) or not isinstance(entry.get("models"), dict):
        return
    if entry.get("sha256") != _scales_digest(entry["models"]):
        return
    from iopkit.scales import registry
    from iopkit.scales.schema import Scale

    for sid, item in entry["models"].items():
        try:
            scale = Scale.model_validate(item["model"])
            digest = str(item["sha256"])
        except Exception:  # noqa: BLE001 - not adopted: the registry parses the file
            continue
        if scale.id == sid:
            registry.adopt(scale, digest)


@register_snapshotter("data_source")
def write_snapshot(source: str, folder: Path) -> dict[str, Any]:
    """Validate and score ``source`` once and write it to ``folder``: one Arrow IPC file per
    table (plus scores and counts) and ``snapshot.json`` with row counts, notes, the
    password-free label, the latest date and the SHA-256 of every file and of the whole.

    Returns the batch's index entry; ``key`` is the label, what :func:`open_source` looks a
    source up by (two URLs that differ only in their password name the same database).
    """
    data = validate_source(source)
    frames = _frames(data)
    blobs = {name: _arrow(frame) for name, frame in frames.items()}
    files = {
        # numbered: a table name never becomes a path
        name: _write_frame(folder, f"{i:02d}.arrow", name, frames[name], blob)
        for i, (name, blob) in enumerate(sorted(blobs.items()))
    }
    checksum = _digest(blobs, data.notes)
    meta = {
        "version": SNAPSHOT_VERSION,
        "label": data.label,
        "checksum": checksum,
        "as_of": data.as_of.isoformat() if data.as_of else None,
        "notes": data.notes,
        "program_names": data.program_names,
        "table_checksum": data.table_checksum,
        "files": files,
        "curves": _write_curves(data, folder),
        "scales": _scale_entries(data),
    }
    write_private_text(folder / "snapshot.json", json.dumps(meta, indent=2) + "\n")
    return {"key": data.label, "label": data.label, "checksum": checksum,
            "rows": {n: f["rows"] for n, f in files.items()}}


def _snapshot_for(source: str) -> Path | None:
    """The batch snapshot folder of ``source`` named by ``IOPKIT_SNAPSHOTS``, if any."""
    index_path = os.environ.get(SNAPSHOT_ENV)
    if not index_path or not source:
        return None
    try:
        index = json.loads(Path(index_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the batch has finished and removed it: validate as a lone report does
    entry = index.get("snapshots", {}).get(redact_url(source))
    return Path(index_path).parent / entry["path"] if entry else None


def read_snapshot(folder: str | Path, source: str) -> ReportData:
    """A :class:`ReportData` from a snapshot folder, after checking every file's SHA-256.

    Raises :class:`InputError` naming the file when a file is missing or its checksum does
    not match (a snapshot is never partly trusted).
    """
    folder = Path(folder)
    meta_path = folder / "snapshot.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable data snapshot: {exc}", file=str(meta_path),
                         rule="snapshot") from None
    if meta.get("version") != SNAPSHOT_VERSION:
        raise InputError(f"snapshot version {meta.get('version')!r}, expected "
                         f"{SNAPSHOT_VERSION}", file=str(meta_path), rule="snapshot version")
    blobs = {name: _read_blob(folder, name, info) for name, info in meta["files"].items()}
    frames = {name: _read_frame(folder, name, meta["files"][name], blob)
              for name, blob in blobs.items()}
    scores, counts = frames.pop(_SCORES), frames.pop(_COUNTS)
    names = meta.get("program_names")
    valid_names = isinstance(names, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in names.items()
    )
    curves = {str(scale): _SnapshotCurves(folder, entry)
              for scale, entry in (meta.get("curves") or {}).items()}
    data = ReportData(source, frames, scores, counts, list(meta["notes"]),
                      origin="batch snapshot", program_names=names if valid_names else None,
                      curves=curves)
    data.__dict__["checksum"] = _digest(blobs, data.notes)
    table_checksum = meta.get("table_checksum")
    if isinstance(table_checksum, str) and re.fullmatch(r"[0-9a-f]{64}", table_checksum):
        data.__dict__["table_checksum"] = table_checksum  # else computed when first asked
    if data.__dict__["checksum"] != meta["checksum"]:
        raise InputError("snapshot checksum does not match its files", file=str(meta_path),
                         rule="snapshot checksum")
    _adopt_scales(meta.get("scales"))
    return data


def severity_bands(scale_id: str) -> pd.DataFrame:
    """Severity bands of a scale as ``lower, upper, label`` (inclusive totals), with the source.

    From the scale registry (:func:`iopkit.scales.get_scale`); e.g. PHQ-9 0–4/5–9/10–14/
    15–19/20–27 (Kroenke 2001, via the registry's cited sources).
    """
    from iopkit.scales import get_scale

    scale = get_scale(scale_id)
    if scale.bands is None:
        return pd.DataFrame(columns=["lower", "upper", "label"])
    frame = pd.DataFrame(
        [(b.min, b.max, b.label) for b in scale.bands.levels], columns=["lower", "upper", "label"]
    )
    frame.attrs["source"] = scale.bands.source
    return frame


def scale_label(scale_id: str) -> str:
    """Short display name of a scale (``PHQ-9``)."""
    from iopkit.scales import get_scale

    return get_scale(scale_id).short_name


def episode_flags(data: ReportData, **options: Any) -> pd.DataFrame:
    """Measurement-based-care flags (:func:`iopkit.outcomes.mbc_flags`) with ``cohort_id``.

    Only raised flags (``raised`` true), safety first, then by episode.
    """
    from iopkit.outcomes import FLAG_KINDS, mbc_flags

    eps = data["episodes"]
    flags = mbc_flags(data.scores, eps, data.tables.get("attendance"), **options)
    raised = flags[flags["raised"].fillna(False).astype(bool)].copy()
    raised = raised.merge(eps[["episode_id", "cohort_id"]], on="episode_id", how="left")
    order = {k: i for i, k in enumerate(FLAG_KINDS)}
    raised["_o"] = raised["flag"].map(order).fillna(len(order))
    raised = raised.sort_values(["_o", "episode_id"], kind="stable").drop(columns="_o")
    return raised.reset_index(drop=True)

