"""FHIR resources out of a Bundle JSON file, a folder of JSON files or Bulk Data NDJSON.

Every resource is validated by ``fhir.resources`` (its ``R4B`` package: FHIR 4.3, whose
QuestionnaireResponse, Observation, Patient, Encounter and Bundle accept R4 4.0.1 data;
https://hl7.org/fhir/R4B/diff.html). A resource that does not validate raises
:class:`~iopkit.errors.InputError` naming the file, the NDJSON line or Bundle entry, the
resource id and the element path (pydantic's error ``loc``), with the count of further
invalid resources, so a broken export is refused whole instead of read in part.

Bulk Data NDJSON (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-
format, "Each file item SHALL contain … one FHIR resource per line") is read line by line;
a blank line is skipped, any other line must be one JSON object. The JSON is parsed by the
standard library and each resource validated on its own (hand-written only the loop: a
whole-Bundle ``model_validate`` would not say which file line a resource came from).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iopkit.data.sources.text import decode_bytes, require_regular_file
from iopkit.errors import InputError

__all__ = [
    "MAX_INVALID_SHOWN",
    "Origin",
    "Parsed",
    "fhir_class",
    "iter_types",
    "read_resources",
    "resource_files",
]

#: How many invalid resources one error message lists before "and N more".
MAX_INVALID_SHOWN = 3
_SUFFIXES = (".json", ".ndjson")


@dataclass(frozen=True)
class Origin:
    """Where a resource was read: file, NDJSON line (1-based) or Bundle entry (0-based)."""

    file: str
    line: int | None = None
    entry: int | None = None

    @property
    def where(self) -> str:
        """``export/Observation.ndjson line 4``, ``bundle.json entry[2]`` or the file alone."""
        if self.line is not None:
            return f"{self.file} line {self.line}"
        if self.entry is not None:
            return f"{self.file} entry[{self.entry}]"
        return self.file

    @property
    def position(self) -> int:
        """A line number for ``bundle.lines``: the NDJSON line, the entry index + 1, else 1."""
        if self.line is not None:
            return self.line
        if self.entry is not None:
            return self.entry + 1
        return 1


@dataclass(frozen=True)
class Parsed:
    """One validated resource, the raw JSON it came from, where, and its Bundle fullUrl."""

    resource: Any
    raw: dict
    origin: Origin
    full_url: str | None = None

    @property
    def type(self) -> str:
        return str(self.raw.get("resourceType"))

    @property
    def ref(self) -> str:
        """``Type/id`` (the relative reference other resources use), or the fullUrl."""
        rid = self.raw.get("id")
        return f"{self.type}/{rid}" if rid else (self.full_url or f"{self.type}/?")


def fhir_class(resource_type: str) -> type:
    """The ``fhir.resources.R4B`` model class of a resource type (SetupError if not installed)."""
    try:
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError:  # pragma: no cover - the [fhir] extra is in the dev set
        from iopkit.errors import SetupError

        raise SetupError(
            "reading or writing FHIR needs fhir.resources: pip install 'iopkit[fhir]'"
        ) from None
    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError):
        raise InputError(
            f"{resource_type!r} is not a FHIR R4 resource type", rule="fhir_resource"
        ) from None


def _element_path(resource_type: str, loc: tuple) -> str:
    out = resource_type
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class _Collector:
    """Validates raw resources; keeps the valid ones and the first invalid ones' messages."""

    def __init__(self) -> None:
        self.valid: list[Parsed] = []
        self.invalid: list[tuple[Origin, str]] = []

    def add(self, raw: Any, origin: Origin, full_url: str | None = None) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("resourceType"), str):
            self.invalid.append((origin, "not a FHIR resource (a JSON object with resourceType)"))
            return
        rtype = raw["resourceType"]
        rid = raw.get("id")
        label = f"{rtype}/{rid}" if rid else f"{rtype} (no id)"
        if rtype == "Bundle":
            self.bundle(raw, origin)
            return
        try:
            cls = fhir_class(rtype)
        except InputError as exc:
            self.invalid.append((origin, f"{label}: {exc.message}"))
            return
        from pydantic import ValidationError

        try:
            model = cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            more = len(exc.errors()) - 1
            self.invalid.append(
                (
                    origin,
                    f"{label}: element {_element_path(rtype, tuple(first['loc']))}: "
                    f"{first['msg']}" + (f" (and {more} more problem(s))" if more else ""),
                )
            )
            return
        self.valid.append(Parsed(model, raw, origin, full_url))

    def bundle(self, raw: dict, origin: Origin) -> None:
        entries = raw.get("entry") or []
        if not isinstance(entries, list):
            self.invalid.append((origin, "Bundle.entry is not a list"))
            return
        for i, entry in enumerate(entries):
            where = Origin(origin.file, origin.line, i)
            if not isinstance(entry, dict) or "resource" not in entry:
                if isinstance(entry, dict) and set(entry) <= {"fullUrl", "request", "response"}:
                    continue  # e.g. a DELETE in a transaction: no resource to read
                self.invalid.append((where, f"Bundle.entry[{i}] has no resource"))
                continue
            full = entry.get("fullUrl")
            self.add(entry["resource"], where, full if isinstance(full, str) else None)

    def finish(self) -> list[Parsed]:
        if self.invalid:
            origin, message = self.invalid[0]
            more = len(self.invalid) - 1
            listing = "; ".join(f"{o.where}: {m}" for o, m in self.invalid[1:MAX_INVALID_SHOWN])
            raise InputError(
                f"{origin.where}: invalid FHIR resource — {message}"
                + (f"; also {listing}" if listing else "")
                + (f" ({more} more invalid resource(s) in all)" if more else ""),
                file=origin.file,
                row=origin.line if origin.line is not None else origin.entry,
                rule="fhir_resource",
            )
        return self.valid


def _text(path: Path) -> str:
    require_regular_file(path)
    text, _ = decode_bytes(path.read_bytes(), str(path), "utf-8-sig")  # JSON is UTF-8
    return text


def _json_file(path: Path, out: _Collector) -> None:
    try:
        raw = json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            file=str(path),
            row=exc.lineno,
            rule="json",
        ) from None
    out.add(raw, Origin(str(path)))


def _ndjson_file(path: Path, out: _Collector) -> None:
    for n, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"line {n} is not one JSON resource: {exc.msg} (column {exc.colno}); Bulk "
                "Data NDJSON holds one resource per line",
                file=str(path),
                row=n,
                rule="json",
            ) from None
        out.add(raw, Origin(str(path), line=n))


def resource_files(location: Path) -> list[Path]:
    """The ``.json`` / ``.ndjson`` files of a source: the file itself, or a folder's (sorted)."""
    if location.is_dir():
        files = sorted(p for p in location.iterdir() if p.suffix.lower() in _SUFFIXES)
        if not files:
            raise InputError(
                "no .json or .ndjson files in this folder (expected a FHIR Bulk Data export "
                "or JSON resources)",
                file=str(location),
                rule="missing_source",
            )
        return files
    if not location.exists():
        raise InputError("FHIR source not found", file=str(location), rule="missing_source")
    return [location]


def read_resources(location: str | Path) -> list[Parsed]:
    """Every resource of a Bundle/JSON file, an NDJSON file or a folder of them, validated.

    Bundles (any type: collection, searchset, transaction …) are unpacked; nested Bundles
    too. Raises :class:`InputError` for unreadable JSON or any invalid resource.
    """
    out = _Collector()
    for path in resource_files(Path(location)):
        if path.suffix.lower() == ".ndjson":
            _ndjson_file(path, out)
        else:
            _json_file(path, out)
    return out.finish()


def iter_types(parsed: list[Parsed], *types: str) -> Iterator[Parsed]:
    """The parsed resources of the given types, in reading order."""
    return (p for p in parsed if p.type in types)
