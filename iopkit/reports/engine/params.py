"""Report parameters: what a template declares, and checking what a caller passes.

A template declares its parameters in the one cell tagged ``parameters``, one literal per line
in papermill's documented form ``name: type = default  # help`` (papermill
``translators.PythonTranslator.PARAMETER_PATTERN``; read with ``papermill.inspect_notebook``).

Papermill itself only *warns* about unknown names and coerces ``-p cohort 007`` to the int 7
(papermill issues #701, #55). iopkit is stricter:

* unknown names are errors (with the nearest declared name suggested);
* values are coerced and checked by the declared type, or the default's type, so
  ``cohort_id=007`` stays the string ``"007"`` when the default is a ``str``;
* a parameter whose name ends in ``_date`` must be an ISO date ``YYYY-MM-DD`` (kept as str)
  or blank (templates use ``""`` for "not given": papermill's parameter pattern cannot read
  ``str | None`` annotations, which ruff's pyupgrade rules would otherwise write);
* parameters carry IDs and paths only: scalars and short lists of scalars; DataFrames,
  arrays, long strings and large lists are refused, because every parameter value is stored
  in the output notebook's metadata (papermill ``execute.py::prepare_notebook_metadata``);
* a value holding a URL with a password (``postgresql://user:pw@host/db``) is refused, since
  papermill writes every value into the notebook (and iopkit into ``figures.json`` and the
  manifest); the message shows the URL redacted (:func:`iopkit.privacy.redact_url`);
* a declared parameter whose *name* looks like a direct identifier (name, MRN, date of birth,
  phone, e-mail, address; the one rule of :func:`iopkit.privacy.is_direct_identifier`) is
  refused — reports take pseudonymous IDs only.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm

from iopkit.errors import ConfigError, InputError
from iopkit.privacy import has_url_password, is_direct_identifier, redact_url

#: Longest string accepted as a parameter value (characters). IDs and paths are far shorter.
MAX_STR_LEN = 512
#: Longest list accepted as a parameter value (items).
MAX_LIST_LEN = 64

_BOOL_TRUE = {"true", "yes", "1", "on"}
_BOOL_FALSE = {"false", "no", "0", "off"}
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter of a template."""

    name: str
    type_name: str  # "str", "int", "float", "bool", "list"
    optional: bool  # None is an accepted value
    default: Any
    help: str

    @property
    def is_date(self) -> bool:
        """Date parameters are recognised by name: ``*_date`` (ISO ``YYYY-MM-DD`` strings)."""
        return self.name.endswith("_date")


def _parse_annotation(annotation: str, default: Any, name: str, where: str) -> tuple[str, bool]:
    ann = annotation.replace(" ", "")
    optional = False
    m = re.fullmatch(r"Optional\[(\w+)\]", ann)
    if m:
        ann, optional = m.group(1), True
    if ann in ("", "None"):  # not annotated: the default's type decides
        if default is None:
            raise ConfigError(
                f"{where}: parameter {name!r} defaults to None without a type; "
                "write e.g. `episode_id: Optional[str] = None`"
            )
        ann = type(default).__name__
    ann = {"List": "list", "dict": "dict"}.get(ann, ann)
    if ann.startswith("list"):
        ann = "list"
    if ann not in ("str", "int", "float", "bool", "list"):
        raise ConfigError(
            f"{where}: parameter {name!r} has type {annotation!r}; report parameters are "
            "str, int, float, bool, Optional[...] or list (IDs and paths only)"
        )
    if default is None:
        optional = True
    return ann, optional


def _parameters_cell(nb: nbformat.NotebookNode, where: str) -> nbformat.NotebookNode:
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ConfigError(
            f"{where}: expected exactly one cell tagged 'parameters', found {len(tagged)}"
        )
    return tagged[0]


def _unreadable(exc: Exception) -> str:
    """Why a file is not a notebook, without quoting any of its content."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON (line {exc.lineno}, column {exc.colno})"
    name = type(exc).__name__
    if name == "NotJSONError":
        return "not JSON"
    if name == "ValidationError":
        where = "/".join(str(p) for p in getattr(exc, "absolute_path", []) or [])
        return "JSON, but not in the notebook format" + (f" (at /{where})" if where else "")
    return name


def declared_parameters(template: str | Path) -> dict[str, ParamSpec]:
    """The parameters a template declares, read with ``papermill.inspect_notebook``.

    Every assignment in the parameters cell must be understood by papermill's inspector
    (otherwise a parameter would silently escape checking), and every default must be a literal.
    """
    path = Path(template)
    where = str(path)
    if not path.is_file():
        raise InputError("report template not found", file=where)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises JSON, Unicode and schema errors
        # never the exception's text: nbformat quotes the file's first bytes (issue 16)
        raise InputError(
            f"not a Jupyter notebook (.ipynb) that can be read: {_unreadable(exc)}",
            file=where,
            rule="report template is a notebook",
        ) from None
    cell = _parameters_cell(nb, where)
    if not nb.metadata.get("kernelspec", {}).get("name"):
        raise ConfigError(f"{where}: notebook metadata has no kernelspec name (expected python3)")
    inspected = pm.inspect_notebook(str(path))
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise ConfigError(f"{where}: parameters cell is not valid Python: {exc}") from None
    assigned = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    missed = sorted(assigned - set(inspected))
    if missed:
        raise ConfigError(
            f"{where}: papermill cannot read parameter line(s) for {missed}; write one "
            "`name: type = literal  # help` per line (no `|` in the type, no `=` in the help)"
        )
    specs: dict[str, ParamSpec] = {}
    for name, info in inspected.items():
        if is_direct_identifier(name):
            raise ConfigError(
                f"{where}: parameter {name!r} looks like a direct identifier; "
                "reports take pseudonymous IDs and paths only"
            )
        try:
            default = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            raise ConfigError(
                f"{where}: default of parameter {name!r} is not a literal: {info['default']!r}"
            ) from None
        type_name, optional = _parse_annotation(info["inferred_type_name"], default, name, where)
        specs[name] = ParamSpec(name, type_name, optional, default, info.get("help") or "")
    return specs


def _coerce_text(spec: ParamSpec, text: str) -> Any:
    """Coerce a command-line string by the declared type (never by the look of the text)."""
    if spec.optional and text.strip().lower() in ("none", "null", ""):
        return None
    t = spec.type_name
    if t == "str":
        return text
    if t == "int":
        if not re.fullmatch(r"[+-]?\d+", text.strip()):
            raise ValueError("expected an integer")
        return int(text)
    if t == "float":
        return float(text)
    if t == "bool":
        low = text.strip().lower()
        if low in _BOOL_TRUE:
            return True
        if low in _BOOL_FALSE:
            return False
        raise ValueError("expected true/false")
    if t == "list":
        return [item.strip() for item in text.split(",") if item.strip()]
    raise ValueError(f"unsupported type {t}")  # pragma: no cover - guarded by ParamSpec


def _check_typed(spec: ParamSpec, value: Any) -> Any:
    """Check a value that already has a Python type (YAML schedule, Python API)."""
    if value is None:
        if spec.optional:
            return None
        raise ValueError("None is not allowed (the default is not None)")
    t = spec.type_name
    if t == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, dt.date):
            return value.isoformat()
        raise ValueError(
            f"expected a string, got {type(value).__name__} {value!r} "
            "(quote it in YAML, e.g. '007', so leading zeros are kept)"
        )
    if t == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {type(value).__name__}")
        return value
    if t == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {type(value).__name__}")
        return float(value)
    if t == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true/false, got {type(value).__name__}")
        return value
    if t == "list":
        if isinstance(value, str):
            return _coerce_text(spec, value)
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected a list, got {type(value).__name__}")
        return list(value)
    raise ValueError(f"unsupported type {t}")  # pragma: no cover


def _check_size(name: str, value: Any) -> None:
    if isinstance(value, str):
        if len(value) > MAX_STR_LEN:
            raise InputError(
                f"parameter {name!r} is {len(value)} characters long; parameters carry IDs "
                f"and paths only (max {MAX_STR_LEN}) — write data to a file and pass its path",
                rule="parameters are IDs and paths",
            )
        return
    if isinstance(value, list):
        if len(value) > MAX_LIST_LEN:
            raise InputError(
                f"parameter {name!r} has {len(value)} items (max {MAX_LIST_LEN}); pass a path",
                rule="parameters are IDs and paths",
            )
        for item in value:
            if not isinstance(item, _SCALARS):
                raise InputError(
                    f"parameter {name!r} holds a {type(item).__name__}; lists hold scalars only",
                    rule="parameters are IDs and paths",
                )
            _check_size(name, item)
        return
    if not isinstance(value, _SCALARS):
        raise InputError(
            f"parameter {name!r} is a {type(value).__name__}; parameters carry IDs and paths "
            "only — never data frames or arrays (save the data and pass its path)",
            rule="parameters are IDs and paths",
        )


def refuse_url_passwords(params: Mapping[str, Any]) -> None:
    """InputError (URL redacted) when any parameter value holds a URL with a password.

    Called on every job of a run before anything is recorded (manifest, index, notebook).
    """
    for name, value in params.items():
        _check_no_password(name, list(value) if isinstance(value, tuple) else value)


def _check_no_password(name: str, value: Any) -> None:
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str) and has_url_password(text):
            raise InputError(
                f"parameter {name!r} holds a URL with a password ({redact_url(text)}); "
                "parameter values are written into the report notebook, so keep the password "
                "out: use PGPASSWORD or ~/.pgpass, or a named connection (connection:NAME, "
                "docs/sources/postgresql.md)",
                column=name,
                rule="no password in parameters",
            )


def validate_parameters(
    template: str | Path,
    params: Mapping[str, Any],
    *,
    specs: Mapping[str, ParamSpec] | None = None,
    from_text: bool | Collection[str] = False,
) -> dict[str, Any]:
    """Check ``params`` against the template's declared parameters; return coerced values.

    ``from_text=True`` treats every value as command-line text (``-p key=value``) and coerces
    it by the declared type; a collection of names does so for those parameters only.
    Raises :class:`InputError` naming the parameter and the rule.
    """
    specs = declared_parameters(template) if specs is None else specs
    where = Path(template).name
    out: dict[str, Any] = {}
    for name, value in params.items():
        _check_no_password(name, list(value) if isinstance(value, tuple) else value)
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            hint = f" — did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"unknown parameter {name!r} for {where}{hint} (declared: {', '.join(specs)})",
                rule="parameters must be declared in the template's parameters cell",
            )
        spec = specs[name]
        if not isinstance(value, _SCALARS + (list, tuple, dt.date)):
            _check_size(name, value)  # raises with a clear message for frames/arrays
        try:
            as_text = from_text is True or (not isinstance(from_text, bool) and name in from_text)
            if as_text and isinstance(value, str):
                coerced = _coerce_text(spec, value)
            else:
                coerced = _check_typed(spec, value)
        except ValueError as exc:
            raise InputError(
                f"parameter {name!r} of {where} is declared {spec.type_name}: {exc}",
                rule="value must match the declared type",
            ) from None
        _check_size(name, coerced)
        if spec.is_date and coerced not in (None, ""):  # blank = "not given"
            try:
                dt.date.fromisoformat(coerced)
            except (TypeError, ValueError):
                raise InputError(
                    f"parameter {name!r} must be an ISO date YYYY-MM-DD, got {coerced!r}",
                    rule="ISO date",
                ) from None
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", coerced):
                raise InputError(
                    f"parameter {name!r} must be written YYYY-MM-DD, got {coerced!r}",
                    rule="ISO date",
                )
        out[name] = coerced
    return out


def parse_cli_pairs(pairs: list[str], option: str = "-p") -> dict[str, str]:
    """Split ``["key=value", ...]`` from the command line; values stay text.

    A pair without ``=`` or a key given twice is an :class:`InputError` naming ``option``
    (never "last one wins" silently).
    """
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(
                f"{option} {pair!r} is not written key=value", rule=f"{option} key=value"
            )
        if key in out:
            raise InputError(
                f"{option} {key!r} is given twice ({redact_url(out[key])!r} and "
                f"{redact_url(value)!r}); give it once",
                rule=f"{option} key=value",
            )
        out[key] = value
    return out
