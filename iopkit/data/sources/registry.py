"""One registry of data sources and bundle writers, keyed by scheme, suffix or format.

Modelled on papermill's I/O handlers (``papermill/iorw.py``: ``PapermillIO.register(scheme,
handler)`` and ``get_handler(path)``, https://github.com/nteract/papermill): a source kind is
a :class:`SourceHandler` registered under its keys, so a new kind is a new handler module
plus one ``register`` call, never an edit of :func:`load_bundle`. Keys:

* ``"name:"`` — a scheme prefix (``synthetic:demo``, ``redcap:export.csv``); the rest of the
  source is the handler's location;
* ``"://"`` — any URL ``dialect://…`` (SQLAlchemy), given to the handler whole;
* ``"/"`` — an existing folder;
* ``".ext"`` — a file suffix (case-insensitive).

:func:`load_bundle` tries them in that order. Writers (:class:`BundleWriter`) are keyed by
format name (``csv``, ``parquet``, ``excel``, ``sqlite``). Every reader ends with
:func:`finish_bundle`, the checks all sources share: direct identifiers refused
(:func:`iopkit.privacy.check_identifiers`), required tables present, ``strict``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iopkit.data.bundle import Bundle, problems_frame
from iopkit.data.profile import Profile, apply_profile, load_profile
from iopkit.data.schemas import REQUIRED_TABLES, TABLE_ORDER
from iopkit.data.sources.text import require_regular_file
from iopkit.errors import InputError
from iopkit.privacy import check_identifiers, redact_url

__all__ = [
    "ANY_URL",
    "FOLDER",
    "SOURCES",
    "BundleWriter",
    "ReadOptions",
    "SourceHandler",
    "SourceRegistry",
    "finish_bundle",
    "load_bundle",
    "write_bundle",
]

#: Registry key of the handler for any ``dialect://`` URL.
ANY_URL = "://"
#: Registry key of the handler for an existing folder.
FOLDER = "/"
_URL = re.compile(r"^[a-zA-Z][\w+]*://")
_SCHEME = re.compile(r"^([a-zA-Z][\w+.-]*:)(?!//)")

MappingSource = str | Path | Mapping[str, Any]


@dataclass(frozen=True)
class ReadOptions:
    """Options of one :func:`load_bundle` call, as handlers receive them.

    ``encoding`` applies to text (CSV) files and is ignored by sources without any;
    ``mapping`` reaches only handlers with ``takes_mapping`` (the registry refuses it for
    the others). ``profile`` is the source profile (already loaded); the registry applies
    it to whatever the handler returns (:func:`iopkit.data.profile.apply_profile`), so a
    handler needs to do nothing with it.
    """

    strict: bool = False
    encoding: str | None = None
    mapping: MappingSource | None = None
    profile: Profile | None = None


@dataclass(frozen=True)
class SourceHandler:
    """A source kind: its name, registry keys, reader and how messages name it."""

    #: name for ``load_bundle(kind=…)`` and messages: ``folder``, ``excel``, ``sql``, …
    kind: str
    #: registry keys (see the module docstring)
    keys: tuple[str, ...]
    #: ``read(location, options) -> Bundle``
    read: Callable[[str, ReadOptions], Bundle]
    #: how "expected …" messages name this kind, e.g. ``".xlsx"``, ``"a folder"``
    label: str
    #: True when the source needs a mapping file (REDCap)
    takes_mapping: bool = False


@dataclass(frozen=True)
class BundleWriter:
    """A bundle format :func:`write_bundle` writes.

    ``folder``: writes a folder with one file per table whose names end in ``suffixes``;
    otherwise one file, whose name ends in one of ``suffixes``.
    ``write(tables, dest)`` gets the tables in load order and returns the path written.
    ``url``: the destination is a database (a URL or ``connection:NAME``), given to
    ``write`` as text (never made a path); ``write`` returns its password-free label.
    """

    format: str
    write: Callable[[dict[str, pd.DataFrame], Any], Path | str]
    folder: bool
    suffixes: tuple[str, ...]
    url: bool = False


class SourceRegistry:
    """Source handlers by key and by kind, writers by format (see the module docstring)."""

    def __init__(self) -> None:
        self._by_key: dict[str, SourceHandler] = {}
        self._by_kind: dict[str, SourceHandler] = {}
        self._writers: dict[str, BundleWriter] = {}

    def register(self, handler: SourceHandler) -> None:
        """Add a source kind; a kind or key that is already taken is a programming error."""
        taken = [k for k in handler.keys if k in self._by_key]
        if handler.kind in self._by_kind or taken:
            raise ValueError(f"source kind {handler.kind!r} or key(s) {taken} already registered")
        self._by_kind[handler.kind] = handler
        for key in handler.keys:
            self._by_key[key.lower()] = handler

    def register_writer(self, writer: BundleWriter) -> None:
        """Add a bundle format."""
        if writer.format in self._writers:
            raise ValueError(f"bundle format {writer.format!r} already registered")
        self._writers[writer.format] = writer

    @property
    def kinds(self) -> tuple[str, ...]:
        """Registered source kinds, in registration order."""
        return tuple(self._by_kind)

    @property
    def formats(self) -> tuple[str, ...]:
        """Registered bundle formats, in registration order."""
        return tuple(self._writers)

    @property
    def writers(self) -> tuple[BundleWriter, ...]:
        """Registered writers, in registration order."""
        return tuple(self._writers.values())

    def handler(self, kind: str) -> SourceHandler:
        """The handler of a source kind; InputError listing the kinds for an unknown one."""
        if kind not in self._by_kind:
            raise InputError(
                f"unknown source kind {kind!r}; choose one of {', '.join(self._by_kind)}",
                rule="source_kind",
            )
        return self._by_kind[kind]

    def writer(self, format: str) -> BundleWriter:
        """The writer of a format; InputError listing the formats for an unknown one."""
        if format not in self._writers:
            raise InputError(
                f"unknown format {format!r}; choose one of {', '.join(self._writers)}",
                rule="format",
            )
        return self._writers[format]

    def resolve(self, source: str | Path, kind: str | None = None) -> tuple[SourceHandler, str]:
        """The handler for ``source`` and the location it reads (scheme prefix removed)."""
        text = str(source)
        if not text.strip():
            raise InputError("no source given (a folder, .xlsx, .sqlite or database URL)",
                             rule="missing_source")  # fmt: skip
        scheme = _SCHEME.match(text)
        if kind is not None:
            handler = self.handler(kind)
            if scheme and scheme.group(1).lower() in handler.keys:
                text = text[scheme.end() :]
            return handler, text
        if scheme and scheme.group(1).lower() in self._by_key:
            return self._by_key[scheme.group(1).lower()], text[scheme.end() :]
        if _URL.match(text) and ANY_URL in self._by_key:
            return self._by_key[ANY_URL], text
        path = Path(source)
        if path.is_dir() and FOLDER in self._by_key:
            return self._by_key[FOLDER], text
        suffix = path.suffix.lower()
        if not path.exists():
            raise InputError("source not found", file=str(path), rule="missing_source")
        require_regular_file(path)
        if suffix in self._by_key:
            return self._by_key[suffix], text
        raise InputError(
            f"unknown source kind {suffix!r}: expected {self._expected()}",
            file=str(path),
            rule="source_kind",
        )

    def _expected(self) -> str:
        labels = [h.label for h in self._by_kind.values()]
        return ", ".join(labels[:-1]) + f" or {labels[-1]}" if len(labels) > 1 else labels[0]


#: The registry :func:`load_bundle` and :func:`write_bundle` use; the handlers of
#: :mod:`iopkit.data.sources` are registered when the package is imported.
SOURCES = SourceRegistry()


def load_bundle(
    source: str | Path,
    *,
    mapping: MappingSource | None = None,
    strict: bool = False,
    encoding: str | None = None,
    kind: str | None = None,
    profile: str | Path | Profile | Mapping[str, Any] | None = None,
) -> Bundle:
    """Load a data bundle from any registered source (see :data:`SOURCES`).

    ``source``: a folder of ``<table>.csv``/``.parquet`` files, an ``.xlsx`` workbook, a
    ``.sqlite``/``.db`` file, a SQLAlchemy URL, a REDCap flat export (``.csv`` or
    ``redcap:PATH``, with ``mapping``) or ``synthetic:demo``. ``kind`` names the source
    kind instead of inferring it (:attr:`SourceRegistry.kinds`). ``mapping`` (a YAML path or
    dict) is for REDCap exports only; given for any other kind it is an error. ``strict``
    raises :class:`InputError` on the first problem found while reading. ``encoding``
    forces a text encoding for CSV files; by default UTF-8 (with or without BOM) is tried,
    then Latin-1, and the choice is recorded in ``bundle.notes``. ``profile`` (a YAML
    path, a mapping or a :class:`~iopkit.data.profile.Profile`) says how this export maps
    to the contract — renames, value maps, date format, missing tokens, ignored columns —
    and is applied to every source kind after reading and before validation (source lines
    kept; ``docs/data.md``, "Source profiles"). A profile that cannot be read is a
    ConfigError before the source is opened.
    """
    prof = load_profile(profile) if profile is not None else None
    handler, location = SOURCES.resolve(source, kind)
    if mapping is not None and not handler.takes_mapping:
        raise InputError(
            f"a mapping file is for a REDCap export, but this source is {handler.label} "
            f"({handler.kind}); leave the mapping out, or give the REDCap export "
            "(.csv or redcap:PATH)",
            file=str(source),
            rule="source_kind",
        )
    options = ReadOptions(strict=strict, encoding=encoding, mapping=mapping, profile=prof)
    bundle = handler.read(location, options)
    if prof is not None:
        bundle = apply_profile(bundle, prof)
        bundle.notes.append(f"read with the source profile {prof.source}")
    return bundle


def write_bundle(
    bundle: Bundle | Mapping[str, pd.DataFrame], dest: str | Path, format: str = "csv"
) -> Path | str:
    """Write a bundle's tables in a registered format (``csv``, ``parquet``, ``excel``, …).

    ``dest`` is a folder for folder formats (csv/parquet), a file for file formats
    (``.xlsx``, ``.sqlite``) and a database URL or ``connection:NAME`` for ``sql``. Dates are
    written as ISO text (CSV, SQLite), date cells (Excel), date columns (Parquet) or DATE
    columns (sql). Returns the path written (for ``sql``: the database's password-free
    label). A URL given to a file or folder format is refused, so no local folder is ever
    named after a URL.
    """
    writer = SOURCES.writer(format)
    tables = bundle.tables if isinstance(bundle, Bundle) else dict(bundle)
    order = [t for t in TABLE_ORDER if t in tables] + [t for t in tables if t not in TABLE_ORDER]
    frames = {t: tables[t].reset_index(drop=True) for t in order}
    text = str(dest)
    scheme = _SCHEME.match(text)
    is_url = bool(_URL.match(text)) or bool(scheme and scheme.group(1).lower() in SOURCES._by_key)
    if writer.url:
        return writer.write(frames, text)
    if is_url:
        raise InputError(
            f"format {format} writes files, but the destination is a database URL or "
            "connection; write it with format sql, or give a folder or file name",
            file=redact_url(text),
            rule="format",
        )
    dest = Path(dest)
    if writer.folder:
        dest.mkdir(parents=True, exist_ok=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
    return writer.write(frames, dest)


def finish_bundle(
    tables: dict[str, pd.DataFrame],
    files: dict[str, str],
    lines: dict[str, np.ndarray],
    problems: list[dict],
    notes: list[str],
    source: str,
    strict: bool,
) -> Bundle:
    """The checks every source shares, then the :class:`Bundle`.

    Direct identifiers are refused (:func:`iopkit.privacy.check_identifiers`, InputError);
    the required tables must be present (``missing_table``); ``strict`` raises the first
    row problem found while reading.
    """
    check_identifiers({files[t]: (t, [str(c) for c in tables[t].columns]) for t in tables})
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise InputError(
            f"the bundle has no {', '.join(missing)} table(s); expected one of each of "
            f"{', '.join(TABLE_ORDER)} (only {', '.join(REQUIRED_TABLES)} are required)",
            file=source,
            rule="missing_table",
        )
    if strict and problems:
        p = problems[0]
        raise InputError(
            p["message"], file=p["file"], row=p["source_line"], column=p["column"], rule=p["rule"]
        )
    return Bundle(
        tables=tables,
        files=files,
        lines=lines,
        load_problems=problems_frame(problems),
        notes=notes,
        source=source,
    )
