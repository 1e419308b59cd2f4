"""Source profiles: how one clinic's export maps to the table contracts, in one small YAML file.

A profile says, for every table (top-level keys) or for one table (``tables.<name>``):

* ``columns`` — renames, export column -> contract column (``ClientID: patient_id``);
* ``values`` — value maps per contract column (``sex: {F: female, M: male}``);
* ``date_format`` — the one ``strftime`` pattern of text dates (``"%m/%d/%Y"``): declared,
  never guessed; a text date that does not match it is a ``date_format`` problem naming it;
* ``missing`` — tokens that mean "no value" (``["NA", "n/a", "-99"]``), read as blank and
  counted per table and column in the validation summary;
* ``ignore`` — optional columns to leave out (named as after renaming).

Example::

    date_format: "%m/%d/%Y"          # every table
    missing: ["NA", "n/a"]
    tables:
      patients:
        columns: {ClientID: patient_id, Gender: sex}
        values:
          sex: {F: female, M: male}
        ignore: [referral_source]

:func:`load_profile` reads it with :mod:`iopkit.yamlio` and a pydantic model (every problem
a :class:`~iopkit.errors.ConfigError` naming file, line and key path); the source registry
(:func:`iopkit.data.load_bundle` ``profile=``) applies it to every source kind after reading
and before validation (:func:`apply_profile`): renames and ignored columns at once (lines
kept), value maps, date format and missing tokens as :class:`~iopkit.data.bundle.TableReading`
for the validator, so rejects keep every cell as it was read.
:func:`draft_profile` writes a first profile from an export for the coordinator to confirm
(``iopkit profile init``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from iopkit.data.bundle import EXTRA_FIELDS, Bundle, TableReading
from iopkit.data.schemas import LONG_ITEM, LONG_RESPONSE, TABLE_ORDER, TABLES, WIDE_ITEM_PATTERN
from iopkit.errors import ConfigError, InputError
from iopkit.privacy import find_identifiers_in_text, is_direct_identifier
from iopkit.yamlio import Problem, YamlDoc, did_you_mean, load_yaml, load_yaml_text, validate_model

__all__ = [
    "DATE_PATTERNS",
    "MISSING_CANDIDATES",
    "Profile",
    "TableProfile",
    "apply_profile",
    "date_format_problem",
    "draft_profile",
    "load_profile",
    "load_profile_text",
    "profile_table",
]

#: Column kinds a value map may apply to (text kinds; numbers and dates are never recoded).
MAPPABLE_KINDS = ("vocab", "list", "id")
#: Date patterns :func:`draft_profile` tries on text dates (suggested, never applied).
DATE_PATTERNS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
)
#: Texts :func:`draft_profile` points out as likely missing-value tokens (compared after
#: strip and lower-case; suggested in a comment, never applied).
MISSING_CANDIDATES = frozenset(
    {"na", "n/a", "#n/a", "nan", "null", "none", "-", "--", ".", "missing", "?", "-99", "-999"}
)
_TIME_DIRECTIVES = re.compile(r"%[HIMSpfzZXcjUWGuV]")


class TableProfile(BaseModel):
    """What a profile says for one table (or, at the top level, for every table)."""

    model_config = ConfigDict(extra="forbid")

    #: export column -> contract column
    columns: dict[str, str] = {}
    #: contract column -> {value as exported: contract value}
    values: dict[str, dict[str, str]] = {}
    #: strftime pattern of text dates, e.g. ``%m/%d/%Y``
    date_format: str | None = None
    #: tokens read as a blank cell (exact text after stripping spaces)
    missing: list[str] = []
    #: optional columns left out (names after renaming)
    ignore: list[str] = []


class Profile(TableProfile):
    """A source profile: settings for every table plus ``tables.<name>`` sections."""

    tables: dict[str, TableProfile] = {}
    #: how messages name the profile (its path); not a YAML key
    source: str = "profile"

    def for_table(self, table: str) -> TableProfile:
        """The settings of one table: the table's section over the top-level ones.

        ``columns`` and ``values`` merge (the table's entry wins per key), ``date_format``
        is the table's when given, ``missing`` and ``ignore`` are the union.
        """
        own = self.tables.get(table, TableProfile())
        values = {c: dict(m) for c, m in self.values.items()}
        for col, m in own.values.items():
            values[col] = {**values.get(col, {}), **m}
        return TableProfile(
            columns={**self.columns, **own.columns},
            values=values,
            date_format=own.date_format or self.date_format,
            missing=list(dict.fromkeys([*self.missing, *own.missing])),
            ignore=list(dict.fromkeys([*self.ignore, *own.ignore])),
        )


def _non_text(doc: YamlDoc) -> list[Problem]:
    """Keys and values of ``columns``/``values``/``missing``/``ignore`` must be text: YAML
    reads ``yes``, ``1`` and ``null`` as other types (a problem at the line, "quote it")."""
    problems: list[Problem] = []

    def walk(value: Any, loc: tuple[str | int, ...]) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                if not isinstance(k, str):
                    problems.append(doc.problem(loc, _quote_hint(k)))
                walk(v, (*loc, str(k)))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*loc, i))
        elif not isinstance(value, str):
            problems.append(doc.problem(loc, _quote_hint(value)))

    data = doc.data if isinstance(doc.data, Mapping) else {}
    sections = [((), data)]
    tables = data.get("tables")
    if isinstance(tables, Mapping):
        sections += [(("tables", str(n)), t) for n, t in tables.items() if isinstance(t, Mapping)]
    for loc, sec in sections:
        for key in ("columns", "values", "missing", "ignore"):
            if key in sec and sec[key] is not None:
                walk(sec[key], (*loc, key))
    return problems


def _quote_hint(v: Any) -> str:
    shown = "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
    return (
        f"{v!r} is not text — YAML read it as {type(v).__name__}; put it in quotes "
        f'("{shown}" if that is what the export holds)'
    )


# --- loading ---------------------------------------------------------------------------------
def load_profile(profile: str | Path | Profile | Mapping[str, Any]) -> Profile:
    """A :class:`Profile` from a YAML file, a mapping or a Profile (returned as is).

    Raises :class:`ConfigError` listing every problem with file, line and key path: unknown
    keys or tables (did you mean), a rename to a column the contract does not have, two
    columns renamed to one, a value map on a number/date column or to a value outside the
    vocabulary, a date format that is not a calendar date with a four-digit year, an
    ignored column that is required.
    """
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, Mapping):
        return _finish(YamlDoc("profile", dict(profile), None))
    return _finish(load_yaml(profile, what="source profile"))


def load_profile_text(text: str, *, file: str = "profile") -> Profile:
    """A :class:`Profile` from YAML text (see :func:`load_profile`)."""
    return _finish(load_yaml_text(text, file=file, what="source profile"))


def _finish(doc: YamlDoc) -> Profile:
    problems = _non_text(doc)
    if problems:
        raise ConfigError("source profile: " + "; ".join(str(p) for p in problems))
    if isinstance(doc.data, Mapping) and "source" in doc.data:
        problems.append(doc.problem(("source",), "unknown key 'source'"))
    obj, found = validate_model(Profile, doc)
    problems += found
    if obj is not None:
        obj = obj.model_copy(update={"source": doc.file})
        problems += _check(obj, doc)
    if problems or obj is None:
        raise ConfigError("source profile: " + "; ".join(str(p) for p in problems))
    return obj


def _is_item(table: str | None, col: str) -> bool:
    return table in (None, "assessments") and (
        col in (LONG_ITEM, LONG_RESPONSE) or re.fullmatch(WIDE_ITEM_PATTERN, col) is not None
    )


def _contract(table: str | None) -> dict[str, Any]:
    """Column specs by name of one table, or of every table (None)."""
    if table is not None:
        return {c.name: c for c in TABLES[table].columns}
    out: dict[str, Any] = {}
    for name in TABLE_ORDER:
        for c in TABLES[name].columns:
            out.setdefault(c.name, c)
    return out


def _check(profile: Profile, doc: YamlDoc) -> list[Problem]:
    problems: list[Problem] = []
    for name in profile.tables:
        if name not in TABLES:
            problems.append(
                doc.problem(
                    ("tables", name),
                    f"unknown table {name!r}{did_you_mean(name, TABLES)}; tables: "
                    + ", ".join(TABLE_ORDER),
                )
            )
    sections: list[tuple[tuple[str, ...], str | None, TableProfile]] = [((), None, profile)]
    sections += [(("tables", n), n, p) for n, p in profile.tables.items() if n in TABLES]
    for loc, table, sec in sections:
        specs = _contract(table)
        where = f"table {table}" if table else "any table"
        targets: dict[str, str] = {}
        for src, dst in sec.columns.items():
            if dst not in specs and not _is_item(table, dst):
                problems.append(
                    doc.problem(
                        (*loc, "columns", src),
                        f"renames {src!r} to {dst!r}, which is not a column of {where}"
                        f"{did_you_mean(dst, specs)}; columns: {', '.join(specs)}",
                    )
                )
            elif dst in targets:
                problems.append(
                    doc.problem(
                        (*loc, "columns", src),
                        f"{src!r} and {targets[dst]!r} are both renamed to {dst!r}; keep one",
                    )
                )
            targets[dst] = src
        for col, mapping in sec.values.items():
            spec = specs.get(col)
            if spec is None:
                problems.append(
                    doc.problem(
                        (*loc, "values", col),
                        f"value map for {col!r}, which is not a column of {where}"
                        f"{did_you_mean(col, specs)} (value maps use contract column names)",
                    )
                )
                continue
            if spec.kind not in MAPPABLE_KINDS or spec.free_text:
                problems.append(
                    doc.problem(
                        (*loc, "values", col),
                        f"{col!r} is a {spec.kind} column; value maps are for vocabulary "
                        "and id columns (numbers and dates are never recoded)",
                    )
                )
                continue
            if spec.vocab:
                for raw, value in mapping.items():
                    if value not in spec.vocab:
                        problems.append(
                            doc.problem(
                                (*loc, "values", col, raw),
                                f"maps {raw!r} to {value!r}, which is not one of "
                                f"{', '.join(spec.vocab)}{did_you_mean(value, spec.vocab)}",
                            )
                        )
        if sec.date_format is not None:
            msg = date_format_problem(sec.date_format)
            if msg:
                problems.append(doc.problem((*loc, "date_format"), msg))
        for i, col in enumerate(sec.ignore):
            spec = specs.get(col)
            required = (
                [t for t in TABLE_ORDER if col in TABLES[t].required]
                if table is None
                else ([table] if spec is not None and spec.required else [])
            )
            if required:
                problems.append(
                    doc.problem(
                        (*loc, "ignore", i),
                        f"{col!r} is required in {', '.join(required)}; only optional "
                        "columns can be ignored",
                    )
                )
        for i, token in enumerate(sec.missing):
            if not token.strip():
                problems.append(
                    doc.problem((*loc, "missing", i), "a blank token (blanks are missing anyway)")
                )
    return problems


def date_format_problem(fmt: str) -> str | None:
    """Why ``fmt`` is not a usable date format (None when it is): it must hold a day, a
    month and a four-digit year, and no time of day."""
    if "%y" in fmt:
        return f"date format {fmt!r} has a two-digit year (%y); use %Y (four digits)"
    missing = [
        what
        for what, alts in (
            ("day (%d)", ("%d",)),
            ("month (%m, %b or %B)", ("%m", "%b", "%B")),
            ("year (%Y)", ("%Y",)),
        )  # fmt: skip
        if not any(a in fmt for a in alts)
    ]
    if missing:
        return f"date format {fmt!r} lacks a {', a '.join(missing)}"
    if _TIME_DIRECTIVES.search(fmt):
        return f"date format {fmt!r} holds a time of day; a date column holds dates only"
    try:
        back = dt.date(2025, 12, 31).strftime(fmt)
        if dt.datetime.strptime(back, fmt).date() != dt.date(2025, 12, 31):
            raise ValueError
    except ValueError:
        return f"date format {fmt!r} does not read back the dates it writes"
    return None


# --- applying --------------------------------------------------------------------------------
def apply_profile(bundle: Bundle, profile: str | Path | Profile | Mapping[str, Any]) -> Bundle:
    """The bundle as the profile reads it (a new Bundle; the given one is not changed).

    Renames and ignored columns are applied to the tables (rows and source lines unchanged;
    a load problem's column follows its rename); value maps, the date format and missing
    tokens go to ``bundle.reading`` for the validator. A rename onto a column the table
    already has is an :class:`InputError` naming the file; a rename or ignore the table
    does not need is a note, never silent.
    """
    prof = load_profile(profile)
    tables: dict[str, pd.DataFrame] = {}
    reading: dict[str, TableReading] = dict(bundle.reading)
    notes = list(bundle.notes)
    load_problems = bundle.load_problems.copy()
    for name, frame in bundle.tables.items():
        file = bundle.files.get(name, name)
        if name not in TABLES:
            tables[name] = frame
            continue
        sec = prof.for_table(name)
        own = prof.tables.get(name, TableProfile())
        cols = [str(c) for c in frame.columns]
        renames = {src: dst for src, dst in sec.columns.items() if src in cols and src != dst}
        by_target: dict[str, list[str]] = {}
        for src, dst in renames.items():
            by_target.setdefault(dst, []).append(src)
        for dst, srcs in by_target.items():
            if len(srcs) > 1:
                raise InputError(
                    f"the profile ({prof.source}) renames {' and '.join(map(repr, srcs))} to "
                    f"{dst!r}: the file has both; keep one rename (a table's own "
                    "columns: entry and a top-level one together)",
                    file=file,
                    row=1,
                    column=srcs[0],
                    rule="profile",
                )
        for src, dst in renames.items():
            if dst in cols and dst not in renames:
                raise InputError(
                    f"the profile ({prof.source}) renames {src!r} to {dst!r}, but the table "
                    f"already has a column {dst!r}; remove one of them or the rename",
                    file=file,
                    row=1,
                    column=src,
                    rule="profile",
                )
        absent = [src for src in own.columns if src not in cols and own.columns[src] not in cols]
        if absent:
            notes.append(
                f"{file}: the profile renames {', '.join(map(repr, absent))}, which the "
                "file does not have"
            )
        out = frame.rename(columns=renames) if renames else frame
        if renames:
            notes.append(
                f"{file}: columns renamed by the profile: "
                + ", ".join(f"{s!r} → {d!r}" for s, d in renames.items())
            )
            if len(load_problems):
                here = load_problems["table"] == name
                load_problems.loc[here, "column"] = [
                    renames.get(c, c) if isinstance(c, str) else c
                    for c in load_problems.loc[here, "column"]
                ]
        drop = [c for c in sec.ignore if c in out.columns and c != EXTRA_FIELDS]
        if drop:
            out = out.drop(columns=drop)
            notes.append(f"{file}: column(s) ignored by the profile: {', '.join(drop)}")
        tables[name] = out
        specs = _contract(name)
        values = {c: m for c, m in sec.values.items() if c in specs}
        if values or sec.date_format or sec.missing:
            reading[name] = TableReading(
                date_format=sec.date_format,
                values=values,
                missing=frozenset(t.strip() for t in sec.missing),
                profile=prof.source,
            )
    return Bundle(
        tables=tables,
        files=dict(bundle.files),
        lines=dict(bundle.lines),
        load_problems=load_problems,
        notes=notes,
        source=bundle.source,
        defects=bundle.defects,
        reading=reading,
    )


def profile_table(
    frame: pd.DataFrame, profile: str | Path | Profile | Mapping[str, Any], table: str
) -> tuple[pd.DataFrame, TableReading, list[str]]:
    """One table read outside a bundle (``iopkit score``): the profile's renames and
    ignored columns for ``table`` applied (a new frame; rows unchanged), its reading rules
    for the caller, and notes saying what was done."""
    prof = load_profile(profile)
    sec = prof.for_table(table)
    cols = [str(c) for c in frame.columns]
    renames = {s: d for s, d in sec.columns.items() if s in cols and s != d}
    notes = []
    clash = [d for d in renames.values() if d in cols and d not in renames]
    if clash:
        raise InputError(
            f"the profile ({prof.source}) renames a column to {clash[0]!r}, which the table "
            "already has; remove one of them or the rename",
            rule="profile",
        )
    out = frame.rename(columns=renames)
    if renames:
        notes.append(
            "columns renamed by the profile: "
            + ", ".join(f"{s!r} → {d!r}" for s, d in renames.items())
        )
    drop = [c for c in sec.ignore if c in out.columns]
    if drop:
        out = out.drop(columns=drop)
        notes.append(f"column(s) ignored by the profile: {', '.join(drop)}")
    reading = TableReading(
        date_format=sec.date_format,
        values=dict(sec.values),
        missing=frozenset(t.strip() for t in sec.missing),
        profile=prof.source,
    )
    out.attrs = dict(frame.attrs)
    return out, reading, notes


# --- drafting --------------------------------------------------------------------------------
def _norm(name: str) -> str:
    """``PatientID`` → ``patient_id``, ``Admit Date`` → ``admit_date`` (digits kept)."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name))
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


#: Words of export column names that name a contract word differently (EHR and REDCap
#: habits), used only for the suggestions of :func:`draft_profile`.
NAME_SYNONYMS: dict[str, str] = {
    "client": "patient",
    "pt": "patient",
    "person": "patient",
    "group": "cohort",
    "stay": "episode",
    "admission": "episode",
    "gender": "sex",
    "dx": "concern",
}
#: Whole normalised names with a contract name of another shape.
WHOLE_NAME_SYNONYMS: dict[str, str] = {
    "cohort_name": "name",
    "program": "program_id",
    "yob": "birth_year",
    "year_of_birth": "birth_year",
    "referral": "referral_source",
    "weeks": "planned_weeks",
}


def _suggest_name(col: str, table: str) -> str:
    """The contract-shaped name a draft suggests for an export column (``GroupID`` →
    ``cohort_id``, ``Q3`` → ``item_3`` in assessments), else its normalised form."""
    norm = "_".join(NAME_SYNONYMS.get(w, w) for w in _norm(col).split("_"))
    norm = WHOLE_NAME_SYNONYMS.get(norm, norm)
    item = re.fullmatch(r"(?:q|item|i|question)_?(\d+)", norm)
    if table == "assessments" and item:
        return f"item_{int(item.group(1))}"
    return norm


def _quote(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _shareable(value: str) -> bool:
    """A distinct value that may appear in a draft: short, one line, no identifier in it."""
    return (
        len(value) <= 40
        and "\n" not in value
        and not find_identifiers_in_text(value)
        and not is_direct_identifier(value)
    )


def _suggest_value(
    value: str, vocab: tuple[str, ...], codes: Mapping[str, str] | None
) -> str | None:
    low = value.strip().lower()
    if codes and low in codes:
        return None  # a standard code, read without a profile
    norm = low.replace(" ", "_").replace("-", "_")
    if norm in vocab:
        return norm
    starts = [v for v in vocab if v.startswith(norm)] if norm else []
    if len(starts) == 1:
        return starts[0]
    close = difflib.get_close_matches(norm, vocab, n=1, cutoff=0.6)
    return close[0] if close else None


def _date_formats(values: list[str]) -> list[str]:
    """Patterns of :data:`DATE_PATTERNS` that read every value."""
    ok = []
    for fmt in DATE_PATTERNS:
        try:
            for v in values:
                dt.datetime.strptime(v, fmt)
        except ValueError:
            continue
        ok.append(fmt)
    return ok


def draft_profile(bundle: Bundle, *, source: str | None = None, max_values: int = 30) -> str:
    """A first profile for ``bundle``'s export, as commented YAML for the coordinator.

    From headers and distinct values only: renames for columns whose normalised name is a
    contract column (``PatientID`` → ``patient_id``) or close to one (did you mean),
    value maps for vocabulary columns whose values are not in the contract (suggested
    targets, or a commented line listing the choices), the detected date pattern and
    likely missing-value tokens as COMMENTED suggestions (never applied until the
    coordinator uncomments them). Never includes identifier values, ids or free text:
    only values of vocabulary columns, at most ``max_values`` per column, none that looks
    like an identifier.
    """
    label = source or bundle.source
    every_date: list[str] = []
    for name in bundle.table_names:
        if name in TABLES:
            for c in TABLES[name].columns:
                frame = bundle.tables[name]
                match = [x for x in frame.columns if _suggest_name(str(x), name) == c.name]
                for col in match if c.kind == "date" else []:
                    v = frame[col]
                    every_date += [x.strip() for x in v if isinstance(x, str) and x.strip()]
    every_date = [d for d in dict.fromkeys(every_date) if d.lower() not in MISSING_CANDIDATES]
    global_fits = _date_formats(every_date) if every_date else []
    out = [
        f"# iopkit source profile drafted from {label}",
        "# Check every line: suggestions are not facts. Commented lines (#) are not applied;",
        "# uncomment what is right for this export. Reference: docs/data.md, 'Source profiles'.",
    ]
    if global_fits and global_fits != ["%Y-%m-%d"]:
        also = (
            f"; also possible: {', '.join(global_fits[1:])} — decide which one your system writes"
            if len(global_fits) > 1
            else ""
        )
        out.append(
            f"# date_format: {_quote(global_fits[0])}  # detected: all {len(every_date)} "
            f"distinct text date(s) match{also}"
        )
    out.append("tables:")
    for name in bundle.table_names:
        if name not in TABLES:
            continue
        frame = bundle.tables[name]
        spec = TABLES[name]
        contract = {c.name: c for c in spec.columns}
        cols = [str(c) for c in frame.columns if c != EXTRA_FIELDS]
        present = set(cols)
        renames: list[tuple[str, str, str]] = []  # (src, dst, comment)
        unmatched: list[str] = []
        free = [c for c in contract if c not in present]
        for col in cols:
            if col in contract or _is_item(name, col):
                continue
            norm = _suggest_name(col, name)
            if norm in free or _is_item(name, norm):
                renames.append((col, norm, ""))
                if norm in free:
                    free.remove(norm)
                continue
            close = difflib.get_close_matches(norm, free, n=1, cutoff=0.6)
            if close:
                renames.append((col, close[0], "  # did you mean? check"))
                free.remove(close[0])
            else:
                unmatched.append(col)
        target = {src: dst for src, dst, _ in renames}
        lines = [f"  {name}:"]
        if renames:
            lines.append("    columns:")
            lines += [f"      {_quote(s)}: {_quote(d)}{c}" for s, d, c in renames]
        values: list[str] = []
        dates: dict[str, list[str]] = {}
        tokens: dict[str, dict[str, int]] = {}
        for col in cols:
            cspec = contract.get(target.get(col, col))
            s = frame[col]
            text = s[s.map(lambda v: isinstance(v, str))].str.strip()
            found = text[text.str.lower().isin(MISSING_CANDIDATES)]
            if cspec is not None and cspec.vocab:
                found = found[~found.isin(cspec.vocab)]
            for tok, n in found.value_counts().items():
                tokens.setdefault(str(tok), {})[target.get(col, col)] = int(n)
            if cspec is None:
                continue
            rest = text[~text.isin(found)]
            if cspec.kind == "date":
                if len(rest):
                    dates[cspec.name] = list(dict.fromkeys(rest))
                continue
            if cspec.kind not in ("vocab", "list") or not cspec.vocab:
                continue
            parts = rest.str.split(";").explode().str.strip() if cspec.kind == "list" else rest
            parts = parts[parts.ne("") & ~parts.isin(cspec.vocab)]
            distinct = [v for v in dict.fromkeys(parts) if _shareable(v)]
            hidden = len(set(parts)) - len(distinct)
            entries = []
            for v in distinct[:max_values]:
                sugg = _suggest_value(v, cspec.vocab, cspec.codes)
                if sugg is None and cspec.codes and v.strip().lower() in cspec.codes:
                    continue
                if sugg is not None:
                    entries.append(f"        {_quote(v)}: {_quote(sugg)}  # suggested; check")
                else:
                    entries.append(
                        f"        # {_quote(v)}: ?  (choose one of {', '.join(cspec.vocab)})"
                    )
            if len(distinct) > max_values:
                entries.append(f"        # … {len(distinct) - max_values} more value(s) not listed")
            if hidden:
                entries.append(
                    f"        # {hidden} value(s) not listed: long or looking like an identifier"
                )
            if entries:
                active = any(not e.lstrip().startswith("#") for e in entries)
                values.append(f"      {'' if active else '# '}{cspec.name}:")
                values += entries
        if values:
            active = any(not v.lstrip().startswith("#") for v in values)
            lines.append(f"    {'' if active else '# '}values:")
            lines += values
        if dates and not global_fits:
            every = [v for vs in dates.values() for v in vs]
            fits = _date_formats(every)
            n = len(every)
            where = ", ".join(dates)
            if not fits:
                lines.append(
                    f"    # date_format: ?  no single pattern reads all {n} distinct date(s) "
                    f"in {where}"
                )
            elif fits != ["%Y-%m-%d"]:
                first = fits[0]
                also = f"; also possible: {', '.join(fits[1:])} — decide" if len(fits) > 1 else ""
                lines.append(
                    f"    # date_format: {_quote(first)}  # detected: all {n} distinct date(s) "
                    f"in {where} match{also}"
                )
        if tokens:
            listing = ", ".join(
                f"{t!r} in " + ", ".join(f"{c} ×{k}" for c, k in by.items())
                for t, by in tokens.items()
            )
            lines.append(
                f"    # missing: [{', '.join(_quote(t) for t in tokens)}]  # found: {listing}"
            )
        missing_req = [c for c in spec.required if c not in present and c not in target.values()]
        if missing_req:
            lines.append(
                f"    # required column(s) not found: {', '.join(missing_req)} — add a rename"
            )
        if unmatched:
            lines.append(
                "    # kept as extra columns (no contract column like them): "
                + ", ".join(unmatched)
                + "; list optional ones under ignore: to leave them out"
            )
        if len(lines) == 1:
            lines.append("    {}  # matches the contract")
        out += lines
    return "\n".join(out) + "\n"
