"""Skill catalog and programs: load, query and validate ``curriculum/``, build agendas.

The clinical content lives in YAML (``curriculum/modules/*.yaml``: one file per modality;
``curriculum/programs/*.yaml``: one file per program); the daily block's segment rules in
``iopkit/curriculum/segments.yaml``. This package turns them into typed, validated objects.
Nothing here writes files.

=================  ============================================================
``models``         the schema: Skill, Module, Modality, Program and its parts
``segments``       the block-segment rules, read from ``segments.yaml``
``queries``        :class:`Curriculum` and every query on it (core, electives,
                   facilitator weekdays, sessions a stay needs, default program)
``checks``         validation spanning fields and files (references, cycles,
                   programs, the daily block)
``loader``         reading a folder: :func:`load_curriculum`,
                   :func:`validate_curriculum`, :func:`default_curriculum_dir`
``daily``          :func:`agenda`, the timed plan of one program day
=================  ============================================================

``load_curriculum(path=None) -> Curriculum`` loads and validates (default folder:
``$IOPKIT_CURRICULUM`` or the shipped curriculum, :func:`iopkit.resources.curriculum_dir`),
raising :class:`~iopkit.errors.ConfigError` that lists every problem (file, line, key path);
cached per folder and file modification times. ``validate_curriculum(path=None)`` returns
every :class:`Problem` (severity ``"error"`` or ``"warning"``), [] when valid.

Sources for the clinical facts are cited inside the YAML files, skill by skill and segment
by segment.
"""

from __future__ import annotations

from iopkit.curriculum.checks import known_scale_ids
from iopkit.curriculum.daily import agenda
from iopkit.curriculum.loader import default_curriculum_dir, load_curriculum, validate_curriculum
from iopkit.curriculum.models import (
    BlockSegment,
    ClosureDate,
    ClosureRules,
    ConcernScales,
    CoreRequirements,
    ElectivePool,
    Facilitator,
    MeasurementSchedule,
    Modality,
    ModalityFile,
    Module,
    Program,
    SafetyScreen,
    SegmentKind,
    Skill,
)
from iopkit.curriculum.queries import Curriculum
from iopkit.curriculum.segments import SEGMENT_RULES, SegmentRule, load_segment_rules
from iopkit.yamlio import Problem

__all__ = [
    "SEGMENT_RULES",
    "BlockSegment",
    "ClosureDate",
    "ClosureRules",
    "ConcernScales",
    "CoreRequirements",
    "Curriculum",
    "ElectivePool",
    "Facilitator",
    "MeasurementSchedule",
    "Modality",
    "ModalityFile",
    "Module",
    "Problem",
    "Program",
    "SafetyScreen",
    "SegmentKind",
    "SegmentRule",
    "Skill",
    "agenda",
    "default_curriculum_dir",
    "known_scale_ids",
    "load_curriculum",
    "load_segment_rules",
    "validate_curriculum",
]
