"""Fixed vocabularies shared by the curriculum, the data contracts and the analytics.

Defined once here and imported everywhere else (:mod:`iopkit.curriculum`,
:mod:`iopkit.data.schemas`, :mod:`iopkit.outcomes`, :mod:`iopkit.calendar`, :mod:`iopkit.synth`).
Sources: ``shared/design/architecture.md`` ("Data contracts", "Vocabularies") for patient
concerns, discharge types and referral sources and for the tables' status columns; items
marked [D] are iopkit's own choice, documented in ``docs/data.md`` or ``docs/curriculum.md``.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "ATTENDANCE_STATUS",
    "ATTENDED",
    "DISCHARGE_TYPES",
    "EVENT_KINDS",
    "GOAL_HORIZONS",
    "GOAL_STATUS",
    "OCCASIONS",
    "Occasion",
    "PATIENT_CONCERNS",
    "PatientConcern",
    "REFERRAL_SOURCES",
    "SEX",
    "SEX_CODES",
    "SKILL_CONCERNS",
    "SkillConcern",
    "WEEKDAYS",
    "WEEKDAY_NAMES",
    "Weekday",
]

#: Program weekdays as written in curriculum files; index = ``date.weekday()`` (Monday = 0).
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)
#: The same days spelled out for messages (English, independent of the locale).
WEEKDAY_NAMES: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)

#: Patient concerns (architecture.md, "Vocabularies": patients.primary_concern).
PatientConcern = Literal[
    "depression", "anxiety", "panic", "ocd", "ptsd", "adhd", "insomnia", "other"
]
PATIENT_CONCERNS: tuple[str, ...] = get_args(PatientConcern)

#: Target concerns a skill or program can address: the patient concerns with "general"
#: (transdiagnostic) in place of "other" [D], docs/curriculum.md.
SkillConcern = Literal[
    "depression", "anxiety", "panic", "ocd", "ptsd", "adhd", "insomnia", "general"
]
SKILL_CONCERNS: tuple[str, ...] = get_args(SkillConcern)

#: episodes.discharge_type (architecture.md, "Vocabularies").
DISCHARGE_TYPES: tuple[str, ...] = (
    "completed",
    "stepped_up",
    "dropped_out",
    "administrative",
    "transferred",
)
#: episodes.referral_source (architecture.md, "Vocabularies").
REFERRAL_SOURCES: tuple[str, ...] = (
    "outpatient",
    "php_step_down",
    "inpatient_step_down",
    "emergency",
    "self",
    "other",
)
#: attendance.status (architecture.md, "Data contracts").
ATTENDANCE_STATUS: tuple[str, ...] = ("present", "late", "absent_excused", "absent_unexcused")
#: Attendance statuses that count as "attended" (present or late).
ATTENDED: tuple[str, ...] = ("present", "late")
#: goals.horizon and goals.status (architecture.md, "Data contracts").
GOAL_HORIZONS: tuple[str, ...] = ("daily", "weekly")
GOAL_STATUS: tuple[str, ...] = ("met", "partial", "not_met", "pending")
#: events.kind (architecture.md, "Data contracts").
EVENT_KINDS: tuple[str, ...] = (
    "medication_review",
    "family_session",
    "case_management",
    "aftercare_appointment",
    "safety_review",
    "step_up",
)
#: Measurement occasions of a program's schedule (curriculum programs' ``measurement``) and
#: of :func:`iopkit.outcomes.measurement_completeness` [D] (docs/curriculum.md, "measurement").
Occasion = Literal["admission", "weekly", "discharge"]
OCCASIONS: tuple[str, ...] = get_args(Occasion)
#: patients.sex: not fixed by architecture.md; iopkit's own choice [D], docs/data.md.
SEX: tuple[str, ...] = ("female", "male", "other", "unknown")
#: Standard codes read as :data:`SEX` values without any profile (keys lower case; matched
#: case-insensitively): HL7 FHIR R4 AdministrativeGender, codes female/male/other/unknown and
#: their one-letter forms F/M/O/U as nearly every EHR and REDCap project exports them
#: (http://hl7.org/fhir/R4/valueset-administrative-gender.html).
SEX_CODES: dict[str, str] = {
    **{v: v for v in SEX},
    **{v[0]: v for v in SEX},
}
