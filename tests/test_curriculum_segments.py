"""The daily block's segment rules are data (``iopkit/curriculum/segments.yaml``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import get_args

import pytest
import yaml

from iopkit.curriculum import SEGMENT_RULES, SegmentKind, load_curriculum, load_segment_rules
from iopkit.curriculum.checks import check_block
from iopkit.errors import ConfigError
from iopkit.yamlio import load_yaml

SHIPPED = Path(__file__).resolve().parents[1] / "curriculum"
PROGRAM_3D = SHIPPED / "programs" / "adult_mood_anxiety_3d.yaml"


def _rules_copy(tmp_path: Path, edit) -> Path:  # noqa: ANN001 - a small test helper
    src = resources.files("iopkit.curriculum") / "segments.yaml"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    edit(data)
    out = tmp_path / "segments.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def _rule(data: dict, kind: str) -> dict:
    return next(r for r in data["segments"] if r["kind"] == kind)


def _check(rules: dict, program: Path = PROGRAM_3D) -> list[str]:
    prog = load_curriculum(SHIPPED).program(program.stem)
    return [p.message for p in check_block(load_yaml(program), prog, rules)]


def test_shipped_rules_cover_every_kind_in_block_order_with_sources() -> None:
    assert list(SEGMENT_RULES) == [
        "check_in",
        "mindfulness",
        "skill",
        "break",
        "application",
        "wrap_up",
    ]
    assert set(SEGMENT_RULES) == set(get_args(SegmentKind))
    assert all(r.source.strip() for r in SEGMENT_RULES.values())
    assert [k for k, r in SEGMENT_RULES.items() if not r.required] == ["mindfulness"]
    assert (SEGMENT_RULES["check_in"].min_minutes, SEGMENT_RULES["check_in"].max_minutes) == (
        20,
        30,
    )
    assert load_segment_rules() == SEGMENT_RULES


def test_shipped_programs_pass_the_shipped_rules() -> None:
    for path in sorted((SHIPPED / "programs").glob("*.yaml")):
        assert _check(SEGMENT_RULES, path) == [], path.name


def test_editing_a_range_changes_the_check(tmp_path: Path) -> None:
    """adult_mood_anxiety_3d checks in for 25 min: fine for 20–30, refused for 20–24."""
    rules = load_segment_rules(
        _rules_copy(tmp_path, lambda d: _rule(d, "check_in").__setitem__("max_minutes", 24))
    )
    assert _check(rules) == ["Check-in & safety scan lasts 25 min; allowed 20–24 min"]


def test_editing_required_and_order_changes_the_check(tmp_path: Path) -> None:
    def edit(d: dict) -> None:
        order = ["mindfulness", "check_in", "skill", "application", "wrap_up", "break"]
        d["segments"] = [_rule(d, k) for k in order]
        _rule(d, "break")["required"] = False

    rules = load_segment_rules(_rules_copy(tmp_path, edit))
    assert list(rules)[:2] == ["mindfulness", "check_in"]
    assert list(rules)[-1] == "break"
    msgs = _check(rules)
    assert len(msgs) == 1 and msgs[0].startswith("segments out of order")
    assert "expected mindfulness → check_in → skill → application → wrap_up → break" in msgs[0]


def test_a_required_optional_segment_is_then_missing(tmp_path: Path) -> None:
    rules = load_segment_rules(
        _rules_copy(tmp_path, lambda d: _rule(d, "mindfulness").__setitem__("required", True))
    )
    prog = load_curriculum(SHIPPED).program("adult_mood_anxiety_3d")
    without = prog.model_copy(
        update={"block": [b for b in prog.block if b.segment != "mindfulness"]}
    )
    msgs = [p.message for p in check_block(load_yaml(PROGRAM_3D), without, rules)]
    assert "block has no 'mindfulness' segment" in msgs
    # with the shipped rules mindfulness is optional: only the total is wrong, with a hint
    shipped = [p.message for p in check_block(load_yaml(PROGRAM_3D), without)]
    assert len(shipped) == 1 and "reach at most 175 min" in shipped[0]
    assert "'mindfulness' (5–15 min)" in shipped[0]


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda d: d["segments"].pop(2), "no rule for segment kind.s. skill"),
        (
            lambda d: d["segments"].append(dict(d["segments"][0])),
            r"segments\[6\]\.kind: segment kind 'check_in' listed twice",
        ),
        (lambda d: _rule(d, "skill").__setitem__("min_minutes", 70), "min_minutes 70 > max"),
        (
            lambda d: _rule(d, "skill").__setitem__("kind", "lecture"),
            r"segments\[2\]\.kind: Input should be",
        ),
        (
            lambda d: _rule(d, "skill").pop("source"),
            r"segments\[2\]\.source: required key 'source' is missing",
        ),
    ],
)
def test_broken_rules_file_is_refused_with_file_and_key(tmp_path: Path, edit, match) -> None:  # noqa: ANN001
    path = _rules_copy(tmp_path, edit)
    with pytest.raises(ConfigError, match=match) as exc:
        load_segment_rules(path)
    assert str(path) in str(exc.value)
