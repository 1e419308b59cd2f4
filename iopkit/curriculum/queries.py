"""The loaded curriculum (:class:`Curriculum`) and every query on it.

Each curriculum question has one answer, here: which skills are a program's core and its
electives, which weekdays a trained facilitator can teach a skill, how many sessions a stay
needs to meet the core, which program is the default. Planners (:mod:`iopkit.rotation`),
the synthetic-data generator (:mod:`iopkit.synth`) and the data layer
(:mod:`iopkit.data.catalog`) call these methods instead of re-reading the program files.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, time
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from iopkit.curriculum.daily import agenda
from iopkit.curriculum.models import Modality, Module, Program, Skill
from iopkit.errors import ConfigError, UnknownIdError
from iopkit.vocab import SKILL_CONCERNS
from iopkit.yamlio import did_you_mean

__all__ = ["Curriculum"]


class Curriculum(BaseModel):
    """The whole catalog and every program, validated (built by ``load_curriculum``).

    ``skills`` (id → :class:`Skill`, catalog order), ``programs`` (id → :class:`Program`),
    ``modules`` (``"dbt.mf"`` → :class:`Module`), ``modalities`` (id → :class:`Modality`),
    ``skill_files`` (skill id → the YAML file that defines it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    root: Path | None = None
    modalities: dict[str, Modality]
    modules: dict[str, Module]
    skills: dict[str, Skill]
    programs: dict[str, Program]
    skill_files: dict[str, str] = {}

    # -- lookups ------------------------------------------------------------------------
    def skill(self, skill_id: str) -> Skill:
        """The skill with this id; :class:`UnknownIdError` with a suggestion if unknown."""
        try:
            return self.skills[skill_id]
        except KeyError:
            raise UnknownIdError(
                f"unknown skill {skill_id!r}{did_you_mean(skill_id, self.skills)}",
                known=tuple(self.skills),
                rule="skill id must exist in curriculum/modules",
            ) from None

    def program(self, program_id: str) -> Program:
        """The program with this id; :class:`UnknownIdError` with a suggestion if unknown."""
        try:
            return self.programs[program_id]
        except KeyError:
            known = ", ".join(self.programs) or "none"
            raise UnknownIdError(
                f"unknown program {program_id!r}{did_you_mean(program_id, self.programs)}; "
                f"known programs: {known}",
                known=tuple(self.programs),
                rule="program id must exist in curriculum/programs",
            ) from None

    def default_program(self) -> Program:
        """The program used when none is named: the first adult program by id, else the
        first program by id. ConfigError when the curriculum has no program."""
        if not self.programs:
            raise ConfigError(f"curriculum {self.root or ''} holds no program (programs/*.yaml)")
        ids = sorted(self.programs)
        adult = [pid for pid in ids if self.programs[pid].population == "adult"]
        return self.programs[(adult or ids)[0]]

    def training_for(self, skill_id: str) -> str | None:
        """Facilitator training a skill needs (skill, else module, else modality setting)."""
        s = self.skill(skill_id)
        mod = self.modules.get(s.module_id)
        modality = self.modalities.get(s.modality)
        return (
            s.training
            or (mod.training if mod else None)
            or (modality.training if modality else None)
        )

    # -- skill lists ---------------------------------------------------------------------
    def query(
        self,
        modality: str | None = None,
        module: str | None = None,
        target: str | None = None,
        core: bool | None = None,
        program: str | None = None,
        kind: str | None = None,
    ) -> list[Skill]:
        """Skills matching every given filter, in catalog order.

        ``module`` accepts ``"dbt.mf"`` or, with ``modality``, just ``"mf"``. ``target`` is a
        concern (skills tagged ``general`` are NOT included unless ``target="general"``).
        ``core`` means the program's core list when ``program`` is given, else the catalog
        tier. With ``program`` only skills the program can teach (core + electives) are kept.
        """
        for name, value, vocab in (
            ("modality", modality, self.modalities),
            ("target", target, SKILL_CONCERNS),
        ):
            if value is not None and value not in vocab:
                raise UnknownIdError(
                    f"unknown {name} {value!r}{did_you_mean(value, vocab)}; "
                    f"choose from {', '.join(vocab)}",
                    known=tuple(vocab),
                    rule=f"{name} vocabulary",
                )
        if module is not None and "." not in module and modality is not None:
            module = f"{modality}.{module}"
        if module is not None and module not in self.modules:
            raise UnknownIdError(
                f"unknown module {module!r}{did_you_mean(module, self.modules)}; "
                f"choose from {', '.join(self.modules)}",
                known=tuple(self.modules),
                rule="module vocabulary",
            )
        core_ids: set[str] | None = None
        allowed: set[str] | None = None
        if program is not None:
            core_ids = set(self.core_skills(program))
            allowed = core_ids | set(self.elective_skills(program))
        out = []
        for s in self.skills.values():
            if modality is not None and s.modality != modality:
                continue
            if module is not None and s.module_id != module:
                continue
            if target is not None and target not in s.targets:
                continue
            if kind is not None and s.kind != kind:
                continue
            if allowed is not None and s.id not in allowed and s.rotating:
                continue
            if core is not None:
                is_core = (s.id in core_ids) if core_ids is not None else s.tier == "core"
                if is_core != core:
                    continue
            out.append(s)
        return out

    def rotating_skills(self) -> list[Skill]:
        """Group skills (the rotation's menu); individual tasks are excluded."""
        return [s for s in self.skills.values() if s.rotating]

    def individual_tasks(self) -> list[Skill]:
        """Individual tasks (e.g. the Stanley–Brown safety plan at admission)."""
        return [s for s in self.skills.values() if not s.rotating]

    def module_skills(self, module_id: str) -> list[str]:
        """Ids of the group skills of a module (``"dbt.mf"``), in catalog order."""
        return [s.id for s in self.skills.values() if s.module_id == module_id and s.rotating]

    # -- a program's core and electives ----------------------------------------------------
    def core_of(self, prog: Program) -> list[str]:
        """Core skill ids of a program object: its listed skills, then its modules' skills.

        Takes the object so that checks can ask before the program is part of a catalog.
        """
        ids = list(prog.core.skills)
        for m in prog.core.modules:
            ids.extend(self.module_skills(m))
        return list(dict.fromkeys(ids))

    def electives_of(self, prog: Program) -> list[str]:
        """Elective skill ids of a program object, in catalog order (see :meth:`core_of`).

        Group skills that are not core, chosen by the program's elective pool (modalities,
        modules, skills; an empty pool means every group skill) minus its ``exclude`` list.
        """
        core = set(self.core_of(prog))
        pool = prog.electives
        wide = not (pool.modalities or pool.modules or pool.skills)
        return [
            s.id
            for s in self.rotating_skills()
            if s.id not in core
            and s.id not in pool.exclude
            and (
                wide
                or s.modality in pool.modalities
                or s.module_id in pool.modules
                or s.id in pool.skills
            )
        ]

    def core_skills(self, program_id: str) -> list[str]:
        """Skill ids every patient of the program must meet, in the program file's order:
        listed skills first, then the skills of listed modules."""
        return self.core_of(self.program(program_id))

    def elective_skills(self, program_id: str) -> list[str]:
        """Non-core group skills the program may teach in its remaining sessions."""
        return self.electives_of(self.program(program_id))

    def program_skills(self, program_id: str) -> list[str]:
        """The program's teaching pool: its core and elective group skills, in catalog order."""
        taught = set(self.core_skills(program_id)) | set(self.elective_skills(program_id))
        return [s.id for s in self.rotating_skills() if s.id in taught]

    def core_and_electives(self, program_id: str) -> tuple[list[str], list[str]]:
        """:meth:`program_skills` split into ``(core, electives)``, both in catalog order."""
        core = set(self.core_skills(program_id))
        pool = self.program_skills(program_id)
        return [s for s in pool if s in core], [s for s in pool if s not in core]

    def core_sessions_needed(self, program_id: str) -> int:
        """Lower bound on sessions a stay needs so that any admission day meets every core
        skill of the program (:meth:`sessions_for_core` of :meth:`core_skills`)."""
        return self.sessions_for_core(self.core_skills(program_id))

    def sessions_for_core(self, core: Collection[str]) -> int:
        """Lower bound on sessions a stay needs so that any admission day meets every skill
        of ``core``.

        One session per core skill, plus one when any core skill requires another core skill
        (:meth:`core_is_chained`): if every window of the stay held each core skill exactly
        once, the window that opens on a dependent skill would meet it before its
        prerequisite. (With that extra session the bound is reachable when each prerequisite
        is taught right before its dependent.)
        """
        return len(set(core)) + (1 if self.core_is_chained(core) else 0)

    def core_is_chained(self, core: Collection[str]) -> bool:
        """True when a skill of ``core`` requires another skill of ``core`` (ids not in the
        catalog are counted in ``core`` but have no requirements)."""
        core_set = set(core)
        return any(
            p in core_set for k in core_set if k in self.skills for p in self.skills[k].requires
        )

    # -- facilitators ----------------------------------------------------------------------
    def facilitator_weekdays(self, program_id: str) -> dict[str, list[int]]:
        """Skill id → weekdays (Mon = 0) on which a facilitator trained for it works.

        Only the skills of the program's pool (:meth:`program_skills`) whose teaching is
        restricted: those needing a training (:meth:`training_for`) in a program that lists
        facilitators. A skill absent from the result may be taught on every program day.
        An empty list means nobody listed holds the training.
        """
        prog = self.program(program_id)
        if not prog.facilitators:
            return {}
        out: dict[str, list[int]] = {}
        for sid in self.program_skills(program_id):
            need = self.training_for(sid)
            if need is not None:
                days = {d for f in prog.facilitators if need in f.trainings for d in f.weekdays}
                out[sid] = sorted(days)
        return out

    def skill_weekdays(self, program_id: str) -> dict[str, list[int]]:
        """Skill id → weekdays (Mon = 0) it can be taught, for every skill of the pool:
        :meth:`facilitator_weekdays` where restricted, else every program day."""
        prog = self.program(program_id)
        restricted = self.facilitator_weekdays(program_id)
        return {
            sid: restricted.get(sid, list(prog.weekdays)) for sid in self.program_skills(program_id)
        }

    # -- prerequisites -------------------------------------------------------------------
    def prerequisites(self) -> dict[str, list[str]]:
        """Skill id → hard prerequisites (``requires``), for every skill."""
        return {k: list(s.requires) for k, s in self.skills.items()}

    def soft_prerequisites(self) -> dict[str, list[str]]:
        """Skill id → soft ordering preferences (``after``), for every skill."""
        return {k: list(s.after) for k, s in self.skills.items()}

    def min_gaps(self) -> dict[tuple[str, str], int]:
        """(prerequisite, skill) → minimum days between them (e.g. diary → sleep window: 7)."""
        return {
            (pre, k): days for k, s in self.skills.items() for pre, days in s.min_days_after.items()
        }

    # -- calendar --------------------------------------------------------------------------
    def closures(self, program_id: str, start: date, end: date) -> list[date]:
        """Closed dates of a program in [start, end] (public holidays + listed), sorted."""
        return sorted(self.program(program_id).closures(start, end))

    def agenda(
        self, program_id: str, day: date, skill_id: str, start: str | time | None = None
    ) -> pd.DataFrame:
        """Timed agenda of one program day (see :func:`iopkit.curriculum.daily.agenda`)."""
        return agenda(self.program(program_id), day, self.skill(skill_id), start)

    # -- tables --------------------------------------------------------------------------
    def skills_frame(self, skills: Iterable[Skill] | None = None) -> pd.DataFrame:
        """One row per skill (list-valued fields stay lists; ``file`` = source YAML)."""
        rows = []
        for s in self.skills.values() if skills is None else skills:
            row = s.model_dump()
            row["module_id"] = s.module_id
            row["training_needed"] = self.training_for(s.id)
            row["file"] = self.skill_files.get(s.id)
            rows.append(row)
        cols = list(Skill.model_fields) + ["module_id", "training_needed", "file"]
        return pd.DataFrame(rows, columns=cols)

    def targets_frame(self, skills: Iterable[str] | None = None) -> pd.DataFrame:
        """Long table ``skill_id, concern`` (one row per target concern of each skill)."""
        ids = list(self.skills) if skills is None else list(skills)
        rows = [(sid, c) for sid in ids for c in self.skill(sid).targets]
        return pd.DataFrame(rows, columns=["skill_id", "concern"])

    def programs_frame(self) -> pd.DataFrame:
        """One row per program: days, stay, sessions and core size."""
        rows = [
            {
                "id": p.id,
                "name": p.name,
                "population": p.population,
                "days": ",".join(p.days),
                "sessions_per_week": p.sessions_per_week,
                "min_weeks": p.min_weeks,
                "max_weeks": p.max_weeks,
                "min_sessions": p.min_sessions,
                "core_skills": len(self.core_skills(p.id)),
                "core_sessions_needed": self.core_sessions_needed(p.id),
                "default_start": p.default_start,
            }
            for p in self.programs.values()
        ]
        return pd.DataFrame(rows)
