"""The daily block's segment rules, read from ``segments.yaml`` (shipped in this package).

``SEGMENT_RULES`` maps each segment kind to its :class:`SegmentRule` (title, allowed minutes,
whether a block needs it, description, source), in block order. Edit the YAML file to change
a range, the order or which segments are required; :func:`load_segment_rules` reads another
copy (e.g. in a test). Checked by :func:`iopkit.curriculum.checks.check_block`.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Annotated, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iopkit.curriculum.models import SegmentKind
from iopkit.errors import ConfigError
from iopkit.yamlio import load_yaml, validate_model

__all__ = ["SEGMENT_RULES", "SegmentRule", "SegmentRulesFile", "load_segment_rules"]

Minutes = Annotated[int, Field(ge=1, le=240)]


class SegmentRule(BaseModel):
    """One kind of block segment: display title, allowed minutes, whether a block needs it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SegmentKind
    title: Annotated[str, Field(min_length=1)]
    min_minutes: Minutes
    max_minutes: Minutes
    required: bool
    description: str = ""
    source: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _range(self) -> SegmentRule:
        if self.min_minutes > self.max_minutes:
            raise ValueError(f"min_minutes {self.min_minutes} > max_minutes {self.max_minutes}")
        return self

    @property
    def range_text(self) -> str:
        """``"20–30"``, or ``"10"`` when the segment has one allowed length."""
        if self.min_minutes == self.max_minutes:
            return str(self.min_minutes)
        return f"{self.min_minutes}–{self.max_minutes}"


class SegmentRulesFile(BaseModel):
    """Schema of ``segments.yaml``: the segments in block order, with the sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Annotated[str, Field(min_length=1)]
    segments: Annotated[list[SegmentRule], Field(min_length=1)]


def load_segment_rules(path: str | os.PathLike[str] | None = None) -> dict[str, SegmentRule]:
    """Segment kind → rule, in block order, from ``path`` (default: the shipped file).

    Raises :class:`ConfigError` naming file, line and key for a schema error, and when a
    segment kind is listed twice or missing (every :data:`SegmentKind` needs one rule).
    """
    if path is None:
        with resources.as_file(resources.files("iopkit.curriculum") / "segments.yaml") as shipped:
            return load_segment_rules(shipped)
    doc = load_yaml(Path(path), what="block segment rules")
    parsed, problems = validate_model(SegmentRulesFile, doc)
    if parsed is None:
        raise ConfigError("\n".join(str(p) for p in problems))
    rules: dict[str, SegmentRule] = {}
    for i, rule in enumerate(parsed.segments):
        if rule.kind in rules:
            p = doc.problem(("segments", i, "kind"), f"segment kind {rule.kind!r} listed twice")
            raise ConfigError(str(p))
        rules[rule.kind] = rule
    missing = [k for k in get_args(SegmentKind) if k not in rules]
    if missing:
        p = doc.problem(("segments",), f"no rule for segment kind(s) {', '.join(missing)}")
        raise ConfigError(str(p))
    return rules


#: The shipped rules (``iopkit/curriculum/segments.yaml``), in block order.
SEGMENT_RULES: dict[str, SegmentRule] = load_segment_rules()
