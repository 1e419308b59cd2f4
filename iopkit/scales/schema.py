"""Pydantic schema of a scale entry (one YAML file per scale in ``iopkit/scales/data/``).

Every number in an entry carries ``source`` (the primary source: paper, manual, DOI, URL or
repository file) and ``certainty`` — the evidence tag:
``V`` stated in the named source, ``3P`` third-party compilation, ``M`` general knowledge
(verify before relying on it), ``C`` calculated, ``D`` an iopkit design choice.
Unknown keys are rejected, so a typo in a data file fails loudly at load time.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Certainty = Literal["V", "3P", "M", "C", "D"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    """Mixin: where a fact comes from and how sure we are of it."""

    source: str = Field(min_length=3)
    certainty: Certainty


class Items(Sourced):
    """The scored items: count, response range (integers, inclusive) and anchors."""

    count: int = Field(ge=1)
    min: int
    max: int
    anchors: dict[int, str] = Field(default_factory=dict)
    labels: dict[str, int] = Field(
        default_factory=dict,
        description="Accepted text answers (lower-cased) and the score they stand for, "
        "e.g. yes: 1 for yes/no screeners.",
    )
    reverse: list[int] = Field(default_factory=list, description="1-based reverse-keyed items")
    optional: list[int] = Field(
        default_factory=list,
        description="Items not needed for a complete administration (skip logic).",
    )
    text: list[str] | None = Field(
        default=None, description="Item wording; only for scales whose licence allows it."
    )
    recall: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Items:
        if self.max <= self.min:
            raise ValueError(f"items.max ({self.max}) must exceed items.min ({self.min})")
        for k in (*self.reverse, *self.optional):
            if not 1 <= k <= self.count:
                raise ValueError(f"item number {k} outside 1..{self.count}")
        if self.text is not None and len(self.text) != self.count:
            raise ValueError(f"items.text has {len(self.text)} entries, expected {self.count}")
        for score in self.labels.values():
            if not self.min <= score <= self.max:
                raise ValueError(f"label score {score} outside {self.min}..{self.max}")
        return self


class Band(_Strict):
    """One severity band: inclusive integer range [min, max] of the total."""

    min: int
    max: int
    label: str


class Bands(Sourced):
    """Severity bands; together they tile the total range without gaps or overlaps."""

    levels: list[Band] = Field(min_length=2)
    note: str | None = None

    @model_validator(mode="after")
    def _contiguous(self) -> Bands:
        for a, b in zip(self.levels, self.levels[1:], strict=False):
            if b.min != a.max + 1:
                raise ValueError(f"bands {a.label!r} and {b.label!r} are not contiguous")
        return self


class NamedBands(Bands):
    """An alternative band set shown for reference (not used by the engine)."""

    id: str
    name: str


class Cutoff(Sourced):
    """A screening cut-off on the total (or a subscale): ``score op value``."""

    id: str
    op: Literal[">=", ">", "<=", "<"] = ">="
    value: float
    applies_to: str = Field(default="total", description="'total' or a subscale id")
    meaning: str
    sensitivity: float | None = Field(default=None, ge=0, le=1)
    specificity: float | None = Field(default=None, ge=0, le=1)


class CriticalItem(Sourced):
    """A safety item: flag at ``flag_at`` or above, escalate at ``escalate_at`` or above."""

    item: int = Field(ge=1)
    name: str = Field(description="column stem, e.g. 'item9' -> phq9_item9_flag")
    flag_at: int
    escalate_at: int | None = None
    rule: str


class Subscale(Sourced):
    """A subscale (sum of its items); computed only when all its items are answered."""

    id: str
    name: str
    items: list[int] = Field(min_length=1)
    bands: Bands | None = None


class MissingPolicy(Sourced):
    """How many items may be missing and still give a (prorated) total.

    Prorated total = sum(answered) × n_scored / n_answered, rounded with ``rounding``.
    """

    max_prorated: int = Field(ge=0)
    never_prorate: list[int] = Field(default_factory=list)
    rounding: Literal["half_up"] = "half_up"
    note: str | None = None


class NotApplicable(Sourced):
    """Items that may be answered "not applicable"; the total is then on a shorter range."""

    items: list[int]
    codes: list[str] = Field(description="lower-cased text answers that mean N/A")
    total_max_when_na: int
    note: str | None = None


class Condition(_Strict):
    """Count of items answered at or above their threshold must lie in [min_count, max_count]."""

    items: list[int] = Field(min_length=1)
    endorse_at: int | list[int]
    min_count: int = 0
    max_count: int | None = None
    count_column: str | None = Field(
        default=None, description="also output the count as {scale}_{count_column}"
    )

    @model_validator(mode="after")
    def _check(self) -> Condition:
        if isinstance(self.endorse_at, list) and len(self.endorse_at) != len(self.items):
            raise ValueError("endorse_at list must match items")
        return self

    def thresholds(self) -> list[int]:
        """Per-item endorsement thresholds, aligned with :attr:`items`."""
        if isinstance(self.endorse_at, list):
            return list(self.endorse_at)
        return [self.endorse_at] * len(self.items)


class Rule(Sourced):
    """A diagnostic/screening rule: true when every condition holds (output ``{scale}_{id}``).

    With missing items the rule is reported only when the missing answers could not change
    it (three-valued logic); otherwise it is <NA>.
    """

    id: str
    name: str
    conditions: list[Condition] = Field(min_length=1)
    safety: bool = False


class Reliability(Sourced):
    """A reliability coefficient with its type and population."""

    value: float = Field(gt=0, lt=1)
    type: Literal["alpha", "test_retest", "inter_rater", "unspecified"]
    population: str
    interval: str | None = None


class Norm(Sourced):
    """Mean and SD of the total in a population (for Jacobson–Truax cut-offs)."""

    population: str
    kind: Literal["clinical", "functional", "general"]
    mean: float
    sd: float | None = Field(default=None, gt=0)
    n: int | None = None


class Threshold(Sourced):
    """A change or end-point threshold.

    ``kind``: ``points`` (change of at least ``value`` points), ``percent_reduction``
    (reduction of at least ``value`` % from baseline) or ``score`` (end-point
    ``total op value``).
    """

    kind: Literal["points", "percent_reduction", "score"]
    value: float
    op: Literal[">=", ">", "<=", "<"] = ">="
    label: str
    note: str | None = None


class Change(_Strict):
    """Change and end-point definitions, each named by its source."""

    mcid: list[Threshold] = Field(default_factory=list)
    reliable_change: list[Threshold] = Field(default_factory=list)
    response: list[Threshold] = Field(default_factory=list)
    remission: list[Threshold] = Field(default_factory=list)
    recovery: list[Threshold] = Field(default_factory=list)


_LOINC_CODE = r"^\d{1,7}-\d$"
_LOINC_ANSWER = r"^LA\d{1,6}-\d$"


class Loinc(Sourced):
    """LOINC codes (panel, total and items in order) and the items' answer list, where known.

    ``answers`` maps each LOINC answer code (``LA…``) of the answer list ``answer_list``
    (``LL…``) to the item score it stands for, as the answer list's "Score" column gives it
    (e.g. https://loinc.org/LL358-3 for PHQ-9/GAD-7). FHIR readers score coded answers
    through it and writers code answers with it; a code that is not listed is a problem,
    never a guess.
    """

    panel: str | None = Field(default=None, pattern=_LOINC_CODE)
    total: str | None = Field(default=None, pattern=_LOINC_CODE)
    items: list[str] | None = None
    answer_list: str | None = Field(default=None, pattern=r"^LL\d{1,6}-\d$")
    answers: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _codes(self) -> Loinc:
        for code in self.items or []:
            if not re.fullmatch(_LOINC_CODE, code):
                raise ValueError(f"loinc.items: {code!r} is not a LOINC code (nnnnn-n)")
        if self.items is not None and len(set(self.items)) != len(self.items):
            raise ValueError("loinc.items: an item code is listed twice")
        for code in self.answers:
            if not re.fullmatch(_LOINC_ANSWER, code):
                raise ValueError(f"loinc.answers: {code!r} is not a LOINC answer code (LAnnnn-n)")
        if len(set(self.answers.values())) != len(self.answers):
            raise ValueError("loinc.answers: two answer codes stand for the same score")
        if self.answers and self.answer_list is None:
            raise ValueError("loinc.answers given without loinc.answer_list")
        return self


class Licence(Sourced):
    """Copyright status and whether item text may ship with iopkit."""

    status: Literal["public_domain", "free_with_copyright", "permission_required", "unclear"]
    holder: str
    ship_item_text: bool
    note: str | None = None


class Total(Sourced):
    """The total score: sum of the scored items (no total for pure screeners)."""

    method: Literal["sum", "none"] = "sum"
    min: int | None = None
    max: int | None = None


class Scale(_Strict):
    """One rating scale: items, scoring rules, interpretation and psychometrics.

    Convenience accessors (used by scoring and by outcome analytics):

    * :attr:`lower_is_better`, :attr:`total_min`, :attr:`total_max`
    * :meth:`band_for` — severity band label of a total (half-up rounding applied first)
    * :meth:`reliability` — preferred coefficient (value, type, population, source)
    * :meth:`norm` / :attr:`norms` — clinical / functional mean and SD with source
    * :attr:`mcid`, :attr:`reliable_change`, :attr:`response`, :attr:`remission`,
      :attr:`caseness` — lists of :class:`Threshold`, first = iopkit's default
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9]*$")
    name: str
    short_name: str
    domain: str
    reference: str
    aliases: list[str] = Field(
        default_factory=list, description="extra column prefixes, e.g. 'phq' for PHQ1..PHQ9"
    )
    items: Items
    direction: Literal["higher_is_worse", "higher_is_better"]
    total: Total
    bands: Bands | None = None
    other_bands: list[NamedBands] = Field(default_factory=list)
    cutoffs: list[Cutoff] = Field(default_factory=list)
    caseness_thresholds: list[Threshold] = Field(default_factory=list, alias="caseness")
    critical_items: list[CriticalItem] = Field(default_factory=list)
    subscales: list[Subscale] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    missing: MissingPolicy
    not_applicable: NotApplicable | None = None
    reliabilities: list[Reliability] = Field(default_factory=list, alias="reliability")
    norms: list[Norm] = Field(default_factory=list)
    change: Change = Field(default_factory=Change)
    loinc: Loinc | None = None
    licence: Licence
    notes: list[str] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> Scale:
        n = self.items.count
        if self.total.method == "sum":
            lo, hi = n * self.items.min, n * self.items.max
            if (self.total.min, self.total.max) != (lo, hi):
                raise ValueError(
                    f"total range {self.total.min}..{self.total.max} does not match "
                    f"{n} items × {self.items.min}..{self.items.max} = {lo}..{hi}"
                )
            if self.bands and (self.bands.levels[0].min != lo or self.bands.levels[-1].max != hi):
                raise ValueError(f"bands must cover the total range {lo}..{hi}")
        elif self.bands is not None:
            raise ValueError("a scale without a total cannot have bands")
        if self.items.text is not None and not self.licence.ship_item_text:
            raise ValueError("items.text given but licence.ship_item_text is false")
        ids = [s.id for s in self.subscales]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate subscale id")
        for sub in self.subscales:
            for k in sub.items:
                if not 1 <= k <= n:
                    raise ValueError(f"subscale {sub.id}: item {k} outside 1..{n}")
            if sub.bands:
                lo, hi = len(sub.items) * self.items.min, len(sub.items) * self.items.max
                if sub.bands.levels[0].min != lo or sub.bands.levels[-1].max != hi:
                    raise ValueError(f"subscale {sub.id}: bands must cover {lo}..{hi}")
        for crit in self.critical_items:
            if not 1 <= crit.item <= n:
                raise ValueError(f"critical item {crit.item} outside 1..{n}")
        for rule in self.rules:
            for cond in rule.conditions:
                for k in cond.items:
                    if not 1 <= k <= n:
                        raise ValueError(f"rule {rule.id}: item {k} outside 1..{n}")
        for k in self.missing.never_prorate:
            if not 1 <= k <= n:
                raise ValueError(f"missing.never_prorate item {k} outside 1..{n}")
        for c in self.cutoffs:
            if c.applies_to != "total" and c.applies_to not in ids:
                raise ValueError(f"cutoff {c.id}: unknown subscale {c.applies_to!r}")
        if self.licence.ship_item_text and self.licence.status != "public_domain":
            raise ValueError("item text may ship only for public-domain scales")
        if self.loinc and self.loinc.items is not None and len(self.loinc.items) != n:
            raise ValueError(f"loinc.items has {len(self.loinc.items)} codes, expected {n}")
        if self.loinc:
            for code, value in self.loinc.answers.items():
                if not self.items.min <= value <= self.items.max:
                    lo, hi = self.items.min, self.items.max
                    raise ValueError(f"loinc.answers: {code} = {value} outside {lo}..{hi}")
        if self.not_applicable:
            for k in self.not_applicable.items:
                if not 1 <= k <= n:
                    raise ValueError(f"not_applicable item {k} outside 1..{n}")
            na_max = (n - len(self.not_applicable.items)) * self.items.max
            if self.not_applicable.total_max_when_na != na_max:
                raise ValueError(
                    f"not_applicable.total_max_when_na should be {na_max} "
                    f"({n - len(self.not_applicable.items)} items × {self.items.max})"
                )
        return self

    # --- convenience accessors ------------------------------------------------------
    @property
    def lower_is_better(self) -> bool:
        """True when a lower total means fewer symptoms (all scales here except none)."""
        return self.direction == "higher_is_worse"

    @property
    def has_total(self) -> bool:
        """False for pure screeners (ASQ) that have rules but no summed total."""
        return self.total.method == "sum"

    @property
    def total_min(self) -> int | None:
        """Lowest possible total (points), None without a total."""
        return self.total.min

    @property
    def total_max(self) -> int | None:
        """Highest possible total (points), None without a total."""
        return self.total.max

    @property
    def item_numbers(self) -> list[int]:
        """1-based item numbers."""
        return list(range(1, self.items.count + 1))

    def band_for(self, total: float | None) -> str | None:
        """Band label for a total; the total is first rounded half up (4.5 → 5).

        Returns None when the scale has no bands or ``total`` is None/NaN.
        Raises ValueError for a total outside the scale's range.
        """
        if self.bands is None or total is None or total != total:
            return None
        t = int(float(total) + 0.5) if total >= 0 else -int(-float(total) + 0.5)
        for level in self.bands.levels:
            if level.min <= t <= level.max:
                return level.label
        raise ValueError(f"{self.id}: total {total} outside {self.total_min}..{self.total_max}")

    def reliability(self, preferred_type: str | None = "test_retest") -> Reliability | None:
        """A reliability coefficient for reliable-change work.

        Returns the first entry of ``preferred_type`` ('test_retest', 'alpha',
        'inter_rater'), else the first entry of any type (check ``.type``), else None.
        RCIs from α and from test–retest differ (Jacobson & Truax 1991, J Consult Clin
        Psychol 59:12; Maassen 2004, J Int Neuropsychol Soc 10:888) — keep ``.type`` in reports.
        """
        for r in self.reliabilities:
            if preferred_type is None or r.type == preferred_type:
                return r
        return self.reliabilities[0] if self.reliabilities else None

    def norm(self, kind: str) -> Norm | None:
        """First norm with an SD of the given kind ('clinical', 'functional', 'general')."""
        for n in self.norms:
            if n.kind == kind and n.sd is not None:
                return n
        return None

    @property
    def mcid(self) -> list[Threshold]:
        """Minimal clinically important differences (points), each with its source."""
        return list(self.change.mcid)

    @property
    def reliable_change(self) -> list[Threshold]:
        """Published reliable-change thresholds (points), each with its source."""
        return list(self.change.reliable_change)

    @property
    def response(self) -> list[Threshold]:
        """Response definitions (usually percent reduction from baseline)."""
        return list(self.change.response)

    @property
    def remission(self) -> list[Threshold]:
        """Remission definitions (end-point score thresholds)."""
        return list(self.change.remission)

    @property
    def recovery(self) -> list[Threshold]:
        """Recovery definitions (e.g. NHS Talking Therapies: below caseness at the end)."""
        return list(self.change.recovery)

    @property
    def caseness(self) -> list[Threshold]:
        """Caseness thresholds on the total (e.g. NHS Talking Therapies PHQ-9 ≥ 10)."""
        return list(self.caseness_thresholds)

    def subscale(self, subscale_id: str) -> Subscale:
        """The subscale with this id (KeyError when unknown)."""
        for s in self.subscales:
            if s.id == subscale_id:
                return s
        raise KeyError(f"{self.id} has no subscale {subscale_id!r}")
