"""Table contracts of a data bundle, as data, and the pandera schemas built from them.

The contracts follow ``shared/design/architecture.md`` ("Data contracts"): eight tables, their
keys, required columns and vocabularies. Everything else in :mod:`iopkit.data` (type
conversion, validation, docs, writers) reads :data:`TABLES` rather than repeating it.

Column kinds: ``id`` (pseudonymous string key), ``str`` (free text), ``vocab`` (one of a
fixed list), ``list`` (``;``-separated vocabulary values), ``date`` (calendar date), ``int``
(whole number), ``item`` (one scale item, whole number, checked against the scale registry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

# vocabularies are defined once in iopkit.vocab (architecture.md, "Vocabularies") and
# re-exported here for the table contracts' users (CONCERNS = the patient concerns)
from iopkit.vocab import (
    ATTENDANCE_STATUS,
    DISCHARGE_TYPES,
    EVENT_KINDS,
    GOAL_HORIZONS,
    GOAL_STATUS,
    REFERRAL_SOURCES,
    SEX,
    SEX_CODES,
)
from iopkit.vocab import PATIENT_CONCERNS as CONCERNS


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table contract."""

    name: str
    kind: str
    required: bool = False
    vocab: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    doc: str = ""
    #: optional and descriptive: a bad value is blanked with a warning, the row is kept
    descriptive: bool = False
    #: standard codes read as vocabulary values (lower-case code -> value; any case matches)
    codes: Mapping[str, str] | None = None
    #: free text scanned for identifiers (phone, e-mail, SSN-like, date of birth); redacted
    free_text: bool = False


@dataclass(frozen=True)
class TableSpec:
    """One table of the bundle: key columns, columns and the parent tables it refers to."""

    name: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    #: column -> parent table whose key (single column of the same name) it references
    parents: dict[str, str] = field(default_factory=dict)
    doc: str = ""

    def column(self, name: str) -> ColumnSpec | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


C = ColumnSpec
TABLES: dict[str, TableSpec] = {
    "cohorts": TableSpec(
        "cohorts",
        key=("cohort_id",),
        columns=(
            C("cohort_id", "id", True, doc="pseudonymous cohort id, e.g. C01"),
            C("program_id", "id", True, doc="a program in curriculum/programs"),
            C("name", "str", True, doc="cohort (group) name — not a person's name"),
            C("start_date", "date"),
            C("facilitators", "str", doc="`;`-separated facilitator codes"),
        ),
        doc="A therapy group running one program with rolling admission.",
    ),
    "patients": TableSpec(
        "patients",
        key=("patient_id",),
        columns=(
            C("patient_id", "id", True, doc="pseudonymous patient id, e.g. P00001"),
            C(
                "birth_year",
                "int",
                min=1900,
                max=2100,
                doc="year only; never a date of birth",
                descriptive=True,
            ),
            C(
                "sex",
                "vocab",
                vocab=SEX,
                descriptive=True,
                codes=SEX_CODES,
                doc="also HL7 FHIR AdministrativeGender codes F/M/O/U (any case)",
            ),
            C("primary_concern", "vocab", True, vocab=CONCERNS),
            C(
                "other_concerns",
                "list",
                vocab=CONCERNS,
                doc="`;`-separated concerns",
                descriptive=True,
            ),
            C("referral_source", "vocab", vocab=REFERRAL_SOURCES, descriptive=True),
        ),
    ),
    "episodes": TableSpec(
        "episodes",
        key=("episode_id",),
        columns=(
            C("episode_id", "id", True, doc="pseudonymous episode id, e.g. E00001"),
            C("patient_id", "id", True),
            C("cohort_id", "id", True),
            C("admit_date", "date", True),
            C("discharge_date", "date", doc="blank = episode still active"),
            C("discharge_type", "vocab", vocab=DISCHARGE_TYPES),
            C("planned_weeks", "int", min=1, max=52, doc="weeks"),
        ),
        parents={"patient_id": "patients", "cohort_id": "cohorts"},
        doc="One stay of one patient in one cohort.",
    ),
    "attendance": TableSpec(
        "attendance",
        key=("episode_id", "date"),
        columns=(
            C("episode_id", "id", True),
            C("date", "date", True),
            C("status", "vocab", True, vocab=ATTENDANCE_STATUS),
        ),
        parents={"episode_id": "episodes"},
    ),
    "sessions": TableSpec(
        "sessions",
        key=("cohort_id", "date"),
        columns=(
            C("cohort_id", "id", True),
            C("date", "date", True),
            C("skill_id", "id", True, doc="catalog skill taught, e.g. dbt.dt.tip"),
            C("facilitator", "str"),
        ),
        parents={"cohort_id": "cohorts"},
        doc="Delivered skills groups: what was taught on which day.",
    ),
    "assessments": TableSpec(
        "assessments",
        key=("episode_id", "date", "scale"),
        columns=(
            C("episode_id", "id", True),
            C("date", "date", True),
            C("scale", "id", True, doc="scale id in the registry, e.g. phq9"),
        ),
        parents={"episode_id": "episodes"},
        doc="Wide: item_1 … item_n (blank = missing); or long: item, response.",
    ),
    "goals": TableSpec(
        "goals",
        key=("episode_id", "set_date", "goal_no"),
        columns=(
            C("episode_id", "id", True),
            C("set_date", "date", True),
            C("goal_no", "int", True, min=1, max=99),
            C("horizon", "vocab", vocab=GOAL_HORIZONS),
            C("goal", "str", doc="goal text (no identifying details)", free_text=True),
            C("status", "vocab", vocab=GOAL_STATUS),
            C("review_date", "date"),
        ),
        parents={"episode_id": "episodes"},
    ),
    "events": TableSpec(
        "events",
        key=("episode_id", "date", "kind"),
        columns=(
            C("episode_id", "id", True),
            C("date", "date", True),
            C("kind", "vocab", True, vocab=EVENT_KINDS),
            C("note", "str", doc="free text (no identifying details)", free_text=True),
        ),
        parents={"episode_id": "episodes"},
    ),
}
del C

#: Load order: parents before children (cascading rejection follows it).
TABLE_ORDER: tuple[str, ...] = (
    "cohorts",
    "patients",
    "episodes",
    "attendance",
    "sessions",
    "assessments",
    "goals",
    "events",
)
#: Tables a bundle must contain; the others may be absent (treated as empty).
REQUIRED_TABLES: tuple[str, ...] = ("cohorts", "patients", "episodes")

#: Long-form assessment columns and the wide item column pattern.
LONG_ITEM, LONG_RESPONSE = "item", "response"
WIDE_ITEM_PATTERN = r"^item_(\d+)$"


def item_columns(frame: pd.DataFrame) -> list[str]:
    """Wide item columns (``item_1`` … ``item_n``) of an assessments frame, in item order."""
    cols = frame.columns[frame.columns.astype(str).str.fullmatch(WIDE_ITEM_PATTERN)]
    return sorted(cols, key=lambda c: int(str(c).split("_")[1]))


def is_long_assessments(frame: pd.DataFrame) -> bool:
    """True when an assessments frame is in long form (``item``, ``response``)."""
    return LONG_ITEM in frame.columns and LONG_RESPONSE in frame.columns


def _list_in_vocab(vocab: tuple[str, ...]):
    allowed = set(vocab)

    def check(s: pd.Series) -> pd.Series:
        return s.map(lambda v: all(p.strip() in allowed for p in str(v).split(";") if p.strip()))

    return check


#: pandera dtype of each column kind after conversion (text kinds are not pinned: pandas
#: stores text as ``object`` or ``str`` depending on the source).
_DTYPES: dict[str, str | None] = {"date": "datetime64[ns]", "int": "Int64"}


def table_schema(table: str, *, keys: bool = True) -> pa.DataFrameSchema:
    """The pandera schema of one table, for a frame whose columns are already typed.

    Dates must be ``datetime64[ns]`` and whole numbers ``Int64``:
    :func:`iopkit.data.validate_bundle` converts raw cells to these types (and
    reports every cell it cannot convert) before it runs this schema. The schema checks
    types, required values, vocabularies, ranges, date order (episodes, goals) and, with
    ``keys=True``, uniqueness of the key. The validator checks keys itself (``keys=False``)
    so that an exact duplicate row can be told apart from a conflicting one. Validate frames
    with a unique index (pandera's key check fails on repeated index labels).
    """
    spec = TABLES[table]
    columns: dict[str, pa.Column] = {}
    for col in spec.columns:
        checks: list[pa.Check] = []
        if col.kind == "vocab" and col.vocab:
            checks.append(pa.Check.isin(list(col.vocab), name="vocabulary"))
        if col.kind == "list" and col.vocab:
            checks.append(
                pa.Check(_list_in_vocab(col.vocab), element_wise=False, name="vocabulary")
            )
        if col.min is not None or col.max is not None:
            checks.append(pa.Check.in_range(col.min, col.max, name="range"))
        columns[col.name] = pa.Column(
            _DTYPES.get(col.kind),
            checks=checks,
            nullable=not col.required,
            required=col.required or False,
            name=col.name,
        )
    df_checks: list[pa.Check] = []
    if table == "episodes":
        df_checks.append(
            pa.Check(
                lambda df: (
                    df["discharge_date"].isna()
                    | df["admit_date"].isna()
                    | (df["discharge_date"] >= df["admit_date"])
                ),
                name="discharge_before_admit",
            )
        )
    if table == "goals":
        df_checks.append(
            pa.Check(
                lambda df: (
                    df["review_date"].isna()
                    | df["set_date"].isna()
                    | (df["review_date"] >= df["set_date"])
                ),
                name="review_before_set",
            )
        )
    return pa.DataFrameSchema(
        columns,
        checks=df_checks,
        name=table,
        strict=False,
        coerce=False,
        unique=list(spec.key) if keys else None,
        report_duplicates="all",
    )
