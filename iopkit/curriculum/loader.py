"""Read a ``curriculum/`` folder into a validated :class:`~iopkit.curriculum.Curriculum`.

``load_curriculum(path=None)`` loads and validates (cached per folder and file modification
times) and raises :class:`~iopkit.errors.ConfigError` listing every error;
``validate_curriculum(path=None)`` returns every problem (errors and warnings) and never
raises for bad content. ``path`` defaults to :func:`default_curriculum_dir`. YAML is read by
:mod:`iopkit.yamlio` (duplicate keys refused, file/line/key path in every message); the rules
that span fields and files are in :mod:`iopkit.curriculum.checks`.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from iopkit.curriculum.checks import (
    ScaleIndex,
    check_program,
    check_skill_placement,
    check_skills,
)
from iopkit.curriculum.models import Modality, ModalityFile, ModalityHeader, Module, Program, Skill
from iopkit.curriculum.queries import Curriculum
from iopkit.errors import ConfigError
from iopkit.resources import curriculum_dir
from iopkit.yamlio import (
    Loc,
    Problem,
    YamlDoc,
    key_path,
    pydantic_problems,
    read_text,
    read_yaml,
    validate_model,
)

__all__ = [
    "default_curriculum_dir",
    "load_curriculum",
    "parse_modality_file",
    "validate_curriculum",
]

#: How many errors a ConfigError from :func:`load_curriculum` lists before "… and N more".
MAX_LISTED_ERRORS = 25


def default_curriculum_dir() -> Path:
    """``$IOPKIT_CURRICULUM`` if set, else the shipped curriculum
    (:func:`iopkit.resources.curriculum_dir`)."""
    return curriculum_dir()


def _shown(path: Path, root: Path) -> str:
    """How a file is named in messages: relative to the curriculum folder's parent."""
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _yaml_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _read(path: Path, root: Path) -> tuple[YamlDoc | None, list[Problem]]:
    """Parse one file; an unreadable file is a problem of that file, not an exception."""
    shown = _shown(path, root)
    try:
        text = read_text(path, file=shown, what="curriculum")
    except ConfigError as exc:
        return None, [Problem(shown, "", str(exc))]
    return read_yaml(text, file=shown, path=path)


def parse_modality_file(
    doc: YamlDoc,
) -> tuple[tuple[ModalityHeader, list[tuple[int, Skill]]] | None, list[Problem], set[str]]:
    """Validate a modality file skill by skill, so one bad skill does not hide the others.

    Returns ``((header, [(index, skill), ...]) or None, problems, broken)``; ``broken``
    holds the ids of skills, modality and modules that failed their schema, so references
    to them are not reported again as unknown.
    """
    data = doc.data
    probs: list[Problem] = []
    broken: set[str] = set()
    header_raw = {k: v for k, v in data.items() if k != "skills"}
    header: ModalityHeader | None = None
    try:
        header = ModalityHeader.model_validate(header_raw)
    except ValidationError as exc:
        probs += pydantic_problems(doc, ModalityFile, exc)
        if isinstance(data.get("modality"), str):
            broken.add(data["modality"])
            if isinstance(data.get("modules"), dict):
                broken |= {f"{data['modality']}.{m}" for m in data["modules"]}
    raw_skills = data.get("skills")
    if raw_skills is None:
        probs.append(doc.problem(("skills",), "required key 'skills' is missing"))
        raw_skills = []
    elif not isinstance(raw_skills, list) or not raw_skills:
        probs.append(doc.problem(("skills",), "'skills' must be a non-empty list of skills"))
        raw_skills = []
    indexed: list[tuple[int, Skill]] = []
    for i, raw in enumerate(raw_skills):
        try:
            indexed.append((i, Skill.model_validate(raw)))
        except ValidationError as exc:
            probs += pydantic_problems(doc, Skill, exc, ("skills", i))
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                broken.add(raw["id"])
    if header is None:
        broken |= {s.id for _, s in indexed}
        return None, probs, broken
    return (header, indexed), probs, broken


def _collect(root: Path) -> tuple[Curriculum | None, list[Problem]]:
    """The curriculum at ``root`` (None when any error) and every problem found."""
    problems: list[Problem] = []
    if not root.is_dir():
        what = "is a file, not a curriculum folder" if root.exists() else "not found"
        return None, [Problem(str(root), "", f"curriculum directory {what}")]
    mod_dir, prog_dir = root / "modules", root / "programs"
    for d in (mod_dir, prog_dir):
        if not d.is_dir():
            problems.append(Problem(_shown(d, root), "", "folder missing (expected *.yaml files)"))
    if problems:
        return None, problems

    modality_files: list[tuple[YamlDoc, ModalityHeader, list[tuple[int, Skill]]]] = []
    broken: set[str] = set()  # ids of skills/modalities/modules that failed their schema
    for path in _yaml_files(mod_dir):
        doc, probs = _read(path, root)
        problems += probs
        if doc is None:
            continue
        parsed, probs, bad = parse_modality_file(doc)
        problems += probs
        broken |= bad
        if parsed is not None:
            modality_files.append((doc, *parsed))
    if not modality_files and not problems:
        problems.append(Problem(_shown(mod_dir, root), "", "no modality files (*.yaml) found"))

    program_files: list[tuple[YamlDoc, Program]] = []
    for path in _yaml_files(prog_dir):
        doc, probs = _read(path, root)
        problems += probs
        if doc is None:
            continue
        prog, probs = validate_model(Program, doc)
        problems += probs
        if prog is not None:
            program_files.append((doc, prog))

    # ---- the catalog: modalities, modules and skills, each id once -----------------------
    modalities: dict[str, Modality] = {}
    modules: dict[str, Module] = {}
    skills: dict[str, Skill] = {}
    where: dict[str, tuple[YamlDoc, Loc]] = {}
    modality_doc: dict[str, YamlDoc] = {}
    for doc, header, indexed in modality_files:
        if header.modality in modalities:
            problems.append(
                doc.problem(
                    ("modality",),
                    f"modality {header.modality!r} is also defined in "
                    f"{modality_doc[header.modality].file}",
                )
            )
            continue
        modality_doc[header.modality] = doc
        modalities[header.modality] = Modality.model_validate(
            header.model_dump(include=set(Modality.model_fields))
        )
        for mid, mod in header.modules.items():
            modules[f"{header.modality}.{mid}"] = mod
        for i, s in indexed:
            loc: Loc = ("skills", i)
            if s.id in skills:
                first_doc, first_loc = where[s.id]
                problems.append(
                    doc.problem(
                        (*loc, "id"),
                        f"duplicate skill id {s.id!r}; first defined in {first_doc.file} "
                        f"at {key_path(first_loc)}",
                    )
                )
                continue
            problems += check_skill_placement(doc, loc, s, header)
            skills[s.id] = s
            where[s.id] = (doc, loc)

    scales = ScaleIndex.from_registry()
    problems += check_skills(skills, where, scales, broken)

    # ---- programs, each id once, checked against the catalog ----------------------------
    catalog: dict[str, Any] = dict(
        root=root,
        modalities=modalities,
        modules=modules,
        skills=skills,
        skill_files={k: where[k][0].file for k in skills},
    )
    skills_only = Curriculum(programs={}, **catalog)
    programs: dict[str, Program] = {}
    prog_doc: dict[str, YamlDoc] = {}
    for doc, prog in program_files:
        if prog.id in programs:
            problems.append(
                doc.problem(
                    ("id",), f"duplicate program id {prog.id!r}; first in {prog_doc[prog.id].file}"
                )
            )
            continue
        programs[prog.id] = prog
        prog_doc[prog.id] = doc
        problems += check_program(doc, prog, skills_only, scales, broken)

    if any(p.severity == "error" for p in problems):
        return None, problems
    return Curriculum(programs=programs, **catalog), problems


def _resolve(path: str | os.PathLike[str] | None) -> Path:
    return Path(path).expanduser() if path is not None else default_curriculum_dir()


def validate_curriculum(path: str | os.PathLike[str] | None = None) -> list[Problem]:
    """Every problem in a curriculum directory (errors and warnings); [] when valid.

    ``Problem.severity`` is ``"error"`` or ``"warning"``; never raises for bad content.
    """
    _, problems = _collect(_resolve(path).resolve())
    return problems


@functools.lru_cache(maxsize=16)
def _load_cached(root: str, stamp: tuple[tuple[str, float], ...]) -> Curriculum:
    cur, problems = _collect(Path(root))
    errors = [p for p in problems if p.severity == "error"]
    if cur is None or errors:
        shown = "\n".join(f"  {p}" for p in errors[:MAX_LISTED_ERRORS])
        extra = len(errors) - MAX_LISTED_ERRORS
        more = f"\n  … and {extra} more" if extra > 0 else ""
        raise ConfigError(
            f"curriculum at {root} has {len(errors)} problem(s):\n{shown}{more}\n"
            "Run `iopkit curriculum validate` for the full list."
        )
    return cur


def load_curriculum(path: str | os.PathLike[str] | None = None) -> Curriculum:
    """Load and validate a curriculum directory (default: see :func:`default_curriculum_dir`).

    Raises :class:`ConfigError` naming every problem; cached until a file changes.
    """
    root = _resolve(path).resolve()
    if not root.is_dir():
        what = "is a file, not a curriculum folder" if root.exists() else "not found"
        raise ConfigError(
            f"curriculum directory {what}: {root} (set IOPKIT_CURRICULUM or pass a path)"
        )
    stamp = tuple(
        (str(p), p.stat().st_mtime)
        for sub in ("modules", "programs")
        if (root / sub).is_dir()
        for p in _yaml_files(root / sub)
    )
    return _load_cached(str(root), stamp)
