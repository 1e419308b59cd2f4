"""The one YAML loader of iopkit: curriculum, scales, schedules, mappings and profiles.

Every configuration file is read here, the same way:

* safe constructors only (libyaml's ``CSafeLoader`` parser when available — about 10×
  faster than the pure-Python one, same semantics);
* dates stay text (``2025-01-06`` is the string the user wrote; each schema parses it), so
  a value never changes type behind the reader's back;
* a key written twice in one mapping is refused (plain YAML silently keeps the last one);
* anchors/aliases are allowed, but a document whose expansion exceeds
  :data:`MAX_EXPANDED_NODES` nodes ("billion laughs"), that refers to itself, or that nests
  deeper than :data:`MAX_DEPTH` is refused in milliseconds, before anything walks it;
* every finding is a :class:`Problem` naming the file, the 1-based line and the key path
  (``programs[0].core.skills[2]``), and pydantic errors gain "did you mean" hints.

Hand-written rather than a library because no maintained YAML library reports line
numbers per key path for pydantic errors and refuses duplicate keys at the same time
(ruamel.yaml keeps lines but its safe mode is pure Python and 5–10× slower for the scale
registry that every report kernel loads).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from iopkit.errors import ConfigError

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "Loc",
    "Problem",
    "YamlDoc",
    "did_you_mean",
    "key_path",
    "load_yaml",
    "load_yaml_text",
    "read_yaml",
    "validate_model",
]

#: Deepest nesting accepted (mappings/sequences). Real iopkit files nest < 10 levels.
MAX_DEPTH = 64
#: Largest document accepted, counted with every alias expanded. The biggest shipped file
#: (a curriculum module) holds about 2,000 nodes.
MAX_EXPANDED_NODES = 200_000
#: Largest file accepted, in bytes (the biggest shipped file is about 40 kB).
MAX_BYTES = 5_000_000

Loc = tuple[str | int, ...]

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader without implicit timestamps (dates stay the text the user wrote)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Problem:
    """One finding in a configuration file: file, key path, message, 1-based line."""

    file: str
    key: str
    message: str
    line: int | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        key = f" {self.key}" if self.key else ""
        tag = "" if self.severity == "error" else " (warning)"
        return f"{where}{key}{tag}: {self.message}"


def key_path(loc: Sequence[str | int]) -> str:
    """``("skills", 3, "requires")`` → ``skills[3].requires``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice (difflib ratio ≥ 0.6), else ``""``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass
class YamlDoc:
    """A parsed YAML file: plain data plus the node tree that knows every line."""

    file: str
    data: Any
    node: yaml.Node | None
    path: Path | None = None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of the value at ``loc`` (or of its nearest existing parent)."""
        node = self.node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in loc:
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        child = v
                        line = k.start_mark.line + 1
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                child = node.value[part]
                line = child.start_mark.line + 1
            if child is None:
                return line
            node = child
            if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
                return node.start_mark.line + 1
        return line

    def problem(
        self,
        loc: Sequence[str | int],
        message: str,
        severity: Literal["error", "warning"] = "error",
    ) -> Problem:
        """A :class:`Problem` at ``loc`` of this file."""
        return Problem(self.file, key_path(loc), message, self.line_of(loc), severity)


def _shape_problem(node: yaml.Node, file: str, text: str | None = None) -> Problem | None:
    """Refuse self-reference, nesting deeper than MAX_DEPTH, expansion over the budget.

    A document whose ``text`` has no ``*`` has no alias, so its nodes form a tree: one pass
    over it level by level counts the nodes and the depth, and only a tree over a limit is
    walked in full (below) to name the problem and its line.
    """
    if text is not None and "*" not in text:
        level, depth, count = [node], 1, 0
        while level and depth <= MAX_DEPTH and count + len(level) <= MAX_EXPANDED_NODES:
            count += len(level)
            level = [c for n in level for c in _children(n)]
            depth += 1
        if not level:
            return None
    sizes: dict[int, int] = {}
    active: set[int] = set()
    # iterative post-order walk: (node, depth, children_done)
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 1, False)]
    while stack:
        current, depth, done = stack.pop()
        key = id(current)
        if done:
            active.discard(key)
            children = _children(current)
            size = 1 + sum(sizes[id(c)] for c in children)
            if size > MAX_EXPANDED_NODES:
                return Problem(
                    file,
                    "",
                    f"document expands to more than {MAX_EXPANDED_NODES:,} values through "
                    "YAML aliases (*name) — refused as an alias bomb",
                    current.start_mark.line + 1,
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in active:
            return Problem(file, "", "a YAML alias refers to itself (recursive document)",
                           current.start_mark.line + 1)  # fmt: skip
        if depth > MAX_DEPTH:
            return Problem(file, "", f"nested deeper than {MAX_DEPTH} levels — refused",
                           current.start_mark.line + 1)  # fmt: skip
        active.add(key)
        stack.append((current, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(current) if id(c) not in sizes)
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _duplicate_keys(node: yaml.Node | None, loc: Loc) -> Iterable[tuple[Loc, str, int, int]]:
    """(parent path, key, first line, repeated line) for every key repeated in a mapping."""
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node | None, Loc]] = [(node, loc)]
    while stack:
        current, where = stack.pop()
        if current is None or id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in current.value:
                key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                line = k.start_mark.line + 1
                if key in seen:
                    yield where, key, seen[key], line
                else:
                    seen[key] = line
                stack.append((v, (*where, key)))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, (*where, i)) for i, item in enumerate(current.value))


def read_yaml(
    text: str, *, file: str, path: Path | None = None, top: type | None = dict
) -> tuple[YamlDoc | None, list[Problem]]:
    """Parse YAML text; ``(doc, problems)`` — ``doc`` is None when the text is unusable.

    Duplicate keys come back as problems next to a usable document (the caller decides);
    syntax errors, alias bombs, self-reference, over-deep nesting and a top level that is
    not ``top`` (a mapping by default; None accepts anything) give no document.
    """
    if len(text) > MAX_BYTES:
        return None, [Problem(file, "", f"file is larger than {MAX_BYTES:,} bytes — refused")]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            shape = _shape_problem(node, file, text)
            if shape is not None:
                return None, [shape]
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        ctx = getattr(exc, "context", None)
        msg = f"YAML syntax error: {what}" + (f" ({ctx})" if ctx else "")
        return None, [Problem(file, "", msg, line)]
    finally:
        loader.dispose()
    if top is not None and not isinstance(data, top):
        want = "a mapping of keys" if top is dict else f"a {top.__name__}"
        return None, [Problem(file, "", f"expected {want} at the top of the file", 1)]
    dups = [
        Problem(
            file,
            key_path((*where, key)),
            f"key {key!r} appears twice in the same block (lines {first} and {second}); "
            "YAML would silently keep only the last one — merge them",
            second,
        )
        for where, key, first, second in _duplicate_keys(node, ())
    ]
    return YamlDoc(file, data, node, path), dups


def _raise(problems: Sequence[Problem], what: str) -> typing.NoReturn:
    listing = "; ".join(str(p) for p in problems)
    raise ConfigError(f"{what}: {listing}" if what else listing)


def load_yaml_text(text: str, *, file: str, what: str = "", top: type | None = dict) -> YamlDoc:
    """Parse YAML text; any problem (duplicate keys included) raises :class:`ConfigError`."""
    doc, problems = read_yaml(text, file=file, top=top)
    if problems or doc is None:
        _raise(problems, what)
    return doc


def load_yaml(
    path: str | Path, *, what: str = "", shown: str | None = None, top: type | None = dict
) -> YamlDoc:
    """Read and parse one YAML file; any problem raises :class:`ConfigError`.

    ``what`` names the kind of file in messages ("schedule", "REDCap mapping");
    ``shown`` is how the file is named (default: the path as given). Special files
    (FIFOs, devices) are refused instead of read, so a named pipe cannot hang a command.
    """
    p = Path(path)
    file = shown or str(path)
    text = read_text(p, file=file, what=what)
    doc, problems = read_yaml(text, file=file, path=p, top=top)
    if problems or doc is None:
        _raise(problems, what)
    return doc


def read_text(path: Path, *, file: str, what: str = "") -> str:
    """UTF-8 text of a regular file; ConfigError for a missing/special/undecodable file."""
    label = f"{what} " if what else ""
    try:
        if not path.is_file():
            reason = "not found" if not path.exists() else "not a regular file"
            raise ConfigError(f"{label}file {file}: {reason}")
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(f"{label}file {file}: larger than {MAX_BYTES:,} bytes — refused")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{label}file {file}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{label}file {file}: cannot read ({exc.strerror or exc})") from None


# --- pydantic errors with lines and "did you mean" ------------------------------------------
def _unwrap(tp: Any) -> Any:
    """Strip Annotated / Optional wrappers from a type annotation."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the model reached by following ``loc`` from ``model`` ([] if none)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return []
            tp = tp.model_fields[part].annotation
            continue
        origin = typing.get_origin(tp)
        if origin is list:
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def pydantic_problems(
    doc: YamlDoc, model: type[BaseModel], exc: ValidationError, prefix: Loc = ()
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, at its line, with "did you mean" hints.

    ``model`` is the model of the validated value (its fields are the allowed keys);
    ``prefix`` is where that value sits in the document when it is not the root.
    """
    out = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *err["loc"])
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = fields_at(model, tuple(err["loc"][:-1]))
            msg = f"unknown key {key!r}{did_you_mean(key, allowed)}"
            if allowed:
                msg += f"; allowed keys: {', '.join(allowed)}"
        elif err["type"] == "missing":
            msg = f"required key {str(loc[-1])!r} is missing"
        else:
            msg = err["msg"]
            got = err.get("input")
            if err["type"] == "string_type" and isinstance(got, dict) and len(got) == 1:
                msg += (
                    " — YAML read this text as 'key: value' because it contains ': '; "
                    "put the whole text in double quotes"
                )
            elif got is not None and not isinstance(got, dict | list):
                msg += f" (got {got!r})"
        out.append(doc.problem(loc, msg))
    return out


M = typing.TypeVar("M", bound=BaseModel)


def validate_model(
    model: type[M], doc: YamlDoc, loc: Loc = (), data: Any = None
) -> tuple[M | None, list[Problem]]:
    """Validate ``doc.data`` (or ``data``, found at ``loc``) against a pydantic model.

    Returns ``(instance, [])`` or ``(None, problems)`` with file, line and key path.
    """
    value = doc.data if data is None else data
    try:
        return model.model_validate(value), []
    except ValidationError as exc:
        return None, pydantic_problems(doc, model, exc, loc)


def load_model(model: type[M], path: str | Path, *, what: str = "", shown: str | None = None) -> M:
    """Read a YAML file straight into a pydantic model; ConfigError lists every problem."""
    doc = load_yaml(path, what=what, shown=shown)
    obj, problems = validate_model(model, doc)
    if obj is None:
        _raise(problems, what)
    return obj
